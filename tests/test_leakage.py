"""End-to-end invariants stated as behaviour: what a published number must not depend on.

* Choosing the best run reads validation metrics only: records whose test metrics
  cannot even be read still give an answer, and the one that validation ranks first.
* Nothing a model starts training from, or trains on, is computed from validation or
  test texts: the vocabularies adapted, the starting weights (word vectors included) and
  the training inputs are the same, bit for bit, when every held-out text is rewritten
  and given words no training text has. For every course recipe and for the bag of words.
* The saved raw-text model scores a text as the trained model scores that text cut at
  the end training cut, for each truncation setting.
* A results write that dies halfway (an error, or the process killed) leaves the previous
  file as it was.

The tests observe Keras itself (``TextVectorization.adapt`` and ``Model.fit``), not the
helpers of ``utils``, so moving code between helpers does not weaken them. The course's
entry points they call are gathered under "Entry points" below: the only lines to edit
when the next restructuring renames them.

Coded fixture: review ``k`` is twenty shared words, then ``only<k>`` and ``tens<t> units<u>``
(``k = 10 t + u``), so a row of ids, or the non-zero columns of a TF-IDF vector, says
which review it is.
"""

import dataclasses
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import TEST_CODES, TRAIN_CODES, write_coded_data
from utils import baselines, config, data, recipes, results

# The course's pipelines vary by a batch from pass to pass; Keras warns, nothing is lost.
pytestmark = pytest.mark.filterwarnings("ignore:Your input ran out of data")

REPO_ROOT = Path(__file__).resolve().parent.parent
SEQUENCE_LENGTH = 8  # shorter than every fixture text: each one is cut
BODY = [f"w{j}" for j in range(20)]
MARKER = "heldoutmarker"  # a word that only rewritten validation and test texts hold
# A vocabulary size that the coded training texts fill (72 with padding and OOV ids): recipes
# build the Embedding at the profile's size and the word vectors at the vectorizer's; at least
# the recipes' embedding_dim (64), the word vectors' rank.
VOCABULARY = 68
PROFILE = dataclasses.replace(
    config.PROFILES["smoke"], imdb_train_limit=None, imdb_test_limit=None, tweets_train_limit=None,
    tweets_test_limit=None, max_tokens=VOCABULARY, tweet_max_tokens=VOCABULARY, sequence_length=SEQUENCE_LENGTH,
    batch_size=8, epochs=1)


# Entry points ---------------------------------------------------------------------------------
# How a notebook trains each kind of model, chooses the best run and writes a results file.

def train_course_model(key, course, **changes):
    """A course recipe trained and saved as notebooks 02 to 07 do it:
    ``(trained model, its vocabulary, its training batches of (ids, labels))``."""
    dataset, name = key
    model, _, prepared = recipes.train_course_model(recipes.recipe(name, dataset, **changes), course)
    return model, prepared.vectorizer.get_vocabulary(), prepared.train


def train_yardstick(profile):
    """The bag of words trained as notebook 08 trains it (data from ``$RNN_COURSE_DATA``)."""
    return baselines.train_bag_of_words(*data.imdb_text_splits(profile), profile, epochs=1)


def choose_best(records, dataset, models=None):
    return results.select_best(records, dataset, models=models)


WRITER = "from utils.results import write_json as write_results"  # run in a child process


def write_results(path, record):
    return results.write_json(path, record)


# The coded data -----------------------------------------------------------------------------------

def coded_text(k: int, rewritten: bool = False) -> str:
    """Review ``k``; ``rewritten``: its shared words in another order, with :data:`MARKER`
    among them and right before its own words (inside the kept end)."""
    body = BODY
    if rewritten:
        body = list(np.random.default_rng(k).permutation(BODY))
        body = [*body[:5], MARKER, *body[5:10], MARKER, *body[10:], MARKER]
    tens, units = divmod(k, 10)
    return " ".join([*body, f"only{k}", f"tens{tens}", f"units{units}"])


def code_of(words) -> int | None:
    """The review a row came from, read off its ``tens``/``units`` words (``None``: not readable)."""
    digits = dict(m.groups() for m in map(re.compile(r"(tens|units)(\d+)").fullmatch, words) if m)
    return 10 * int(digits["tens"]) + int(digits["units"]) if len(digits) == 2 else None


def write_course_data(root: Path, rewritten=frozenset()) -> Path:
    """IMDB (extracted, with url lists: four reviews per movie) and Sentiment140 files of the
    coded reviews; the reviews whose code is in ``rewritten`` are rewritten."""
    return write_coded_data(root, lambda k: coded_text(k, k in rewritten))


@pytest.fixture
def course(tmp_path, cache, monkeypatch):
    """The course set up in a scratch folder: outputs, word-vector cache and data all under ``tmp_path``."""
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path / "output"))
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)  # where the word vectors are cached
    return config.setup(PROFILE, verbose=False)


