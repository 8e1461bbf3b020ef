"""Model builders: embedding, recurrent layer(s), classifier head.

Every builder returns a compiled Keras model that takes **token ids**
(``int`` tensor ``(batch, time)``, 0 = padding) and outputs the probability
that the text is positive. ``mask_zero=True`` (default) makes the recurrent
layers skip padded steps, so post-padding is safe; LSTM and GRU keep the
settings under which Keras runs the fused cuDNN kernel on a GPU (default
activations, no recurrent dropout, ``unroll=False``, ``use_bias=True``, GRU
``reset_after=True``), and with mask the padding must stay on the right.
"""

from __future__ import annotations

import functools

import keras

# Importing the text module registers the standardizations with Keras: with it,
# ``import utils.models`` is all that a saved course model needs to reload.
from utils.text import fit_length

CELLS = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}

# The course's settings per model, used by the notebooks and the benchmark alike.
# ema_momentum=0.99 averages the weights over about the last 100 steps; every run's training
# curves show what that adds (utils.training.UnaveragedValidation).
COURSE_SETTINGS = {
    "simple_rnn": dict(units=64, embedding_dim=64, dropout=0.3, learning_rate=1e-3, clipnorm=1.0,
                       ema_momentum=0.99),
    "stacked_rnn": dict(units=64, embedding_dim=64, dropout=0.3, learning_rate=1e-3, clipnorm=1.0,
                        ema_momentum=0.99, depth=2),
    "lstm": dict(units=64, embedding_dim=64, dropout=0.3, learning_rate=1e-3, clipnorm=1.0,
                 ema_momentum=0.99),
    "gru": dict(units=64, embedding_dim=64, dropout=0.3, learning_rate=2e-3, clipnorm=1.0,
                ema_momentum=0.99),
}


@keras.saving.register_keras_serializable(package="rnn_course")
class ForgetGateBias(keras.initializers.Initializer):
    """LSTM bias: ``value`` for the forget gate, 0 for the others.

    Keras lays the bias out as ``[input, forget, candidate, output]``. Its
    default (``unit_forget_bias=True``) starts the forget gate at 1, so
    sigma(1) = 0.73 of the cell state survives a step; a larger value keeps
    more of it, and of the gradient, at the start of training.
    """

    def __init__(self, value: float):
        self.value = value

    def __call__(self, shape, dtype=None):
        units = shape[0] // 4
        gates = [keras.ops.zeros((units,)), keras.ops.full((units,), self.value),
                 keras.ops.zeros((2 * units,))]
        return keras.ops.cast(keras.ops.concatenate(gates), dtype or "float32")

    def get_config(self):
        return {"value": self.value}


@keras.saving.register_keras_serializable(package="rnn_course")
class UpdateGateBias(keras.initializers.Initializer):
    """GRU bias: ``value`` for the update gate z, 0 for everything else.

    Keras' GRU computes ``h_t = z * h_{t-1} + (1 - z) * candidate`` and lays
    each bias out as ``[update z, reset r, candidate]``; with ``reset_after``
    (the cuDNN setting) the bias has two rows, for the input and the
    recurrent kernel, and ``z`` sees their sum, so the first row carries
    ``value``. Keras starts every bias at 0: z = sigma(0) = 0.5 keeps half of
    the state per step; sigma(3) = 0.95 keeps most of it, like
    :class:`ForgetGateBias` for the LSTM.
    """

    def __init__(self, value: float):
        self.value = value

    def __call__(self, shape, dtype=None):
        units = shape[-1] // 3
        row = keras.ops.concatenate([keras.ops.full((units,), self.value), keras.ops.zeros((2 * units,))])
        bias = row if len(shape) == 1 else keras.ops.stack([row, keras.ops.zeros((3 * units,))])
        return keras.ops.cast(bias, dtype or "float32")

    def get_config(self):
        return {"value": self.value}


