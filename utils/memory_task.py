"""A long-range memory task: can the cell remember one token for d steps?

Every sequence is random noise tokens with one marker token placed
``distance`` steps before the end (after ``LEAD`` noise tokens): marker ``A``
means label 0, marker ``B`` label 1. Nothing after the marker says which one
it was, so the network must carry it in its state across ``distance - 1``
noise tokens.

The embeddings are **frozen** at random vectors that span the input space.
With trainable embeddings a network can shrink the noise tokens' vectors
towards zero, and then nothing disturbs its state: it never has to hold the
marker against its input, and the task stops measuring memory (in the
course's earlier, trainable version the SimpleRNN and an LSTM with forget
bias 3 both held 200 steps). Frozen, every noise token pushes the state
around, and only a network that decides what to write and what to keep (the
gates) holds the marker for long.
"""

from __future__ import annotations

import keras
import numpy as np

from utils import config, models

NOISE_TOKENS = 10  # ids 2..11; 0 is padding, 1 is unused
MARKERS = (12, 13)  # label 0, label 1
VOCAB_SIZE = 14
EMBEDDING_DIM = 8
LEAD = 10  # noise tokens before the marker: the state is not fresh when the marker comes
BATCH_SIZE = 128
TEST_SIZE = 1_000


def make_memory_task(n: int, length: int, distance: int, seed: int = 0):
    """``(ids, labels)``: ``n`` sequences with the marker ``distance`` steps from the end."""
    if not 1 <= distance <= length:
        raise ValueError(f"distance must lie between 1 and length={length}, got {distance}.")
    rng = np.random.default_rng(seed)
    ids = rng.integers(2, 2 + NOISE_TOKENS, size=(n, length), dtype=np.int32)
    labels = rng.integers(0, 2, size=n, dtype=np.int32)
    ids[:, length - distance] = np.asarray(MARKERS, dtype=np.int32)[labels]
    return ids, labels


def random_embeddings(dim: int = EMBEDDING_DIM, seed: int = 0) -> np.ndarray:
    """``(VOCAB_SIZE, dim)`` standard normal vectors: with 12 tokens in 8
    dimensions they span the input space, so no direction is free of noise."""
    return np.random.default_rng(seed).standard_normal((VOCAB_SIZE, dim)).astype("float32")


# The networks compared: label -> (cell, builder options). The biases are the
# gates' initial openings (models.ForgetGateBias, models.UpdateGateBias).
NETWORKS = {
    "simple_rnn": ("simple_rnn", {}),
    "lstm": ("lstm", {}),
    "lstm, forget bias 3": ("lstm", {"forget_bias": 3.0}),
    "gru": ("gru", {}),
    "gru, update bias 3": ("gru", {"update_bias": 3.0}),
}


def build_memory_model(network: str, seeds=(config.SEED,), units: int = 32,
                       learning_rate: float = 3e-3) -> keras.Model:
    """One compiled model that holds an independent copy of ``network`` (a
    label of :data:`NETWORKS`) per seed, side by side: output ``k`` is the
    probability of label 1 from the copy initialized with ``seeds[k]``.

    Each copy has its own weights, its own frozen :func:`random_embeddings`
    and its own loss; Keras sums the losses, so every copy trains exactly as
    it would alone, and TensorFlow traces one graph instead of one per seed.
    The optimizer is built, so its fresh state can be saved and restored.
    """
    if network not in NETWORKS:
        raise ValueError(f"Unknown network {network!r}: use one of {', '.join(NETWORKS)}.")
    cell, options = NETWORKS[network]
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    outputs = []
    for seed in seeds:
        config.seed_everything(seed)
        copy = models.build_rnn_classifier(
            cell, VOCAB_SIZE, units=units, embedding_dim=EMBEDDING_DIM, dropout=0.0, mask_zero=False,
            embeddings=random_embeddings(EMBEDDING_DIM, seed), name=f"seed_{seed}", **options)
        copy.get_layer("embedding").trainable = False
        outputs.append(copy(ids))
    model = keras.Model(ids, outputs, name=network.replace(", ", "_").replace(" ", "_"))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0), loss="binary_crossentropy")
    model.optimizer.build(model.trainable_variables)
    return model


def memory_accuracies(model: keras.Model, ids, labels) -> np.ndarray:
    """Accuracy of each copy in a :func:`build_memory_model` model."""
    outputs = keras.tree.flatten(model(ids, training=False))  # one seed: a tensor, not a list
    probabilities = np.concatenate([keras.ops.convert_to_numpy(p) for p in outputs], axis=1)
    return np.mean((probabilities > 0.5) == np.asarray(labels)[:, None], axis=0)


def run_memory_experiment(profile: config.Profile, networks=tuple(NETWORKS),
                          units: int = 32) -> dict[str, np.ndarray]:
    """Test accuracy of each of ``networks`` (labels of :data:`NETWORKS`):
    an array ``(len(profile.memory_distances), profile.memory_seeds)``, one
    row per distance and one column per initialization seed.

    Every distance starts from the same initial weights and a fresh optimizer,
    and all seeds see the same training sequences in the same order, so the
    spread across seeds is the spread across initializations. One model per
    network, reset between distances, spares TensorFlow a new training graph
    for every run (each costs 1 to 2 s of CPU to trace).
    """
    seeds = tuple(config.SEED + k for k in range(profile.memory_seeds))
    tasks = {}
    for distance in profile.memory_distances:
        length = distance + LEAD
        tasks[distance] = (make_memory_task(profile.memory_train_size, length, distance, seed=distance),
                           make_memory_task(TEST_SIZE, length, distance, seed=10_000 + distance))
    accuracy = {}
    for label in networks:
        model = build_memory_model(label, seeds, units)
        initial = model.get_weights(), [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
        accuracy[label] = np.zeros((len(tasks), len(seeds)))
        for row, (distance, ((x_train, y_train), (x_test, y_test))) in enumerate(tasks.items()):
            model.set_weights(initial[0])
            model.optimizer.set_weights(initial[1])
            config.seed_everything(config.SEED)  # the same batch order at every distance
            model.fit(x_train, (y_train,) * len(seeds), batch_size=BATCH_SIZE, epochs=profile.memory_epochs,
                      verbose=0)
            accuracy[label][row] = memory_accuracies(model, x_test, y_test)
            values = " ".join(f"{100 * a:5.1f}" for a in accuracy[label][row])
            print(f"{label:20s}, distance {distance:3d} steps: test accuracy per seed {values} %", flush=True)
    return accuracy
