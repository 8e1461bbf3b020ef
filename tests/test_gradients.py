"""utils.gradients: Jacobian norms through time, the cells compared, clipping wiring;
models.UpdateGateBias; the figures of both lessons."""

import keras
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from utils import gradients, models, plots


def test_spectral_radius_is_the_one_asked_for():
    matrix = np.random.default_rng(0).standard_normal((6, 6))
    rescaled = gradients.scale_spectral_radius(matrix, 1.5)
    assert np.max(np.abs(np.linalg.eigvals(rescaled))) == pytest.approx(1.5)
    cell = gradients.simple_rnn_cell(0.7, units=5, input_dim=3)
    kernel = keras.ops.convert_to_numpy(cell.recurrent_kernel)
    assert np.max(np.abs(np.linalg.eigvals(kernel))) == pytest.approx(0.7)
    with pytest.raises(ValueError, match="spectral radius 0"):
        gradients.scale_spectral_radius(np.zeros((3, 3)), 1.0)


def test_jacobian_product_is_exact_without_input():
    # No input and a zero start: every state stays 0, each step's Jacobian is the recurrent
    # kernel itself, a scaled orthogonal matrix whose singular values all equal the radius.
    cell = gradients.simple_rnn_cell(0.8, units=6, input_dim=3)
    norms = gradients.jacobian_norms(cell, 3, input_scale=0.0, warmup=0, batch_size=2)
    np.testing.assert_allclose(norms, [1, 0.8, 0.64, 0.512], rtol=1e-9)


def test_radius_half_vanishes_geometrically_and_radius_one_and_a_half_grows():
    vanishing = gradients.jacobian_norms(gradients.simple_rnn_cell(0.5, units=8), 50, batch_size=4, warmup=10)
    steps = np.arange(51)
    assert np.all(np.diff(vanishing) < 0), "shrinks at every step"
    assert np.all(vanishing <= 0.5 ** steps * (1 + 1e-9)), "||diag(1 - h^2) U|| <= ||U|| = 0.5 per step"
    assert 0.5 * 0.5 ** 50 < vanishing[50] < 1e-14, "fifteen orders of magnitude over 50 steps"
    exploding = gradients.jacobian_norms(gradients.simple_rnn_cell(1.5), 50, batch_size=4, warmup=10)
    assert exploding[50] > 10


def test_gates_opened_at_the_start_keep_the_gradient_and_layers_are_accepted():
    options = {"units": 8, "input_dim": 4}
    kept = {}
    cells = {"lstm 1": gradients.lstm_cell(1.0, **options), "lstm 3": gradients.lstm_cell(3.0, **options),
             "gru 0": gradients.gru_cell(0.0, **options), "gru 3": gradients.gru_cell(3.0, **options)}
    for label, cell in cells.items():
        norms = gradients.jacobian_norms(cell, 40, batch_size=4, warmup=5)
        assert norms[0] == pytest.approx(1.0), f"{label}: dh_T/dh_T is the identity, c_T adds nothing"
        kept[label] = norms[40]
    assert kept["lstm 3"] > 1e3 * kept["lstm 1"] and kept["gru 3"] > 1e3 * kept["gru 0"]
    layer = keras.layers.GRU(8)
    layer.build((None, None, 4))
    assert gradients.jacobian_norms(layer, 2, batch_size=2).shape == (3,)
    with pytest.raises(ValueError, match="Build the cell"):
        gradients.jacobian_norms(keras.layers.SimpleRNNCell(4), 5)


def test_gradient_flow_labels_every_cell_once():
    curves = gradients.gradient_flow(3, cells={"a": gradients.simple_rnn_cell(0.5, units=4),
                                               "b": gradients.gru_cell(units=4)}, batch_size=2, warmup=0)
    assert list(curves) == ["a", "b"] and all(values.shape == (4,) for values in curves.values())
    assert len(gradients.gradient_flow_cells(units=4)) == 7


