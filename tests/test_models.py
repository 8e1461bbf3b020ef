"""utils.models: shapes, stacking, and the cuDNN conditions of LSTM and GRU."""

import functools

import keras
import numpy as np
import pytest

from utils import models

BUILDERS = [functools.partial(models.build_rnn_classifier, cell) for cell in ("simple_rnn", "lstm", "gru")] + [
    functools.partial(models.build_rnn_classifier, "simple_rnn", depth=2)]


@pytest.mark.parametrize("builder", BUILDERS)
def test_builders_take_token_ids_and_return_probabilities(builder):
    model = builder(100, units=4, embedding_dim=3)
    assert model.optimizer is not None and model.loss == "binary_crossentropy"
    ids = np.array([[5, 6, 7, 0, 0], [9, 0, 0, 0, 0]], dtype="int32")
    out = keras.ops.convert_to_numpy(model(ids))
    assert out.shape == (2, 1) and np.all((out > 0) & (out < 1))


def test_mask_makes_padding_irrelevant():
    model = models.build_rnn_classifier("lstm", 50, units=4, embedding_dim=3)
    short = keras.ops.convert_to_numpy(model(np.array([[4, 5, 6]])))
    padded = keras.ops.convert_to_numpy(model(np.array([[4, 5, 6, 0, 0, 0, 0]])))
    np.testing.assert_allclose(short, padded, atol=1e-6)


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_stacked_rnn_passes_sequences_between_layers(depth):
    model = models.build_rnn_classifier("simple_rnn", 100, depth=depth, units=4)
    layers = models.recurrent_layers(model)
    assert len(layers) == depth
    assert [layer.return_sequences for layer in layers] == [True] * (depth - 1) + [False]


@pytest.mark.parametrize("builder", [functools.partial(models.build_rnn_classifier, cell) for cell in ("lstm", "gru")])
@pytest.mark.parametrize("depth", [1, 2])
def test_every_gated_layer_the_builders_make_is_cudnn_eligible(builder, depth):
    layers = models.recurrent_layers(builder(100, units=4, depth=depth))
    assert len(layers) == depth
    for layer in layers:
        assert models.cudnn_problems(layer) == []
        assert layer.unroll is False and layer.recurrent_dropout == 0 and layer.use_bias


def test_cudnn_problems_are_detected():
    assert models.cudnn_problems(keras.layers.LSTM(4, recurrent_dropout=0.2)) == ["recurrent_dropout is not 0"]
    assert models.cudnn_problems(keras.layers.GRU(4, reset_after=False)) == ["reset_after is off"]
    assert "activation is not tanh" in models.cudnn_problems(keras.layers.LSTM(4, activation="relu"))
    assert "unroll is set" in models.cudnn_problems(keras.layers.GRU(4, unroll=True))


def test_bad_arguments():
    with pytest.raises(ValueError, match="Unknown cell 'transformer'"):
        models.build_rnn_classifier("transformer", 10)
    with pytest.raises(ValueError, match="depth must be at least 1"):
        models.build_rnn_classifier("simple_rnn", 10, depth=0)


def test_output_layer_stays_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = models.build_rnn_classifier("gru", 50, units=4)
        assert model.get_layer("gru_1").compute_dtype == "float16"
        assert model.get_layer("positive_probability").compute_dtype == "float32"
        assert model.output.dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_forget_gate_bias_sets_only_the_forget_gate():
    model = models.build_rnn_classifier("lstm", 50, units=4, embedding_dim=3, forget_bias=3.0)
    (lstm,) = models.recurrent_layers(model)
    bias = keras.ops.convert_to_numpy(lstm.cell.bias)  # [input, forget, candidate, output]
    np.testing.assert_array_equal(bias, np.r_[np.zeros(4), np.full(4, 3.0), np.zeros(8)])
    assert models.cudnn_problems(lstm) == [], "an initializer does not change the kernel Keras picks"
    with pytest.raises(ValueError, match="LSTM only"):
        models.build_rnn_classifier("gru", 50, forget_bias=3.0)
