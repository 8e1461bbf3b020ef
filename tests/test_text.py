"""utils.data, text half: standardization, vectorizer, padding, pipelines, statistics."""

import collections

import keras
import numpy as np
import pytest
import tensorflow as tf

from utils import data, text


def test_standardize_review():
    out = text.standardize_review(tf.constant(["Great film!<br /><br />I DON'T regret it... 10/10 'Café'"]))
    assert out.numpy()[0].decode().split() == ["great", "film", "i", "don't", "regret", "it", "10", "10", "café"]


def test_vectorizer_learns_from_the_given_text_only():
    train = tf.data.Dataset.from_tensor_slices((["good good film", "bad film"], [1, 0]))
    vectorizer = text.make_vectorizer(train, max_tokens=10, sequence_length=5)
    vocabulary = vectorizer.get_vocabulary()
    assert vocabulary[:2] == ["", "[UNK]"]
    assert set(vocabulary[2:]) == {"good", "film", "bad"}
    assert vocabulary[2] in ("good", "film")  # most frequent first
    ids = vectorizer(["bad unseen film"]).numpy()[0]
    assert ids.shape == (5,)
    assert text.decode_ids(ids, vocabulary) == "bad [UNK] film · ·"


def test_to_pre_padding_matches_keras_pad_sequences():
    rows = [[5, 7], [3, 4, 9, 2], [], [8]]
    post = keras.utils.pad_sequences(rows, maxlen=4, padding="post")
    pre = keras.utils.pad_sequences(rows, maxlen=4, padding="pre")
    np.testing.assert_array_equal(text.to_pre_padding(post).numpy(), pre)


@pytest.mark.parametrize("padding", ["post", "pre"])
def test_pipeline_batches_ids_and_labels(padding):
    texts = [f"word{i} " * (i % 5 + 1) for i in range(50)]
    dataset = tf.data.Dataset.from_tensor_slices((texts, np.arange(50) % 2))
    vectorizer = text.make_vectorizer(dataset, max_tokens=100, sequence_length=8)
    batches = text.make_pipeline(dataset, vectorizer, batch_size=16, shuffle=True, padding=padding)
    shapes = [(tuple(ids.shape), tuple(labels.shape)) for ids, labels in batches]
    assert shapes == [((16, 8), (16,))] * 3 + [((2, 8), (2,))]
    ids = np.concatenate([ids.numpy() for ids, _ in batches])
    column = -1 if padding == "pre" else 0
    assert np.all(ids[:, column] != 0), f"{padding}-padding puts tokens at column {column}"


def test_pipeline_rejects_unknown_padding():
    dataset = tf.data.Dataset.from_tensor_slices((["a"], [0]))
    with pytest.raises(ValueError, match="padding must be 'post' or 'pre'"):
        text.make_pipeline(dataset, text.make_vectorizer(dataset, 10, 4), 2, padding="middle")


def test_length_statistics():
    lengths = text.token_lengths(["one two three", "", "a<br />b"])
    assert lengths.tolist() == [3, 0, 2]
    coverage = text.length_coverage([2, 4, 10], [4])
    assert coverage[4]["texts_whole"] == pytest.approx(2 / 3)
    assert coverage[4]["tokens_kept"] == pytest.approx((2 + 4 + 4) / 16)


def test_vocabulary_coverage():
    counts = text.word_counts(["a a a b", "a b c"])
    assert counts == collections.Counter({"a": 4, "b": 2, "c": 1})
    coverage = text.vocabulary_coverage(counts, [1, 2, 10])
    assert coverage == {1: pytest.approx(4 / 7), 2: pytest.approx(6 / 7), 10: 1.0}


def test_class_counts_and_examples():
    dataset = tf.data.Dataset.from_tensor_slices((["x", "y", "z"], [1, 0, 1]))
    assert data.class_counts(dataset) == {"negative": 1, "positive": 2}
    assert data.examples_per_class(dataset, 1) == [("y", 0), ("x", 1)]


