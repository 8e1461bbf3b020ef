"""Each course model's whole recipe, defined once, and the one way to train it.

A :class:`Recipe` says everything that makes a course model what it is: the
cell and its size, the optimizer, the regularization, how many tokens it
reads and how its batches are formed, whether its embeddings start from word
vectors, how patient early stopping is and how many epochs it may train.
The notebooks prepare their data with :func:`prepare_course_data` and write
their models in Keras cells with the recipe's numbers (tests/test_notebook_models.py
holds them to :func:`build_course_model`); the benchmark trains with
:func:`train_course_model`, so the two cannot drift apart. A profile only
scales sizes: a recipe's sequence length, batch size and epochs are capped by
the profile's (the smoke profile reads at most 100 tokens, in batches of 64,
for 3 epochs).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random
from pathlib import Path

import keras
import numpy as np

from utils import config, data, embeddings, models, results, training


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One course model on one data set, as the course trains it."""

    model: str  # name in results/ and in the tables
    dataset: str  # "imdb" or "sentiment140"
    cell: str  # "simple_rnn", "lstm" or "gru"
    depth: int = 1
    units: int = 64
    embedding_dim: int = 64
    dropout: float = 0.3
    learning_rate: float = 1e-3
    clipnorm: float | None = 1.0  # each variable's gradient clipped to this norm
    global_clipnorm: float | None = None  # or all gradients together (set one of the two)
    ema_momentum: float | None = 0.99  # averages the weights over about the last 100 steps
    sequence_length: int = 600  # the last tokens of a text that the model reads
    batching: str = "bucketed"  # see utils.text.make_pipeline
    padding: str = "post"  # which side of a short text the zeros go
    truncating: str = "pre"  # which end of a long text is cut: "pre" keeps its last tokens
    mask_zero: bool = True  # the recurrent layers skip padded steps
    bidirectional: bool = False  # also read each text right to left
    pooling: str = "last"  # what the head reads: the last state, or the max or mean over all states
    word_vectors: bool = False  # start the Embedding layer from utils.embeddings
    batch_size: int = 128  # texts per training step (capped by the profile's)
    patience: int = 3  # epochs without a better validation accuracy before stopping
    epochs: int = 8

    def builder_options(self) -> dict:
        """The keyword arguments of :func:`utils.models.build_rnn_classifier`."""
        return dict(units=self.units, depth=self.depth, embedding_dim=self.embedding_dim,
                    dropout=self.dropout, learning_rate=self.learning_rate, clipnorm=self.clipnorm,
                    global_clipnorm=self.global_clipnorm,
                    ema_momentum=self.ema_momentum, mask_zero=self.mask_zero, bidirectional=self.bidirectional,
                    pooling=self.pooling, name=self.model)


def _imdb(model: str, cell: str, **options) -> Recipe:
    return Recipe(model=model, dataset="imdb", cell=cell, **options)


def _tweets(model: str, cell: str, **options) -> Recipe:
    # 18,000 training tweets are little data: stronger dropout; 40 tokens hold 99.9 % of tweets whole.
    return Recipe(model=model, dataset="sentiment140", cell=cell, dropout=0.5, sequence_length=40, **options)


