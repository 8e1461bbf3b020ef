"""Why gates exist, measured: gradient flow through time and gradient clipping.

Backpropagation through time multiplies one Jacobian per step: for a state
``s_t`` (``h_t``; for the LSTM ``(h_t, c_t)``)

    dh_T/ds_t = dh_T/ds_{T-1} · ds_{T-1}/ds_{T-2} ··· ds_{t+1}/ds_t,

and for a SimpleRNN, ``h_t = tanh(W x_t + U h_{t-1} + b)``, each factor is
``diag(1 - h_t^2) U``. Its norm is at most ``||U||`` (``tanh' <= 1``), so
with the recurrent kernel's spectral radius below 1 the product shrinks
geometrically (the gradient vanishes); above 1 it can grow geometrically (it
explodes) until saturation, ``h_t^2 -> 1``, shrinks it again (Pascanu,
Mikolov & Bengio 2013, "On the difficulty of training recurrent neural
networks"). An LSTM's cell state instead passes through ``diag(f_t)``, the
forget gate, and a GRU's state through ``diag(z_t)``, the update gate
(Keras: ``h_t = z h_{t-1} + (1 - z) candidate``): a gate that starts open
(bias 3: sigma(3) = 0.95) keeps the product near 1 for many steps.

- :func:`jacobian_norms` measures ``||dh_T/ds_t||`` against the distance
  ``T - t`` with ``tf.GradientTape`` on Keras' own cells;
  :func:`gradient_flow_cells` makes the cells the course compares.
- :func:`clipping_experiment` trains a SimpleRNN started at a large spectral
  radius without clipping, with ``clipnorm`` and with ``global_clipnorm``.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from utils import memory_task, models, results

UNITS = 32
INPUT_DIM = 8


def scale_spectral_radius(matrix, radius: float) -> np.ndarray:
    """``matrix`` rescaled so that its largest eigenvalue modulus is ``radius``."""
    matrix = np.asarray(matrix)
    current = np.max(np.abs(np.linalg.eigvals(matrix)))
    if current == 0:
        raise ValueError("The matrix has spectral radius 0 and cannot be rescaled: give a non-nilpotent matrix.")
    return matrix * (radius / current)


def _initializers(seed: int) -> dict:
    # Keras' default initializers, seeded: the same cell on every call, no global state touched.
    return {"kernel_initializer": keras.initializers.GlorotUniform(seed=seed),
            "recurrent_initializer": keras.initializers.Orthogonal(seed=seed)}


def simple_rnn_cell(spectral_radius: float, units: int = UNITS, input_dim: int = INPUT_DIM, seed: int = 0,
                    dtype: str = "float64") -> keras.layers.SimpleRNNCell:
    """A built SimpleRNN cell whose recurrent kernel has the given spectral radius.

    Keras starts the recurrent kernel orthogonal (every eigenvalue on the unit
    circle, radius 1); the rescaled kernel has radius ``spectral_radius``.
    ``float64`` lets a product of Jacobians as small as 0.5^150 = 7e-46 stay
    above zero (float32 stops near 1e-45).
    """
    cell = keras.layers.SimpleRNNCell(units, dtype=dtype, **_initializers(seed))
    cell.build((None, input_dim))
    cell.recurrent_kernel.assign(scale_spectral_radius(keras.ops.convert_to_numpy(cell.recurrent_kernel),
                                                       spectral_radius))
    return cell


def lstm_cell(forget_bias: float = 1.0, units: int = UNITS, input_dim: int = INPUT_DIM, seed: int = 0,
              dtype: str = "float64") -> keras.layers.LSTMCell:
    """A built LSTM cell with the forget gate's bias at ``forget_bias`` (Keras' default: 1)."""
    cell = keras.layers.LSTMCell(units, dtype=dtype, unit_forget_bias=False,
                                 bias_initializer=models.ForgetGateBias(forget_bias), **_initializers(seed))
    cell.build((None, input_dim))
    return cell


def gru_cell(update_bias: float = 0.0, units: int = UNITS, input_dim: int = INPUT_DIM, seed: int = 0,
             dtype: str = "float64") -> keras.layers.GRUCell:
    """A built GRU cell (``reset_after=True``) with the update gate's bias at ``update_bias`` (Keras' default: 0)."""
    cell = keras.layers.GRUCell(units, dtype=dtype, bias_initializer=models.UpdateGateBias(update_bias),
                                **_initializers(seed))
    cell.build((None, input_dim))
    return cell


def gradient_flow_cells(units: int = UNITS, input_dim: int = INPUT_DIM, seed: int = 0) -> dict:
    """The cells compared in the gradient-flow figure, by label."""
    options = {"units": units, "input_dim": input_dim, "seed": seed}
    return {
        "SimpleRNN, spectral radius 0.5": simple_rnn_cell(0.5, **options),
        "SimpleRNN, spectral radius 1.0": simple_rnn_cell(1.0, **options),
        "SimpleRNN, spectral radius 1.5": simple_rnn_cell(1.5, **options),
        "LSTM, forget bias 1 (Keras default)": lstm_cell(1.0, **options),
        "LSTM, forget bias 3": lstm_cell(3.0, **options),
        "GRU, update bias 0 (Keras default)": gru_cell(0.0, **options),
        "GRU, update bias 3": gru_cell(3.0, **options),
    }


def _as_list(states) -> list:
    return list(states) if isinstance(states, (list, tuple)) else [states]


def jacobian_norms(cell, length: int, *, input_scale: float = 0.1, batch_size: int = 16, warmup: int = 50,
                   seed: int = 0) -> np.ndarray:
    """``||dh_T/ds_{T-k}||`` for ``k = 0 .. length``: how much of the gradient
    reaching the last state ``h_T`` survives ``k`` steps back, at initialization.

    ``cell`` is a built Keras RNN cell (or a built ``SimpleRNN``/``LSTM``/``GRU``
    layer, whose cell is used). ``s_t`` is the cell's whole state (``h_t``;
    ``(h_t, c_t)`` for the LSTM). The norm is the spectral norm (largest
    singular value) of the ``units x state`` Jacobian, computed exactly with
    one ``tf.GradientTape`` pass, and averaged over ``batch_size`` random
    input sequences (``input_scale`` times standard normal; geometric mean,
    as the curves are read on a log scale). The cell first runs ``warmup``
    steps, so the window starts from a typical state, not from zeros.
    Entry 0 is 1: ``dh_T/dh_T`` is the identity.
    """
    cell = getattr(cell, "cell", cell)
    if not cell.built:
        raise ValueError("Build the cell first (cell.build((None, input_dim))), or use simple_rnn_cell, "
                         "lstm_cell or gru_cell.")
    if length < 1 or warmup < 0:
        raise ValueError(f"length must be at least 1 and warmup at least 0, got {length} and {warmup}.")
    units, input_dim = cell.units, cell.kernel.shape[0]
    dtype = cell.compute_dtype
    rng = np.random.default_rng(seed)
    inputs = input_scale * rng.standard_normal((batch_size, warmup + length, input_dim))
    # One copy of each sequence per output unit: copy i carries the gradient of h_T[i], so a
    # single backward pass yields every row of every example's Jacobian.
    inputs = tf.constant(np.repeat(inputs, units, axis=0), dtype=dtype)
    state_sizes = _as_list(cell.state_size)
    states = [tf.zeros((batch_size * units, size), dtype=dtype) for size in state_sizes]
    for t in range(warmup):
        _, states = cell(inputs[:, t], states)
        states = _as_list(states)
    history = []
    with tf.GradientTape() as tape:
        for t in range(warmup, warmup + length + 1):
            # The state handed to the next step, as a tensor of its own: its gradient counts only
            # the paths forward from here (for the LSTM, not also c_t's own path into h_t).
            states = [tf.identity(s) for s in states]
            tape.watch(states)
            history.append(states)
            if t < warmup + length:
                _, states = cell(inputs[:, t], states)
                states = _as_list(states)
        pick_unit = tf.tile(tf.eye(units, dtype=dtype), [batch_size, 1])
        target = tf.reduce_sum(states[0] * pick_unit)  # sum over copies of h_T[copy's unit]
    gradients = tape.gradient(target, history, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    norms = np.empty((length + 1, batch_size))
    for k, state_gradients in enumerate(reversed(gradients)):
        jacobians = np.concatenate([g.numpy() for g in state_gradients], axis=1)
        norms[k] = np.linalg.norm(jacobians.reshape(batch_size, units, -1), ord=2, axis=(1, 2))
    return np.exp(np.log(norms).mean(axis=1))


def gradient_flow(length: int, cells: dict | None = None, **options) -> dict[str, np.ndarray]:
    """:func:`jacobian_norms` of every cell in ``cells`` (default :func:`gradient_flow_cells`)."""
    cells = gradient_flow_cells() if cells is None else cells
    return {label: jacobian_norms(cell, length, **options) for label, cell in cells.items()}


# What each run clips: label -> optimizer arguments (filled in with the threshold).
CLIPPING = {"no clipping": None, "clipnorm": "clipnorm", "global_clipnorm": "global_clipnorm"}


def clipping_model(spectral_radius: float, units: int = UNITS, seed: int = 0) -> keras.Model:
    """A SimpleRNN classifier for the memory task (frozen random embeddings,
    as in :mod:`utils.memory_task`), its recurrent kernel at ``spectral_radius``."""
    keras.utils.set_random_seed(seed)
    model = models.build_rnn_classifier(
        "simple_rnn", memory_task.VOCAB_SIZE, units=units, embedding_dim=memory_task.EMBEDDING_DIM,
        dropout=0.0, mask_zero=False, clipnorm=None, embeddings=memory_task.random_embeddings(seed=seed))
    model.get_layer("embedding").trainable = False
    (layer,) = models.recurrent_layers(model)
    kernel = layer.cell.recurrent_kernel
    kernel.assign(scale_spectral_radius(keras.ops.convert_to_numpy(kernel), spectral_radius))
    return model


def train_recording_norms(model: keras.Model, optimizer, ids, labels, batch_size: int) -> dict[str, np.ndarray]:
    """One pass of plain minibatch training, one step per batch, recording per
    step the loss, the global norm of the gradient **before** the optimizer
    clips it, and the global norm of the update the optimizer applied."""
    loss_fn = keras.losses.BinaryCrossentropy()
    variables = model.trainable_variables

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        gradients = tape.gradient(loss, variables)
        before = [tf.identity(v) for v in variables]
        optimizer.apply_gradients(zip(gradients, variables))  # clipping happens in here
        update = [v - b for v, b in zip(variables, before)]
        return loss, tf.linalg.global_norm(gradients), tf.linalg.global_norm(update)

    record = {"loss": [], "grad_norm": [], "update_norm": []}
    labels = np.asarray(labels, dtype="float32")[:, None]
    for start in range(0, len(ids) - batch_size + 1, batch_size):
        values = train_step(ids[start:start + batch_size], labels[start:start + batch_size])
        for key, value in zip(record, values):
            record[key].append(float(value))
    return {key: np.asarray(values) for key, values in record.items()}


def clipping_experiment(steps: int = 300, seeds=(0, 1, 2), *, threshold: float = 1.0,
                        spectral_radius: float = 1.5, learning_rate: float = 0.5, distance: int = 10,
                        batch_size: int = 32, units: int = UNITS) -> dict[str, dict[str, np.ndarray]]:
    """Train a SimpleRNN started at a large spectral radius on the memory
    task, with each setting of :data:`CLIPPING`, from the same initial
    weights and batches per seed.

    - ``clipnorm=threshold`` clips the gradient of **each variable** on its
      own to norm ``threshold``: the kernel, recurrent kernel, biases... each
      keep their own direction, but their relative sizes change, so the
      update no longer points along the whole gradient, and its joint norm
      can reach ``threshold`` times the square root of the variable count.
    - ``global_clipnorm=threshold`` rescales **all gradients together**
      when their joint norm exceeds ``threshold``: the direction is kept,
      only the step shrinks. This is the remedy of Pascanu et al. (2013).

    Plain SGD (``learning_rate``) shows the effect: it steps in proportion
    to the gradient, so one exploding gradient throws the weights far away
    (Adam divides by a running average of the gradient's size, so a single
    spike moves it by at most a few learning rates).
    Returns, per setting, arrays ``(len(seeds), steps)`` of the loss, the
    global gradient norm before clipping and the applied update's global norm
    (``learning_rate`` times the clipped gradient's norm).
    """
    ids, labels = memory_task.make_memory_task(steps * batch_size, distance + memory_task.LEAD, distance,
                                               seed=distance)
    runs = {}
    for label, argument in CLIPPING.items():
        records = []
        for seed in seeds:
            model = clipping_model(spectral_radius, units, seed)
            clip = {argument: threshold} if argument else {}
            optimizer = keras.optimizers.SGD(learning_rate=learning_rate, **clip)
            records.append(train_recording_norms(model, optimizer, ids, labels, batch_size))
        runs[label] = {key: np.stack([r[key] for r in records]) for key in records[0]}
    return runs


def clipping_summary(path) -> dict:
    """``{cell: {clipping: [test accuracy per seed]}}`` of a ``--clipping`` run's results file."""
    summary = {}
    for row in results.read_json(path)["rows"]:
        summary.setdefault(row["cell"], {}).setdefault(row["clipping"].split("=")[0], []).append(row["test_accuracy"])
    return summary