# What training sees -------------------------------------------------------------------------------

class StopBeforeTraining(Exception):
    """Raised at the first fit: everything training depends on is known by then."""


@dataclasses.dataclass
class Observed:
    adapted: list = dataclasses.field(default_factory=list)  # (vocabulary, idf weights or None) per adapt
    weights: list | None = None  # the model's weights when fit starts
    inputs: list | None = None  # one pass over the training data: (inputs, labels) per batch
    validation: list | None = None  # the validation inputs fit is given, when it is given them

    def vocabulary(self) -> list[str]:
        return self.adapted[-1][0]


def as_array(tensor) -> np.ndarray:
    return (tf.sparse.to_dense(tensor) if isinstance(tensor, tf.SparseTensor) else tensor).numpy()


def one_pass(dataset) -> list:
    return [tuple(as_array(part) for part in batch) for batch in dataset]


def observe(monkeypatch, run) -> Observed:
    """Run ``run()`` until its first ``fit``, recording every vocabulary adapted on text,
    the starting weights and what the model would train and validate on."""
    seen = Observed()
    adapt = keras.layers.TextVectorization.adapt

    def recording_adapt(layer, *args, **kwargs):
        adapt(layer, *args, **kwargs)
        store = {}
        layer.save_own_variables(store)
        idf = store.get("idf_weights")
        seen.adapted.append((layer.get_vocabulary(), None if idf is None else np.array(idf)))

    def recording_fit(model, x=None, *args, validation_data=None, **kwargs):
        seen.weights = [np.array(w) for w in model.get_weights()]
        seen.inputs = one_pass(x)
        seen.validation = None if validation_data is None else one_pass(validation_data)
        raise StopBeforeTraining

    with monkeypatch.context() as patch:
        patch.setattr(keras.layers.TextVectorization, "adapt", recording_adapt)
        patch.setattr(keras.Model, "fit", recording_fit)
        with pytest.raises(StopBeforeTraining):
            run()
    assert seen.adapted and seen.weights is not None, "fixture: the run adapted a vectorizer and trained"
    return seen


def codes_in(batches, vocabulary) -> list[int]:
    """The review of each row: rows of token ids, or TF-IDF vectors over ``vocabulary``."""
    found = []
    for inputs, *_ in batches:
        for row in inputs:
            columns = row[row > 1] if np.issubdtype(row.dtype, np.integer) else np.flatnonzero(row)
            found.append(code_of(vocabulary[i] for i in columns))
    return found


def assert_nothing_learned_from_held_out_text(monkeypatch, data_root, run):
    """``run()`` on the coded data, then on a copy whose validation and test reviews are
    rewritten (word order, a new word); what training depends on must not change."""
    monkeypatch.setenv("RNN_COURSE_DATA", str(write_course_data(data_root / "plain")))
    first = observe(monkeypatch, run)
    trained_on = codes_in(first.inputs, first.vocabulary())
    assert None not in trained_on, "fixture: every training row says which review it is"
    held_out = (set(TRAIN_CODES) - set(trained_on)) | set(TEST_CODES)
    assert 0 < len(held_out) - len(TEST_CODES) < len(TRAIN_CODES) / 4, "fixture: a validation set"

    monkeypatch.setenv("RNN_COURSE_DATA", str(write_course_data(data_root / "rewritten", held_out)))
    second = observe(monkeypatch, run)
    if first.validation is not None:
        assert not all(np.array_equal(a[0], b[0]) for a, b in zip(first.validation, second.validation)), \
            "fixture: the rewritten validation texts reach the model"
    for vocabulary, _ in second.adapted:
        assert not {MARKER, *(f"only{k}" for k in held_out)} & {w for n in vocabulary for w in n.split()}
    assert len(second.adapted) == len(first.adapted)
    for (vocabulary, idf), (vocabulary_before, idf_before) in zip(second.adapted, first.adapted):
        assert vocabulary == vocabulary_before
        if idf is not None:
            np.testing.assert_array_equal(idf, idf_before)
    assert len(second.weights) == len(first.weights)
    for weights, before in zip(second.weights, first.weights):
        np.testing.assert_array_equal(weights, before)
    assert len(second.inputs) == len(first.inputs)
    for batch, before in zip(second.inputs, first.inputs):
        for part, part_before in zip(batch, before):
            np.testing.assert_array_equal(part, part_before)


# Nothing computed from validation or test texts ----------------------------------------------

