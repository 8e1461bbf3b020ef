"""Diagrams of the course's ideas, drawn by code: recurrent cells, unrolling, the embedding lookup.

Every function returns a matplotlib ``Figure`` (save it with
:func:`utils.plots.save_figure`). One colour code across all diagrams:
sigmoid gates orange, tanh layers blue, weight matrices lilac, element-wise
operations (multiply, add, one minus) green circles, and states as dark
lines; :data:`COLORS` holds them.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch
from matplotlib.path import Path

COLORS = {
    "gate": "#f5b041",  # sigmoid: a share between 0 and 1
    "tanh": "#7fb3d5",  # tanh: a value between -1 and 1
    "weights": "#d7bde2",  # a weight matrix (linear map)
    "op": "#abebc6",  # element-wise operation
    "line": "#2c3e50",
    "cell": "#f4f6f6",
    "cell_edge": "#aab7b8",
    "highlight": "#f9e79f",
    "highlight_edge": "#b7950b",
}
FONT = 13  # labels; readable on a slide at 100 % zoom
BOX_W, BOX_H, OP_R = 1.0, 0.7, 0.27


def _canvas(width: float, height: float, xlim, ylim):
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def _box(ax, center, text, kind, width=BOX_W, height=BOX_H, fontsize=FONT):
    x, y = center
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.02,rounding_size=0.12", facecolor=COLORS[kind],
                                edgecolor=COLORS["line"], linewidth=1.4, zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=4)


def _op(ax, center, symbol, fontsize=FONT + 1):
    ax.add_patch(Circle(center, OP_R, facecolor=COLORS["op"], edgecolor=COLORS["line"], linewidth=1.4, zorder=3))
    ax.text(*center, symbol, ha="center", va="center", fontsize=fontsize, fontweight="bold", zorder=4)


def _dot(ax, center):
    ax.add_patch(Circle(center, 0.07, color=COLORS["line"], zorder=3))


def _path(ax, points, arrow=True, width=1.8, bridge=False, zorder=None):
    """A polyline through ``points``, with an arrowhead at its end; ``bridge``
    draws a gap where it crosses lines drawn before it."""
    codes = [Path.MOVETO] + [Path.LINETO] * (len(points) - 1)
    effects = [patheffects.withStroke(linewidth=width + 7, foreground=COLORS["cell"])] if bridge else []
    patch = FancyArrowPatch(path=Path(points, codes), arrowstyle="-|>" if arrow else "-", mutation_scale=16,
                            color=COLORS["line"], linewidth=width, shrinkA=0, shrinkB=0,
                            zorder=zorder or (1.5 if bridge else 1), joinstyle="miter")
    patch.set_path_effects(effects + [patheffects.Normal()] if bridge else [])
    ax.add_patch(patch)


def _cell_background(ax, x0, y0, x1, y1):
    ax.add_patch(FancyBboxPatch((x0, y0), x1 - x0, y1 - y0, boxstyle="round,pad=0,rounding_size=0.4",
                                facecolor=COLORS["cell"], edgecolor=COLORS["cell_edge"], linewidth=2, zorder=0))


def _legend(ax, kinds, loc="lower center", anchor=(0.5, -0.13)):
    names = {"gate": r"sigmoid gate $\sigma$ (0 to 1)", "tanh": r"$\tanh$ layer (-1 to 1)",
             "weights": "weight matrix", "op": "element-wise operation"}
    handles = [Patch(facecolor=COLORS[kind], edgecolor=COLORS["line"], label=names[kind]) for kind in kinds]
    ax.legend(handles=handles, loc=loc, bbox_to_anchor=anchor, ncol=len(handles), frameon=False, fontsize=FONT - 1)


def _caption(ax, x, y, lines):
    ax.text(x, y, "\n".join(lines), ha="center", va="top", fontsize=FONT, linespacing=1.7)


def draw_unrolled_rnn(steps: int = 4):
    """A recurrent cell folded (with its loop) and unrolled through ``steps`` time steps.

    Each copy reads ``x_t`` and the previous state ``h_{t-1}`` and outputs
    ``h_t``; every copy is the same cell with the same weights ``W, U, b``.
    """
    if not isinstance(steps, int) or not 2 <= steps <= 8:
        raise ValueError(f"steps must be a whole number from 2 to 8 (what fits a slide), got {steps!r}.")
    width, height, spacing = 1.7, 1.1, 3.0
    first = 6.0  # x of the first unrolled copy
    right = first + spacing * (steps - 1) + 1.9
    xlim, ylim = (-1.3, right), (-1.9, 3.3)
    fig, ax = _canvas(0.62 * (xlim[1] - xlim[0]), 0.62 * (ylim[1] - ylim[0]) + 0.5, xlim, ylim)

    def cell(x, below, above):
        _box(ax, (x, 1.2), "cell\n$W, U, b$", "weights", width=width, height=height)
        _path(ax, [(x, -0.3), (x, 1.2 - height / 2)])
        _path(ax, [(x, 1.2 + height / 2), (x, 2.6)])
        ax.text(x, -0.4, below, ha="center", va="top", fontsize=FONT + 1)
        ax.text(x, 2.7, above, ha="center", va="bottom", fontsize=FONT + 1)

    # Folded: one cell whose state loops back into it.
    cell(0, "$x_t$", "$h_t$")
    _path(ax, [(width / 2, 1.5), (width / 2 + 0.6, 1.5), (width / 2 + 0.6, 0.9), (width / 2, 0.9)])
    ax.text(width / 2 + 0.7, 1.2, "$h_{t-1}$", ha="left", va="center", fontsize=FONT - 1)
    ax.text(3.1, 1.2, "=", ha="center", va="center", fontsize=FONT + 12)
    ax.text(0, -1.3, "folded", ha="center", va="top", fontsize=FONT - 1, style="italic")
    # Unrolled: one copy per time step, each handing its state to the next.
    ax.text(first - 1.75, 1.2, "$h_0$", ha="right", va="center", fontsize=FONT + 1)
    _path(ax, [(first - 1.7, 1.2), (first - width / 2, 1.2)])
    for step in range(1, steps + 1):
        x = first + spacing * (step - 1)
        cell(x, f"$x_{{{step}}}$", f"$h_{{{step}}}$")
        end = x + spacing - width / 2 if step < steps else x + width / 2 + 0.8
        _path(ax, [(x + width / 2, 1.2), (end, 1.2)])
        ax.text((x + width / 2 + end) / 2, 1.3, f"$h_{{{step}}}$", ha="center", va="bottom", fontsize=FONT - 1)
    ax.text((first + x) / 2, -1.3, f"unrolled through {steps} time steps: the same cell, the same weights",
            ha="center", va="top", fontsize=FONT - 1, style="italic")
    ax.set_title("A recurrent network reads a sequence one step at a time,\n"
                 "handing its state $h$ on; the weights $W, U, b$ are shared by all steps", fontsize=FONT)
    return fig


def draw_simple_rnn_cell():
    """The SimpleRNN cell: ``h_t = tanh(W x_t + U h_{t-1} + b)``."""
    fig, ax = _canvas(9.5, 5.4, (-1.6, 9.6), (-1.7, 5.0))
    _cell_background(ax, 0, 0, 7.2, 3.9)
    _box(ax, (2.2, 0.9), "$W$", "weights")
    _box(ax, (2.2, 2.5), "$U$", "weights")
    _op(ax, (3.9, 1.7), "+")
    _box(ax, (5.4, 1.7), r"$\tanh$", "tanh")
    _path(ax, [(2.2, -1.0), (2.2, 0.55)])  # x_t
    _path(ax, [(-1.0, 2.5), (1.7, 2.5)])  # h_{t-1}
    _path(ax, [(2.7, 0.9), (3.9, 0.9), (3.9, 1.43)])
    _path(ax, [(2.7, 2.5), (3.9, 2.5), (3.9, 1.97)])
    _path(ax, [(4.17, 1.7), (4.9, 1.7)])
    _path(ax, [(5.9, 1.7), (8.4, 1.7)])  # h_t to the next step
    _dot(ax, (6.6, 1.7))
    _path(ax, [(6.6, 1.7), (6.6, 4.6)])  # h_t as output
    ax.text(2.2, -1.15, "$x_t$ (this token's vector)", ha="center", va="top", fontsize=FONT)
    ax.text(-1.05, 2.5, "$h_{t-1}$", ha="right", va="center", fontsize=FONT + 1)
    ax.text(8.5, 1.7, "$h_t$\n(next step)", ha="left", va="center", fontsize=FONT)
    ax.text(6.75, 4.5, "$h_t$ (output)", ha="left", va="center", fontsize=FONT)
    ax.text(4.1, 2.05, "$+b$", ha="left", va="bottom", fontsize=FONT - 1)
    _caption(ax, 3.6, 5.0, [r"$h_t = \tanh(W x_t + U h_{t-1} + b)$"])
    ax.set_ylim(-1.7, 5.4)
    _legend(ax, ["tanh", "weights", "op"], anchor=(0.5, -0.08))
    ax.set_title("SimpleRNN cell: the new state mixes this token with the previous state", fontsize=FONT, pad=12)
    return fig


def draw_lstm_cell():
    """The LSTM cell: the cell state ``c`` runs along the top like a conveyor.

    The forget gate ``f`` multiplies what the conveyor keeps of ``c_{t-1}``,
    the input gate ``i`` scales the candidate ``g`` that is added,
    and the output gate ``o`` decides how much of ``tanh(c_t)`` becomes
    ``h_t = o * tanh(c_t)``. (Keras names the candidate's weights ``c``.)
    """
    fig, ax = _canvas(12, 7.6, (-2.0, 12.4), (-2.9, 7.3))
    _cell_background(ax, 0, 0, 10.4, 6.0)
    conveyor_y, bus_y, gate_y = 5.0, 0.8, 2.2
    f_x, i_x, g_x, o_x, out_x = 2.4, 4.0, 5.6, 7.4, 8.7
    # The conveyor: c_{t-1} -> forget multiply -> input add -> c_t.
    _path(ax, [(-1.2, conveyor_y), (f_x - OP_R, conveyor_y)], width=3)
    _path(ax, [(f_x + OP_R, conveyor_y), (g_x - OP_R, conveyor_y)], width=3)
    _path(ax, [(g_x + OP_R, conveyor_y), (11.4, conveyor_y)], width=3)
    # The bus: h_{t-1} and x_t go to every gate.
    _path(ax, [(-1.2, bus_y), (o_x, bus_y)], arrow=False)
    _path(ax, [(1.0, -0.8), (1.0, bus_y)], arrow=False)
    _dot(ax, (1.0, bus_y))
    for x in (f_x, i_x, g_x, o_x):
        _path(ax, [(x, bus_y), (x, gate_y - BOX_H / 2)])
        _dot(ax, (x, bus_y))
    _box(ax, (f_x, gate_y), r"$\sigma$", "gate")
    _box(ax, (i_x, gate_y), r"$\sigma$", "gate")
    _box(ax, (g_x, gate_y), r"$\tanh$", "tanh")
    _box(ax, (o_x, gate_y), r"$\sigma$", "gate")
    # Forget: f multiplies the conveyor.
    _op(ax, (f_x, conveyor_y), r"$\times$")
    _path(ax, [(f_x, gate_y + BOX_H / 2), (f_x, conveyor_y - OP_R)])
    # Input: i * g is added to the conveyor.
    _op(ax, (g_x, 3.7), r"$\times$")
    _path(ax, [(i_x, gate_y + BOX_H / 2), (i_x, 3.7), (g_x - OP_R, 3.7)])
    _path(ax, [(g_x, gate_y + BOX_H / 2), (g_x, 3.7 - OP_R)])
    _op(ax, (g_x, conveyor_y), "+")
    _path(ax, [(g_x, 3.7 + OP_R), (g_x, conveyor_y - OP_R)])
    # Output: h_t = o * tanh(c_t).
    _dot(ax, (out_x, conveyor_y))
    _box(ax, (out_x, 4.0), r"$\tanh$", "tanh", width=0.9, height=0.55)
    _path(ax, [(out_x, conveyor_y), (out_x, 4.0 + 0.275)])
    _op(ax, (out_x, 3.0), r"$\times$")
    _path(ax, [(out_x, 4.0 - 0.275), (out_x, 3.0 + OP_R)])
    _path(ax, [(o_x, gate_y + BOX_H / 2), (o_x, 3.0), (out_x - OP_R, 3.0)])
    _path(ax, [(out_x + OP_R, 3.0), (9.6, 3.0), (9.6, bus_y), (11.4, bus_y)])
    _dot(ax, (9.6, 3.0))
    _path(ax, [(9.6, 3.0), (9.6, 5.6)], arrow=False, bridge=True)  # over the conveyor
    _path(ax, [(9.6, 5.3), (9.6, 6.9)], zorder=1.6)
    # Labels.
    label = dict(fontsize=FONT, va="center")
    ax.text(-1.3, conveyor_y, "$c_{t-1}$", ha="right", **label)
    ax.text(11.5, conveyor_y, "$c_t$", ha="left", **label)
    ax.text(-1.3, bus_y, "$h_{t-1}$", ha="right", **label)
    ax.text(11.5, bus_y, "$h_t$", ha="left", **label)
    ax.text(1.0, -0.9, "$x_t$", ha="center", va="top", fontsize=FONT)
    ax.text(9.75, 6.8, "$h_t$ (output)", ha="left", **label)
    ax.text(0.2, 4.6, "cell state:\nthe conveyor", ha="left", va="center", fontsize=FONT - 1, style="italic")
    ax.text(f_x - 0.15, 3.55, "forget\ngate $f_t$", ha="right", **label)
    ax.text(i_x - 0.15, 3.05, "input\ngate $i_t$", ha="right", **label)
    ax.text(g_x + 0.15, 3.0, "candidate\n$g_t$", ha="left", **label)
    ax.text(o_x + 0.6, gate_y, "output\ngate $o_t$", ha="left", **label)
    ax.text(f_x + 0.35, conveyor_y + 0.4, "forget", ha="center", fontsize=FONT - 2, style="italic")
    ax.text(g_x + 0.35, conveyor_y + 0.4, "write", ha="center", fontsize=FONT - 2, style="italic")
    ax.text(out_x + 0.35, conveyor_y + 0.4, "show", ha="center", fontsize=FONT - 2, style="italic")
    _caption(ax, 5.2, -1.5, [
        r"$f_t = \sigma(W_f x_t + U_f h_{t-1} + b_f)$, and so $i_t$, $o_t$;   "
        r"$g_t = \tanh(W_g x_t + U_g h_{t-1} + b_g)$",
        r"$c_t = f_t \odot c_{t-1} + i_t \odot g_t$,   $h_t = o_t \odot \tanh(c_t)$"])
    _legend(ax, ["gate", "tanh", "op"], anchor=(0.5, -0.09))
    ax.set_title("LSTM cell: gates decide what the cell state forgets, writes and shows", fontsize=FONT + 1)
    return fig


def draw_gru_cell():
    """The GRU cell in Keras' convention: ``h_t = z * h_{t-1} + (1 - z) * h~``.

    The update gate ``z`` keeps a share of the old state and fills the rest
    with the candidate ``h~``; the reset gate ``r`` decides how much of the
    old state the candidate sees, drawn as the classic cell applies it, on
    ``h_{t-1}`` before ``U`` (Keras' default ``reset_after=True`` applies it
    after: ``h~ = tanh(W x_t + b + r * (U h_{t-1} + b'))``; the caption says
    both). Some texts (e.g. Cho et al.
    2014, d2l) write the same cell with ``z`` and ``1 - z`` swapped, so that
    ``z`` is the share of the candidate; the diagram follows Keras.
    """
    fig, ax = _canvas(12, 8.1, (-2.0, 12.4), (-3.5, 7.3))  # one caption line more than the LSTM's
    _cell_background(ax, 0, 0, 10.4, 6.0)
    top_y, bus_y, gate_y = 5.0, 0.8, 2.2
    z_x, r_x, reset_x, cand_x, keep_x, new_x, add_x = 2.2, 3.7, 5.0, 6.3, 7.6, 8.9, 8.9
    z_y, reset_y, one_minus_y, mix_y = 4.2, 3.4, 3.4, 3.4
    # The state line: h_{t-1} -> z multiply -> add -> h_t.
    _path(ax, [(-1.2, top_y), (keep_x - OP_R, top_y)], width=3)
    _path(ax, [(keep_x + OP_R, top_y), (add_x - OP_R, top_y)], width=3)
    _path(ax, [(add_x + OP_R, top_y), (11.4, top_y)], width=3)
    # The bus: h_{t-1} (from the state line) and x_t go to the gates and the candidate.
    _path(ax, [(0.6, top_y), (0.6, bus_y), (cand_x, bus_y)], arrow=False)
    _dot(ax, (0.6, top_y))
    _path(ax, [(1.2, -1.2), (1.2, bus_y)], arrow=False)
    _dot(ax, (1.2, bus_y))
    for x in (z_x, r_x, cand_x):
        _path(ax, [(x, bus_y), (x, gate_y - BOX_H / 2)])
        _dot(ax, (x, bus_y))
    _box(ax, (z_x, gate_y), r"$\sigma$", "gate")
    _box(ax, (r_x, gate_y), r"$\sigma$", "gate")
    _box(ax, (cand_x, gate_y), r"$\tanh$", "tanh")
    # Reset: r scales what the candidate sees of h_{t-1}.
    _op(ax, (reset_x, reset_y), r"$\times$")
    _dot(ax, (reset_x, top_y))
    _path(ax, [(reset_x, top_y), (reset_x, reset_y + OP_R)])
    _path(ax, [(r_x, gate_y + BOX_H / 2), (r_x, reset_y), (reset_x - OP_R, reset_y)])
    _path(ax, [(reset_x, reset_y - OP_R), (reset_x, gate_y), (cand_x - BOX_W / 2, gate_y)])
    # Update: z keeps z * h_{t-1}; 1 - z of the candidate fills the rest.
    _op(ax, (keep_x, top_y), r"$\times$")
    # (It crosses the line from h_{t-1} to the reset multiply: a bridge there.)
    _path(ax, [(z_x, gate_y + BOX_H / 2), (z_x, z_y), (reset_x - 0.3, z_y)], arrow=False, zorder=1.6)
    _path(ax, [(reset_x - 0.35, z_y), (reset_x + 0.35, z_y)], arrow=False, bridge=True)
    _path(ax, [(reset_x + 0.3, z_y), (keep_x, z_y), (keep_x, top_y - OP_R)], zorder=1.6)
    _dot(ax, (keep_x, z_y))
    _op(ax, (keep_x, one_minus_y), "1−", fontsize=FONT - 2)
    _path(ax, [(keep_x, z_y), (keep_x, one_minus_y + OP_R)], zorder=1.6)
    _op(ax, (new_x, mix_y), r"$\times$")
    _path(ax, [(keep_x + OP_R, one_minus_y), (new_x - OP_R, mix_y)])
    _path(ax, [(cand_x + BOX_W / 2, gate_y), (new_x, gate_y), (new_x, mix_y - OP_R)])
    _op(ax, (add_x, top_y), "+")
    _path(ax, [(new_x, mix_y + OP_R), (add_x, top_y - OP_R)])
    _dot(ax, (10.0, top_y))
    _path(ax, [(10.0, top_y), (10.0, 6.9)])
    # Labels.
    label = dict(fontsize=FONT, va="center")
    ax.text(-1.3, top_y, "$h_{t-1}$", ha="right", **label)
    ax.text(11.5, top_y, "$h_t$", ha="left", **label)
    ax.text(1.2, -1.35, "$x_t$", ha="center", va="top", fontsize=FONT)
    ax.text(10.15, 6.8, "$h_t$ (output)", ha="left", **label)
    ax.text(z_x - 0.15, 3.2, "update\ngate $z_t$", ha="right", **label)
    ax.text(r_x - 0.12, 2.95, "reset\ngate $r_t$", ha="right", **label)
    ax.text(cand_x, 2.95, r"candidate $\tilde{h}_t$", ha="center", fontsize=FONT, va="center")
    ax.text(keep_x + 0.35, top_y + 0.4, "keep", ha="center", fontsize=FONT - 2, style="italic")
    ax.text(add_x + 0.35, top_y + 0.4, "fill", ha="center", fontsize=FONT - 2, style="italic")
    ax.text(new_x + 0.35, mix_y - 0.15, r"$(1-z_t)\odot\tilde{h}_t$", ha="left", va="top", fontsize=FONT - 2)
    _caption(ax, 5.2, -1.75, [
        r"$z_t = \sigma(W_z x_t + U_z h_{t-1} + b_z)$, and so $r_t$;   "
        r"$\tilde{h}_t = \tanh(W_h x_t + U_h (r_t \odot h_{t-1}) + b_h)$ as drawn",
        r"(Keras' default applies $r_t$ after the product: $r_t \odot (U_h h_{t-1} + b'_h)$)",
        r"$h_t = z_t \odot h_{t-1} + (1 - z_t) \odot \tilde{h}_t$   (Keras; some texts swap $z_t$ and $1-z_t$)"])
    _legend(ax, ["gate", "tanh", "op"], anchor=(0.5, -0.13))
    ax.set_title("GRU cell: the update gate mixes the old state with a candidate", fontsize=FONT + 1)
    return fig


def _grid(ax, values, origin, highlight_rows=(), highlight_cols=(), fmt="{:.1f}", bold=False):
    """Matrix ``values`` drawn as cells of size 1, top-left corner at ``origin``."""
    x0, y0 = origin
    rows, cols = values.shape
    for r in range(rows):
        for c in range(cols):
            lit = r in highlight_rows or c in highlight_cols
            ax.add_patch(plt.Rectangle((x0 + c, y0 - r - 1), 1, 1, zorder=2.5 if lit else 2, linewidth=2 if lit else 1,
                                       facecolor=COLORS["highlight"] if lit else "white",
                                       edgecolor=COLORS["highlight_edge"] if lit else COLORS["cell_edge"]))
            ax.text(x0 + c + 0.5, y0 - r - 0.5, fmt.format(values[r, c]), ha="center", va="center",
                    fontsize=FONT, zorder=3, fontweight="bold" if bold and lit else "normal")


def draw_embedding_lookup(vocab_size: int = 6, dim: int = 3, token_id: int = 2):
    """An Embedding lookup equals the one-hot row vector of the token times the matrix ``E``.

    A small numeric example (``E`` of ``vocab_size x dim`` fixed random
    values): the one-hot vector has its 1 at ``token_id``, so the product is
    row ``token_id`` of ``E``, highlighted in all three.
    """
    if not 2 <= vocab_size <= 10 or not 1 <= dim <= 6:
        raise ValueError(f"vocab_size must be 2 to 10 and dim 1 to 6 to fit a slide, got {vocab_size} and {dim}.")
    if not 0 <= token_id < vocab_size:
        raise ValueError(f"token_id must be an id of the vocabulary, 0 to {vocab_size - 1}, got {token_id}.")
    matrix = np.random.default_rng(0).normal(0, 0.5, (vocab_size, dim)).round(1) + 0.0  # + 0.0: no "-0.0"
    one_hot = np.eye(vocab_size, dtype=int)[token_id][None, :]
    mid = vocab_size / 2  # vertical centre
    e_x = vocab_size + 2.2
    result_x = e_x + dim + 1.8
    fig, ax = _canvas(0.62 * (result_x + dim + 1.2), 0.62 * (vocab_size + 2.5) + 0.4,
                      (-0.9, result_x + dim + 0.3), (-1.7, vocab_size + 0.8))
    _grid(ax, one_hot, (0, mid + 0.5), highlight_cols=[token_id], fmt="{:d}", bold=True)
    _grid(ax, matrix, (e_x, vocab_size), highlight_rows=[token_id])
    _grid(ax, matrix[token_id][None, :], (result_x, mid + 0.5), highlight_rows=[0])
    for c in range(vocab_size):
        ax.text(c + 0.5, mid + 0.75, str(c), ha="center", va="bottom", fontsize=FONT - 2, color="dimgray")
    for r in range(vocab_size):
        ax.text(e_x - 0.15, vocab_size - r - 0.5, str(r), ha="right", va="center", fontsize=FONT - 2, color="dimgray")
    ax.text(e_x - 0.6, vocab_size + 0.15, "token id", ha="center", va="bottom", fontsize=FONT - 3, color="dimgray")
    ax.text(vocab_size + 1.1, mid, r"$\times$", ha="center", va="center", fontsize=FONT + 10)
    ax.text(e_x + dim + 0.9, mid, "=", ha="center", va="center", fontsize=FONT + 10)
    below = dict(ha="center", va="top", fontsize=FONT)
    ax.text(vocab_size / 2, mid - 0.9, f"one-hot of token {token_id}\n($1 \\times {vocab_size}$)", **below)
    ax.text(e_x + dim / 2, -0.25, f"embedding matrix $E$\n(${vocab_size} \\times {dim}$)", **below)
    ax.text(result_x + dim / 2, mid - 0.9, f"row {token_id} of $E$\n($1 \\times {dim}$)", **below)
    ax.set_title(f"An Embedding lookup is a one-hot vector times $E$: it picks row {token_id}, "
                 "no multiplication needed", fontsize=FONT)
    return fig
