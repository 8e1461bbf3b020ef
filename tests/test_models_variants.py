"""utils.models.build_rnn_classifier's bidirectional and pooling-over-time options."""

import keras
import numpy as np
import pytest

from utils import models

# Two reviews, the second padded: 5 and 2 real tokens.
IDS = np.array([[5, 6, 7, 8, 9], [9, 4, 0, 0, 0]], dtype="int32")
REAL = IDS != 0


def states_and_pooled(model, recurrent_name: str, pooling_name: str):
    """The top recurrent layer's sequence of states and the pooled vector, for :data:`IDS`."""
    probe = keras.Model(model.input, [model.get_layer(recurrent_name).output, model.get_layer(pooling_name).output])
    states, pooled = probe(IDS)
    return keras.ops.convert_to_numpy(states), keras.ops.convert_to_numpy(pooled)


@pytest.mark.parametrize("cell, depth, layer_names", [
    ("simple_rnn", 2, ["simple_rnn_1", "simple_rnn_2"]),
    ("lstm", 1, ["lstm_1"]),
    ("gru", 1, ["gru_1"]),
])
def test_defaults_build_the_course_models_unchanged(cell, depth, layer_names):
    model = models.build_rnn_classifier(cell, 100, units=4, embedding_dim=3, depth=depth)
    assert [layer.name for layer in model.layers] == (
        ["token_ids", "embedding", "embedding_dropout", *layer_names, "state_dropout", "positive_probability"])
    assert model.name == (cell if depth == 1 else f"{cell}_x{depth}")
    assert models.recurrent_layers(model)[-1].return_sequences is False


def test_defaults_give_the_same_weights_for_the_same_seed_as_the_explicit_defaults():
    weights = []
    for options in ({}, {"bidirectional": False, "pooling": "last"}):
        keras.utils.set_random_seed(7)
        weights.append([w.numpy() for w in models.build_rnn_classifier("lstm", 100,
                                                                       units=4, embedding_dim=3, **options).weights])
    assert len(weights[0]) == len(weights[1]) == 6  # embedding; LSTM kernel, recurrent kernel, bias; dense 2
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cell, gates", [("simple_rnn", 1), ("lstm", 4), ("gru", 3)])
def test_bidirectional_doubles_the_state_and_the_recurrent_parameters(cell, gates):
    units, dim, vocab = 4, 3, 100
    one_way = models.build_rnn_classifier(cell, vocab, units=units, embedding_dim=dim)
    two_way = models.build_rnn_classifier(cell, vocab, units=units, embedding_dim=dim, bidirectional=True)
    # GRU with reset_after=True keeps two bias vectors per gate.
    biases = 2 if cell == "gru" else 1
    recurrent = gates * (units * (dim + units) + biases * units)
    assert one_way.count_params() == vocab * dim + recurrent + units + 1
    assert two_way.count_params() == vocab * dim + 2 * recurrent + 2 * units + 1
    wrapper = two_way.get_layer(f"bidirectional_{cell}_1")
    assert isinstance(wrapper, keras.layers.Bidirectional)
    assert tuple(wrapper.output.shape) == (None, 2 * units)
    assert two_way.name == f"bidirectional_{cell}"


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_bidirectional_layers_stay_cudnn_eligible(cell):
    model = models.build_rnn_classifier(cell, 100, units=4, depth=2, bidirectional=True, pooling="mean")
    for level in (1, 2):
        wrapper = model.get_layer(f"bidirectional_{cell}_{level}")
        assert wrapper.backward_layer.go_backwards and not wrapper.forward_layer.go_backwards
        for layer in (wrapper.forward_layer, wrapper.backward_layer):
            assert models.cudnn_problems(layer) == []


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("pooling", ["last", "max", "mean"])
def test_padding_never_changes_the_prediction(bidirectional, pooling):
    model = models.build_rnn_classifier("lstm", 50,
                                        units=4, embedding_dim=3, bidirectional=bidirectional, pooling=pooling)
    short = keras.ops.convert_to_numpy(model(np.array([[4, 5, 6]])))
    padded = keras.ops.convert_to_numpy(model(np.array([[4, 5, 6, 0, 0, 0, 0]])))
    np.testing.assert_allclose(short, padded, atol=1e-6)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_mean_pooling_is_the_mean_over_real_tokens(bidirectional):
    model = models.build_rnn_classifier("gru", 50,
                                        units=4, embedding_dim=3, bidirectional=bidirectional, pooling="mean")
    recurrent = "bidirectional_gru_1" if bidirectional else "gru_1"
    states, pooled = states_and_pooled(model, recurrent, "mean_over_time")
    assert states.shape == (2, 5, 8 if bidirectional else 4) and pooled.shape == (2, states.shape[2])
    expected = np.stack([states[row, REAL[row]].mean(axis=0) for row in range(len(IDS))])
    np.testing.assert_allclose(pooled, expected, atol=1e-6)
    # The plain mean over all five steps differs for the padded row: the mask matters.
    assert not np.allclose(pooled[1], states[1].mean(axis=0), atol=1e-4)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_max_pooling_is_the_max_over_real_tokens(bidirectional):
    model = models.build_rnn_classifier("lstm", 50,
                                        units=4, embedding_dim=3, bidirectional=bidirectional, pooling="max")
    recurrent = "bidirectional_lstm_1" if bidirectional else "lstm_1"
    states, pooled = states_and_pooled(model, recurrent, "max_over_time")
    expected = np.stack([states[row, REAL[row]].max(axis=0) for row in range(len(IDS))])
    np.testing.assert_allclose(pooled, expected, atol=1e-6)


def test_masked_max_pooling_never_lets_padding_win():
    # All real values negative, padding zeros (as Bidirectional and cuDNN output): the plain maximum is 0.
    values = -np.arange(1, 13, dtype="float32").reshape(2, 3, 2)
    values[0, 2] = 0.0
    masked = keras.layers.Masking(mask_value=0.0)(values)  # masks row 0's last step
    pooled = keras.ops.convert_to_numpy(models.MaskedGlobalMaxPooling1D()(masked))
    np.testing.assert_array_equal(pooled, [[-1.0, -2.0], [-7.0, -8.0]])
    # Keras' own layer ignores the mask: padding wins.
    plain = keras.ops.convert_to_numpy(keras.layers.GlobalMaxPooling1D()(masked))
    np.testing.assert_array_equal(plain[0], [0.0, 0.0])
    no_real_step = models.MaskedGlobalMaxPooling1D()(values, mask=np.zeros((2, 3), dtype=bool))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(no_real_step), np.zeros((2, 2)))


def test_pooled_bidirectional_model_saves_and_reloads(tmp_path):
    model = models.build_rnn_classifier("lstm", 50, units=4, embedding_dim=3, bidirectional=True, pooling="max")
    assert model.name == "bidirectional_lstm_max_pool"
    model.save(tmp_path / "model.keras")
    reloaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(IDS)), keras.ops.convert_to_numpy(model(IDS)),
                               atol=1e-6)


def test_unknown_pooling_is_refused():
    with pytest.raises(ValueError, match="Unknown pooling 'attention': use one of last, max, mean"):
        models.build_rnn_classifier("lstm", 10, pooling="attention")