@pytest.mark.parametrize("key", list(recipes.RECIPES), ids="/".join)
def test_a_course_model_starts_from_and_trains_on_training_text_alone(key, course, tmp_path, monkeypatch):
    """Every course recipe, prepared, given its word vectors and built as its notebook does,
    up to its first training step: vocabulary, starting weights and training batches.

    Fails when the vocabulary is adapted on validation or test text, when the course's
    word vectors count validation or test reviews (``prepared.train.concatenate(
    prepared.validation)`` in their token stream), or when training batches hold them.
    """
    assert_nothing_learned_from_held_out_text(monkeypatch, tmp_path / "data",
                                              lambda: train_course_model(key, course))


def test_the_bag_of_words_starts_from_and_trains_on_training_text_alone(course, tmp_path, monkeypatch):
    """The yardstick, up to its first training step: the TF-IDF vocabulary and idf weights,
    the head's starting weights and the training vectors.

    Fails when the TF-IDF vectorizer is adapted on ``train.concatenate(validation)`` (or test).
    """
    assert_nothing_learned_from_held_out_text(monkeypatch, tmp_path / "data", lambda: train_yardstick(PROFILE))


# The saved raw-text model cuts texts where training did ---------------------------------------

def kept_ids(texts, vocabulary, truncating: str) -> np.ndarray:
    """Ids of the kept end of each text by vocabulary lookup alone, padded at the end."""
    index = {word: i for i, word in enumerate(vocabulary)}
    kept = [t.split()[-SEQUENCE_LENGTH:] if truncating == "pre" else t.split()[:SEQUENCE_LENGTH] for t in texts]
    rows = [[index.get(word, 1) for word in words] for words in kept]
    return np.array([row + [0] * (SEQUENCE_LENGTH - len(row)) for row in rows], dtype="int32")


@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_the_saved_text_model_scores_texts_as_the_trained_model_did(truncating, course, tmp_path, monkeypatch):
    """A course model trained and saved as its notebook does, with each truncation setting:
    training read the end of each text that the setting keeps, and the saved raw-text model,
    reloaded, gives each test text the probability the trained model gives that end.

    Fails when the model is exported with the other truncation than training used (e.g.
    ``export_text_model`` called without ``truncating=prepared.truncating``).
    """
    monkeypatch.setenv("RNN_COURSE_DATA", str(write_course_data(tmp_path / "data")))
    model, vocabulary, train_batches = train_course_model(("imdb", "simple_rnn"), course, truncating=truncating)
    # Training read the end that the setting keeps (under "post" every text's first words are alike).
    train_texts = [coded_text(k) for k in TRAIN_CODES]
    trained_rows = [tuple(int(i) for i in row if i) for ids, _ in train_batches for row in ids.numpy()]
    expected_rows = {tuple(int(i) for i in row if i) for row in kept_ids(train_texts, vocabulary, truncating)}
    assert set(trained_rows) <= expected_rows and len(trained_rows) > len(TRAIN_CODES) / 2

    saved = sorted((tmp_path / "output").rglob("*.keras"))
    assert len(saved) == 1, saved
    text_model = keras.models.load_model(saved[0])
    texts = [coded_text(k) for k in TEST_CODES]
    exported = text_model.predict(tf.constant(texts), verbose=0)[:, 0]
    trained = model.predict(kept_ids(texts, vocabulary, truncating), verbose=0)[:, 0]
    other_end = model.predict(kept_ids(texts, vocabulary, {"pre": "post", "post": "pre"}[truncating]),
                              verbose=0)[:, 0]
    assert np.abs(trained - other_end).max() > 1e-3, "fixture: the two ends must score apart"
    np.testing.assert_allclose(exported, trained, atol=1e-5)


# Choosing the best run reads validation only ---------------------------------------------------

class Unreadable:
    """A test metric that refuses to be compared, converted, hashed or printed."""

    def _refuse(self, *args, **kwargs):
        raise AssertionError("model selection read a test metric")

    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = __hash__ = _refuse
    __float__ = __int__ = __bool__ = __index__ = __add__ = __radd__ = __sub__ = __rsub__ = _refuse
    __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __neg__ = __abs__ = __round__ = _refuse
    __repr__ = __str__ = __format__ = __iter__ = __len__ = __getitem__ = _refuse


def is_test_metric(key) -> bool:
    return isinstance(key, str) and (key.startswith("test_") or key == "meets_target")


class SealedRecord(dict):
    """A record whose test metrics raise when read (by key, ``get``, ``items`` or ``values``)."""

    def __getitem__(self, key):
        if is_test_metric(key):
            raise AssertionError(f"model selection read {key!r}")
        return super().__getitem__(key)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def items(self):
        return [(key, self[key]) for key in self]

    def values(self):
        return [self[key] for key in self]


