"""NumPy forward passes of the three recurrent cells, from a Keras layer's weights.

Each function takes ``inputs`` of shape ``(batch, time, features)`` and the
list that ``layer.get_weights()`` returns, runs the defining equations one
time step at a time, and returns what the Keras layer returns: the last
hidden state ``(batch, units)``, or every hidden state
``(batch, time, units)`` with ``return_sequences=True``. With
``return_gates=True`` they also return the gate activations at every step,
which the LSTM and GRU notebooks plot.

Keras' layout of the weights (``u`` = units):

* SimpleRNN: ``kernel (features, u)``, ``recurrent_kernel (u, u)``, ``bias (u,)``.
* LSTM: ``kernel (features, 4u)``, ``recurrent_kernel (u, 4u)``, ``bias (4u,)``,
  gates in the order input ``i``, forget ``f``, candidate ``g``, output ``o``.
* GRU (``reset_after=True``): ``kernel (features, 3u)``,
  ``recurrent_kernel (u, 3u)``, ``bias (2, 3u)`` (input bias, recurrent bias),
  gates in the order update ``z``, reset ``r``, candidate ``h~``.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _outputs(states, gates, return_sequences, return_gates):
    hidden = np.stack(states, axis=1)
    out = hidden if return_sequences else hidden[:, -1]
    if not return_gates:
        return out
    return out, {name: np.stack(values, axis=1) for name, values in gates.items()}


def rnn_forward(inputs, weights, return_sequences=False, return_gates=False):
    """SimpleRNN: ``h_t = tanh(x_t W + h_{t-1} U + b)``."""
    W, U, b = weights
    h = np.zeros((inputs.shape[0], U.shape[0]), dtype=np.float64)
    states = []
    for t in range(inputs.shape[1]):
        h = np.tanh(inputs[:, t] @ W + h @ U + b)
        states.append(h)
    return _outputs(states, {}, return_sequences, return_gates)


def lstm_forward(inputs, weights, return_sequences=False, return_gates=False):
    """LSTM:

    ``i = σ(x W_i + h U_i + b_i)``, ``f = σ(x W_f + h U_f + b_f)``,
    ``g = tanh(x W_g + h U_g + b_g)``, ``o = σ(x W_o + h U_o + b_o)``,
    ``c_t = f ⊙ c_{t-1} + i ⊙ g``, ``h_t = o ⊙ tanh(c_t)``.
    Gates returned: ``input, forget, candidate, output, cell``.
    """
    W, U, b = weights
    units = U.shape[0]
    h = np.zeros((inputs.shape[0], units), dtype=np.float64)
    c = np.zeros_like(h)
    states, gates = [], {"input": [], "forget": [], "candidate": [], "output": [], "cell": []}
    for t in range(inputs.shape[1]):
        z = inputs[:, t] @ W + h @ U + b
        i, f = sigmoid(z[:, :units]), sigmoid(z[:, units:2 * units])
        g, o = np.tanh(z[:, 2 * units:3 * units]), sigmoid(z[:, 3 * units:])
        c = f * c + i * g
        h = o * np.tanh(c)
        states.append(h)
        for name, value in zip(gates, (i, f, g, o, c)):
            gates[name].append(value)
    return _outputs(states, gates, return_sequences, return_gates)


def gru_forward(inputs, weights, return_sequences=False, return_gates=False):
    """GRU with ``reset_after=True`` (Keras' default, the cuDNN variant):

    ``z = σ(x W_z + b_z + h U_z + b'_z)``, ``r = σ(x W_r + b_r + h U_r + b'_r)``,
    ``h~ = tanh(x W_h + b_h + r ⊙ (h U_h + b'_h))``, ``h_t = z ⊙ h_{t-1} + (1 - z) ⊙ h~``.
    Gates returned: ``update, reset, candidate``.
    """
    W, U, b = weights
    units = U.shape[0]
    input_bias, recurrent_bias = np.asarray(b).reshape(2, 3 * units)
    h = np.zeros((inputs.shape[0], units), dtype=np.float64)
    states, gates = [], {"update": [], "reset": [], "candidate": []}
    for t in range(inputs.shape[1]):
        x_part = inputs[:, t] @ W + input_bias
        h_part = h @ U + recurrent_bias
        z = sigmoid(x_part[:, :units] + h_part[:, :units])
        r = sigmoid(x_part[:, units:2 * units] + h_part[:, units:2 * units])
        candidate = np.tanh(x_part[:, 2 * units:] + r * h_part[:, 2 * units:])
        h = z * h + (1.0 - z) * candidate
        states.append(h)
        for name, value in zip(gates, (z, r, candidate)):
            gates[name].append(value)
    return _outputs(states, gates, return_sequences, return_gates)


FORWARD = {"SimpleRNN": rnn_forward, "LSTM": lstm_forward, "GRU": gru_forward}


def reference_forward(layer, inputs, return_gates=False):
    """Run the NumPy equations of a Keras ``SimpleRNN``/``LSTM``/``GRU`` layer."""
    forward = FORWARD[type(layer).__name__]
    return forward(np.asarray(inputs, dtype=np.float64), layer.get_weights(),
                   return_sequences=layer.return_sequences, return_gates=return_gates)


def max_difference_from_keras(layer_class, units: int = 8, batch: int = 4, time: int = 20,
                              features: int = 6, seed: int = 0, return_sequences: bool = True) -> float:
    """Largest absolute gap between Keras' layer and the NumPy equations on a
    random batch, with random weights and biases (zero biases could hide a
    bias-layout mistake)."""
    import keras

    rng = np.random.default_rng(seed)
    layer = layer_class(units, return_sequences=return_sequences)
    inputs = rng.normal(size=(batch, time, features)).astype("float32")
    layer.build(inputs.shape)
    layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.get_weights()])
    expected = keras.ops.convert_to_numpy(layer(inputs))
    got = reference_forward(layer, inputs)
    if got.shape != expected.shape:
        raise AssertionError(f"shape {got.shape} differs from Keras' {expected.shape}")
    return float(np.max(np.abs(got - expected)))
