"""utils.embeddings: context counts, PPMI, the truncated SVD, word vectors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from utils import embeddings, models


def batches_of(rows, batch_size=2):
    """A batched (ids, label) pipeline of post-padded rows, as utils.data makes."""
    length = max(len(row) for row in rows)
    ids = np.array([row + [0] * (length - len(row)) for row in rows], dtype="int64")
    return tf.data.Dataset.from_tensor_slices((ids, np.zeros(len(rows)))).batch(batch_size)


def test_token_stream_drops_padding_and_ends_each_text():
    stream = embeddings.token_stream(batches_of([[2, 3, 4], [5], [6, 7]]))
    np.testing.assert_array_equal(stream, [2, 3, 4, 0, 5, 0, 6, 7, 0])


def test_token_stream_of_nothing_says_so():
    empty = batches_of([[2]]).take(0)
    with pytest.raises(ValueError, match="no texts"):
        embeddings.token_stream(empty)


def test_cooccurrence_counts_both_sides_weighted_by_distance_within_a_text():
    # Texts "2 3 4" and "3 2", window 2: "4" and the next text's "3" are two apart
    # in the stream but in different texts, so they are not counted.
    counts = embeddings.cooccurrence_counts([2, 3, 4, 0, 3, 2, 0], vocab_size=5, n_contexts=5, window=2)
    expected = np.zeros((5, 5))
    expected[2, 3] = expected[3, 2] = 2  # neighbours once in each text
    expected[3, 4] = expected[4, 3] = 1
    expected[2, 4] = expected[4, 2] = 0.5  # two apart
    np.testing.assert_allclose(counts, expected)


def test_cooccurrence_counts_ignore_oov_and_rare_contexts():
    counts = embeddings.cooccurrence_counts([2, 1, 2, 4], vocab_size=5, n_contexts=3, window=1)
    assert counts.shape == (5, 3)
    assert counts[:, 1].sum() == 0 and counts[1].sum() == 0  # the OOV id is neither
    assert counts[4, 2] == 1 and counts[2].sum() == 0  # 4 is no context (id >= 3)


def test_cooccurrence_counts_reject_ids_outside_the_vocabulary():
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        embeddings.cooccurrence_counts([2, 7], vocab_size=5, n_contexts=5)


def test_ppmi_matches_its_definition():
    counts = np.array([[4.0, 0.0], [1.0, 3.0]])
    result = embeddings.ppmi(counts, context_smoothing=1.0)
    total = counts.sum()
    p_word, p_context = counts.sum(1) / total, counts.sum(0) / total
    with np.errstate(divide="ignore"):
        pmi = np.log(counts / total / np.outer(p_word, p_context))
    np.testing.assert_allclose(result[0, 0], max(pmi[0, 0], 0), rtol=1e-6)
    np.testing.assert_allclose(result[1, 1], max(pmi[1, 1], 0), rtol=1e-6)
    assert result[0, 1] == 0 and result[1, 0] == 0  # unseen pair; negative PMI clipped
    with pytest.raises(ValueError, match="empty"):
        embeddings.ppmi(np.zeros((2, 2)))


def test_truncated_svd_finds_the_top_singular_vectors():
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((200, 5)) @ np.diag([9, 7, 5, 3, 2]) @ rng.standard_normal((5, 80))
    matrix += 0.01 * rng.standard_normal(matrix.shape)
    u, values = embeddings.truncated_svd(matrix, rank=3)
    exact_u, exact_values, _ = np.linalg.svd(matrix, full_matrices=False)
    np.testing.assert_allclose(values, exact_values[:3], rtol=1e-4)
    np.testing.assert_allclose(np.abs(np.sum(u * exact_u[:, :3], axis=0)), 1, atol=1e-4)
    with pytest.raises(ValueError, match="rank"):
        embeddings.truncated_svd(matrix, rank=0)


def test_ppmi_by_blocks_of_rows_equals_ppmi_at_once():
    counts = np.random.default_rng(2).poisson(0.7, size=(7, 5)).astype(np.float32)
    np.testing.assert_array_equal(embeddings.ppmi(counts, rows_per_block=3),
                                  embeddings.ppmi(counts, rows_per_block=7))


def test_truncated_svd_signs_survive_round_off():
    # Broken variant: without the sign convention a column may come back negated
    # when the matrix changes in its last bits, and the word vectors with it.
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((120, 4)) @ np.diag([9, 7, 5, 3]) @ rng.standard_normal((4, 40))
    u, _ = embeddings.truncated_svd(matrix, rank=4)
    largest = np.abs(u).argmax(axis=0)
    assert (u[largest, np.arange(4)] > 0).all()
    for seed in (1, 2, 3):  # another random start: the same directions, the same signs
        other, _ = embeddings.truncated_svd(matrix * (1 + 1e-7), rank=4, seed=seed)
        np.testing.assert_allclose(other, u, atol=1e-3)


def test_words_in_the_same_contexts_get_nearby_vectors():
    # "good" (2) and "great" (3) both sit between 5 and 6; "bad" (4) between 7 and 8.
    rng = np.random.default_rng(1)
    rows = [[int(rng.choice([5, 6])), word, int(rng.choice([5, 6]))] for word in (2, 3) * 30]
    rows += [[int(rng.choice([7, 8])), 4, int(rng.choice([7, 8]))] for _ in range(30)]
    vectors = embeddings.ppmi_svd_embeddings(batches_of(rows, 8), vocab_size=9, dim=3, window=1,
                                             scale=0.05)
    assert vectors.shape == (9, 3) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors.std(), 0.05, rtol=1e-5)
    assert not vectors[:2].any()  # padding and OOV keep zero rows
    vocabulary = ["", "[UNK]", "good", "great", "bad", "a", "b", "c", "d"]
    nearest = embeddings.nearest_words(vectors, vocabulary, "good", n=2)
    assert nearest[0][0] == "great" and nearest[0][1] > 0.99
    assert dict(nearest).get("bad", 0) < 0.5


def test_nearest_words_names_an_unknown_word():
    with pytest.raises(ValueError, match="'zebra' is not in the vocabulary"):
        embeddings.nearest_words(np.eye(3), ["", "[UNK]", "film"], "zebra")


def test_builder_starts_from_given_embeddings_and_checks_their_shape():
    vectors = np.arange(30, dtype="float32").reshape(10, 3) / 100
    model = models.build_rnn_classifier("lstm", 10, units=4, embedding_dim=3, embeddings=vectors)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model.get_layer("embedding").embeddings),
                                  vectors)
    assert model.get_layer("embedding").trainable
    with pytest.raises(ValueError, match=r"\(10, 4\)"):
        models.build_rnn_classifier("gru", 10, units=4, embedding_dim=4, embeddings=vectors)
