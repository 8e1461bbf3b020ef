"""utils.reference: the NumPy equations reproduce Keras' recurrent layers."""

import keras
import numpy as np
import pytest

from utils import reference

CELLS = {"SimpleRNN": keras.layers.SimpleRNN, "LSTM": keras.layers.LSTM, "GRU": keras.layers.GRU}


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 7, 5, 4), (2, 12, 16, 9)])
def test_reference_matches_keras(cell, return_sequences, shape):
    batch, time, features, units = shape
    difference = reference.max_difference_from_keras(
        CELLS[cell], units=units, batch=batch, time=time, features=features,
        seed=sum(shape), return_sequences=return_sequences)
    assert difference < 1e-5


def test_gates_have_one_value_per_step_and_unit():
    rng = np.random.default_rng(0)
    layer = keras.layers.LSTM(3)
    inputs = rng.normal(size=(2, 5, 4)).astype("float32")
    layer.build(inputs.shape)
    _, gates = reference.reference_forward(layer, inputs, return_gates=True)
    assert set(gates) == {"input", "forget", "candidate", "output", "cell"}
    for name, values in gates.items():
        assert values.shape == (2, 5, 3), name
    for name in ("input", "forget", "output"):
        assert np.all((gates[name] > 0) & (gates[name] < 1)), name
