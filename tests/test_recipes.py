"""utils.recipes: one recipe per course model, and notebooks and benchmark train from it."""

import dataclasses
import json
import types

import keras
import pytest

from tooling import bench
from utils import config, models, recipes

SMOKE = config.PROFILES["smoke"]


@pytest.mark.parametrize("key", list(recipes.RECIPES))
def test_each_recipe_builds_the_model_it_describes(key, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    course = config.setup("smoke", verbose=False)
    rec = recipes.RECIPES[key]
    vocab = recipes.vocabulary_size(rec, SMOKE)
    vectors = keras.random.normal((vocab, rec.embedding_dim)) if rec.word_vectors else None
    model = recipes.build_course_model(rec, course, word_vectors=None if vectors is None else vectors.numpy())
    layers = models.recurrent_layers(model)
    assert model.name == rec.model and len(layers) == rec.depth * (2 if rec.bidirectional else 1)
    assert all(type(layer) is models.CELLS[rec.cell] and layer.units == rec.units for layer in layers)
    assert model.get_layer("embedding").output_dim == rec.embedding_dim
    assert model.get_layer("embedding").input_dim == vocab
    assert model.get_layer("state_dropout").rate == rec.dropout
    optimizer = model.optimizer
    assert float(optimizer.learning_rate) == pytest.approx(rec.learning_rate)
    assert optimizer.clipnorm == rec.clipnorm and optimizer.use_ema == (rec.ema_momentum is not None)


def test_same_recipe_same_initial_weights_whatever_ran_before(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    course = config.setup("smoke", verbose=False)
    first = recipes.build_course_model(recipes.recipe("simple_rnn"), course).get_weights()
    keras.random.normal((10,))  # a cell above draws random numbers
    models.build_rnn_classifier("gru", 50)
    second = recipes.build_course_model(recipes.recipe("simple_rnn"), course).get_weights()
    assert all((a == b).all() for a, b in zip(first, second))


def test_profile_caps_the_recipe():
    lstm, simple = recipes.recipe("lstm"), recipes.recipe("simple_rnn")
    assert recipes.sequence_length(lstm, config.PROFILES["full"]) == 600
    assert recipes.sequence_length(simple, config.PROFILES["full"]) == 200
    assert recipes.sequence_length(lstm, SMOKE) == SMOKE.sequence_length
    assert recipes.recipe("lstm", dataset="sentiment140").sequence_length == 40


def test_unknown_recipe_says_which_exist():
    with pytest.raises(ValueError, match="No course recipe for imdb/transformer: use one of imdb/simple_rnn"):
        recipes.recipe("transformer")


def test_word_vector_recipe_refuses_to_build_without_them(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    course = config.setup("smoke", verbose=False)
    with pytest.raises(ValueError, match="starts from word vectors"):
        recipes.build_course_model(recipes.recipe("lstm"), course)


def test_benchmark_trains_the_course_recipe_unchanged(monkeypatch):
    calls = []

    def fake_train(rec, course, prepared=None, model=None, write=True):
        calls.append((rec, write))
        raise StopIteration

    monkeypatch.setattr(recipes, "train_course_model", fake_train)
    for name in recipes.COURSE_MODELS:
        with pytest.raises(StopIteration):
            bench.run_course_model(name, course=None)
    assert calls == [(recipes.RECIPES[("imdb", name)], False) for name in recipes.COURSE_MODELS]


def notebook_code(number: str) -> str:
    path = next((config.REPO_ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_sentiment140_notebook_trains_every_model_from_its_recipe():
    code = notebook_code("07")
    assert 'recipes.recipe(name, dataset="sentiment140")' in code and "recipes.COURSE_MODELS" in code


def test_committed_results_were_trained_from_todays_recipes():
    # A recipe changed without a new course run would leave results/ describing another model.
    checked = 0
    for path in sorted((config.REPO_ROOT / "results").glob("*.json")):
        record = json.loads(path.read_text())
        key = (record.get("dataset"), record.get("model"))
        if key in recipes.RECIPES:
            assert record["recipe"] == dataclasses.asdict(recipes.RECIPES[key]), f"{path.name}: rerun the course"
            checked += 1
    assert checked == len(recipes.RECIPES), "every course recipe has a committed results file"


def test_each_recipe_clips_one_way_and_the_model_gets_it():
    for rec in recipes.RECIPES.values():
        assert (rec.clipnorm is None) != (rec.global_clipnorm is None), rec.model
    lstm = recipes.recipe("lstm")
    model = models.build_rnn_classifier("lstm", 50, **dict(lstm.builder_options(), units=4, embedding_dim=4))
    assert (model.optimizer.global_clipnorm, model.optimizer.clipnorm) == (1.0, None)


def test_batch_size_is_the_recipes_capped_by_the_profile():
    full = config.PROFILES["full"]
    assert recipes.batch_size(recipes.recipe("lstm"), full) == recipes.recipe("lstm").batch_size
    assert recipes.batch_size(recipes.recipe("simple_rnn"), full) == 128
    assert recipes.batch_size(recipes.recipe("lstm", batch_size=10_000), full) == full.batch_size
    assert recipes.batch_size(recipes.recipe("lstm"), SMOKE) == SMOKE.batch_size == 64


def test_prepared_batches_have_the_recipes_batch_size(real_data_dir):
    rec = recipes.recipe("gru", dataset="sentiment140", batch_size=32, batching="fixed")
    prepared = recipes.prepare_course_data(rec, SMOKE)
    sizes = [int(labels.shape[0]) for _, labels in prepared.fresh_train()]
    assert max(sizes) == 32 and sum(sizes) == prepared.n_train
    assert max(int(labels.shape[0]) for _, labels in prepared.test) == 32


def test_profile_summary_prints_the_capped_sizes():
    line = recipes.profile_summary(recipes.recipe("lstm"), SMOKE)
    assert line == ("In the smoke profile imdb/lstm reads at most 100 tokens, in batches of 64, "
                    "for at most 3 epochs (patience 1).")
    full = recipes.profile_summary(recipes.recipe("lstm"), config.PROFILES["full"])
    assert "at most 600 tokens, in batches of 256, for at most 4 epochs" in full


def test_a_batch_of_no_texts_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="at least one text, got batch_size=0"):
        recipes.batch_size(recipes.recipe("lstm", batch_size=0), SMOKE)


def _write_run(course, rec, prepared, **changes) -> dict:
    record = {"dataset": rec.dataset, "model": rec.model, "recipe": dataclasses.asdict(rec), "seed": course.seed,
              "profile": course.profile.name, "n_train": prepared.n_train, "n_validation": prepared.n_validation,
              "n_test": prepared.n_test, "device": course.device["device"],
              "tensorflow_version": course.device["tensorflow_version"],
              "keras_version": course.device["keras_version"], "test_accuracy": 0.75, **changes}
    (course.results_dir / f"{rec.dataset}_{rec.model}.json").write_text(json.dumps(record))
    return record


@pytest.mark.parametrize("change", [
    {}, {"seed": 7}, {"n_train": 99}, {"device": "GPU: another card"}, {"keras_version": "0.0"},
    {"recipe": {**dataclasses.asdict(recipes.recipe("simple_rnn")), "epochs": 9}}])
def test_a_run_is_reused_only_when_everything_that_decides_it_matches(change, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    course = config.setup("smoke", verbose=False)
    rec = recipes.recipe("simple_rnn")
    prepared = types.SimpleNamespace(n_train=90, n_validation=10, n_test=50)
    written = _write_run(course, rec, prepared, **change)
    found = recipes.saved_run(rec, course, prepared)
    assert found == (written if not change else None)


def test_no_results_file_means_no_saved_run(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    course = config.setup("smoke", verbose=False)
    prepared = types.SimpleNamespace(n_train=90, n_validation=10, n_test=50)
    assert recipes.saved_run(recipes.recipe("simple_rnn"), course, prepared) is None


def test_train_or_reuse_reads_the_saved_run_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    course = config.setup("smoke", verbose=False)
    rec = recipes.recipe("simple_rnn")
    prepared = types.SimpleNamespace(n_train=90, n_validation=10, n_test=50)
    written = _write_run(course, rec, prepared)
    assert recipes.train_or_reuse(rec, course, prepared) == written
    assert "imdb_simple_rnn.json" in capsys.readouterr().out


def test_notebook_03s_one_layer_network_is_notebook_02s_simple_rnn():
    # What lets notebook 03 read depth 1 from notebook 02's run: the recipes differ in depth alone.
    stacked, simple = recipes.recipe("stacked_rnn"), recipes.recipe("simple_rnn")
    assert dataclasses.replace(stacked, depth=1, model="simple_rnn") == simple
