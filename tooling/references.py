"""The benchmark's references besides the bag of words (:mod:`utils.baselines`): the
configurations of two public examples, each returning a compiled Keras model.

* :func:`build_tf_tutorial_rnn`: the TensorFlow tutorial "Text classification with an RNN".
* :func:`build_keras_io_bilstm`: the keras-io example "Bidirectional LSTM on IMDB".

:data:`TRAINING` holds the batch size and epochs each source trains with.
"""

from __future__ import annotations

import keras

TRAINING = {
    "tf_tutorial_bilstm": {"batch_size": 64, "epochs": 10},
    "keras_io_bilstm": {"batch_size": 32, "epochs": 2, "sequence_length": 200},
}


def build_tf_tutorial_rnn(train_texts) -> keras.Model:
    """The TensorFlow tutorial "Text classification with an RNN": raw strings in, logits out.

    Vocabulary of 1,000 adapted on ``train_texts`` (``(text, label)``), masked
    embedding 64, bidirectional LSTM 64, dense 64 relu, one logit; Adam 1e-4.
    The tutorial trains it with batches of 64 for 10 epochs (:data:`TRAINING`).
    """
    encoder = keras.layers.TextVectorization(max_tokens=1000)
    encoder.adapt(train_texts.map(lambda text, label: text).batch(1024))
    model = keras.Sequential([
        keras.Input(shape=(), dtype="string"),
        encoder,
        keras.layers.Embedding(len(encoder.get_vocabulary()), 64, mask_zero=True),
        keras.layers.Bidirectional(keras.layers.LSTM(64)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(1),
    ], name="tf_tutorial_bilstm")
    model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.Adam(1e-4),
                  metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")])
    return model


def build_keras_io_bilstm(vocab_size: int = 20_000, embedding_dim: int = 128, units: int = 64) -> keras.Model:
    """The keras-io example "Bidirectional LSTM on IMDB": token ids in, probability out.

    Embedding 128 (no mask), two bidirectional LSTM 64 layers, one sigmoid
    unit; Adam (learning rate 1e-3) and binary cross-entropy. The example
    keeps 20,000 words and the **last** 200 tokens of a review, padded at the
    front (``pad_sequences``' defaults): feed it ids from a course vectorizer
    with ``max_tokens=20_000`` through ``make_pipeline(..., sequence_length=200,
    padding="pre", batching="fixed")``. It trains with batches of 32 for 2
    epochs (:data:`TRAINING`).
    """
    ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")(ids)
    x = keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True), name="bidirectional_lstm_1")(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(units), name="bidirectional_lstm_2")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="positive_probability")(x)
    model = keras.Model(ids, outputs, name="keras_io_bilstm")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    return model
