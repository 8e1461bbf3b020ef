"""The course figures: small helpers that draw one idea each and save it.

Every helper returns the matplotlib ``Figure``; :func:`save_figure` writes it
to ``figures/<notebook>_<name>.png`` (or the smoke profile's own folder).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib.colors
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from utils import config
from utils.results import order_key

plt.rcParams.update({
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
})
CLASS_COLORS = {"negative": "#c44e52", "positive": "#4c72b0"}


def save_figure(fig, name: str, profile: config.Profile | None = None) -> Path:
    """Save ``fig`` as ``<figures dir>/<name>.png`` and return the path."""
    figures_dir, _ = config.output_dirs(profile)
    path = figures_dir / f"{name}.png"
    fig.savefig(path)
    return path


def plot_class_balance(counts: dict[str, dict[str, int]]):
    """Each split's share of negative and positive examples, its counts on the bars.

    ``counts`` maps a name such as ``"IMDB train"`` to ``{"negative": n, "positive": m}``.
    Shares, not counts, on the axis: a split of 359 tweets and one of 25,000
    reviews are then read on the same scale.
    """
    names = list(counts)
    x = np.arange(len(names))
    totals = np.array([sum(counts[name].values()) for name in names], dtype=float)
    fig, ax = plt.subplots(figsize=(1.6 * len(names) + 3, 4))
    tallest = 0.0
    for offset, label in ((-0.2, "negative"), (0.2, "positive")):
        values = np.array([counts[name].get(label, 0) for name in names])
        shares = 100 * values / np.maximum(totals, 1)
        bars = ax.bar(x + offset, shares, width=0.4, label=label, color=CLASS_COLORS[label])
        ax.bar_label(bars, labels=[f"{v:,}" for v in values], fontsize=9)
        tallest = max(tallest, float(shares.max(initial=0)))
    ax.axhline(50, color="black", linestyle=":", linewidth=1, label="50 %: balanced")
    ax.set_xticks(x, [f"{name}\n({total:,.0f})" for name, total in zip(names, totals)])
    ax.set_ylim(0, max(75, tallest + 15))  # room above the tallest bar for its count and the legend
    ax.set_xlabel("data set and split (examples)")
    ax.set_ylabel("share of the split (%)")
    ax.set_title("Class balance (counts on the bars)")
    ax.legend(loc="upper right", ncols=3)
    return fig


def plot_length_distribution(lengths: dict[str, np.ndarray], percentiles=(50, 90, 95, 99),
                             window: int | None = None):
    """A histogram of text lengths per data set, percentiles marked; ``window``, if given, the
    tokens a model reads (texts to its right are cut)."""
    fig, axes = plt.subplots(1, len(lengths), figsize=(6 * len(lengths), 4), squeeze=False)
    for ax, (name, values) in zip(axes[0], lengths.items()):
        values = np.asarray(values)
        upper = max(int(np.percentile(values, 99.5)) if values.size else 1, 1, (window or 0) + 2)
        if window is not None:
            ax.axvspan(window, upper + 0.5, color="#c44e52", alpha=0.12, linewidth=0)
            ax.axvline(window, color="#c44e52", linewidth=1.5)
            ax.annotate(f"the models read {window} tokens", xy=(window, 0.5),
                        xycoords=("data", "axes fraction"), xytext=(-4, 0), textcoords="offset points",
                        rotation=90, va="center", ha="right", fontsize=9, color="#c44e52")
        # Short texts get one bar per length; long ones 60 bars.
        ax.hist(values, bins=min(60, upper + 1), range=(-0.5, upper + 0.5), color="#8c8c8c")
        previous, level = -np.inf, 0
        for q, value in zip(percentiles, np.percentile(values, percentiles) if values.size else []):
            ax.axvline(value, color="#dd8452", linestyle="--", linewidth=1)
            # A label close to the one before it hangs one step lower, so that the two do not overlap.
            level = (level + 1) % 3 if value - previous < 0.06 * upper else 0
            previous = value
            ax.annotate(f"p{q} = {value:.0f}", xy=(value, 1 - 0.3 * level), xycoords=("data", "axes fraction"),
                        xytext=(3, -4), textcoords="offset points", rotation=90,
                        va="top", ha="left", fontsize=9, color="#a0522d")
        longest = int(values.max()) if values.size else 0
        ax.set_title(f"{name}: {values.size:,} texts, the longest {longest:,} tokens")
        ax.set_xlabel("length (tokens; the axis ends at the 99.5th percentile"
                      + (" or just past the window)" if window is not None else ")"))
        ax.set_ylabel("texts (count)")
    return fig


def plot_length_coverage(coverage: dict[str, dict[int, dict[str, float]]],
                         chosen: dict[str, list[tuple[int, str]]] | None = None):
    """How much text each candidate sequence length keeps, per data set.

    ``coverage`` maps a data set name to :func:`utils.text.length_coverage`;
    ``chosen`` maps a data set name to the lengths the course uses, as
    ``(length, label)`` pairs, each drawn as a labelled vertical line.
    """
    fig, axes = plt.subplots(1, len(coverage), figsize=(6 * len(coverage), 4), squeeze=False)
    for ax, (name, table) in zip(axes[0], coverage.items()):
        lengths = sorted(table)
        ax.plot(lengths, [100 * table[n]["texts_whole"] for n in lengths], "o-", label="texts kept whole")
        ax.plot(lengths, [100 * table[n]["tokens_kept"] for n in lengths], "s-", label="tokens kept")
        for length, label in (chosen or {}).get(name, []):
            ax.axvline(length, color="#8c8c8c", linestyle="--", linewidth=1)
            ax.annotate(f"{label}: {length}", xy=(length, 0.02), xycoords=("data", "axes fraction"),
                        xytext=(3, 0), textcoords="offset points", rotation=90, va="bottom", ha="left",
                        fontsize=9, color="#505050")
        ax.set_title(f"{name}: what a sequence length keeps")
        ax.set_xlabel("sequence length (tokens)")
        ax.set_ylabel("kept (%)")
        ax.set_ylim(0, 101)
        ax.legend(loc="center right")  # the curves rise to the top right; the marks' labels sit low
    return fig


def plot_vocabulary_coverage(coverage: dict[str, dict[int, float]], chosen: dict[str, int] | None = None):
    """Share of token occurrences covered by the top-n words, per data set;
    ``chosen`` marks each data set's vocabulary size (which must be one of its sizes)."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, table in coverage.items():
        sizes = sorted(table)
        size = (chosen or {}).get(name)
        label = name if size is None else f"{name} (this profile: {size:,} words, {100 * table[size]:.1f} %)"
        (line,) = ax.plot(sizes, [100 * table[n] for n in sizes], "o-", label=label)
        if size is not None:
            ax.plot(size, 100 * table[size], marker="*", markersize=16, color=line.get_color(),
                    markeredgecolor="black", linestyle="none")
    ax.set_xscale("log")
    ax.set_xlabel("vocabulary size (most frequent words, log scale)")
    ax.set_ylabel("token occurrences covered (%)")
    ax.set_title("Vocabulary size against coverage" + (" (star: the size this profile uses)" if chosen else ""))
    ax.legend(loc="lower right", fontsize=9)
    return fig


