"""utils.evaluation.accuracy_interval: the Wilson score interval of an accuracy."""

import numpy as np
import pytest

from utils import evaluation

Z95 = 1.959963984540054  # the normal quantile of 0.975


@pytest.mark.parametrize("correct, total, low, high", [
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", table I, Wilson method.
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_matches_published_wilson_intervals(correct, total, low, high):
    assert evaluation.accuracy_interval(correct, total) == pytest.approx((low, high), abs=5e-5)


def test_solves_the_defining_quadratic_for_the_best_tweet_model():
    # The Wilson bounds are the accuracies a with (p - a)^2 = z^2 a (1 - a) / n: the roots of
    # (1 + z^2/n) a^2 - (2 p + z^2/n) a + p^2 = 0, solved here without the closed form.
    correct, total = 272, 359
    p, z2n = correct / total, Z95**2 / total
    roots = sorted(np.roots([1 + z2n, -(2 * p + z2n), p * p]).real)
    low, high = evaluation.accuracy_interval(correct, total)
    assert (low, high) == pytest.approx(roots, abs=1e-12)
    assert (round(low, 4), round(high, 4)) == (0.7108, 0.7991)


def test_wider_for_more_confidence_and_fewer_examples():
    low95, high95 = evaluation.accuracy_interval(75, 100)
    low99, high99 = evaluation.accuracy_interval(75, 100, confidence=0.99)
    low_big, high_big = evaluation.accuracy_interval(750, 1000)
    assert low99 < low95 < low_big and high_big < high95 < high99
    assert evaluation.accuracy_interval(20, 20)[1] == 1.0 and evaluation.accuracy_interval(20, 20)[0] < 1.0


def test_accepts_numpy_counts():
    assert evaluation.accuracy_interval(np.int64(272), np.int64(359)) == evaluation.accuracy_interval(272, 359)


@pytest.mark.parametrize("correct, total, confidence, message", [
    (5, 0, 0.95, "0 <= correct <= total"),
    (6, 5, 0.95, "0 <= correct <= total"),
    (0.7, 1, 0.95, "whole counts"),
    (3, 5, 95, "between 0 and 1"),
])
def test_rejects_bad_input_in_one_line(correct, total, confidence, message):
    with pytest.raises(ValueError, match=message):
        evaluation.accuracy_interval(correct, total, confidence)


def test_record_interval_counts_the_record_s_right_answers():
    record = {"test_accuracy": 272 / 359, "n_test": 359}
    assert evaluation.record_interval(record) == evaluation.accuracy_interval(272, 359)


def test_cross_entropy_and_accuracy_match_keras():
    import keras

    labels = np.array([0, 1, 1, 0, 1], dtype="float32")
    probabilities = np.array([0.1, 0.8, 0.4, 0.0, 1.0], dtype="float32")  # 0 and 1 exercise the clipping
    expected = float(keras.losses.BinaryCrossentropy()(labels[:, None], probabilities[:, None]))
    assert evaluation.binary_cross_entropy(labels, probabilities) == pytest.approx(expected, rel=1e-5)
    assert evaluation.accuracy(labels, probabilities) == pytest.approx(0.8)


@pytest.mark.parametrize("gap, verdict", [(0.05, "beyond both kinds of luck"), (-0.05, "beyond both kinds of luck"),
                                          (0.025, "beyond the seeds' spread only"),
                                          (0.01, "within both kinds of luck")])
def test_luck_verdict_names_which_luck_a_gap_exceeds(gap, verdict):
    assert evaluation.luck_verdict(gap, seed_spread=0.02, sample_half_width=0.03) == verdict
    assert evaluation.luck_verdict(0.025, seed_spread=0.03, sample_half_width=0.02) == \
        "beyond the test-sample interval only"
