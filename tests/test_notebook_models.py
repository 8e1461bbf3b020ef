"""The models that notebooks 02 to 07 write out in Keras are the course's models.

Each of those notebooks builds its models layer by layer, compiles it and calls ``fit`` in
visible cells; the benchmark, the GPU export and several tests build the same model from its
recipe (``recipes.build_course_model``). These tests run the notebooks' own Model and Compile
cells and hold them to the recipe: same layers and settings, same optimizer, the same initial
weights for the seed, and the recipe's patience and epoch budget in the Train cell. So the
committed results, the benchmark and the notebooks keep training one model.

A notebook whose model a student edits still runs (``tests/test_notebook_edits.py``); this
test is what fails when the course's own cells drift from the recipe.
"""

import json
import re
import types

import keras
import numpy as np
import pytest

from utils import config, models, recipes

NOTEBOOK_MODELS = {"02": "simple_rnn", "03": "stacked_rnn", "04": "lstm", "05": "gru"}


def code_cells(number: str) -> list[str]:
    path = next((config.REPO_ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    return ["".join(cell["source"]) for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"]


def the_cell(cells: list[str], marker: str) -> str:
    found = [cell for cell in cells if marker in cell]
    assert len(found) == 1, f"one cell with {marker!r}, found {len(found)}"
    return found[0]


@pytest.mark.parametrize("number, name", NOTEBOOK_MODELS.items())
def test_the_notebook_builds_compiles_and_trains_the_recipes_model(number, name, capsys):
    course = config.setup("smoke", verbose=False)
    rec = recipes.recipe(name)
    size = recipes.vocabulary_size(rec, course.profile)
    vectors = np.random.default_rng(0).normal(size=(size, rec.embedding_dim)).astype("float32")
    cells = code_cells(number)
    namespace = {"keras": keras, "np": np, "config": config, "models": models, "recipes": recipes,
                 "course": course, name: rec, "word_vectors": vectors,
                 "prepared": types.SimpleNamespace(vectorizer=types.SimpleNamespace(vocabulary_size=lambda: size))}
    exec(the_cell(cells, "model = keras.Sequential("), namespace)
    exec(the_cell(cells, "model.compile("), namespace)
    model = namespace["model"]

    assert recipes.differences(model, rec, course) == []
    built = recipes.build_course_model(rec, course, word_vectors=vectors if rec.word_vectors else None)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), built.get_weights(), strict=True))
    train = the_cell(cells, "history = model.fit(")
    assert f"epochs=recipes.epochs({name}, course.profile)" in train
    assert re.search(r"EarlyStopping\(.*patience=(\d+)", train).group(1) == str(rec.patience)


def test_differences_name_what_an_edit_changed():
    course = config.setup("smoke", verbose=False)
    rec = recipes.recipe("simple_rnn")
    edited = recipes.build_course_model(recipes.recipe("simple_rnn", units=32, learning_rate=1e-2), course)
    assert recipes.differences(edited, rec, course, fit_epochs=5) == [
        "simple_rnn_1: units=32 instead of 64",
        "optimizer: learning_rate=0.009999999776482582 instead of 0.0010000000474974513",
        f"epochs=5 instead of {recipes.epochs(rec, course.profile)}",
    ]


def test_the_three_readers_of_notebook_06_are_the_recipes_variants(capsys):
    course = config.setup("smoke", verbose=False)
    rec = recipes.recipe("bidirectional_lstm")
    size = recipes.vocabulary_size(rec, course.profile)
    namespace = {"keras": keras, "models": models, "course": course,
                 "prepared": types.SimpleNamespace(vectorizer=types.SimpleNamespace(vocabulary_size=lambda: size))}
    exec(the_cell(code_cells("06"), "def lstm_reader("), namespace)
    wanted = {"last state": dict(bidirectional=False, model="lstm_last_state"),
              "max over time": dict(bidirectional=False, pooling="max", model="lstm_max_pool"),
              "bidirectional": {}}
    for name, changes in wanted.items():
        variant = recipes.recipe("bidirectional_lstm", **changes)
        model = namespace["lstm_reader"](**namespace["VARIANTS"][name])  # the first seed's, the course seed
        assert recipes.differences(model, variant, course) == [], name
        built = recipes.build_course_model(variant, course)
        assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), built.get_weights(), strict=True)), name
    # Exercise 4's mean pooling, built by the same function, is the recipe's too.
    mean_pool = recipes.recipe("bidirectional_lstm", bidirectional=False, pooling="mean", model="lstm_mean_pool")
    assert recipes.differences(namespace["lstm_reader"]("lstm_mean_pool", pooling="mean"), mean_pool, course) == []
    with pytest.raises(ValueError, match="pooling must be"):
        namespace["lstm_reader"]("attention", pooling="attention")
    # Another seed, other initial weights: the seeds vary the start, not the architecture.
    other = namespace["lstm_reader"]("lstm_last_state", seed=course.seed + 1)
    assert recipes.differences(other, recipes.recipe("bidirectional_lstm", **wanted["last state"]), course) == []
    first = namespace["lstm_reader"]("lstm_last_state")
    assert not np.array_equal(other.get_weights()[1], first.get_weights()[1])


@pytest.mark.parametrize("name", recipes.COURSE_MODELS)
def test_the_tweet_classifier_of_notebook_07_is_the_recipes_model(name, capsys):
    course = config.setup("smoke", verbose=False)
    rec = recipes.recipe(name, dataset="sentiment140")
    size = recipes.vocabulary_size(rec, course.profile)
    vectors = np.random.default_rng(0).normal(size=(size, rec.embedding_dim)).astype("float32") if rec.word_vectors \
        else None
    namespace = {"keras": keras, "course": course,
                 "prepared": types.SimpleNamespace(vectorizer=types.SimpleNamespace(vocabulary_size=lambda: size))}
    exec(the_cell(code_cells("07"), "def tweet_classifier("), namespace)
    model = namespace["tweet_classifier"](rec, vectors)
    assert recipes.differences(model, rec, course) == []
    built = recipes.build_course_model(rec, course, word_vectors=vectors)
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), built.get_weights(), strict=True))
    train = the_cell(code_cells("07"), "history = model.fit(")  # fit_tweet_model, for every tweet run
    assert "epochs=recipes.epochs(rec, course.profile)" in train and "patience=rec.patience" in train