def plot_padding(batches: dict[str, np.ndarray]):
    """Token ids of one batch for each padding style; padding drawn white.

    ``batches`` maps a title such as ``"post-padding"`` to an id matrix
    ``(batch, time)``.
    """
    fig, axes = plt.subplots(len(batches), 1, figsize=(9, 1.6 * len(batches) + 0.6), squeeze=False,
                             layout="constrained")
    largest = max(int(np.max(ids)) for ids in batches.values())
    norm = matplotlib.colors.LogNorm(vmin=1, vmax=max(largest, 2))  # ids run from frequent (small) to rare
    for ax, (title, ids) in zip(axes[:, 0], batches.items()):
        ids = np.asarray(ids, dtype=float)
        image = ax.imshow(np.where(ids == 0, np.nan, ids), aspect="auto", cmap="viridis", norm=norm,
                          interpolation="nearest")
        ax.set_title(f"{title}: white = padding (id 0)")
        ax.set_ylabel("example")
        ax.grid(False)
    axes[-1, 0].set_xlabel("time step (token position)")
    fig.colorbar(image, ax=axes[:, 0], label="token id (log scale;\nsmall = frequent word)")
    return fig


def plot_history(history: dict, title: str = "Training curves"):
    """Loss and accuracy per epoch, training against validation, in one figure."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    epochs = np.arange(1, len(history["loss"]) + 1)
    averaged = "val_accuracy_unaveraged" in history  # see training.UnaveragedValidation
    for ax, metric, unit in ((axes[0], "loss", "binary cross-entropy"), (axes[1], "accuracy", "%")):
        scale = 100 if metric == "accuracy" else 1
        ax.plot(epochs, scale * np.asarray(history[metric]), "o-", label="training")
        ax.plot(epochs, scale * np.asarray(history[f"val_{metric}"]), "s-",
                label="validation, averaged weights" if averaged else "validation")
        if f"val_{metric}_unaveraged" in history:
            ax.plot(epochs, scale * np.asarray(history[f"val_{metric}_unaveraged"]), "s:",
                    label="validation, last step's weights")
        # The epoch whose weights were kept: early stopping restores the best validation accuracy.
        ax.axvline(int(np.argmax(history["val_accuracy"])) + 1, color="gray", linestyle=":", linewidth=1,
                   label="weights kept")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{metric} ({unit})")
        ax.set_xticks(epochs)
    fig.suptitle(title)
    _legend_below(fig, axes[1], bottom=0.07)
    return fig


def _legend_below(fig, ax, bottom: float, title: str | None = None) -> None:
    """One legend for all panels, under them, where it covers no curve: the
    entries of ``ax``; ``bottom`` is the share of the figure's height kept for it."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncols=len(labels), fontsize=9, frameon=False,
               title=title, title_fontsize=9)
    fig.tight_layout(rect=(0, bottom, 1, 1))


