"""A long-range memory task: can the cell remember one token for d steps?

Every sequence is ``length`` random noise tokens with one marker token placed
``distance`` steps before the end: marker ``A`` means label 0, marker ``B``
label 1. Nothing after the marker says which one it was, so the network must
carry it in its state across ``distance - 1`` noise tokens. Sequences have
the same length for every distance, so only the memory span changes.
"""

from __future__ import annotations

import numpy as np

from utils import config, models

NOISE_TOKENS = 10  # ids 2..11; 0 is padding, 1 is unused
MARKERS = (12, 13)  # label 0, label 1
VOCAB_SIZE = 14


def make_memory_task(n: int, length: int, distance: int, seed: int = 0):
    """``(ids, labels)``: ``n`` sequences with the marker ``distance`` steps from the end."""
    if not 1 <= distance <= length:
        raise ValueError(f"distance must lie between 1 and length={length}, got {distance}.")
    rng = np.random.default_rng(seed)
    ids = rng.integers(2, 2 + NOISE_TOKENS, size=(n, length), dtype=np.int32)
    labels = rng.integers(0, 2, size=n, dtype=np.int32)
    ids[:, length - distance] = np.asarray(MARKERS, dtype=np.int32)[labels]
    return ids, labels


# The networks compared: label -> (cell, extra builder options).
NETWORKS = {
    "simple_rnn": ("simple_rnn", {}),
    "lstm": ("lstm", {}),
    "gru": ("gru", {}),
    "lstm, forget bias 3": ("lstm", {"forget_bias": 3.0}),
}


def run_memory_experiment(profile: config.Profile, networks=tuple(NETWORKS),
                          units: int = 32) -> dict[str, list[float]]:
    """Test accuracy of each of ``networks`` (labels of :data:`NETWORKS`) at
    each of the profile's memory distances."""
    length = max(profile.memory_distances) + 10
    accuracy = {label: [] for label in networks}
    for distance in profile.memory_distances:
        x_train, y_train = make_memory_task(profile.memory_train_size, length, distance, seed=distance)
        x_test, y_test = make_memory_task(1_000, length, distance, seed=10_000 + distance)
        for label in networks:
            cell, options = NETWORKS[label]
            config.seed_everything(config.SEED)
            model = models.build_rnn_classifier(cell, VOCAB_SIZE, units=units, embedding_dim=8,
                                                dropout=0.0, learning_rate=3e-3, **options)
            model.fit(x_train, y_train, batch_size=64, epochs=profile.memory_epochs, verbose=0)
            _, acc = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
            accuracy[label].append(float(acc))
            print(f"distance {distance:3d} steps, {label:20s}: test accuracy {100 * acc:5.1f} %", flush=True)
    return accuracy
