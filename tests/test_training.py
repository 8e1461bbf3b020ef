"""utils.training: repeatable training, the results record, evaluation helpers."""

import json

import numpy as np
import pytest
import tensorflow as tf

from utils import config, data, evaluation, models, results, text, training

REQUIRED = {"dataset", "model", "profile", "test_accuracy", "test_loss", "params", "epochs",
            "train_seconds", "seconds_per_epoch", "train_samples_per_second", "device",
            "tensorflow_version", "keras_version", "seed", "history"}


def tiny_data(n=96):
    rng = np.random.default_rng(0)
    words = {1: ["good", "great", "fine"], 0: ["bad", "awful", "dull"]}
    labels = rng.integers(0, 2, n)
    texts = [" ".join(rng.choice(words[int(y)] + ["film", "the", "plot"], 6)) for y in labels]
    dataset = tf.data.Dataset.from_tensor_slices((texts, labels.astype("int32")))
    return data.prepare(dataset, dataset.take(32), max_tokens=20, sequence_length=8, batch_size=16)


def train_once(profile, write=False):
    config.seed_everything(3)
    prepared = tiny_data()
    model = models.build_rnn_classifier("gru", 20, units=4, embedding_dim=4)
    record = training.train_classifier(model, prepared, profile, dataset="tiny", model_name="gru",
                                       epochs=2, write=write)
    return model, record


def test_same_seed_same_weights():
    profile = config.PROFILES["smoke"]
    first, _ = train_once(profile)
    second, _ = train_once(profile)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_training_reads_the_same_batches_whatever_read_the_pipeline_before():
    # Broken variant: fitting prepared.train itself. A pipeline reshuffles at each pass, so a
    # training that follows another (or a pass for word vectors) read other batches, and
    # notebook 03's stacked model depended on the depth-1 run above it.
    profile = config.PROFILES["smoke"]

    def train(passes_before: int):
        config.seed_everything(3)
        prepared = tiny_data()
        for _ in range(passes_before):
            for _ in prepared.train:
                pass
        model = models.build_rnn_classifier("gru", 20, units=4, embedding_dim=4)
        return training.train_classifier(model, prepared, profile, dataset="tiny", model_name="gru", epochs=2,
                                         write=False)["history"]

    assert train(0) == train(2)


def test_fresh_training_pipelines_share_the_cache_and_start_the_same_order():
    prepared = tiny_data()
    first = [ids.numpy() for ids, _ in prepared.fresh_train()]
    for _ in prepared.train:  # the pipeline's first pass
        pass
    second_pass = [ids.numpy() for ids, _ in prepared.train]
    again = [ids.numpy() for ids, _ in prepared.fresh_train()]
    assert all(np.array_equal(a, b) for a, b in zip(first, again)) and len(first) == len(again)
    assert not all(np.array_equal(a, b) for a, b in zip(first, second_pass)), "a pipeline reshuffles each pass"