def plot_confusion_matrix(matrix, title: str = "Confusion matrix (test set)"):
    """2x2 counts with the share of each true class in every cell."""
    matrix = np.asarray(matrix)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.6, 4))
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (row, col), count in np.ndenumerate(matrix):
        ax.text(col, row, f"{count:,}\n{100 * shares[row, col]:.1f} %", ha="center", va="center",
                color="white" if shares[row, col] > 0.5 else "black")
    ax.set_xticks([0, 1], ["negative", "positive"])
    ax.set_yticks([0, 1], ["negative", "positive"])
    ax.set_xlabel("predicted class (count, % of the true class)")
    ax.set_ylabel("true class")
    ax.set_title(title)
    ax.grid(False)
    return fig


def plot_comparison(rows: list[dict], title: str, label_key: str = "model"):
    """Test accuracy (bars), parameters and seconds per epoch for a few runs.

    A panel whose values are all equal (the same parameter count, say) says
    nothing that the title cannot, and is left out.
    """
    labels = [str(row[label_key]) for row in rows]
    x = np.arange(len(rows))
    panels = [("test_accuracy", "test accuracy (%)", 100), ("params", "parameters (count)", 1),
              ("seconds_per_epoch", "training time (s per epoch)", 1)]
    panels = [panel for panel in panels
              if panel[0] == "test_accuracy" or len({row[panel[0]] for row in rows}) > 1]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 4), squeeze=False)
    for ax, (key, ylabel, scale) in zip(axes[0], panels):
        values = [scale * row[key] for row in rows]
        bars = ax.bar(x, values, color="#4c72b0")
        ax.bar_label(bars, fmt="{:,.1f}" if key != "params" else "{:,.0f}", fontsize=9)
        ax.set_xticks(x, labels, rotation=15)
        ax.set_ylabel(ylabel)
        ax.set_xlabel(label_key.replace("_", " "))
        if key == "test_accuracy":
            ax.axhline(50, color="gray", linestyle=":", linewidth=1)
            ax.set_ylim(min(45, min(values) - 5), 100)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def most_active_units(values, n: int) -> np.ndarray:
    """Indices of the ``n`` units whose activation varies most over the tokens
    (``values``: tokens x units), in unit order."""
    values = np.asarray(values)
    return np.sort(np.argsort(-values.std(axis=0))[:n])


