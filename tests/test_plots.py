"""utils.plots: each helper draws labeled axes and saves a PNG."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.text import Text

from utils import config, plots


def png_size(path) -> tuple[int, int]:
    """``(width, height)`` in pixels from a PNG's header; fails for any other file."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR", f"{path} is not a PNG"
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def test_helpers_draw_labeled_figures_and_save(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    lengths = {"A": np.array([3, 5, 8, 13, 40]), "B": np.array([1, 2, 2, 3])}
    figures = {
        "balance": plots.plot_class_balance({"A train": {"negative": 3, "positive": 4}}),
        "lengths": plots.plot_length_distribution(lengths),
        "coverage": plots.plot_length_coverage(
            {"A": {5: {"texts_whole": 0.4, "tokens_kept": 0.6}, 10: {"texts_whole": 0.8, "tokens_kept": 0.9}}}),
        "vocab": plots.plot_vocabulary_coverage({"A": {10: 0.5, 100: 0.9}}),
        "padding": plots.plot_padding({"post": np.array([[3, 4, 0]]), "pre": np.array([[0, 3, 4]])}),
        "lengths_window": plots.plot_length_distribution({"A": np.array([3, 5, 8])}, window=6),
    }
    for name, fig in figures.items():
        # Every axis says what it shows; stacked axes share the x label of the bottom one, and a
        # colour bar names its scale.
        for ax in fig.axes:
            assert ax.get_ylabel(), (name, ax.get_title())
            if ax.get_label() == "<colorbar>":
                continue
            assert ax.get_xlabel() or not ax.get_subplotspec().is_last_row(), (name, ax.get_title())
            assert np.isfinite(ax.dataLim.get_points()).all(), f"{name}: nothing drawn in {ax.get_title()!r}"
        path = plots.save_figure(fig, f"test_{name}", config.PROFILES["smoke"])
        assert path == tmp_path / "figures" / "smoke" / f"test_{name}.png"
        width, height = png_size(path)
        assert 300 <= width <= 3_000 and 150 <= height <= 3_000, (name, width, height)
        # Empty labeled axes make a PNG of about 20 kB (matplotlib 3.11); these figures hold 31 to 80 kB.
        assert 25_000 < path.stat().st_size < 1_000_000, (name, path.stat().st_size)


def test_history_shows_the_unaveraged_weights_only_where_measured():
    history = {"loss": [0.6, 0.4], "val_loss": [0.5, 0.45], "accuracy": [0.7, 0.8], "val_accuracy": [0.75, 0.8]}
    plain = plots.plot_history(history)
    assert [len(ax.lines) for ax in plain.axes] == [3, 3]  # training, validation, the epoch kept
    averaged = plots.plot_history({**history, "val_accuracy_unaveraged": [0.7, 0.78]})
    assert [len(ax.lines) for ax in averaged.axes] == [3, 4]
    labels = [line.get_label() for line in averaged.axes[1].lines]
    assert labels == ["training", "validation, averaged weights", "validation, last step's weights", "weights kept"]
    assert averaged.axes[1].lines[-1].get_xdata()[0] == 2, "the best validation accuracy's epoch"


def test_word_map_places_each_known_word_once_and_skips_unknown_ones():
    vocabulary = ["", "[UNK]", "good", "great", "bad", "awful", "film"]
    vectors = np.array([[0, 0, 0], [0, 0, 0], [1, 0, 0], [0.9, 0.1, 0], [-1, 0, 0], [-0.9, 0, 0.1],
                        [0, 1, 0]], dtype="float32")
    fig = plots.plot_word_map(vectors, vocabulary, {"positive": ["good", "great", "superb"],
                                                    "negative": ["bad", "awful"], "neutral": ["film"]})
    ax = fig.axes[0]
    assert sorted(text.get_text() for text in ax.texts) == ["awful", "bad", "film", "good", "great"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["5 most frequent words", "positive", "negative",
                                                                   "neutral"]
    assert ax.get_xlabel() and ax.get_ylabel()
    with np.testing.assert_raises_regex(ValueError, "at least two words"):
        plots.plot_word_map(vectors, vocabulary, {"positive": ["superb"]})


def test_gate_heatmaps_show_the_units_that_move_most():
    rng = np.random.default_rng(0)
    gates = rng.uniform(0.45, 0.55, size=(12, 64))  # 12 tokens, 64 units, nearly constant
    gates[:, [3, 40, 41]] = np.linspace(0, 1, 12)[:, None]  # three units that move
    assert plots.most_active_units(gates, 3).tolist() == [3, 40, 41]
    fig = plots.plot_gates([f"t{i}" for i in range(12)], {"input gate": gates}, np.linspace(0.2, 0.8, 12),
                           n_units=3)
    heatmap = fig.axes[0]
    assert [label.get_text() for label in heatmap.get_yticklabels()] == ["3", "40", "41"]
    assert heatmap.images[0].get_array().shape == (3, 12)
    assert heatmap.images[0].get_clim() == (0.0, 1.0), "sigmoid gates on one 0-1 scale"


def comparison_records():
    return [{"dataset": dataset, "model": model, "test_accuracy": accuracy, "train_seconds": seconds,
             "interval": (accuracy - 0.01, accuracy + 0.02)}
            for dataset, model, accuracy, seconds in (("imdb", "lstm", 0.89, 300.0),
                                                      ("imdb", "bag_of_words", 0.9, 40.0),
                                                      ("sentiment140", "gru", 0.76, 30.0))]


def test_accuracy_overview_carries_each_interval_as_an_error_bar():
    fig = plots.plot_accuracy_overview(comparison_records())
    ax = fig.axes[0]
    assert [label.get_text() for label in ax.get_xticklabels()] == ["lstm", "gru", "bag of words"]
    segments = [segment for collection in ax.collections for segment in collection.get_segments() if len(segment)]
    spans = sorted(round(float(top[1] - bottom[1]), 6) for bottom, top in segments)
    assert spans == [3.0, 3.0, 3.0], "each bar spans its interval: 1 point below, 2 above"


def test_accuracy_vs_time_has_one_panel_per_data_set():
    fig = plots.plot_accuracy_vs_time(comparison_records())
    assert [ax.get_title() for ax in fig.axes] == ["imdb: accuracy against training time",
                                                   "sentiment140: accuracy against training time"]
    assert sorted(text.get_text() for text in fig.axes[0].texts) == ["bag of words", "lstm"]


def test_comparison_leaves_out_a_panel_whose_values_are_all_equal():
    # Broken variant: three panels always, one of them three identical bars.
    rows = [{"model": name, "test_accuracy": accuracy, "params": 1_000, "seconds_per_epoch": seconds}
            for name, accuracy, seconds in (("a", 0.8, 10.0), ("b", 0.85, 12.0))]
    fig = plots.plot_comparison(rows, "same size")
    assert [ax.get_ylabel() for ax in fig.axes] == ["test accuracy (%)", "training time (s per epoch)"]
    rows[1]["params"] = 2_000
    assert len(plots.plot_comparison(rows, "other sizes").axes) == 3


def test_validation_curves_take_a_title_and_draw_one_line_per_run():
    runs = [{"dataset": "imdb", "model": name, "history": {"val_accuracy": values}}
            for name, values in (("mask", [0.7, 0.8, 0.82]), ("no mask", [0.5, 0.55, 0.6]))]
    fig = plots.plot_validation_curves(runs, "padding")
    assert fig._suptitle.get_text() == "padding"
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["mask", "no mask", "chance (50 %)"]
    assert fig.axes[0].get_ylim()[0] <= 48, "near chance, the axis shows chance"
    far_from_chance = [{**run, "history": {"val_accuracy": [0.8, 0.85]}} for run in runs]
    assert "chance (50 %)" not in [line.get_label() for line in plots.plot_validation_curves(far_from_chance)
                                   .axes[0].get_lines()], "far above chance, the axis keeps the curves apart"


def test_word_labels_do_not_overlap_in_a_crowd():
    rng = np.random.default_rng(0)
    points = rng.normal(scale=0.05, size=(12, 2))  # twelve words on top of each other
    points[0] = (3.0, 3.0)  # and one far away, to set the scale
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(points[:, 0], points[:, 1])
    texts = plots.place_labels(ax, points, [f"word{i}" for i in range(12)], ["black"] * 12)
    renderer = fig.canvas.get_renderer()
    fig.canvas.draw()  # places every annotation where the saved figure has it
    boxes = [Text.get_window_extent(t, renderer) for t in texts]  # the words, not their leader lines
    assert [t.get_text() for t in texts] == [f"word{i}" for i in range(12)]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    plt.close(fig)


def test_class_balance_reads_shares_and_keeps_a_lopsided_split_in_view():
    fig = plots.plot_class_balance({"A": {"negative": 30, "positive": 10}, "B": {"negative": 1, "positive": 9}})
    ax = fig.axes[0]
    heights = sorted(round(bar.get_height(), 1) for bar in ax.patches)
    assert heights == [10.0, 25.0, 75.0, 90.0], "each bar is its class's share of its own split"
    assert ax.get_ylim()[1] >= 100, "a 90 % bar and its count stay inside the axes"
    plt.close(fig)


def test_vocabulary_coverage_stars_the_chosen_size():
    fig = plots.plot_vocabulary_coverage({"A": {10: 0.5, 100: 0.9}}, chosen={"A": 100})
    ax = fig.axes[0]
    stars = [line for line in ax.lines if line.get_marker() == "*"]
    assert len(stars) == 1 and list(stars[0].get_xdata()) == [100] and list(stars[0].get_ydata()) == [90.0]
    assert "100 words, 90.0 %" in ax.get_legend().get_texts()[0].get_text()
    plt.close(fig)
