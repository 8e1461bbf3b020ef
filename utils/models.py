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
import numpy as np

# Importing the text module registers the standardizations with Keras: with it,
# ``import utils.models`` is all that a saved course model needs to reload.
from utils import config
from utils.text import fit_length

CELLS = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}

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


@keras.saving.register_keras_serializable(package="rnn_course")
class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """Element-wise maximum over the real time steps of ``(batch, time, features)``.

    Keras' ``GlobalMaxPooling1D`` ignores the mask, so padding would take part
    in the maximum: a recurrent layer outputs zeros there (cuDNN, or inside
    ``Bidirectional``) or repeats its last state, and a zero beats every
    negative state. Here masked steps never win; a row without any real step
    pools to zeros.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return keras.ops.max(inputs, axis=1)
        real = keras.ops.expand_dims(keras.ops.cast(mask, "bool"), -1)
        pooled = keras.ops.max(keras.ops.where(real, inputs, float("-inf")), axis=1)
        return keras.ops.where(keras.ops.any(real, axis=1), pooled, keras.ops.zeros_like(pooled))

    def compute_mask(self, inputs, mask=None):
        return None  # one vector per text: nothing left to mask

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])


# What the classifier reads from the top layer's states (``"last"``: its final state).
# GlobalAveragePooling1D honours the mask: it averages the real steps only.
POOLINGS = {"last": None, "max": MaskedGlobalMaxPooling1D, "mean": keras.layers.GlobalAveragePooling1D}


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
    global_clipnorm: float | None = None,
    forget_bias: float | None = None,
    update_bias: float | None = None,
    ema_momentum: float | None = None,
    embeddings=None,
    sequence_length: int | None = None,
    bidirectional: bool = False,
    pooling: str = "last",
    name: str | None = None,
) -> keras.Model:
    """Token ids -> Embedding -> ``depth`` recurrent layers -> sigmoid.

    ``dropout`` acts on the embeddings and on the last hidden state (not
    inside the recurrence, which would rule out cuDNN); ``clipnorm`` clips each
    variable's gradient norm and ``global_clipnorm`` (pass one, not both) the norm
    of all gradients together: the standard remedies for exploding gradients in RNNs.
    ``forget_bias`` (LSTM only) sets the forget gate's initial bias
    (Keras' default: 1), see :class:`ForgetGateBias`; ``update_bias`` (GRU
    only) the update gate's (Keras' default: 0), see :class:`UpdateGateBias`.
    ``ema_momentum`` makes the optimizer keep an exponential moving average of
    the weights (Polyak averaging); :func:`utils.training.train_classifier` validates and keeps
    the averaged weights. ``embeddings`` (``(vocab_size, embedding_dim)``,
    e.g. :func:`utils.embeddings.ppmi_svd_embeddings`) are the Embedding
    layer's initial weights instead of random ones; they train with the rest.

    ``bidirectional`` wraps each recurrent layer in ``keras.layers.Bidirectional``:
    a second copy reads the review from its end, and the two states are
    concatenated (twice the state size and twice the recurrent parameters;
    masking and cuDNN eligibility are kept). ``pooling`` says what the
    classifier reads: ``"last"`` the state after the last real token, ``"max"``
    or ``"mean"`` the element-wise maximum or mean of the top layer's states
    over the real tokens (padding is masked out, see
    :class:`MaskedGlobalMaxPooling1D`). The defaults build the course's models
    unchanged: same layers, names and weights for the same seed.
    """
    if cell not in CELLS:
        raise ValueError(f"Unknown cell {cell!r}: use one of {', '.join(CELLS)}.")
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}.")
    if pooling not in POOLINGS:
        raise ValueError(f"Unknown pooling {pooling!r}: use one of {', '.join(POOLINGS)}.")
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
    if cell != "simple_rnn" and config.gpu_count():
        # On a GPU, insist on cuDNN: Keras then refuses a non-eligible layer.
        layer = functools.partial(layer, use_cudnn=True)
    inputs = keras.Input(shape=(sequence_length,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=mask_zero, weights=embeddings,
                               name="embedding")(inputs)
    x = keras.layers.Dropout(dropout, name="embedding_dropout")(x)
    for level in range(1, depth + 1):
        # Lower layers hand their whole sequence of states to the next layer, and so
        # does the top one when the states are pooled over time.
        recurrent = layer(units, return_sequences=level < depth or pooling != "last", name=f"{cell}_{level}")
        if bidirectional:
            recurrent = keras.layers.Bidirectional(recurrent, name=f"bidirectional_{cell}_{level}")
        x = recurrent(x)
    if pooling != "last":
        x = POOLINGS[pooling](name=f"{pooling}_over_time")(x)
    x = keras.layers.Dropout(dropout, name="state_dropout")(x)
    # float32 output even under mixed precision, for a numerically sound loss.
    outputs = keras.layers.Dense(1, activation="sigmoid", dtype="float32", name="positive_probability")(x)
    if name is None:
        name = ("bidirectional_" if bidirectional else "") + (cell if depth == 1 else f"{cell}_x{depth}")
        name += "" if pooling == "last" else f"_{pooling}_pool"
    model = keras.Model(inputs, outputs, name=name)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm,
                                        global_clipnorm=global_clipnorm,
                                        use_ema=ema_momentum is not None,
                                        ema_momentum=ema_momentum or 0.99),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def recurrent_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's recurrent layers, bottom to top; a ``Bidirectional`` layer
    counts as its forward and its backward layer."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            found += [layer.forward_layer, layer.backward_layer]
        elif isinstance(layer, tuple(CELLS.values())):
            found.append(layer)
    return found


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
                      padding: str = "post", truncating: str = "pre") -> keras.Model:
    """``model`` with its vectorizer in front: a model that takes raw strings.

    Saved as ``.keras`` it reloads with ``keras.models.load_model`` once
    ``utils.models`` is imported (it registers the standardization and
    :class:`FitLength`). Input: a batch of strings, shape ``(batch,)``.
    """
    texts = keras.Input(shape=(), dtype="string", name="text")
    ids = FitLength(sequence_length, padding, truncating, name="fit_length")(vectorizer(texts))
    return keras.Model(texts, model(ids), name=f"{model.name}_text")


def predict_sentiment(text_model: keras.Model, texts) -> np.ndarray:
    """P(positive) of each text, as a 1-D float array, from a model made by
    :func:`export_text_model` (or its reloaded ``.keras`` file).

    ``texts``: one string, or a list, tuple, NumPy array or ``tf`` string
    tensor of strings (``str`` or UTF-8 ``bytes``); an empty one gives an
    empty array. Anything else raises ``TypeError``.
    """
    import tensorflow as tf

    if isinstance(texts, tf.Tensor):
        if texts.dtype != tf.string:
            raise TypeError(f"texts must be a string or a sequence of strings, got a {texts.dtype.name} tensor.")
        texts = texts.numpy()  # bytes
    batch = np.asarray(texts, dtype=object)
    if batch.ndim == 0:
        batch = batch.reshape(1)
    if batch.ndim != 1 or not all(isinstance(text, (str, bytes)) for text in batch):
        raise TypeError(f"texts must be a string or a sequence of strings, got {_describe(texts)}.")
    if len(batch) == 0:
        return np.zeros(0, dtype="float32")
    return np.asarray(text_model.predict(tf.constant(batch, dtype=tf.string), verbose=0)).reshape(-1)


def _describe(value) -> str:
    shown = repr(value)
    return f"{type(value).__name__} {shown if len(shown) <= 60 else shown[:57] + '...'}".replace("\n", " ")


def split_text_model(text_model: keras.Model):
    """``(to_ids, model)`` of a model made by :func:`export_text_model`:
    the function from strings to the ids the inner model reads, and the
    inner model itself (for gradients and gates)."""
    vectorizer = next(l for l in text_model.layers if isinstance(l, keras.layers.TextVectorization))
    fit_length = next(l for l in text_model.layers if isinstance(l, FitLength))
    inner = text_model.layers[-1]
    return (lambda texts: fit_length(vectorizer(texts))), inner