def plot_gates(tokens: list[str], gates: dict[str, np.ndarray], probabilities=None,
               title: str = "Gates over one review", n_units: int = 8):
    """Heatmaps of gate activations over one text and, optionally, the
    prediction after each prefix of the text.

    Each heatmap shows the ``n_units`` units that move most over this text
    (their indices on the axis): a slide cannot show 64 rows. Sigmoid gates
    share one colour scale from 0 to 1 (what a value means depends on the gate).
    """
    rows = len(gates) + (probabilities is not None)
    fig, axes = plt.subplots(rows, 1, figsize=(max(8, 0.32 * len(tokens)), 1.6 + 0.22 * n_units * rows),
                             sharex=True, squeeze=False)
    axes = axes[:, 0]
    for ax, (name, values) in zip(axes, gates.items()):
        values = np.asarray(values)
        units = most_active_units(values, n_units)
        signed = values.min() < 0
        image = ax.imshow(values[:, units].T, aspect="auto", interpolation="nearest",
                          cmap="coolwarm" if signed else "viridis",
                          vmin=None if signed else 0.0, vmax=None if signed else 1.0)
        ax.set_yticks(np.arange(len(units)), [str(u) for u in units], fontsize=7)
        ax.set_ylabel(f"{name}\n(unit)")
        ax.grid(False)
        colorbar = fig.colorbar(image, ax=ax, pad=0.01, fraction=0.02)
        colorbar.set_label("value" if signed else "gate value, 0 to 1", fontsize=8)
    if probabilities is not None:
        ax = axes[-1]
        ax.plot(np.arange(len(tokens)), 100 * np.asarray(probabilities), "o-", color="#4c72b0")
        ax.axhline(50, color="gray", linestyle=":")
        ax.set_ylim(0, 100)
        ax.set_ylabel("P(positive)\nafter prefix (%)")
        # An invisible colorbar keeps this row as wide as the heatmaps above.
        fig.colorbar(image, ax=ax, pad=0.01, fraction=0.02).ax.set_visible(False)
    axes[-1].set_xticks(np.arange(len(tokens)), tokens, rotation=90, fontsize=8)
    axes[-1].set_xlabel("token")
    fig.suptitle(f"{title} (per panel, the {n_units} units that vary most)")
    fig.tight_layout()
    return fig


def plot_word_map(vectors, vocabulary: list[str], groups: dict[str, list[str]],
                  title: str = "Word vectors, projected on their top two principal components",
                  n_background: int = 2_000):
    """The chosen words' vectors in 2-D, one colour per group, over the cloud
    of the ``n_background`` most frequent words.

    The projection (the top two principal components) is fitted on those
    frequent words, not on the chosen ones, so the picture does not depend on
    which words were picked. Words missing from ``vocabulary`` are skipped.
    """
    words = [(group, word) for group, members in groups.items() for word in members if word in vocabulary]
    if len(words) < 2:
        raise ValueError("Give at least two words that are in the vocabulary to draw a word map.")
    vectors = np.asarray(vectors)
    background = vectors[2:2 + n_background]  # ids 0 and 1 are padding and [UNK]; then by frequency
    center = background.mean(axis=0)
    _, _, directions = np.linalg.svd(background - center, full_matrices=False)
    project = lambda rows: (rows - center) @ directions[:2].T
    xy = project(vectors[[vocabulary.index(word) for _, word in words]])
    fig, ax = plt.subplots(figsize=(8, 6))
    cloud = project(background)
    ax.scatter(cloud[:, 0], cloud[:, 1], s=3, color="#d0d0d0", label=f"{len(cloud):,} most frequent words")
    palette = itertools.cycle(["#8c8c8c", "#55a868", "#8172b2"])
    colors = {}
    for group in groups:
        rows = [i for i, (g, _) in enumerate(words) if g == group]
        if rows:
            colors[group] = CLASS_COLORS.get(group, None) or next(palette)
            ax.scatter(xy[rows, 0], xy[rows, 1], color=colors[group], label=group, zorder=3)
    place_labels(ax, xy, [word for _, word in words], [colors[group] for group, _ in words])
    ax.set_xlabel("first principal component (of the frequent words)")
    ax.set_ylabel("second principal component")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    return fig


