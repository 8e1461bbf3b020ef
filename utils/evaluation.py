"""Evaluation and inspection of a trained classifier: predictions over the
test set, the confusion matrix, the surest mistakes, the prediction after
every prefix of a text, the confidence interval of an accuracy, and
:func:`show_evaluation`, which draws and prints all of it for a notebook."""

from __future__ import annotations

import math
import numbers
import statistics

import numpy as np

from utils import plots, results
from utils.models import recurrent_layers
from utils.text import readable


def predict_probabilities(model, batches) -> tuple[np.ndarray, np.ndarray]:
    """``(probabilities, labels)`` over a batched ``(ids, label)`` dataset.

    ``model.predict`` runs one compiled graph per batch; calling the model
    eagerly would run the recurrence step by step in Python (minutes for a
    600-token test set). ``batches`` must come in a fixed order (no shuffle).
    """
    # Two passes, labels then model.predict (which reads the token ids the first pass cached):
    # a single loop of predict_on_batch took twice as long on the 25,000 test reviews.
    labels = [np.asarray(label).reshape(-1) for _, label in batches]
    if not labels:
        raise ValueError("The test pipeline holds no texts: there is nothing to predict.")
    probabilities = model.predict(batches.map(lambda ids, label: ids), verbose=0)
    return np.asarray(probabilities).reshape(-1), np.concatenate(labels)


def accuracy(labels, probabilities, threshold: float = 0.5) -> float:
    """Share of texts whose predicted class (``probability >= threshold``) is their label."""
    return float(np.mean((np.asarray(probabilities) >= threshold) == (np.asarray(labels) == 1)))


def binary_cross_entropy(labels, probabilities, epsilon: float = 1e-7) -> float:
    """Mean ``-[y log p + (1 - y) log(1 - p)]``, with ``p`` kept within ``epsilon``
    of 0 and 1 as Keras keeps it: the loss the models train on."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.clip(np.asarray(probabilities, dtype=np.float64), epsilon, 1 - epsilon)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def confusion_matrix(labels, probabilities, threshold: float = 0.5) -> np.ndarray:
    """2x2 counts: rows true negative/positive, columns predicted."""
    predicted = (np.asarray(probabilities) >= threshold).astype(int)
    matrix = np.zeros((2, 2), dtype=int)
    np.add.at(matrix, (np.asarray(labels).astype(int), predicted), 1)
    return matrix


def most_confident_mistakes(texts, labels, probabilities, n: int = 5) -> list[dict]:
    """The ``n`` wrong predictions the model was surest of."""
    labels, probabilities = np.asarray(labels), np.asarray(probabilities)
    wrong = np.flatnonzero((probabilities >= 0.5) != (labels == 1))
    confidence = np.abs(probabilities[wrong] - 0.5)
    return [{"text": texts[i], "label": int(labels[i]), "probability": float(probabilities[i])}
            for i in wrong[np.argsort(-confidence)][:n]]


def accuracy_interval(correct: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of an accuracy of ``correct`` out of ``total``.

    The accuracies ``a`` for which the measured share ``p = correct / total``
    lies within ``z`` standard errors, ``(p - a)^2 = z^2 a (1 - a) / total``,
    with ``z`` the normal quantile of ``confidence`` (1.96 for 95 %). Unlike
    ``p +- z sqrt(p (1 - p) / total)`` it stays inside [0, 1] and does not
    shrink to a point at 0 % or 100 %.
    """
    counts = isinstance(correct, numbers.Integral) and isinstance(total, numbers.Integral)
    if not (counts and 0 <= correct <= total and total > 0):
        raise ValueError(f"Give whole counts with 0 <= correct <= total and total > 0, got {correct}/{total}.")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1 (e.g. 0.95), got {confidence}.")
    z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2)
    total, share, z2n = int(total), correct / total, z * z / total
    center = (share + z2n / 2) / (1 + z2n)
    half_width = z / (1 + z2n) * math.sqrt(share * (1 - share) / total + z2n / (4 * total))
    return max(0.0, center - half_width), min(1.0, center + half_width)