# SimpleRNNs read a short window: in 200 tokens about four fifths of a batch are real
# tokens, so batches are padded to the window. Patience 3: a SimpleRNN's validation
# accuracy can dip for two epochs and then climb to its best. LSTM and GRU read 600
# tokens in length-bucketed batches, start from word vectors and stop after the first epoch
# that does not improve: their averaged weights give a smooth validation curve that, once it
# turns down, did not climb back in the committed full run (docs/performance.md).
# Epochs: where a model's best validation epoch in the committed full runs came early, its
# budget ends there (the best epoch's weights are what is kept, so the later epochs only
# spent time; docs/what-was-tried.md, "Epoch budgets").
RECIPES = {
    # 3 epochs: the SimpleRNN peaked at epoch 3 of 6, and both depths of notebook 03 at 3 of 4.
    ("imdb", "simple_rnn"): _imdb("simple_rnn", "simple_rnn", sequence_length=200, batching="fixed", epochs=3),
    ("imdb", "stacked_rnn"): _imdb("stacked_rnn", "simple_rnn", depth=2, sequence_length=200,
                                   batching="fixed", epochs=3),
    # The LSTM clips all gradients together: measured on the course models (results/benchmark_gpu_clipping.json,
    # 2 seeds), global_clipnorm gave the LSTM +0.5 points, the GRU +0.05 and the SimpleRNN -0.8.
    # Batches of 256 with a larger learning rate: an epoch takes about 0.73 times as long on the 2-core
    # CPU, where each step's cost is mostly fixed overhead (docs/what-was-tried.md has both runs).
    # Epochs: the LSTM peaked at epoch 4 of 5 on both machines measured; the GRU at 4 of 5 on the
    # AVX2 machine and at 5 of 6 on the AVX-512 one that CI runs on (89.42 % best validation against
    # 88.70 % at epoch 4; docs/what-was-tried.md, "Epoch budgets").
    ("imdb", "lstm"): _imdb("lstm", "lstm", word_vectors=True, patience=1, clipnorm=None, global_clipnorm=1.0,
                            batch_size=256, learning_rate=2e-3, epochs=4),
    ("imdb", "gru"): _imdb("gru", "gru", learning_rate=3e-3, word_vectors=True, patience=1, batch_size=256,
                           epochs=5),
    # Notebook 06's comparison: read both ways, or pool over all states. Sized to teach, not to
    # win: 100 tokens and 1 epoch, random embeddings, so that three variants times three seeds fit
    # in minutes (200 tokens and one seed ranked the variants differently on two CPUs). No weight
    # averaging: after the 176 steps of one epoch, 0.99^176 = 17 % of the average would still be
    # the random start.
    ("imdb", "bidirectional_lstm"): _imdb("bidirectional_lstm", "lstm", bidirectional=True, sequence_length=100,
                                          epochs=1, ema_momentum=None),
    # Tweets: the SimpleRNN peaked at epoch 3 of 6, the stacked RNN and the GRU at 4 of 7.
    ("sentiment140", "simple_rnn"): _tweets("simple_rnn", "simple_rnn", epochs=3),
    ("sentiment140", "stacked_rnn"): _tweets("stacked_rnn", "simple_rnn", depth=2, epochs=4),
    # Word vectors of the training tweets: on a GPU (results/benchmark_gpu_tweets_word_vectors.json, 2 seeds)
    # they raised the best validation accuracy of the GRU (77.4 -> 78.2 %) and the LSTM (77.6 -> 78.0 %).
    ("sentiment140", "lstm"): _tweets("lstm", "lstm", word_vectors=True),
    ("sentiment140", "gru"): _tweets("gru", "gru", learning_rate=2e-3, word_vectors=True, epochs=4),
}
COURSE_MODELS = ("simple_rnn", "stacked_rnn", "lstm", "gru")


def recipe(name: str, dataset: str = "imdb", **changes) -> Recipe:
    """The recipe of course model ``name`` on ``dataset``, with ``changes`` applied
    (for an experiment that varies one thing, e.g. ``depth=3``)."""
    try:
        found = RECIPES[(dataset, name)]
    except KeyError:
        known = ", ".join(f"{d}/{m}" for d, m in RECIPES)
        raise ValueError(f"No course recipe for {dataset}/{name}: use one of {known}.") from None
    return dataclasses.replace(found, **changes)


def sequence_length(rec: Recipe, profile: config.Profile) -> int:
    """Tokens kept per text: the recipe's, capped by the profile."""
    return min(rec.sequence_length, profile.sequence_length)


def batch_size(rec: Recipe, profile: config.Profile) -> int:
    """Texts per batch: the recipe's, capped by the profile."""
    size = min(rec.batch_size, profile.batch_size)
    if size < 1:
        raise ValueError(f"{rec.dataset}/{rec.model}: a batch needs at least one text, got batch_size={size} "
                         f"(recipe {rec.batch_size}, profile {profile.name} {profile.batch_size}).")
    return size


def epochs(rec: Recipe, profile: config.Profile) -> int:
    """The most epochs ``rec`` trains: the recipe's, capped by the profile."""
    return min(rec.epochs, profile.epochs)


def profile_summary(rec: Recipe, profile: config.Profile) -> str:
    """What ``rec`` becomes in ``profile``: the sizes a profile caps, in one printable line."""
    budget = training.count(epochs(rec, profile), "epoch")
    return (f"In the {profile.name} profile {rec.dataset}/{rec.model} reads at most {sequence_length(rec, profile)} "
            f"tokens, in batches of {batch_size(rec, profile)}, for at most {budget} "
            f"(patience {rec.patience}).")


def vocabulary_size(rec: Recipe, profile: config.Profile) -> int:
    return profile.tweet_max_tokens if rec.dataset == "sentiment140" else profile.max_tokens


def prepare_course_data(rec: Recipe, profile: config.Profile) -> data.PreparedData:
    """The data set of ``rec``, split, vectorized and batched as the recipe says."""
    length = sequence_length(rec, profile)
    profile = dataclasses.replace(profile, batch_size=batch_size(rec, profile))
    if rec.dataset == "sentiment140":
        return data.prepare_sentiment140(profile, sequence_length=length, batching=rec.batching,
                                         padding=rec.padding, truncating=rec.truncating)
    return data.prepare_imdb(profile, sequence_length=length, batching=rec.batching, padding=rec.padding,
                             truncating=rec.truncating)