def _gpu_available() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def build_rnn_classifier(
    cell: str,
    vocab_size: int,
    *,
    units: int = 64,
    depth: int = 1,
    embedding_dim: int = 64,
    dropout: float = 0.3,
    mask_zero: bool = True,
    learning_rate: float = 2e-3,
    clipnorm: float | None = 1.0,
    forget_bias: float | None = None,
    update_bias: float | None = None,
    ema_momentum: float | None = None,
    embeddings=None,
    sequence_length: int | None = None,
    name: str | None = None,
) -> keras.Model:
    """Token ids -> Embedding -> ``depth`` recurrent layers -> sigmoid.

    ``dropout`` acts on the embeddings and on the last hidden state (not
    inside the recurrence, which would rule out cuDNN); ``clipnorm`` clips the
    gradient norm, the standard remedy for exploding gradients in RNNs.
    ``forget_bias`` (LSTM only) sets the forget gate's initial bias
    (Keras' default: 1), see :class:`ForgetGateBias`; ``update_bias`` (GRU
    only) the update gate's (Keras' default: 0), see :class:`UpdateGateBias`.
    ``ema_momentum`` makes the optimizer keep an exponential moving average of
    the weights (Polyak averaging); :func:`utils.training.train_classifier` validates and keeps
    the averaged weights. ``embeddings`` (``(vocab_size, embedding_dim)``,
    e.g. :func:`utils.embeddings.ppmi_svd_embeddings`) are the Embedding
    layer's initial weights instead of random ones; they train with the rest.
    """
    if cell not in CELLS:
        raise ValueError(f"Unknown cell {cell!r}: use one of {', '.join(CELLS)}.")
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}.")
    if embeddings is not None and tuple(embeddings.shape) != (vocab_size, embedding_dim):
        raise ValueError(f"embeddings must have shape (vocab_size, embedding_dim) = "
                         f"({vocab_size}, {embedding_dim}), got {tuple(embeddings.shape)}: build them "
                         f"with the same vocabulary size and embedding_dim as the model.")
    layer = CELLS[cell]
    if forget_bias is not None:
        if cell != "lstm":
            raise ValueError(f"forget_bias applies to an LSTM only, not to {cell!r}.")
        layer = functools.partial(layer, unit_forget_bias=False, bias_initializer=ForgetGateBias(forget_bias))
    if update_bias is not None:
        if cell != "gru":
            raise ValueError(f"update_bias applies to a GRU only, not to {cell!r}.")
        layer = functools.partial(layer, bias_initializer=UpdateGateBias(update_bias))
    if cell != "simple_rnn" and _gpu_available():
        # On a GPU, insist on cuDNN: Keras then refuses a non-eligible layer.
        layer = functools.partial(layer, use_cudnn=True)
    inputs = keras.Input(shape=(sequence_length,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=mask_zero, weights=embeddings,
                               name="embedding")(inputs)
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    for level in range(1, depth + 1):
        # Lower layers hand their whole sequence of states to the next layer.
        x = layer(units, return_sequences=level < depth, name=f"{cell}_{level}")(x)
    x = keras.layers.Dropout(dropout, name="state_dropout")(x)
    # float32 output even under mixed precision, for a numerically sound loss.
    outputs = keras.layers.Dense(1, activation="sigmoid", dtype="float32", name="positive_probability")(x)
    model = keras.Model(inputs, outputs, name=name or (cell if depth == 1 else f"{cell}_x{depth}"))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm,
                                        use_ema=ema_momentum is not None,
                                        ema_momentum=ema_momentum or 0.99),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def build_simple_rnn(vocab_size: int, **options) -> keras.Model:
    """SimpleRNN classifier on token ids (see :func:`build_rnn_classifier`)."""
    return build_rnn_classifier("simple_rnn", vocab_size, **options)


def build_stacked_rnn(vocab_size: int, depth: int = 2, **options) -> keras.Model:
    """``depth`` SimpleRNN layers stacked, on token ids."""
    return build_rnn_classifier("simple_rnn", vocab_size, depth=depth,
                                name=options.pop("name", "stacked_rnn"), **options)


def build_lstm(vocab_size: int, **options) -> keras.Model:
    """LSTM classifier on token ids, cuDNN-eligible."""
    return build_rnn_classifier("lstm", vocab_size, **options)


def build_gru(vocab_size: int, **options) -> keras.Model:
    """GRU classifier on token ids, cuDNN-eligible (``reset_after=True``)."""
    return build_rnn_classifier("gru", vocab_size, **options)


def recurrent_layers(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if isinstance(layer, tuple(CELLS.values()))]


def cudnn_problems(layer: keras.layers.Layer) -> list[str]:
    """Why Keras could not run ``layer`` (LSTM/GRU) with cuDNN; empty if it can."""
    checks = {
        "activation is not tanh": layer.activation is not keras.activations.tanh,
        "recurrent_activation is not sigmoid": layer.recurrent_activation is not keras.activations.sigmoid,
        "recurrent_dropout is not 0": layer.recurrent_dropout != 0,
        "unroll is set": layer.unroll,
        "use_bias is off": not layer.use_bias,
    }
    if isinstance(layer, keras.layers.GRU):
        checks["reset_after is off"] = not layer.reset_after
    return [problem for problem, failed in checks.items() if failed]


@keras.saving.register_keras_serializable(package="rnn_course")
class FitLength(keras.layers.Layer):
    """Cut and pad token ids to ``length`` inside a model (:func:`utils.text.fit_length`)."""

    def __init__(self, length: int, padding: str = "post", truncating: str = "pre", **kwargs):
        super().__init__(**kwargs)
        self.length, self.padding, self.truncating = length, padding, truncating

    def call(self, ids):
        return fit_length(ids, self.length, self.padding, self.truncating)

    def get_config(self):
        return {**super().get_config(), "length": self.length, "padding": self.padding,
                "truncating": self.truncating}


def export_text_model(model: keras.Model, vectorizer, sequence_length: int,
                      padding: str = "post") -> keras.Model:
    """``model`` with its vectorizer in front: a model that takes raw strings.

    Saved as ``.keras`` it reloads with ``keras.models.load_model`` once
    ``utils.models`` is imported (it registers the standardization and
    :class:`FitLength`). Input: a batch of strings, shape ``(batch,)``.
    """
    texts = keras.Input(shape=(), dtype="string", name="text")
    ids = FitLength(sequence_length, padding, name="fit_length")(vectorizer(texts))
    return keras.Model(texts, model(ids), name=f"{model.name}_text")


def split_text_model(text_model: keras.Model):
    """``(to_ids, model)`` of a model made by :func:`export_text_model`:
    the function from strings to the ids the inner model reads, and the
    inner model itself (for gradients and gates)."""
    vectorizer = next(l for l in text_model.layers if isinstance(l, keras.layers.TextVectorization))
    fit_length = next(l for l in text_model.layers if isinstance(l, FitLength))
    inner = text_model.layers[-1]
    return (lambda texts: fit_length(vectorizer(texts))), inner


BUILDERS = {"simple_rnn": build_simple_rnn, "stacked_rnn": build_stacked_rnn,
            "lstm": build_lstm, "gru": build_gru}


def build_course_model(which: str, vocab_size: int, **overrides) -> keras.Model:
    """``which`` of the course's four models, with its :data:`COURSE_SETTINGS`."""
    return BUILDERS[which](vocab_size, **{**COURSE_SETTINGS[which], **overrides})