def place_labels(ax, points, labels: list[str], colors, fontsize: int = 9) -> list:
    """Label each point so that no two labels overlap each other or a labelled point.

    Greedy: each label, in order, takes the first offset around its point
    (nearest first, then farther out, joined to its point by a thin line)
    whose box is free. Returns the text artists.
    """
    ax.autoscale_view()  # the data-to-pixel mapping must be final before boxes are measured
    renderer = ax.figure.canvas.get_renderer()
    pixels = ax.transData.transform(np.asarray(points, dtype=float))
    taken = [Bbox.from_extents(x - 4, y - 4, x + 4, y + 4) for x, y in pixels]
    directions = [(1, 0.3), (-1, 0.3), (1, -1), (-1, -1), (0, 1.3), (0, -1.8), (1, 1.3), (-1, 1.3), (1, -1.8),
                  (-1, -1.8)]
    offsets = [(radius * dx, radius * dy) for radius in (6, 14, 24, 36) for dx, dy in directions]
    texts = []
    for point, label, color in zip(points, labels, colors):
        for k, (dx, dy) in enumerate(offsets):
            leader = dict(arrowstyle="-", color=color, linewidth=0.6, shrinkA=0, shrinkB=3) if k >= 10 else None
            text = ax.annotate(label, point, xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                               color=color, zorder=4, va="center", arrowprops=leader,
                               ha="left" if dx > 0 else "right" if dx < 0 else "center")
            text.update_positions(renderer)
            box = Text.get_window_extent(text, renderer)  # the words only, not the leader line
            if not any(box.overlaps(other) for other in taken) or k == len(offsets) - 1:
                break
            text.remove()  # crowded here: try the next offset
        taken.append(box)
        texts.append(text)
    return texts


def _ordered(records):
    return sorted(records, key=order_key)


