"""Text to token ids: standardization, the vectorizer, padding, ``tf.data``
pipelines, and the corpus statistics that choose the sequence length and the
vocabulary size.

The standardizations are registered with Keras, so importing this module (or
:mod:`utils.models`, which imports it) is all a saved course model needs to
reload.
"""

from __future__ import annotations

import collections
import re

import keras
import numpy as np
import tensorflow as tf

PAD_ID, OOV_ID = 0, 1  # TextVectorization's reserved ids
LINE_BREAKS = re.compile(r"\s*(?:<br\s*/?>\s*)+", re.IGNORECASE)


class TextError(ValueError):
    """A text could not be turned into ids; the message says why."""


@keras.saving.register_keras_serializable(package="rnn_course")
def standardize_review(text):
    """Lower-case, turn IMDB's ``<br />`` tags into spaces, drop punctuation.

    Apostrophes inside words stay (``don't`` is one token); registered with
    Keras so a saved model that contains its vectorizer reloads.
    """
    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, r"<br\s*/?>", " ")
    text = tf.strings.regex_replace(text, r"[^\p{L}\p{N}']+", " ")
    return tf.strings.regex_replace(text, r"(^|\s)'+|'+(\s|$)", " ")


@keras.saving.register_keras_serializable(package="rnn_course")
def standardize_tweet(text):
    """Tweets to plain words: what carries sentiment stays, the noise goes.

    HTML entities decoded (``&amp;`` -> and, ``&lt;3`` -> heart), links ->
    ``url``, @mentions -> ``user``, ``#tag`` -> ``tag``, letters repeated
    three or more times cut to two (``loooove`` -> ``loove``), then the
    review standardization (lower case, punctuation removed).
    """
    text = tf.strings.lower(text, encoding="utf-8")
    for pattern, replacement in (
        (r"&lt;3|<3", " heart "), (r"&amp;", " and "), (r"&quot;", " "), (r"&lt;|&gt;", " "),
        (r"https?://\S+|www\.\S+", " url "), (r"@\w+", " user "), (r"#(\w)", r"\1"),
    ):
        text = tf.strings.regex_replace(text, pattern, replacement)
    # RE2 has no back-references, so one rule per letter: "ooo+" -> "oo".
    for letter in "abcdefghijklmnopqrstuvwxyz":
        text = tf.strings.regex_replace(text, f"{letter}{{3,}}", letter * 2)
    return standardize_review(text)


def make_vectorizer(texts, max_tokens: int, sequence_length: int | None = None,
                    standardize=standardize_review) -> keras.layers.TextVectorization:
    """A ``TextVectorization`` layer adapted on ``texts`` (training text only).

    ``texts`` is a ``tf.data.Dataset`` of strings (or of ``(text, label)``
    pairs) or a list of strings. Ids 0 and 1 are padding and out-of-vocabulary;
    sequences are cut and padded at the end to ``sequence_length`` tokens
    (``None`` pads each batch to its longest text).
    """
    if isinstance(texts, tf.data.Dataset) and isinstance(texts.element_spec, tuple):
        texts = texts.map(lambda text, label: text)
    if isinstance(texts, tf.data.Dataset):
        texts = texts.batch(1024)
    vectorizer = keras.layers.TextVectorization(
        max_tokens=max_tokens,
        standardize=standardize,
        output_mode="int",
        output_sequence_length=sequence_length,
    )
    vectorizer.adapt(texts)
    return vectorizer


def to_pre_padding(ids):
    """Move the padding of right-padded id rows to the left.

    ``[[5, 7, 0, 0]] -> [[0, 0, 5, 7]]``: the tokens keep their order and the
    last real token lands on the last time step.
    """
    ids = tf.convert_to_tensor(ids)
    lengths = tf.reduce_sum(tf.cast(ids != PAD_ID, tf.int64), axis=1)
    reversed_tokens = tf.reverse_sequence(ids, lengths, seq_axis=1, batch_axis=0)
    return tf.reverse(reversed_tokens, axis=[1])


