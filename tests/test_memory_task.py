"""utils.memory: the long-range memory task and its experiment."""

import dataclasses

import numpy as np
import pytest

from utils import config, memory_task


def test_marker_sits_distance_steps_from_the_end_and_gives_the_label():
    ids, labels = memory_task.make_memory_task(200, length=30, distance=7, seed=1)
    assert ids.shape == (200, 30) and set(np.unique(labels)) == {0, 1}
    np.testing.assert_array_equal(ids[:, 30 - 7], np.asarray(memory_task.MARKERS)[labels])
    noise = np.delete(ids, 30 - 7, axis=1)
    assert noise.min() >= 2 and noise.max() < 2 + memory_task.NOISE_TOKENS, "only the marker says the label"
    with pytest.raises(ValueError, match="distance"):
        memory_task.make_memory_task(10, length=30, distance=31)


def test_experiment_reports_an_accuracy_per_network_and_distance():
    profile = dataclasses.replace(config.get_profile("smoke"), memory_distances=(1, 3),
                                  memory_train_size=64, memory_epochs=1)
    accuracy = memory_task.run_memory_experiment(profile, networks=("simple_rnn", "lstm, forget bias 3"))
    assert list(accuracy) == ["simple_rnn", "lstm, forget bias 3"]
    assert all(len(values) == 2 and all(0 <= a <= 1 for a in values) for values in accuracy.values())
