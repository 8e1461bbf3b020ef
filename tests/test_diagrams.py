"""utils.diagrams: each diagram has its labels, its colour code, no overlapping text, and saves."""

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyBboxPatch, Rectangle  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from utils import diagrams, plots  # noqa: E402

DIAGRAMS = [diagrams.draw_unrolled_rnn, diagrams.draw_simple_rnn_cell, diagrams.draw_lstm_cell,
            diagrams.draw_gru_cell, diagrams.draw_embedding_lookup]


def texts_of(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text().strip()]


def boxes_of(fig, kind: str) -> list[FancyBboxPatch]:
    return [p for p in fig.axes[0].patches
            if isinstance(p, FancyBboxPatch) and to_hex(p.get_facecolor()) == diagrams.COLORS[kind]]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("draw", DIAGRAMS)
def test_diagrams_return_figures_whose_texts_never_overlap(draw):
    fig = draw()
    assert isinstance(fig, Figure)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    extents = [(t.get_text(), t.get_window_extent(renderer).shrunk(0.97, 0.9))
               for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]
    clashes = [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(extents, 2) if box_a.overlaps(box_b)]
    assert clashes == []


def test_unrolled_rnn_shows_every_step_with_the_same_weights():
    texts = texts_of(diagrams.draw_unrolled_rnn(steps=6))
    for step in range(1, 7):
        assert f"$x_{{{step}}}$" in texts and texts.count(f"$h_{{{step}}}$") == 2  # output and handed on
    assert "$h_0$" in texts and "$x_7$" not in texts
    assert texts.count("cell\n$W, U, b$") == 7  # the folded cell and six copies
    with pytest.raises(ValueError, match="steps must be a whole number from 2 to 8"):
        diagrams.draw_unrolled_rnn(steps=1)


def test_simple_rnn_cell():
    fig = diagrams.draw_simple_rnn_cell()
    texts = texts_of(fig)
    for label in ("$x_t$ (this token's vector)", "$h_{t-1}$", "$W$", "$U$", r"$h_t = \tanh(W x_t + U h_{t-1} + b)$"):
        assert label in texts
    assert len(boxes_of(fig, "tanh")) == 1 and len(boxes_of(fig, "weights")) == 2


def test_lstm_cell_has_its_gates_conveyor_and_equations():
    fig = diagrams.draw_lstm_cell()
    text = " ".join(texts_of(fig))
    for label in ("forget", "input\ngate $i_t$", "output\ngate $o_t$", "candidate", "$c_{t-1}$", "$c_t$",
                  "$h_{t-1}$", r"$h_t = o_t \odot \tanh(c_t)$", r"$c_t = f_t \odot c_{t-1} + i_t \odot g_t$"):
        assert label in text
    # Three sigmoid gates and two tanh (candidate, and the one on the cell state), colour-coded.
    assert len(boxes_of(fig, "gate")) == 3 and len(boxes_of(fig, "tanh")) == 2
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == [r"sigmoid gate $\sigma$ (0 to 1)", r"$\tanh$ layer (-1 to 1)", "element-wise operation"]


def test_gru_cell_follows_keras_convention():
    fig = diagrams.draw_gru_cell()
    text = " ".join(texts_of(fig))
    for label in ("update\ngate $z_t$", "reset\ngate $r_t$", r"candidate $\tilde{h}_t$", "1−",
                  r"$h_t = z_t \odot h_{t-1} + (1 - z_t) \odot \tilde{h}_t$",
                  r"U_h (r_t \odot h_{t-1})", r"r_t \odot (U_h h_{t-1} + b'_h)"):  # as drawn, and Keras' default
        assert label in text
    assert len(boxes_of(fig, "gate")) == 2 and len(boxes_of(fig, "tanh")) == 1
    assert "swapped" in diagrams.draw_gru_cell.__doc__


@pytest.mark.parametrize("vocab_size, dim, token_id", [(6, 3, 2), (4, 2, 0), (10, 5, 9)])
def test_embedding_lookup_picks_the_row_of_the_token(vocab_size, dim, token_id):
    fig = diagrams.draw_embedding_lookup(vocab_size, dim, token_id)
    ax = fig.axes[0]
    lit = [p for p in ax.patches
           if isinstance(p, Rectangle) and to_hex(p.get_facecolor()) == diagrams.COLORS["highlight"]]
    assert len(lit) == 1 + 2 * dim  # the one-hot's 1, the row of E, the result
    # Numbers drawn in lit cells: the one-hot 1, then row token_id of E twice over.
    centres = {(round(t.get_position()[0], 2), round(t.get_position()[1], 2)): t.get_text() for t in ax.texts}
    shown = [centres[(round(p.get_x() + 0.5, 2), round(p.get_y() + 0.5, 2))] for p in lit]
    assert shown[0] == "1" and shown[1:1 + dim] == shown[1 + dim:]
    assert lit[0].get_x() == token_id  # the one-hot's 1 sits in column token_id
    assert {p.get_y() for p in lit[1:1 + dim]} == {vocab_size - token_id - 1}  # and E's lit row is row token_id
    assert f"row {token_id} of $E$\n($1 \\times {dim}$)" in texts_of(fig)


def test_embedding_lookup_refuses_a_token_outside_the_vocabulary():
    with pytest.raises(ValueError, match="token_id must be an id of the vocabulary, 0 to 5, got 6"):
        diagrams.draw_embedding_lookup(6, 3, 6)


@pytest.mark.parametrize("draw", DIAGRAMS)
def test_diagrams_save_as_png(draw, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    path = plots.save_figure(draw(), "diagram")
    assert path.is_file() and path.parent.is_relative_to(tmp_path)
    image = plt.imread(path)
    assert image.shape[0] > 300 and image.shape[1] > 600
    assert np.std(image) > 0.05  # not blank
