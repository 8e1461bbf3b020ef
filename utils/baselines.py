"""The bag of words, the yardstick notebook 08 measures the course against.

:func:`build_bag_of_words_classifier`: TF-IDF of unigrams and bigrams with a
logistic-regression head, the honest yardstick (word order beyond pairs is
ignored); :func:`train_bag_of_words` trains it on the course's split. The
benchmark's other references (the TensorFlow tutorial's RNN, the keras-io
bidirectional LSTM) are in :mod:`tooling.references`.
"""

from __future__ import annotations

import functools
import time

import keras
import tensorflow as tf

from utils import config, data, training
from utils.text import standardize_review

# How the bag of words trains: chosen on the course's validation reviews (see train_bag_of_words).
TRAINING = {"batch_size": 128, "epochs": 10}


def make_tfidf_vectorizer(texts, max_tokens: int = 100_000, ngrams: int = 2,
                          standardize=standardize_review) -> keras.layers.TextVectorization:
    """A ``TextVectorization`` that turns each text into one TF-IDF vector over
    the ``max_tokens`` most frequent n-grams (1 to ``ngrams`` words) of
    ``texts``: a ``tf.data.Dataset`` of ``(text, label)`` (training text only)."""
    vectorizer = keras.layers.TextVectorization(max_tokens=max_tokens, ngrams=ngrams, output_mode="tf_idf",
                                                standardize=standardize, name="tfidf")
    vectorizer.adapt(texts.map(lambda text, label: text).batch(1024))
    return vectorizer


def sparse_tfidf(vectorizer: keras.layers.TextVectorization):
    """A function from a batch of strings to ``vectorizer(texts)`` (a ``tf_idf``
    vectorizer) as a ``tf.SparseTensor``.

    Keras 3.15's own ``sparse=True`` fails in ``tf_idf`` mode (it multiplies the
    sparse counts by the idf vector with a ``gather_nd`` of the wrong rank), and
    converting the dense vectors costs about 8x the time: so the n-grams are
    counted sparsely with the same vocabulary and weighted by the adapted idf.
    """
    config = vectorizer.get_config()
    counter = keras.layers.TextVectorization(
        max_tokens=config["max_tokens"], standardize=config["standardize"], split=config["split"],
        ngrams=config["ngrams"], output_mode="count", sparse=True, vocabulary=vectorizer.get_vocabulary())
    store = {}
    vectorizer.save_own_variables(store)  # the idf weights that adapt computed
    idf = tf.constant(store["idf_weights"])

    def tfidf(texts):
        counts = counter(texts)
        weights = tf.gather(idf, counts.indices[:, -1])
        return tf.SparseTensor(counts.indices, tf.cast(counts.values, idf.dtype) * weights, counts.dense_shape)

    return tfidf


def _compile_binary(model: keras.Model, learning_rate: float) -> keras.Model:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def build_bag_of_words_classifier(train_texts, max_tokens: int = 100_000, ngrams: int = 2,
                                  standardize=standardize_review, l2: float = 3e-4,
                                  learning_rate: float = 3e-4) -> keras.Model:
    """Raw strings -> TF-IDF of n-grams -> logistic regression (one sigmoid unit).

    The vectorizer (layer ``"tfidf"``) is adapted on ``train_texts`` only, a
    ``(text, label)`` dataset; ``l2`` penalizes the squared weights
    (``l2 * sum(w**2)`` added to the loss). Input: a batch of strings, shape
    ``(batch,)``; output: the probability that the text is positive. To train
    it fast, use :func:`train_bag_of_words`, which vectorizes each text once.
    """
    vectorizer = make_tfidf_vectorizer(train_texts, max_tokens, ngrams, standardize)
    texts = keras.Input(shape=(), dtype="string", name="text")
    head = keras.layers.Dense(1, activation="sigmoid", kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
                              name="positive_probability")
    return _compile_binary(keras.Model(texts, head(vectorizer(texts)), name="bag_of_words"), learning_rate)


def tfidf_pipeline(texts, vectorizer, batch_size: int, shuffle: bool = False, seed: int = 0):
    """Batched ``(sparse TF-IDF vector, label)`` from ``(text, label)``:
    vectorized once and cached, so later epochs only shuffle and batch.

    An IMDB review holds about 280 of the 100,000 n-grams (measured): kept
    sparse, the cached vectors of 25,000 reviews take about 140 MB, not 10 GB.
    """
    tfidf = sparse_tfidf(vectorizer)
    dataset = texts.batch(1024).map(lambda text, label: (tfidf(text), label),
                                    num_parallel_calls=tf.data.AUTOTUNE).unbatch().cache()
    if shuffle:
        dataset = dataset.shuffle(30_000, seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def train_bag_of_words(train, validation, test, profile, *, max_tokens: int = 100_000, ngrams: int = 2,
                       l2: float = 3e-4, learning_rate: float = 3e-4, batch_size: int | None = None,
                       epochs: int | None = None, patience: int = 2, standardize=standardize_review,
                       dataset: str = "imdb", seed: int = config.SEED) -> tuple[keras.Model, dict]:
    """Build, train and test the bag-of-words baseline on the course's split.

    ``train``, ``validation``, ``test``: raw ``(text, label)`` datasets, e.g.
    :func:`utils.data.imdb_text_splits`. Training is the course's
    (:func:`utils.training.train_classifier`: early stopping on validation
    accuracy, best epoch restored, test evaluated once) on TF-IDF vectors
    computed once per text. Returns the model, which reads raw strings, and the
    run's record in the schema of :mod:`utils.results` (not written), plus
    ``adapt_seconds`` (building the n-gram vocabulary) and ``total_seconds``.
    """
    start = time.perf_counter()
    settings = TRAINING
    batch_size = batch_size or settings["batch_size"]
    keras.utils.set_random_seed(seed)
    model = build_bag_of_words_classifier(train, max_tokens, ngrams, standardize, l2, learning_rate)
    adapt_seconds = time.perf_counter() - start
    vectorizer, head = model.get_layer("tfidf"), model.get_layer("positive_probability")
    # The same head on vectors instead of strings: it trains the text model's weights.
    vectors = keras.Input(shape=(vectorizer.vocabulary_size(),), sparse=True, name="tfidf_vector")
    on_vectors = _compile_binary(keras.Model(vectors, head(vectors), name="bag_of_words"), learning_rate)
    pipe = functools.partial(tfidf_pipeline, vectorizer=vectorizer, batch_size=batch_size, seed=seed)
    prepared = data.PreparedData(
        vectorizer=vectorizer, train=pipe(train, shuffle=True), validation=pipe(validation), test=pipe(test),
        test_texts=test, sequence_length=None,
        n_train=data.count(train), n_validation=data.count(validation), n_test=data.count(test))
    record = training.train_classifier(on_vectors, prepared, profile, dataset=dataset, model_name="bag_of_words",
                                       epochs=epochs or settings["epochs"], patience=patience, seed=seed,
                                       write=False)
    record.update(adapt_seconds=adapt_seconds, total_seconds=time.perf_counter() - start, max_tokens=max_tokens,
                  ngrams=ngrams, l2=l2, learning_rate=learning_rate, batch_size=batch_size)
    return model, record