def plot_accuracy_overview(records: list[dict]):
    """Test accuracy per model, one group of bars per data set, with each
    record's ``interval`` (``(low, high)``, 0 to 1) as an error bar where given."""
    datasets = sorted({r["dataset"] for r in records})
    names = sorted({r["model"] for r in records}, key=lambda name: order_key({"model": name}))
    width = 0.8 / max(len(datasets), 1)
    fig, ax = plt.subplots(figsize=(max(9, 1.5 * len(names)), 4.8))
    for k, dataset in enumerate(datasets):
        by_model = {r["model"]: r for r in records if r["dataset"] == dataset}
        values = np.array([100 * by_model[m]["test_accuracy"] if m in by_model else np.nan for m in names])
        errors = np.array([[values[i] - 100 * by_model[m]["interval"][0], 100 * by_model[m]["interval"][1] - values[i]]
                           if m in by_model and "interval" in by_model[m] else [0.0, 0.0]
                           for i, m in enumerate(names)]).T
        bars = ax.bar(np.arange(len(names)) + (k - (len(datasets) - 1) / 2) * width, values, width,
                      yerr=errors, capsize=3, label=dataset)
        ax.bar_label(bars, fmt="{:.1f}", fontsize=8, padding=6)
    ax.set_xticks(np.arange(len(names)), [name.replace("_", " ") for name in names], rotation=15)
    ax.set_xlabel("model")
    ax.set_ylabel("test accuracy (%), 95 % interval")
    ax.set_ylim(45, 100)
    ax.axhline(50, color="gray", linestyle=":", linewidth=1)
    ax.set_title("Test accuracy by model and data set")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_validation_curves(records: list[dict], title: str | None = None):
    """Validation accuracy per epoch of every model, one panel per data set."""
    datasets = sorted({r["dataset"] for r in records})
    fig, axes = plt.subplots(1, len(datasets), figsize=(8 * len(datasets), 4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        for r in _ordered([r for r in records if r["dataset"] == dataset]):
            values = 100 * np.asarray(r["history"]["val_accuracy"])
            ax.plot(np.arange(1, len(values) + 1), values, "o-", label=r["model"])
        if ax.get_ylim()[0] < 60:  # near chance: show chance, so that small gaps do not look large
            ax.axhline(50, color="gray", linestyle=":", linewidth=1, label="chance (50 %)")
            ax.set_ylim(bottom=min(48, ax.get_ylim()[0]))
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))  # whole epochs only
        ax.set_title(f"{dataset}: validation accuracy")
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation accuracy (%)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9, frameon=False)  # beside, never on a curve
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_accuracy_vs_time(records: list[dict]):
    """Training time against test accuracy, one panel per data set (their
    times and accuracies are not on one scale)."""
    datasets = sorted({r["dataset"] for r in records})
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.5 * len(datasets), 4.5), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        runs = _ordered([r for r in records if r["dataset"] == dataset])
        ax.scatter([r["train_seconds"] for r in runs], [100 * r["test_accuracy"] for r in runs], s=60)
        for r in runs:
            ax.annotate(r["model"].replace("_", " "), (r["train_seconds"], 100 * r["test_accuracy"]),
                        xytext=(5, 3), textcoords="offset points", fontsize=9)
        ax.set_xlabel("training time (s, early stopping included)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"{dataset}: accuracy against training time")
    fig.tight_layout()
    return fig


def plot_gradient_flow(curves: dict[str, np.ndarray], title: str = "Gradient flow through time at initialization"):
    """``||dh_T/ds_t||`` against the distance ``T - t`` (log scale), one line
    per cell (:func:`utils.gradients.gradient_flow`): the SimpleRNNs on the
    left, the gated cells on the right, on one shared scale."""
    panels = {"SimpleRNN": {k: v for k, v in curves.items() if k.startswith("SimpleRNN")}}
    panels["gated cells (LSTM, GRU)"] = {k: v for k, v in curves.items() if k not in panels["SimpleRNN"]}
    panels = {name: group for name, group in panels.items() if group}
    if not panels:
        raise ValueError("Give at least one curve to draw (utils.gradients.gradient_flow returns them).")
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.6), sharey=True, squeeze=False)
    styles = {"LSTM": "-", "GRU": "--"}
    colors = iter(plt.rcParams["axes.prop_cycle"].by_key()["color"] * 2)  # a colour means one curve in both panels
    for ax, (panel, group) in zip(axes[0], panels.items()):
        for label, values in group.items():
            linestyle = next((style for family, style in styles.items() if label.startswith(family)), "-")
            ax.plot(np.arange(len(values)), values, linestyle=linestyle, linewidth=2, label=label, color=next(colors))
        # Thin and beneath the curves, so that a curve near norm 1 stays visible.
        ax.axhline(1, color="black", linestyle=":", linewidth=1, zorder=1, label="norm 1: neither shrinks nor grows")
        ax.set_yscale("log")
        ax.set_xlabel("distance T − t (time steps back from the last state)")
        ax.set_title(panel)
        ax.legend(fontsize=8, loc="lower left")
    axes[0, 0].set_ylabel("‖∂h_T / ∂s_t‖ (spectral norm, log scale)")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_clipping(runs: dict[str, dict[str, np.ndarray]], title: str = "Exploding gradients and clipping",
                  threshold: float | None = None, smoothing: int = 10):
    """Loss and gradient norm (before clipping) per training step, one color
    per clipping setting: :func:`utils.gradients.clipping_experiment`. Each
    seed is one line, the first bold; the loss is a running mean over
    ``smoothing`` steps (one batch's loss is noisy), the gradient norm is raw,
    so that every spike shows."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharex=True)
    window = np.ones(smoothing) / smoothing
    panels = (("loss", f"training loss (mean of {smoothing} steps, log)",
               lambda row: np.convolve(row, window, mode="valid"), smoothing),
              ("grad_norm", "gradient norm before clipping (log)", lambda row: row, 1))
    for color, (label, record) in zip(plt.rcParams["axes.prop_cycle"].by_key()["color"], runs.items()):
        for ax, (key, _, transform, first_step) in zip(axes, panels):
            for seed, row in enumerate(np.atleast_2d(record[key])):
                values = transform(row)
                ax.plot(np.arange(first_step, first_step + len(values)), values, color=color,
                        linewidth=1.4 if seed == 0 else 0.7, alpha=1.0 if seed == 0 else 0.45,
                        label=label if seed == 0 else None)
    if threshold is not None:
        axes[1].axhline(threshold, color="black", linestyle=":", linewidth=1, label=f"threshold {threshold:g}")
    seeds = len(np.atleast_2d(next(iter(runs.values()))["loss"])) if runs else 1
    for ax, (_, ylabel, _, _) in zip(axes, panels):
        ax.set_yscale("log")
        ax.set_xlabel("training step (one batch)")
        ax.set_ylabel(ylabel)
    fig.suptitle(title)
    _legend_below(fig, axes[1], bottom=0.12, title="bold: the first seed; thin: the other seeds" if seeds > 1 else None)
    return fig


def _memory_title(distances, accuracy: dict[str, np.ndarray], held: float = 0.9) -> str:
    """The finding, read from the measurements: who holds the longest distance."""
    holders = [f"“{label}”" for label, values in accuracy.items() if np.mean(np.asarray(values)[-1]) >= held]
    if not holders or len(holders) == len(accuracy):
        who = "every network" if holders else "no network"
    else:
        who = "only " + (" and ".join(holders) if len(holders) <= 2 else ", ".join(holders[:-1]) +
                         f" and {holders[-1]}")
    return (f"At {max(distances):g} steps, the longest measured, {who} kept the marker\n"
            f"(kept: a mean accuracy of at least {100 * held:.0f} %)")


def plot_memory(distances, accuracy: dict[str, np.ndarray], title: str | None = None):
    """Accuracy on the long-range memory task against the marker's distance:
    the mean over seeds, with bars from the worst to the best seed.

    ``accuracy`` maps a network to an array ``(distances, seeds)``
    (:func:`utils.memory_task.run_memory_experiment`; one seed: a list per
    distance). The default title states who held the longest distance.
    """
    distances = np.asarray(distances, dtype=float)
    fig, ax = plt.subplots(figsize=(10, 4.8))
    # Lines often coincide (at 100 % and at chance): shrinking markers, varied dashes and a small
    # sideways shift per network keep each visible.
    styles = itertools.cycle(zip(("o", "s", "^", "D", "v"), (11, 8, 6, 4, 3), ("-", "--", "-.", ":", "-")))
    shifts = 1.04 ** (np.arange(len(accuracy)) - (len(accuracy) - 1) / 2)
    for (label, values), (marker, size, line), shift in zip(accuracy.items(), styles, shifts):
        values = 100 * np.asarray(values, dtype=float).reshape(len(distances), -1)
        mean = values.mean(axis=1)
        spread = np.stack([mean - values.min(axis=1), values.max(axis=1) - mean])
        ax.errorbar(distances * shift, mean, yerr=spread, marker=marker, markersize=size, linestyle=line,
                    capsize=4, label=f"{label} ({values.shape[1]} seeds)")
    ax.axhline(50, color="gray", linestyle=":", linewidth=1, label="chance")
    ax.set_xscale("log")
    ax.set_xticks(distances, [f"{d:g}" for d in distances])
    if len(distances) == 1:  # the sideways shifts must not look like five distances
        ax.set_xlim(distances[0] / 2, distances[0] * 2)
    ax.minorticks_off()
    ax.set_xlabel("distance of the marker from the end (time steps, log scale)")
    ax.set_ylabel("test accuracy (%): mean, bars from worst to best seed")
    ax.set_ylim(35, 103)
    ax.set_title(title or _memory_title(distances, accuracy))
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)  # beside the data, not on it
    return fig


def plot_accuracy_intervals(rows: list[dict], title: str, label_key: str = "model", confidence: float = 0.95):
    """Test accuracy of a few runs with their confidence intervals as error bars.

    Each row holds ``test_accuracy`` and ``interval``, a ``(low, high)`` pair
    around it (e.g. :func:`utils.evaluation.accuracy_interval`), both 0 to 1;
    ``confidence`` only labels the axis.
    """
    for row in rows:
        low, high = row["interval"]
        if not low <= row["test_accuracy"] <= high:
            raise ValueError(f"{row[label_key]}: interval {row['interval']} does not contain the accuracy "
                             f"{row['test_accuracy']}; pass (low, high) around it.")
    accuracy = np.array([100 * row["test_accuracy"] for row in rows])
    below = accuracy - np.array([100 * row["interval"][0] for row in rows])
    above = np.array([100 * row["interval"][1] for row in rows]) - accuracy
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(1.5 * len(rows) + 3, 4))
    ax.errorbar(x, accuracy, yerr=[below, above], fmt="o", color="#4c72b0", capsize=6, markersize=7)
    for k, value in enumerate(accuracy):
        ax.annotate(f"{value:.1f}", (x[k], value), xytext=(8, 0), textcoords="offset points", va="center",
                    fontsize=9)
    ax.set_xticks(x, [str(row[label_key]) for row in rows])
    ax.set_xlim(-0.5, len(rows) - 0.5)
    ax.set_xlabel(label_key.replace("_", " "))
    ax.set_ylabel(f"test accuracy (%), {100 * confidence:g} % interval")
    # Zoomed on the intervals, so that their overlap can be read; chance is drawn when in view.
    low, high = float((accuracy - below).min()), float((accuracy + above).max())
    margin = max(1.0, 0.3 * (high - low))
    ax.set_ylim(low - margin, min(100.0, high + margin))
    if low - margin <= 50:
        ax.axhline(50, color="gray", linestyle=":", linewidth=1, label="chance")
        ax.legend(loc="lower right")
    ax.set_title(title)
    return fig


def plot_seed_spread(groups: list[dict], title: str, confidence: float = 0.95):
    """Test accuracy of variants trained with several seeds: each seed's run as a dot, the
    seeds' range as a bar, and the test-sample interval around the seeds' mean as a black
    error bar, so that the two kinds of luck can be compared at a glance.

    Each group holds ``label``, ``accuracies`` (one test accuracy per seed, 0 to 1) and
    ``interval``, a ``(low, high)`` pair around their mean (e.g.
    :func:`utils.evaluation.accuracy_interval` of the mean); ``confidence`` labels it.
    """
    for group in groups:
        mean = float(np.mean(group["accuracies"]))
        if not group["interval"][0] <= mean <= group["interval"][1]:
            raise ValueError(f"{group['label']}: interval {group['interval']} does not contain the seeds' mean "
                             f"{mean}; pass (low, high) around it.")
    fig, ax = plt.subplots(figsize=(1.8 * len(groups) + 3, 4.2))
    for k, group in enumerate(groups):
        accuracies = 100 * np.asarray(group["accuracies"], dtype=float)
        mean, (low, high) = accuracies.mean(), (100 * group["interval"][0], 100 * group["interval"][1])
        spread = accuracies.max() - accuracies.min()  # seeds that agree still get a visible sliver
        ax.bar(k, max(spread, 0.1), bottom=accuracies.min() - max(0.0, 0.1 - spread) / 2, width=0.35,
               color="#4c72b0", alpha=0.3, label="seed spread (lowest to highest seed)" if k == 0 else None)
        ax.plot(np.full(len(accuracies), k) + np.linspace(-0.08, 0.08, len(accuracies)), accuracies, "o",
                color="#4c72b0", markersize=6, label="one seed's test accuracy" if k == 0 else None)
        ax.errorbar(k + 0.3, mean, yerr=[[mean - low], [high - mean]], fmt="_", color="black", capsize=6,
                    markersize=14, label=f"mean, {100 * confidence:g} % test-sample interval" if k == 0 else None)
        ax.annotate(f"{mean:.1f}", (k + 0.3, mean), xytext=(10, 0), textcoords="offset points", va="center",
                    fontsize=9)
    ax.set_xticks(range(len(groups)), [str(group["label"]) for group in groups])
    ax.set_xlim(-0.6, len(groups) - 0.2)
    ax.set_ylabel("test accuracy (%)")
    values = [100 * a for group in groups for a in group["accuracies"]]
    values += [100 * bound for group in groups for bound in group["interval"]]
    margin = max(1.0, 0.3 * (max(values) - min(values)))
    ax.set_ylim(min(values) - margin, min(100.0, max(values) + 2.5 * margin))  # room for the legend above
    ax.legend(loc="upper left", fontsize=8, ncol=1)
    ax.set_title(title)
    return fig
