"""utils.plots.plot_length_coverage marks the chosen lengths; plot_accuracy_intervals draws error bars."""

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest

from utils import plots

COVERAGE = {
    "IMDB": {100: {"texts_whole": 0.3, "tokens_kept": 0.5}, 600: {"texts_whole": 0.9, "tokens_kept": 0.95}},
    "Tweets": {10: {"texts_whole": 0.5, "tokens_kept": 0.7}, 40: {"texts_whole": 1.0, "tokens_kept": 1.0}},
}


def vertical_lines(ax):
    return [line.get_xdata()[0] for line in ax.lines if len(set(line.get_xdata())) == 1]


def test_chosen_lengths_are_labelled_vertical_lines_on_their_own_panel():
    fig = plots.plot_length_coverage(COVERAGE, chosen={"IMDB": [(200, "SimpleRNN"), (600, "LSTM, GRU")],
                                                       "Tweets": [(40, "tweet models")]})
    imdb, tweets = fig.axes
    assert vertical_lines(imdb) == [200, 600] and vertical_lines(tweets) == [40]
    assert [t.get_text() for t in imdb.texts] == ["SimpleRNN: 200", "LSTM, GRU: 600"]
    assert [t.get_text() for t in tweets.texts] == ["tweet models: 40"]
    assert len(imdb.lines) == 4  # two coverage curves and two marks


def test_without_chosen_lengths_only_the_curves_are_drawn():
    for fig in (plots.plot_length_coverage(COVERAGE), plots.plot_length_coverage(COVERAGE, chosen={"IMDB": []})):
        assert [len(ax.lines) for ax in fig.axes] == [2, 2]
        assert not any(ax.texts for ax in fig.axes)


def test_accuracy_intervals_are_error_bars_around_each_accuracy():
    rows = [{"model": "lstm", "test_accuracy": 0.75, "interval": (0.70, 0.79)},
            {"model": "gru", "test_accuracy": 0.76, "interval": (0.71, 0.80)}]
    fig = plots.plot_accuracy_intervals(rows, "Two models")
    ax = fig.axes[0]
    bars = ax.containers[0]
    segments = bars.lines[2][0].get_segments()
    assert np.allclose([segment[:, 1] for segment in segments], [[70, 79], [71, 80]])
    assert np.allclose(bars.lines[0].get_ydata(), [75, 76])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["lstm", "gru"]
    assert ax.get_ylabel() == "test accuracy (%), 95 % interval"
    bottom, top = ax.get_ylim()
    assert 60 < bottom < 70 and 80 < top < 90, "zoomed on the intervals, so that their overlap shows"
    with pytest.raises(ValueError, match="does not contain the accuracy"):
        plots.plot_accuracy_intervals([{"model": "x", "test_accuracy": 0.9, "interval": (0.7, 0.8)}], "bad")


def test_seed_spread_draws_each_seed_their_range_and_the_sample_interval():
    groups = [{"label": "last state", "accuracies": [0.80, 0.83, 0.82], "interval": (0.81, 0.83)},
              {"label": "bidirectional", "accuracies": [0.78, 0.85], "interval": (0.805, 0.825)}]
    fig = plots.plot_seed_spread(groups, "Two variants over seeds")
    ax = fig.axes[0]
    bars = [patch for patch in ax.patches]
    assert np.allclose([(b.get_y(), b.get_y() + b.get_height()) for b in bars], [(80, 83), (78, 85)]), "seed range"
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    assert [sorted(np.round(line.get_ydata(), 6)) for line in dots] == [[80, 82, 83], [78, 85]], "one dot a seed"
    intervals = [container.lines[2][0].get_segments()[0][:, 1] for container in ax.containers
                 if hasattr(container, "has_yerr") and container.has_yerr]
    assert np.allclose(intervals, [[81, 83], [80.5, 82.5]]), "the test-sample interval around each mean"
    assert len(ax.get_legend().get_texts()) == 3, "the legend names dots, range and interval"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["last state", "bidirectional"]
    with pytest.raises(ValueError, match="does not contain the seeds' mean"):
        plots.plot_seed_spread([{"label": "x", "accuracies": [0.9], "interval": (0.7, 0.8)}], "bad")