def record_interval(record: dict, confidence: float = 0.95) -> tuple[float, float]:
    """:func:`accuracy_interval` of a results record's test accuracy on its ``n_test`` texts."""
    total = record["n_test"]
    return accuracy_interval(round(record["test_accuracy"] * total), total, confidence)


def luck_verdict(gap: float, seed_spread: float, sample_half_width: float) -> str:
    """Where a test gap between two variants, each trained over several seeds, stands against
    the two kinds of luck: the seeds' spread (training) and half the test-sample interval."""
    beyond_seeds, beyond_sample = abs(gap) > seed_spread, abs(gap) > sample_half_width
    if beyond_seeds and beyond_sample:
        return "beyond both kinds of luck"
    if beyond_seeds:
        return "beyond the seeds' spread only"
    if beyond_sample:
        return "beyond the test-sample interval only"
    return "within both kinds of luck"


def prefix_probabilities(model, ids) -> np.ndarray:
    """P(positive) after each prefix of ``ids``: the head applied to every state.

    Uses copies of the model's recurrent layers that return their whole
    sequence of hidden states; dropout is off at inference, so the head sees
    exactly what it would see if the text ended at that token.
    """
    hidden = model.get_layer("embedding")(np.asarray(ids))
    for layer in recurrent_layers(model):
        sequence_layer = type(layer).from_config({**layer.get_config(), "return_sequences": True})
        sequence_layer.build(hidden.shape)
        sequence_layer.set_weights(layer.get_weights())
        hidden = sequence_layer(hidden)
    return np.asarray(model.get_layer("positive_probability")(hidden))[..., 0]


def show_evaluation(model, prepared, record: dict, figure_prefix: str, profile,
                      n_mistakes: int = 3) -> dict:
    """Training curves, confusion matrix and the surest mistakes of one run.

    Saves ``<figure_prefix>_history.png`` and ``<figure_prefix>_confusion.png``
    and returns the confusion matrix and the mistakes for the checks cell.
    The test predictions are the ones the training run made
    (``record["test_predictions"]``); a record read from its file has none,
    and the test set is predicted again.
    """
    saved = record.get(results.IN_MEMORY_KEY)
    probabilities, labels = ((saved["probabilities"], saved["labels"]) if saved
                             else predict_probabilities(model, prepared.test))
    matrix = confusion_matrix(labels, probabilities)
    name, history = record["model"], record["history"]
    # The titles state what each figure shows, read from this run.
    best, lowest = int(np.argmax(history["val_accuracy"])), int(np.argmin(history["val_loss"]))
    plots.save_figure(plots.plot_history(history, (
        f"{name}: validation accuracy best in epoch {best + 1} of {len(history['val_accuracy'])} "
        f"({100 * history['val_accuracy'][best]:.1f} %), validation loss lowest in epoch {lowest + 1}")),
        f"{figure_prefix}_history", profile)
    (_, false_positive), (false_negative, _) = matrix
    plots.save_figure(plots.plot_confusion_matrix(matrix, (
        f"{name}: {100 * np.trace(matrix) / matrix.sum():.1f} % of {matrix.sum():,} test texts right\n"
        f"{false_negative:,} positives called negative, {false_positive:,} negatives positive")),
        f"{figure_prefix}_confusion", profile)
    texts = [text.decode("utf-8", errors="replace") for text, _ in prepared.test_texts.as_numpy_iterator()]
    mistakes = most_confident_mistakes(texts, labels, probabilities, n_mistakes)
    print(f"Test accuracy {100 * accuracy(labels, probabilities):.2f} %; "
          f"the {len(mistakes)} surest mistakes:")
    for mistake in mistakes:
        truth = "positive" if mistake["label"] else "negative"
        review = readable(mistake["text"])
        print(f"\n[label {truth}, P(positive) = {100 * mistake['probability']:.1f} %] "
              f"{review[:400]}{' …' if len(review) > 400 else ''}")
    return {"confusion": matrix, "mistakes": mistakes, "probabilities": probabilities}