def fit_length(ids, length: int, padding: str = "post", truncating: str = "pre"):
    """Cut right-padded id rows to ``length`` tokens and pad them to ``length``.

    ``truncating="pre"`` keeps the **last** tokens of a long text (a review's
    verdict tends to come at its end; the default of
    ``keras.utils.pad_sequences`` too), ``"post"`` the first ones.
    """
    if padding not in ("post", "pre") or truncating not in ("post", "pre"):
        raise ValueError(f"padding and truncating must be 'post' or 'pre', got {padding!r}, {truncating!r}.")
    ids = tf.convert_to_tensor(ids)
    lengths = tf.reduce_sum(tf.cast(ids != PAD_ID, tf.int64), axis=1)
    rows = tf.RaggedTensor.from_tensor(ids, lengths=lengths)
    rows = rows[:, -length:] if truncating == "pre" else rows[:, :length]
    ids = rows.to_tensor(default_value=PAD_ID, shape=[None, length])
    return to_pre_padding(ids) if padding == "pre" else ids


BATCHINGS = ("bucketed", "longest", "fixed")


def length_buckets(sequence_length: int, n_buckets: int = 12) -> list[int]:
    """Upper bounds of ``n_buckets`` equal-width length buckets up to ``sequence_length``."""
    width = max(1, -(-sequence_length // n_buckets))
    return list(range(width, sequence_length, width))


def make_pipeline(dataset, vectorizer, batch_size: int, sequence_length: int | None = None,
                  shuffle: bool = False, padding: str = "post", truncating: str = "pre",
                  seed: int = 0, batching: str = "fixed"):
    """Batched ``(token_ids, label)`` pipeline from a ``(text, label)`` dataset.

    Texts are vectorized once, in large batches, and cached, so later epochs
    only shuffle, batch and prefetch. Texts longer than ``sequence_length``
    are cut (see :func:`fit_length`). ``batching`` says how long a batch is:

    * ``"fixed"``: every row padded to ``sequence_length`` (``padding`` picks the side);
    * ``"longest"``: padded at the end to the longest text of its batch, order kept;
    * ``"bucketed"``: texts of similar length batched together
      (``tf.data`` ``bucket_by_sequence_length``) and padded at the end to
      the longest of the batch. An RNN runs one step per column, so this
      skips most of the padding a fixed length would compute.
    """
    if padding not in ("post", "pre"):
        raise ValueError(f"padding must be 'post' or 'pre', got {padding!r}.")
    if batching not in BATCHINGS:
        raise ValueError(f"batching must be one of {', '.join(BATCHINGS)}, got {batching!r}.")
    if batching != "fixed" and padding == "pre":
        raise ValueError(f"batching={batching!r} pads at the end: use padding='post' or batching='fixed'.")
    if sequence_length is None:
        sequence_length = vectorizer.get_config()["output_sequence_length"]
        if sequence_length is None:
            raise ValueError("Give sequence_length, or a vectorizer with output_sequence_length.")
    examples = vectorized_examples(dataset, vectorizer, sequence_length, padding, truncating, batching)
    return batch_examples(examples, batch_size, sequence_length, shuffle, seed, batching)


def vectorized_examples(dataset, vectorizer, sequence_length: int, padding: str = "post", truncating: str = "pre",
                        batching: str = "fixed"):
    """Cached, unbatched ``(token_ids, label)`` examples of a ``(text, label)``
    dataset: cut to ``sequence_length``, padded to it for ``"fixed"`` batching,
    at their own length otherwise."""
    autotune = tf.data.AUTOTUNE

    def vectorize(texts, labels):
        return fit_length(vectorizer(texts), sequence_length, padding, truncating), labels

    def unpad(ids, label):  # one row back to its own length (its padding is at the end)
        return ids[:tf.reduce_sum(tf.cast(ids != PAD_ID, tf.int32))], label

    dataset = dataset.batch(1024).map(vectorize, num_parallel_calls=autotune).unbatch()
    if batching != "fixed":
        dataset = dataset.map(unpad, num_parallel_calls=autotune)
    return dataset.cache()


def batch_examples(dataset, batch_size: int, sequence_length: int, shuffle: bool = False, seed: int = 0,
                   batching: str = "fixed"):
    """Shuffle (optionally) and batch vectorized ``(token_ids, label)`` examples, as
    :func:`make_pipeline` does after its cache.

    Every pipeline built here starts a new shuffling sequence from ``seed``;
    one pipeline reshuffles at each pass, so its second pass differs from a
    new pipeline's first. Built on the same cached dataset, pipelines share
    the cache: the texts are vectorized once.
    """
    autotune = tf.data.AUTOTUNE
    if shuffle:
        dataset = dataset.shuffle(20_000, seed=seed, reshuffle_each_iteration=True)
    if batching == "bucketed":
        bounds = length_buckets(sequence_length)
        dataset = dataset.bucket_by_sequence_length(
            lambda ids, label: tf.shape(ids)[0], bounds, [batch_size] * (len(bounds) + 1))
    else:
        dataset = dataset.padded_batch(batch_size) if batching == "longest" else dataset.batch(batch_size)
    return dataset.prefetch(autotune)


def padded_cells(batches) -> tuple[int, int]:
    """``(cells, tokens)`` over a batched ``(ids, label)`` pipeline: time steps
    an RNN computes (every row of every batch, padding included) and the real
    tokens among them."""
    cells = tokens = 0
    for ids, _ in batches:
        cells += int(tf.size(ids))
        tokens += int(tf.math.count_nonzero(ids))
    return cells, tokens


def token_lengths(texts, standardize=standardize_review) -> np.ndarray:
    """Number of tokens in each text, after the course's standardization."""
    if isinstance(texts, tf.data.Dataset):
        texts = texts.map(lambda text, label: text) if isinstance(texts.element_spec, tuple) else texts
        batches = texts.batch(2048)
    else:
        batches = [tf.constant(list(texts), dtype=tf.string)]
    counts = [tf.strings.split(standardize(batch)).row_lengths().numpy() for batch in batches]
    return np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)


def length_coverage(lengths, sequence_lengths) -> dict[int, dict[str, float]]:
    """For each candidate length: share of texts kept whole, share of tokens kept."""
    lengths = np.asarray(lengths)
    total = max(int(lengths.sum()), 1)
    return {
        int(n): {
            "texts_whole": float(np.mean(lengths <= n)) if lengths.size else 0.0,
            "tokens_kept": float(np.minimum(lengths, n).sum() / total),
        }
        for n in sequence_lengths
    }


def word_counts(texts, standardize=standardize_review) -> collections.Counter:
    """How often each token occurs in ``texts`` (after standardization)."""
    if isinstance(texts, tf.data.Dataset) and isinstance(texts.element_spec, tuple):
        texts = texts.map(lambda text, label: text)
    counts = collections.Counter()
    batches = texts.batch(2048) if isinstance(texts, tf.data.Dataset) else [tf.constant(list(texts))]
    for batch in batches:
        counts.update(tf.strings.split(standardize(batch)).flat_values.numpy().tolist())
    return collections.Counter({token.decode(): n for token, n in counts.items()})


def vocabulary_coverage(counts: collections.Counter, vocabulary_sizes) -> dict[int, float]:
    """Share of all token occurrences covered by the ``n`` most frequent words."""
    frequencies = np.array(sorted(counts.values(), reverse=True), dtype=np.int64)
    cumulative = np.cumsum(frequencies)
    total = max(int(cumulative[-1]) if cumulative.size else 0, 1)
    return {
        int(n): float(cumulative[min(n, cumulative.size) - 1] / total) if cumulative.size else 0.0
        for n in vocabulary_sizes
    }


def readable(review: str) -> str:
    """``review`` as a reader sees it: IMDB's ``<br />`` tags as line breaks.

    For printing only: the models read the raw text, and the standardization
    turns the tags into spaces.
    """
    return LINE_BREAKS.sub("\n", review).strip()


def decode_ids(ids, vocabulary: list[str]) -> str:
    """Token ids back to text; padding shows as ``·``, unknown words as ``[UNK]``."""
    return " ".join("·" if i == PAD_ID else vocabulary[i] for i in np.asarray(ids).tolist())


def short_example(dataset, vectorizer, min_tokens: int = 25, max_tokens: int = 60):
    """The first text whose length (in tokens) lies in the given range.

    Returns ``(text, label, ids, tokens)`` with no padding in ``ids``: the
    review the LSTM and GRU notebooks follow token by token.
    """
    vocabulary = vectorizer.get_vocabulary()
    for text, label in dataset.as_numpy_iterator():
        ids = vectorizer([text]).numpy()[0]
        ids = ids[ids != PAD_ID]
        if min_tokens <= len(ids) <= max_tokens:
            return text.decode("utf-8", errors="replace"), int(label), ids, [str(vocabulary[i]) for i in ids]
    raise TextError(f"No text of {min_tokens} to {max_tokens} tokens in the dataset.")