def test_results_record_follows_the_schema(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    profile = config.PROFILES["smoke"]
    model, record = train_once(profile, write=True)
    saved = json.loads((tmp_path / "results" / "smoke" / "tiny_gru.json").read_text())
    assert REQUIRED <= set(saved)
    assert saved == json.loads(json.dumps(results.saved_part(record)))
    predictions = record[results.IN_MEMORY_KEY]  # kept in memory for show_evaluation, never written
    assert results.IN_MEMORY_KEY not in saved and len(predictions["labels"]) == saved["n_test"]
    assert evaluation.accuracy(predictions["labels"], predictions["probabilities"]) == saved["test_accuracy"]
    assert saved["profile"] == "smoke" and saved["epochs"] == len(saved["history"]["loss"])
    test_loss, test_accuracy = model.evaluate(tiny_data().test, verbose=0)
    assert (saved["test_accuracy"], saved["test_loss"]) == (pytest.approx(test_accuracy), pytest.approx(test_loss))
    assert saved["train_samples_per_second"] == pytest.approx(saved["n_train"] / saved["seconds_per_epoch"])
    assert set(saved["history"]) >= {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_saved_model_answers_raw_text_after_reload(tmp_path, monkeypatch):
    import keras

    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    model, _ = train_once(config.PROFILES["smoke"], write=True)
    reloaded = keras.models.load_model(tmp_path / "build" / "models" / "smoke" / "tiny_gru.keras")
    sentences = tf.constant(["good great film", "awful dull plot", "an unseen word"])
    probabilities = reloaded.predict(sentences, verbose=0)
    assert probabilities.shape == (3, 1)
    ids = text.fit_length(tiny_data().vectorizer(sentences), 8)
    np.testing.assert_allclose(probabilities, np.asarray(model(ids)), atol=1e-6)


@pytest.mark.parametrize("ema_momentum", [None, 0.9])
@pytest.mark.parametrize("epochs, patience", [(3, 3), (6, 1)])
def test_the_model_kept_is_the_best_validated_one(ema_momentum, epochs, patience):
    # Whether training runs out or stops early, with or without weight averaging,
    # the weights handed back are those that scored the best validation accuracy.
    config.seed_everything(5)
    prepared = tiny_data()
    model = models.build_rnn_classifier("lstm", 20,
                                        units=4, embedding_dim=4, learning_rate=0.05, ema_momentum=ema_momentum)
    record = training.train_classifier(model, prepared, config.PROFILES["smoke"], dataset="tiny",
                                       epochs=epochs, patience=patience, write=False)
    history = record["history"]
    best = record["best_epoch"] - 1
    assert record["ema_momentum"] == ema_momentum
    assert ("val_accuracy_unaveraged" in history) == (ema_momentum is not None)
    loss, accuracy = model.evaluate(prepared.validation, verbose=0)
    assert accuracy == pytest.approx(history["val_accuracy"][best])
    assert loss == pytest.approx(history["val_loss"][best], rel=1e-5)


def test_validation_split_is_disjoint_and_fixed():
    dataset = tf.data.Dataset.range(100)
    train, validation = data.split_validation(dataset, 0.2, seed=1)
    train_ids, val_ids = set(train.as_numpy_iterator()), list(validation.as_numpy_iterator())
    assert len(val_ids) == 20 and len(train_ids) == 80 and not train_ids & set(val_ids)
    assert val_ids == list(validation.as_numpy_iterator()), "the same split on every pass"
    with pytest.raises(ValueError, match="between 0 and 1"):
        data.split_validation(dataset, 1.5)


def test_validation_by_group_holds_out_whole_groups():
    groups = np.repeat([f"movie{i}" for i in range(20)], 5)[np.random.default_rng(0).permutation(100)]
    dataset = tf.data.Dataset.range(100)
    train, validation = data.split_validation(dataset, 0.2, seed=1, groups=groups)
    train_ids, val_ids = list(train.as_numpy_iterator()), list(validation.as_numpy_iterator())
    assert sorted(train_ids + val_ids) == list(range(100))
    assert len(val_ids) == 20, "four whole groups of five"
    assert not set(groups[train_ids]) & set(groups[val_ids]), "no group on both sides"
    assert val_ids == list(validation.as_numpy_iterator()), "the same split on every pass"
    with pytest.raises(ValueError, match="one per example"):
        data.split_validation(dataset, 0.2, groups=groups[:50])
    with pytest.raises(ValueError, match="too few"):
        data.split_validation(dataset, 0.9, groups=np.repeat(["a", "b"], 50))


def test_confusion_matrix_and_mistakes():
    labels = np.array([0, 0, 1, 1, 1])
    probabilities = np.array([0.1, 0.9, 0.8, 0.4, 0.02])
    assert evaluation.confusion_matrix(labels, probabilities).tolist() == [[1, 1], [2, 1]]
    mistakes = evaluation.most_confident_mistakes(list("abcde"), labels, probabilities, n=2)
    assert [m["text"] for m in mistakes] == ["e", "b"]


def test_prefix_probabilities_end_with_the_model_output():
    model = models.build_rnn_classifier("simple_rnn", 30, depth=2, units=4)
    ids = np.array([[3, 4, 5, 6, 7]])
    prefix = evaluation.prefix_probabilities(model, ids)
    assert prefix.shape == (1, 5)
    np.testing.assert_allclose(prefix[0, -1], np.asarray(model(ids))[0, 0], atol=1e-5)


def test_predict_probabilities_keep_the_order_of_the_batches():
    model = models.build_rnn_classifier("lstm", 30, units=4)
    ids = np.array([[3, 4, 5, 0], [6, 7, 0, 0], [8, 9, 10, 11], [12, 0, 0, 0], [13, 14, 0, 0]])
    labels = np.array([1, 0, 1, 1, 0])
    batches = tf.data.Dataset.from_tensor_slices((ids, labels)).batch(2)
    probabilities, got_labels = evaluation.predict_probabilities(model, batches)
    np.testing.assert_array_equal(got_labels, labels)
    np.testing.assert_allclose(probabilities, np.asarray(model(ids)).reshape(-1), atol=1e-5)


def test_results_file_leaves_out_what_stays_in_memory(tmp_path):
    record = {"model": "gru", "test_accuracy": 0.5,
              results.IN_MEMORY_KEY: {"probabilities": np.zeros(3), "labels": np.ones(3)}}
    saved = json.loads(results.write_json(tmp_path / "run.json", record).read_text())
    assert saved == {"model": "gru", "test_accuracy": 0.5}
    assert results.IN_MEMORY_KEY in record, "the caller's record keeps its predictions"


@pytest.mark.parametrize("n, expected", [(0, "0 epochs"), (1, "1 epoch"), (4, "4 epochs")])
def test_count_is_singular_for_one(n, expected):
    assert training.count(n, "epoch") == expected
