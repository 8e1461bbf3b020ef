"""utils.memory_task: the long-range memory task, its models and experiment; plots.plot_memory."""

import dataclasses

import keras
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from utils import config, memory_task, plots


def test_marker_sits_distance_steps_from_the_end_and_gives_the_label():
    ids, labels = memory_task.make_memory_task(200, length=30, distance=7, seed=1)
    assert ids.shape == (200, 30) and set(np.unique(labels)) == {0, 1}
    np.testing.assert_array_equal(ids[:, 30 - 7], np.asarray(memory_task.MARKERS)[labels])
    noise = np.delete(ids, 30 - 7, axis=1)
    assert noise.min() >= 2 and noise.max() < 2 + memory_task.NOISE_TOKENS, "no marker among the noise"
    with pytest.raises(ValueError, match="distance"):
        memory_task.make_memory_task(10, length=30, distance=31)


def test_only_the_marker_tells_the_labels_apart():
    ids, labels = memory_task.make_memory_task(4_000, length=12, distance=5, seed=2)
    noise = np.delete(ids, 12 - 5, axis=1)
    ids_range = np.arange(2, 2 + memory_task.NOISE_TOKENS)
    shares = [np.mean(noise[labels == label][..., None] == ids_range, axis=(0, 1)) for label in (0, 1)]
    np.testing.assert_allclose(shares[0], shares[1], atol=0.01)  # the noise is the same for both labels


def test_random_embeddings_span_the_input_space():
    vectors = memory_task.random_embeddings(seed=3)
    assert vectors.shape == (memory_task.VOCAB_SIZE, memory_task.EMBEDDING_DIM)
    assert np.linalg.matrix_rank(vectors[2:]) == memory_task.EMBEDDING_DIM
    assert not np.allclose(vectors, memory_task.random_embeddings(seed=4))


def test_each_seed_is_an_independent_copy_with_frozen_embeddings():
    model = memory_task.build_memory_model("gru, update bias 3", seeds=(1, 2), units=4)
    copies = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    assert [copy.name for copy in copies] == ["seed_1", "seed_2"]
    embeddings = [keras.ops.convert_to_numpy(copy.get_layer("embedding").embeddings) for copy in copies]
    np.testing.assert_array_equal(embeddings[0], memory_task.random_embeddings(seed=1))
    kernels = [keras.ops.convert_to_numpy(copy.get_layer("gru_1").cell.kernel) for copy in copies]
    assert not np.allclose(kernels[0], kernels[1]), "each seed starts from its own weights"
    assert keras.ops.convert_to_numpy(copies[0].get_layer("gru_1").cell.bias)[0, 0] == 3.0
    ids, labels = memory_task.make_memory_task(64, length=8, distance=3)
    model.fit(ids, (labels, labels), batch_size=32, epochs=1, verbose=0)
    for copy, before, kernel in zip(copies, embeddings, kernels):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(copy.get_layer("embedding").embeddings), before)
        assert not np.allclose(keras.ops.convert_to_numpy(copy.get_layer("gru_1").cell.kernel), kernel)
    assert memory_task.memory_accuracies(model, ids, labels).shape == (2,)
    with pytest.raises(ValueError, match="Unknown network"):
        memory_task.build_memory_model("transformer")


def test_experiment_gives_distances_by_seeds_and_learns_one_step():
    profile = dataclasses.replace(config.get_profile("smoke"), memory_distances=(2, 1), memory_train_size=512,
                                  memory_epochs=3, memory_seeds=2)
    accuracy = memory_task.run_memory_experiment(profile, networks=("lstm",), units=16)
    assert list(accuracy) == ["lstm"] and accuracy["lstm"].shape == (2, 2)
    assert accuracy["lstm"][1].min() > 0.9, "a marker one step back is learned in 12 steps"
    # The model is reset between distances: distance 1 alone gives the same accuracies.
    alone = memory_task.run_memory_experiment(dataclasses.replace(profile, memory_distances=(1,)),
                                              networks=("lstm",), units=16)
    np.testing.assert_array_equal(alone["lstm"][0], accuracy["lstm"][1])


def test_memory_figure_draws_mean_and_seed_spread_and_states_the_finding():
    accuracy = {"simple_rnn": np.array([[1.0, 0.98], [0.5, 0.56]]), "lstm": np.array([[1.0, 1.0], [0.9, 1.0]])}
    fig = plots.plot_memory((5, 20), accuracy)
    ax = fig.axes[0]
    assert ax.get_title() == ("At 20 steps, the longest measured, only “lstm” kept the marker\n"
                              "(kept: a mean accuracy of at least 90 %)")
    assert ax.get_xscale() == "log" and "time steps" in ax.get_xlabel() and "%" in ax.get_ylabel()
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [99.0, 53.0])  # simple_rnn's mean
    bars = ax.containers[0].lines[2][0].get_segments()  # its worst-to-best-seed bars
    np.testing.assert_allclose([segment[:, 1] for segment in bars], [[98, 100], [50, 56]])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["chance", "simple_rnn (2 seeds)", "lstm (2 seeds)"]
    assert "no network" in plots.plot_memory((5,), {"gru": [[0.5]]}).axes[0].get_title()
    assert "every network" in plots.plot_memory((5,), {"gru": [[0.95]]}).axes[0].get_title()
