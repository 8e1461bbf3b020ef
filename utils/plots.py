"""The course figures: small helpers that draw one idea each and save it.

Every helper returns the matplotlib ``Figure``; :func:`save_figure` writes it
to ``figures/<notebook>_<name>.png`` (or the smoke profile's own folder).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from utils import config

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
    """Bars of negative/positive examples per data set and split.

    ``counts`` maps a name such as ``"IMDB train"`` to ``{"negative": n, "positive": m}``.
    """
    names = list(counts)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(1.6 * len(names) + 3, 4))
    for offset, label in ((-0.2, "negative"), (0.2, "positive")):
        values = [counts[name].get(label, 0) for name in names]
        bars = ax.bar(x + offset, values, width=0.4, label=label, color=CLASS_COLORS[label])
        ax.bar_label(bars, fmt="{:,.0f}", fontsize=9)
    ax.set_xticks(x, names)
    ax.set_xlabel("data set and split")
    ax.set_ylabel("examples (count)")
    ax.set_title("Class balance")
    ax.legend()
    return fig


def plot_length_distribution(lengths: dict[str, np.ndarray], percentiles=(50, 90, 95, 99)):
    """A histogram of text lengths per data set, percentiles marked."""
    fig, axes = plt.subplots(1, len(lengths), figsize=(6 * len(lengths), 4), squeeze=False)
    for ax, (name, values) in zip(axes[0], lengths.items()):
        values = np.asarray(values)
        upper = max(int(np.percentile(values, 99.5)) if values.size else 1, 1)
        # Short texts get one bar per length; long ones 60 bars.
        ax.hist(values, bins=min(60, upper + 1), range=(-0.5, upper + 0.5), color="#8c8c8c")
        for q, value in zip(percentiles, np.percentile(values, percentiles) if values.size else []):
            ax.axvline(value, color="#dd8452", linestyle="--", linewidth=1)
            ax.annotate(f"p{q} = {value:.0f}", xy=(value, 1), xycoords=("data", "axes fraction"),
                        xytext=(3, -4), textcoords="offset points", rotation=90,
                        va="top", ha="left", fontsize=9, color="#a0522d")
        ax.set_title(f"{name}: length of {values.size:,} texts")
        ax.set_xlabel("length (tokens)")
        ax.set_ylabel("texts (count)")
    return fig


def plot_length_coverage(coverage: dict[str, dict[int, dict[str, float]]]):
    """How much text each candidate sequence length keeps, per data set.

    ``coverage`` maps a data set name to :func:`utils.data.length_coverage`.
    """
    fig, axes = plt.subplots(1, len(coverage), figsize=(6 * len(coverage), 4), squeeze=False)
    for ax, (name, table) in zip(axes[0], coverage.items()):
        lengths = sorted(table)
        ax.plot(lengths, [100 * table[n]["texts_whole"] for n in lengths], "o-", label="texts kept whole")
        ax.plot(lengths, [100 * table[n]["tokens_kept"] for n in lengths], "s-", label="tokens kept")
        ax.set_title(f"{name}: what a sequence length keeps")
        ax.set_xlabel("sequence length (tokens)")
        ax.set_ylabel("kept (%)")
        ax.set_ylim(0, 101)
        ax.legend(loc="lower right")
    return fig


def plot_vocabulary_coverage(coverage: dict[str, dict[int, float]]):
    """Share of token occurrences covered by the top-n words, per data set."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, table in coverage.items():
        sizes = sorted(table)
        ax.plot(sizes, [100 * table[n] for n in sizes], "o-", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("vocabulary size (most frequent words, log scale)")
    ax.set_ylabel("token occurrences covered (%)")
    ax.set_title("Vocabulary size against coverage")
    ax.legend()
    return fig


def plot_padding(batches: dict[str, np.ndarray]):
    """Token ids of one batch for each padding style; padding drawn white.

    ``batches`` maps a title such as ``"post-padding"`` to an id matrix
    ``(batch, time)``.
    """
    fig, axes = plt.subplots(len(batches), 1, figsize=(9, 1.6 * len(batches) + 0.6), squeeze=False)
    for ax, (title, ids) in zip(axes[:, 0], batches.items()):
        ids = np.asarray(ids)
        ax.imshow(np.where(ids == 0, np.nan, np.log1p(ids)), aspect="auto", cmap="viridis",
                  interpolation="nearest")
        ax.set_title(f"{title}: white = padding (id 0)")
        ax.set_ylabel("example")
        ax.grid(False)
    axes[-1, 0].set_xlabel("time step (token position)")
    fig.tight_layout()
    return fig