def test_update_gate_bias_opens_the_update_gate_only():
    cell = gradients.gru_cell(3.0, units=4, input_dim=2)
    bias = keras.ops.convert_to_numpy(cell.bias)  # rows: input, recurrent; columns [z, r, candidate]
    np.testing.assert_array_equal(bias, np.stack([np.r_[np.full(4, 3.0), np.zeros(8)], np.zeros(12)]))
    # With zero kernels and input, h_1 = z * h_0 + (1 - z) * tanh(0): z = sigma(3) keeps 95 % of h_0.
    cell.kernel.assign(np.zeros(cell.kernel.shape))
    cell.recurrent_kernel.assign(np.zeros(cell.recurrent_kernel.shape))
    h0 = np.array([[1.0, -2.0, 0.5, 3.0]])
    h1, _ = cell(np.zeros((1, 2)), [h0])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(h1), h0 / (1 + np.exp(-3.0)), rtol=1e-12)
    flat = models.UpdateGateBias(2.0)((6,))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(flat), [2, 2, 0, 0, 0, 0])
    restored = keras.initializers.deserialize(keras.initializers.serialize(models.UpdateGateBias(2.0)))
    assert isinstance(restored, models.UpdateGateBias) and restored.value == 2.0


def test_builder_update_bias_is_for_the_gru_and_keeps_cudnn():
    (gru,) = models.recurrent_layers(models.build_rnn_classifier("gru", 50, units=4, embedding_dim=3, update_bias=3.0))
    assert keras.ops.convert_to_numpy(gru.cell.bias)[0, :4].tolist() == [3.0] * 4
    assert models.cudnn_problems(gru) == []
    with pytest.raises(ValueError, match="GRU only"):
        models.build_rnn_classifier("lstm", 50, update_bias=3.0)


def test_clipping_runs_clip_what_they_say():
    threshold, rate = 0.05, 1.0
    runs = gradients.clipping_experiment(steps=6, seeds=(0,), threshold=threshold, learning_rate=rate,
                                         batch_size=8)
    assert list(runs) == ["no clipping", "clipnorm", "global_clipnorm"]
    assert all(record[key].shape == (1, 6) for record in runs.values() for key in record)
    first = [record["grad_norm"][0, 0] for record in runs.values()]
    assert first[0] > 3 * threshold and np.allclose(first, first[0]), "same weights and batch, clipping active"
    # Plain SGD: the update is the learning rate times the (clipped) gradient.
    np.testing.assert_allclose(runs["no clipping"]["update_norm"], rate * runs["no clipping"]["grad_norm"],
                               rtol=1e-4)
    assert np.all(runs["global_clipnorm"]["update_norm"] <= rate * threshold * (1 + 1e-4))
    clipnorm = runs["clipnorm"]["update_norm"]  # each of the 5 trainable variables clipped on its own
    assert clipnorm.max() > 1.5 * rate * threshold and np.all(clipnorm <= rate * threshold * np.sqrt(5) * 1.001)


def test_gradient_flow_and_clipping_figures():
    flow = plots.plot_gradient_flow({"SimpleRNN, radius 0.5": 0.5 ** np.arange(5), "LSTM": np.ones(5)})
    simple, gated = flow.axes  # SimpleRNNs on the left, gated cells on the right, one shared scale
    assert simple.get_yscale() == gated.get_yscale() == "log" and "T − t" in simple.get_xlabel()
    assert simple.get_ylabel() and simple.get_shared_y_axes().joined(simple, gated)
    assert [t.get_text() for t in simple.get_legend().get_texts()][0] == "SimpleRNN, radius 0.5"
    assert [t.get_text() for t in gated.get_legend().get_texts()][0] == "LSTM"
    np.testing.assert_array_equal(simple.lines[0].get_ydata(), 0.5 ** np.arange(5))
    record = {"loss": np.full((2, 20), 0.5), "grad_norm": np.arange(1, 41.0).reshape(2, 20)}
    fig = plots.plot_clipping({"no clipping": record, "global_clipnorm": record}, threshold=1.0, smoothing=5)
    loss_ax, norm_ax = fig.axes
    assert loss_ax.get_yscale() == norm_ax.get_yscale() == "log"
    assert len(loss_ax.lines) == 4 and len(loss_ax.lines[0].get_ydata()) == 16, "running mean of 5 of 20 steps"
    np.testing.assert_array_equal(norm_ax.lines[1].get_ydata(), np.arange(21, 41.0))
    legend = fig.legends[0]  # one legend for both panels, under them
    assert [t.get_text() for t in legend.get_texts()] == ["no clipping", "global_clipnorm", "threshold 1"]
    assert "first seed" in legend.get_title().get_text(), "two seeds: the legend says which line is which"