def run_record(model, validation, test_accuracy, dataset="imdb") -> dict:
    """A results record (the keys that training writes) with this validation history and test score."""
    return {"dataset": dataset, "model": model, "profile": "smoke", "test_accuracy": test_accuracy,
            "test_loss": 1 - test_accuracy, "target_accuracy": None, "meets_target": None, "params": 1000,
            "epochs": len(validation), "best_epoch": int(np.argmax(validation)) + 1,
            "n_train": 36, "n_validation": 4, "n_test": 10,
            "history": {"accuracy": [0.5] * len(validation), "val_accuracy": list(validation),
                        "loss": [0.7] * len(validation), "val_loss": [0.7] * len(validation)}}


# Validation ranks lstm first (0.90 at its second epoch); the test set ranks it last.
RUNS = [run_record("simple_rnn", [0.50, 0.60], 0.99), run_record("lstm", [0.70, 0.90, 0.85], 0.60),
        run_record("gru", [0.80, 0.88], 0.95), run_record("gru", [0.99], 0.40, dataset="sentiment140")]


@pytest.mark.parametrize("order", [1, -1], ids=["as_listed", "reversed"])
@pytest.mark.parametrize("models", [None, ("lstm", "gru")])
def test_the_best_run_is_the_best_on_validation_whatever_the_test_set_says(order, models):
    """Fails when the choice goes by test accuracy (or loss), or by the last epoch's validation."""
    chosen = choose_best(RUNS[::order], "imdb", models=models)
    assert (chosen["model"], chosen["dataset"]) == ("lstm", "imdb")


@pytest.mark.parametrize("order", [1, -1], ids=["as_listed", "reversed"])
def test_choosing_the_best_run_never_reads_a_test_metric(order):
    """The same runs with every test metric sealed: reading one fails the test.

    Fails when the choice reads ``test_accuracy`` at all, even only to break a tie.
    """
    sealed = [SealedRecord({**r, **{key: Unreadable() for key in r if is_test_metric(key)}}) for r in RUNS]
    chosen = choose_best(sealed[::order], "imdb")
    assert dict.__getitem__(chosen, "model") == "lstm" and dict.__getitem__(chosen, "dataset") == "imdb"


# A results write that dies halfway leaves the previous file ---------------------------------------

WRITE_LIMIT = 4096  # bytes a file may grow to in the child: the new record is larger

CHILD = textwrap.dedent(f"""
    import resource, signal, sys
    {WRITER}
    # Python ignores SIGXFSZ, so a write past the limit fails with EFBIG; "kill": the kernel's default, death.
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL if sys.argv[2] == "kill" else signal.SIG_IGN)
    if sys.argv[2] != "unlimited":
        resource.setrlimit(resource.RLIMIT_FSIZE, ({WRITE_LIMIT}, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    write_results(sys.argv[1], {{"dataset": "imdb", "history": {{"loss": [0.123456789] * 2000}}}})
""")


@pytest.mark.parametrize("how", ["error", "kill"])
def test_a_results_write_that_dies_halfway_leaves_the_previous_file(how, tmp_path):
    """The writer runs in a child process whose files may not grow past 4 KiB (``RLIMIT_FSIZE``):
    the write fails at the operating system however it is coded (``json.dump`` into the
    file, ``write_text``, ``os.write``...). ``error``: the write raises (a full disk);
    ``kill``: the kernel kills the process mid-write (``SIGXFSZ``), no cleanup runs.

    Fails when the file is opened for writing in place instead of written to a temporary
    file and renamed over it; ``error`` also when the temporary file is left behind.
    """
    path = tmp_path / "imdb_lstm.json"
    previous = write_results(path, run_record("lstm", [0.7, 0.9], 0.88)).read_bytes()
    assert len(previous) < WRITE_LIMIT < 2000 * len("0.123456789, "), "fixture: only the new record is too big"
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONDONTWRITEBYTECODE": "1",
                   "KERAS_BACKEND": "numpy"}  # utils then leaves TensorFlow unimported: a fast child

    def child(how):
        return subprocess.run([sys.executable, "-c", CHILD, str(path), how], env=environment, capture_output=True,
                              text=True, timeout=60)

    died = child(how)
    if how == "kill":
        assert died.returncode == -signal.SIGXFSZ, died.stderr
    else:
        assert died.returncode == 1 and "File too large" in died.stderr, died.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == [path.name], "the temporary file is removed"
    assert path.read_bytes() == previous

    # Without the limit the same write goes through: the checks above are not vacuous.
    unlimited = child("unlimited")
    assert unlimited.returncode == 0, unlimited.stderr
    assert results.read_json(path)["history"]["loss"] == [0.123456789] * 2000



def test_a_results_file_gets_the_permissions_of_any_new_file(tmp_path):
    """The temporary file behind the atomic write is private to its owner (``mkstemp``);
    the results file it becomes is readable as any file the user creates (umask)."""
    mask = os.umask(0o022)
    try:
        path = write_results(tmp_path / "imdb_lstm.json", run_record("lstm", [0.7, 0.9], 0.88))
    finally:
        os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