def course_word_vectors(rec: Recipe, prepared: data.PreparedData, cache_dir: Path | None = None) -> np.ndarray:
    """PPMI + SVD word vectors of the training part of ``prepared``.

    Cached under ``build/word_vectors/`` by a hash of the training token ids,
    the vocabulary size and the dimension: notebooks 04 and 05 and the
    benchmark each need them, and each still runs alone in a fresh kernel.
    """
    vocab = prepared.vectorizer.vocabulary_size()
    stream = embeddings.token_stream(prepared.train)
    key = hashlib.sha256(stream.tobytes() + f"{vocab}:{rec.embedding_dim}".encode()).hexdigest()[:20]
    path = Path(cache_dir or config.REPO_ROOT / "build" / "word_vectors") / f"{key}.npy"
    if path.is_file():
        return np.load(path)
    vectors = embeddings.ppmi_svd_embeddings_from_stream(stream, vocab, rec.embedding_dim)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".partial.npy")
    np.save(temporary, vectors)
    temporary.replace(path)
    return vectors


def build_course_model(rec: Recipe, course: config.CourseSetup, word_vectors=None):
    """The compiled model of ``rec``, built in the strategy's scope from the seed.

    Seeding here, not only at setup, makes a model's initial weights depend on
    its recipe and the seed alone, never on what the cells above it drew.
    """
    if rec.word_vectors and word_vectors is None:
        raise ValueError(f"The {rec.dataset}/{rec.model} recipe starts from word vectors: "
                         "pass word_vectors=course_word_vectors(recipe, prepared).")
    config.seed_everything(course.seed)
    with course.strategy.scope():
        return models.build_rnn_classifier(rec.cell, vocabulary_size(rec, course.profile),
                                           embeddings=word_vectors if rec.word_vectors else None,
                                           **rec.builder_options())


def train_course_model(rec: Recipe, course: config.CourseSetup, prepared: data.PreparedData | None = None,
                       model=None, write: bool = True) -> tuple:
    """Train ``rec`` end to end: ``(model, record, prepared)``.

    Prepares the data and builds the model when they are not given, then
    :func:`utils.training.train_classifier` with the recipe's patience and
    epochs (capped by the profile). ``record`` is the results record, with the
    recipe in it; ``write`` saves it and the model.
    """
    prepared = prepared or prepare_course_data(rec, course.profile)
    if model is None:
        vectors = course_word_vectors(rec, prepared) if rec.word_vectors else None
        model = build_course_model(rec, course, word_vectors=vectors)
    record = training.train_classifier(
        model, prepared, course.profile, dataset=rec.dataset, model_name=rec.model,
        epochs=epochs(rec, course.profile), patience=rec.patience, seed=course.seed,
        write=write, recipe=dataclasses.asdict(rec))
    return model, record, prepared


def differences(model, rec: Recipe, course: config.CourseSetup, fit_epochs: int | None = None) -> list[str]:
    """What ``model``, built and compiled in a notebook, changes against the course's model of
    ``rec``: its name, each layer's Keras configuration, the optimizer's and the loss (and the
    epoch budget, ``fit_epochs``, against the recipe's in this profile). Empty: it is the
    course's model. Not compared: the callbacks and the initial weights (a model renamed by the
    student counts as edited)."""
    state = random.getstate()  # building draws initializer seeds: leave the notebook's draws as they were
    try:
        with course.strategy.scope():
            reference = models.build_rnn_classifier(rec.cell, vocabulary_size(rec, course.profile),
                                                    **rec.builder_options())
    finally:
        random.setstate(state)
    found = [] if model.name == reference.name else [f"name {model.name!r} instead of {reference.name!r}"]
    mine, theirs = _layer_configs(model), _layer_configs(reference)
    if list(mine) != list(theirs):
        found.append(f"layers {', '.join(mine)} instead of {', '.join(theirs)}")
    for name in sorted(mine.keys() & theirs.keys()):
        found += _changed(name, mine[name], theirs[name])
    optimizer, wanted = model.optimizer, reference.optimizer
    if type(optimizer) is not type(wanted):
        found.append(f"optimizer {type(optimizer).__name__} instead of {type(wanted).__name__}")
    else:  # the same settings; the name is Keras' counter ("adam_3")
        found += _changed("optimizer", {**optimizer.get_config(), "name": None}, {**wanted.get_config(), "name": None})
    if model.loss != reference.loss:
        found.append(f"loss {model.loss!r} instead of {reference.loss!r}")
    if fit_epochs is not None and fit_epochs != epochs(rec, course.profile):
        found.append(f"epochs={fit_epochs} instead of {epochs(rec, course.profile)}")
    return found