@pytest.mark.parametrize("padding, truncating, expected", [
    ("post", "pre", [[2, 3, 4, 5], [6, 7, 0, 0]]),
    ("post", "post", [[1, 2, 3, 4], [6, 7, 0, 0]]),
    ("pre", "pre", [[2, 3, 4, 5], [0, 0, 6, 7]]),
    ("pre", "post", [[1, 2, 3, 4], [0, 0, 6, 7]]),
])
def test_fit_length(padding, truncating, expected):
    ids = [[1, 2, 3, 4, 5, 0], [6, 7, 0, 0, 0, 0]]
    assert text.fit_length(ids, 4, padding, truncating).numpy().tolist() == expected


def test_short_example_has_no_padding():
    dataset = tf.data.Dataset.from_tensor_slices((["too short", "just the right length here"], [0, 1]))
    vectorizer = text.make_vectorizer(dataset, 50)
    example, label, ids, tokens = text.short_example(dataset, vectorizer, min_tokens=4, max_tokens=6)
    assert (example, label, tokens) == ("just the right length here", 1, ["just", "the", "right", "length", "here"])
    assert np.all(ids != 0)
    with pytest.raises(text.TextError, match="No text of 10 to 20 tokens"):
        text.short_example(dataset, vectorizer, min_tokens=10, max_tokens=20)


def test_standardize_tweet():
    raw = ["@Friend I loooooove it &amp; you &lt;3 http://twitpic.com/2y1zl #happy!!! &quot;yes&quot;", ""]
    out = [t.decode() for t in text.standardize_tweet(tf.constant(raw)).numpy()]
    assert out[0].split() == ["user", "i", "loove", "it", "and", "you", "heart", "url", "happy", "yes"]
    assert out[1].strip() == ""


def _varied_lengths(n=120):
    texts = [" ".join(f"w{j}" for j in range(i % 23 + 1)) for i in range(n)]
    return tf.data.Dataset.from_tensor_slices((texts, np.arange(n) % 2))


def test_bucketed_batches_hold_every_example_with_less_padding():
    dataset = _varied_lengths()
    vectorizer = text.make_vectorizer(dataset, max_tokens=50)
    fixed = text.make_pipeline(dataset, vectorizer, 8, sequence_length=16, batching="fixed")
    bucketed = text.make_pipeline(dataset, vectorizer, 8, sequence_length=16, shuffle=True,
                                  batching="bucketed")
    rows = lambda batches: sorted(tuple(r[r != 0]) + (int(l),) for ids, labels in batches
                                  for r, l in zip(ids.numpy(), labels.numpy()))
    assert rows(bucketed) == rows(fixed), "same examples, same (truncated) tokens"
    for ids, _ in bucketed:
        assert ids.shape[1] <= 16 and np.all(ids.numpy()[:, 0] != 0), "post-padded, cut to 16"
        assert np.any(ids.numpy()[:, -1] != 0), "padded to the longest row of the batch"
    fixed_cells, fixed_tokens = text.padded_cells(fixed)
    bucketed_cells, bucketed_tokens = text.padded_cells(bucketed)
    assert fixed_tokens == bucketed_tokens and fixed_cells == 120 * 16
    assert bucketed_cells < 0.75 * fixed_cells


def test_longest_batching_keeps_the_order():
    dataset = _varied_lengths(40)
    vectorizer = text.make_vectorizer(dataset, max_tokens=50)
    batches = text.make_pipeline(dataset, vectorizer, 8, sequence_length=16, batching="longest")
    labels = np.concatenate([labels.numpy() for _, labels in batches])
    np.testing.assert_array_equal(labels, np.arange(40) % 2)
    assert [ids.shape[1] for ids, _ in batches] == [8, 16, 16, 9, 16]  # lengths i % 23 + 1, cut to 16


def test_bucketed_batching_refuses_pre_padding():
    dataset = _varied_lengths(4)
    with pytest.raises(ValueError, match="pads at the end"):
        text.make_pipeline(dataset, text.make_vectorizer(dataset, 10), 2, sequence_length=4,
                           padding="pre", batching="bucketed")
    with pytest.raises(ValueError, match="batching must be one of"):
        text.make_pipeline(dataset, text.make_vectorizer(dataset, 10), 2, sequence_length=4,
                           batching="sorted")
