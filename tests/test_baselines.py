"""utils.baselines (bag of words, reference configurations) and utils.data.imdb_text_splits."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tooling import references
from utils import baselines, config, data


def labelled(texts, labels):
    return tf.data.Dataset.from_tensor_slices((list(texts), np.asarray(labels, dtype="int32")))


def toy_reviews(n: int, seed: int):
    """Reviews whose label is decided by one sentiment word among neutral ones."""
    rng = np.random.default_rng(seed)
    words = {1: ["good", "great", "loved"], 0: ["bad", "awful", "boring"]}
    labels = rng.integers(0, 2, n)
    texts = [" ".join([*rng.choice(["the", "film", "plot", "actor", "scene"], 5), rng.choice(words[int(y)])])
             for y in labels]
    return labelled(texts, labels)


TRAIN = labelled(["good film good", "bad film", "a good plot, not bad", "dull dull film"], [1, 0, 1, 0])


def test_tfidf_vectorizer_counts_unigrams_and_bigrams_of_the_training_text_only():
    vectorizer = baselines.make_tfidf_vectorizer(TRAIN, max_tokens=100, ngrams=2)
    vocabulary = vectorizer.get_vocabulary()
    assert vocabulary[0] == "[UNK]" and {"good", "film", "good film", "not bad"} <= set(vocabulary)
    assert "brilliant" not in vocabulary
    vectors = vectorizer(tf.constant(["good film good", "brilliant"])).numpy()
    assert vectors.shape == (2, len(vocabulary))
    # count x idf, idf = log(1 + documents / (1 + documents with the n-gram)): 4 training texts,
    # "good" in 2 of them and twice in this text, "good film" in 1 of them.
    assert vectors[0, vocabulary.index("good")] == pytest.approx(2 * np.log(1 + 4 / 3))
    assert vectors[0, vocabulary.index("good film")] == pytest.approx(np.log(1 + 4 / 2))
    assert np.count_nonzero(vectors[1]) == 1 and vectors[1, 0] > 0  # an unknown word: the [UNK] column only


def test_sparse_tfidf_equals_the_dense_vectors():
    vectorizer = baselines.make_tfidf_vectorizer(TRAIN, max_tokens=100, ngrams=2)
    texts = tf.constant(["good film good", "bad plot, bad film", "never seen words", ""])
    sparse = baselines.sparse_tfidf(vectorizer)(texts)
    assert isinstance(sparse, tf.SparseTensor)
    dense = vectorizer(texts).numpy()
    assert np.count_nonzero(dense) > 6
    np.testing.assert_allclose(tf.sparse.to_dense(sparse).numpy(), dense, rtol=1e-6)


def test_tfidf_pipeline_batches_sparse_vectors_with_their_labels():
    vectorizer = baselines.make_tfidf_vectorizer(TRAIN, max_tokens=100)
    vectors, labels = next(iter(baselines.tfidf_pipeline(TRAIN, vectorizer, batch_size=3)))
    assert isinstance(vectors, tf.SparseTensor)
    assert tuple(vectors.dense_shape.numpy()) == (3, vectorizer.vocabulary_size())
    np.testing.assert_array_equal(labels.numpy(), [1, 0, 1])
    np.testing.assert_allclose(tf.sparse.to_dense(vectors).numpy(),
                               vectorizer(tf.constant(["good film good", "bad film", "a good plot, not bad"])))


def test_bag_of_words_model_reads_raw_strings():
    model = baselines.build_bag_of_words_classifier(TRAIN, max_tokens=100, l2=1e-3)
    size = model.get_layer("tfidf").vocabulary_size()
    assert model.count_params() == size + 1  # logistic regression: one weight per n-gram and a bias
    assert isinstance(model.get_layer("positive_probability").kernel_regularizer, keras.regularizers.L2)
    out = keras.ops.convert_to_numpy(model(tf.constant(["good film", "bad"])))
    assert out.shape == (2, 1) and np.all((out > 0) & (out < 1))


def test_train_bag_of_words_learns_and_selects_by_validation(capsys):
    profile = config.PROFILES["smoke"]
    model, record = baselines.train_bag_of_words(
        toy_reviews(400, 0), toy_reviews(100, 1), toy_reviews(200, 2), profile,
        max_tokens=200, learning_rate=1e-2, l2=0.0, batch_size=32, epochs=6, patience=2)
    assert record["model"] == "bag_of_words" and record["dataset"] == "imdb"
    assert (record["n_train"], record["n_validation"], record["n_test"]) == (400, 100, 200)
    assert record["test_accuracy"] > 0.95
    val = record["history"]["val_accuracy"]
    assert record["best_epoch"] == int(np.argmax(val)) + 1
    # The trained weights are the text model's: it reads strings and gets the same accuracy.
    texts, labels = next(iter(toy_reviews(200, 2).batch(200)))
    accuracy = np.mean((model.predict(texts, verbose=0)[:, 0] > 0.5) == labels.numpy())
    assert accuracy == pytest.approx(record["test_accuracy"], abs=1e-6)


def test_tf_tutorial_rnn_configuration():
    texts = labelled([f"word{i} common" for i in range(1500)], np.zeros(1500))
    model = references.build_tf_tutorial_rnn(texts)
    assert model.name == "tf_tutorial_bilstm"
    vocabulary = model.layers[0].vocabulary_size()
    assert vocabulary == 1000
    embedding, recurrent, hidden, logit = model.layers[1:]
    assert embedding.mask_zero and embedding.output_dim == 64
    assert isinstance(recurrent, keras.layers.Bidirectional) and recurrent.forward_layer.units == 64
    assert hidden.units == 64 and logit.units == 1 and logit.activation is keras.activations.linear
    lstm = 2 * 4 * (64 * (64 + 64) + 64)
    assert model.count_params() == vocabulary * 64 + lstm + (128 * 64 + 64) + 65
    assert model.loss.get_config()["from_logits"]
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-4)


def test_keras_io_bilstm_configuration():
    model = references.build_keras_io_bilstm()
    assert model.count_params() == 2_757_761  # as the keras-io example's summary
    first, second = model.get_layer("bidirectional_lstm_1"), model.get_layer("bidirectional_lstm_2")
    assert first.return_sequences and not second.return_sequences
    assert not model.get_layer("embedding").mask_zero
    out = keras.ops.convert_to_numpy(model(np.array([[0, 0, 5, 7, 9]], dtype="int32")))
    assert out.shape == (1, 1) and 0 < out[0, 0] < 1
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3) and model.loss == "binary_crossentropy"


def test_imdb_text_splits_are_prepare_imdbs_split(fixture_data):
    profile = config.PROFILES["smoke"]
    train, validation, test = data.imdb_text_splits(profile, validation_fraction=0.25, data_dir=fixture_data)
    texts = {name: [text for text, _ in ds.as_numpy_iterator()] for name, ds in
             (("train", train), ("validation", validation), ("test", test))}
    assert (len(texts["train"]), len(texts["validation"]), len(texts["test"])) == (3, 1, 2)
    everything = [text for text, _ in data.load_imdb("train", data_dir=fixture_data).as_numpy_iterator()]
    assert sorted(texts["train"] + texts["validation"]) == sorted(everything)
    prepared = data.prepare_imdb(profile, validation_fraction=0.25, data_dir=fixture_data)
    assert (prepared.n_train, prepared.n_validation, prepared.n_test) == (3, 1, 2)
    # The vectorizer is adapted on the training reviews only: a word only in the validation review is unknown.
    validation_words = set(texts["validation"][0].decode().lower().replace(".", " ").split())
    training_words = set(" ".join(t.decode().lower() for t in texts["train"]).replace(".", " ").split())
    assert not (validation_words - training_words) & set(prepared.vectorizer.get_vocabulary())


def test_imdb_text_splits_hold_out_whole_movies_on_real_data(real_data_dir):
    profile = config.PROFILES["smoke"]
    train, validation, _ = data.imdb_text_splits(profile, data_dir=real_data_dir)
    prepared = data.prepare_imdb(profile, data_dir=real_data_dir)
    assert (data.count(train), data.count(validation)) == (prepared.n_train, prepared.n_validation)
    movies = data.imdb_movies("train", data_dir=real_data_dir, limit=profile.imdb_train_limit)
    reviews = [text for text, _ in data.load_imdb("train", data_dir=real_data_dir,
                                                  limit=profile.imdb_train_limit).as_numpy_iterator()]
    movie_of = dict(zip(reviews, movies))
    held_out = {movie_of[text] for text, _ in validation.as_numpy_iterator()}
    assert held_out and not held_out & {movie_of[text] for text, _ in train.as_numpy_iterator()}