def _changed(what: str, mine: dict, theirs: dict) -> list[str]:
    return [f"{what}: {key}={mine.get(key)!r} instead of {theirs.get(key)!r}"
            for key in sorted(mine.keys() | theirs.keys()) if mine.get(key) != theirs.get(key)]


def _layer_configs(model) -> dict[str, dict]:
    """Each layer's class and configuration by name, the input layer left out (Sequential and
    functional models list it differently)."""
    # use_cudnn: Keras' "auto" runs cuDNN where a layer is eligible; the builder insists on it on a GPU.
    return {layer.name: {"class": type(layer).__name__, **layer.get_config(), "use_cudnn": None}
            for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)}


EDITED_DIR = Path("build") / "edited"  # where a run of an edited model writes, under the output folder


def record_run(model, history, timer: training.EpochTimer, prepared: data.PreparedData,
               course: config.CourseSetup, rec: Recipe) -> dict:
    """Test the model a notebook trained, once, and write its results record and saved model.

    The course's model (no :func:`differences`) writes ``results/<dataset>_<model>.json``, the
    file that the README and notebook 08 read. An edited model must not overwrite that: from
    here on the notebook writes everything (record, saved model, figures) under
    ``build/edited/``, and says so and why. Returns the record.
    """
    changed = differences(model, rec, course, fit_epochs=history.params.get("epochs"))
    _write_edited_outputs(bool(changed))
    record = training.run_record(model, history, timer, prepared, course.profile, dataset=rec.dataset,
                                 model_name=rec.model, seed=course.seed,
                                 recipe={"edited_from": rec.model, "changes": changed} if changed
                                 else dataclasses.asdict(rec))
    path = training.save_run(model, record, prepared, course.profile).relative_to(course_output_base())
    if changed:
        print(f"Not the course's {rec.model} ({'; '.join(changed)}): this run writes under {EDITED_DIR}/, "
              f"its record in {path}; the course's results, figures and models stay as they were.")
    return record


def edited(record: dict) -> bool:
    """Whether :func:`record_run` found ``record``'s model edited (its ``recipe`` then names
    the changes instead of holding the course's recipe)."""
    return "edited_from" in record["recipe"]


_COURSE_OUTPUT = {}  # the output folder before an edited model redirected it


def course_output_base() -> Path:
    """The output folder of the course's own runs (the repository root unless ``$COURSE_OUTPUT_DIR``)."""
    return _COURSE_OUTPUT.get("base", config.output_base())


def _write_edited_outputs(edited: bool) -> None:
    """Point ``$COURSE_OUTPUT_DIR`` at ``build/edited/`` for an edited model, back for the course's."""
    base = course_output_base()
    _COURSE_OUTPUT.setdefault("base", base)
    _COURSE_OUTPUT.setdefault("env", os.environ.get(config.OUTPUT_ENV))
    if edited:
        os.environ[config.OUTPUT_ENV] = str(base / EDITED_DIR)
    elif _COURSE_OUTPUT["env"] is None:
        os.environ.pop(config.OUTPUT_ENV, None)
    else:
        os.environ[config.OUTPUT_ENV] = _COURSE_OUTPUT["env"]


def saved_run(rec: Recipe, course: config.CourseSetup, prepared: data.PreparedData) -> dict | None:
    """The record that a run of exactly ``rec`` already wrote, or ``None``.

    Exactly: the same recipe, seed and profile, the same data sizes, on the
    same device with the same TensorFlow and Keras. With op determinism such a
    run repeats to the last digit, so training it again would only spend time.
    """
    path = course.results_dir / f"{rec.dataset}_{rec.model}.json"
    if not path.is_file():
        return None
    record = results.read_json(path)
    wanted = {"recipe": dataclasses.asdict(rec), "seed": course.seed, "profile": course.profile.name,
              "n_train": prepared.n_train, "n_validation": prepared.n_validation, "n_test": prepared.n_test,
              "device": course.device["device"], "tensorflow_version": course.device["tensorflow_version"],
              "keras_version": course.device["keras_version"]}
    return record if all(record.get(key) == value for key, value in wanted.items()) else None


def train_or_reuse(rec: Recipe, course: config.CourseSetup, prepared: data.PreparedData) -> dict:
    """The record of ``rec``: read from its results file when :func:`saved_run`
    finds that exact run, trained (and written) otherwise. Says which."""
    record = saved_run(rec, course, prepared)
    if record is not None:
        path = (course.results_dir / f"{rec.dataset}_{rec.model}.json").relative_to(config.output_base())
        print(f"{rec.dataset}/{rec.model}: the same recipe, seed, data and device already ran; "
              f"its record is read from {path}")
        return record
    return train_course_model(rec, course, prepared=prepared)[1]
