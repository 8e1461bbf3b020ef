"""Levers on the course GRU, each measured against the GRU itself in the same run.

    python -m tooling.levers                      # full profile: every lever (about 30 min on 2 CPU cores)
    python -m tooling.levers --levers concat_pool  # the baseline and one lever
    python -m tooling.levers --profile smoke      # the code path in about a minute

The course wants a recurrent model ahead of the TF-IDF bag of words on the
IMDB test set, trained on the training reviews alone. Each lever below changes
one thing of the course GRU's recipe (``utils.recipes``: 600 tokens, word
vectors of the training reviews, Adam 3e-3 with clipnorm 1 and weight
averaging, early stopping on validation accuracy with patience 1):

``concat_pool``       the head reads the last state, the masked maximum and the mean of all states, concatenated
``bidirectional``     a second GRU reads each review from its end (``Bidirectional``)
``spatial_dropout``   the embedding dropout drops whole word vectors (``SpatialDropout1D``)
``vocab_40k_dim_128`` a 40,000-word vocabulary and 128-number word vectors
``refit_train_val``   the baseline's best epoch count, trained again on training plus validation reviews

Writes ``results/levers_cpu.json`` (or ``results/<profile>/`` for smoke):
best validation accuracy (the choice) and test accuracy (the target) per
row; docs/what-was-tried.md reads the full run.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import keras

from utils import config, models, recipes, results, training

LEVERS = ("concat_pool", "bidirectional", "spatial_dropout", "vocab_40k_dim_128", "refit_train_val")


def lever_model(lever: str, rec: recipes.Recipe, vocab_size: int, word_vectors) -> keras.Model:
    """The course GRU with ``lever`` applied (``"baseline"``: unchanged), compiled as the recipe says."""
    inputs = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    x = keras.layers.Embedding(vocab_size, rec.embedding_dim, mask_zero=True, weights=word_vectors,
                               name="embedding")(inputs)
    drop = keras.layers.SpatialDropout1D if lever == "spatial_dropout" else keras.layers.Dropout
    x = drop(rec.dropout, name="embedding_dropout")(x)
    if lever == "concat_pool":
        states, last = keras.layers.GRU(rec.units, return_sequences=True, return_state=True, name="gru_1")(x)
        x = keras.layers.Concatenate(name="last_max_mean")([
            last, models.MaskedGlobalMaxPooling1D(name="max_over_time")(states),
            keras.layers.GlobalAveragePooling1D(name="mean_over_time")(states)])
    else:
        recurrent = keras.layers.GRU(rec.units, name="gru_1")
        x = (keras.layers.Bidirectional(recurrent, name="bidirectional_gru_1") if lever == "bidirectional"
             else recurrent)(x)
    x = keras.layers.Dropout(rec.dropout, name="state_dropout")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", dtype="float32", name="positive_probability")(x)
    model = keras.Model(inputs, outputs, name=f"gru_{lever}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=rec.learning_rate, clipnorm=rec.clipnorm,
                                                  use_ema=True, ema_momentum=rec.ema_momentum),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model


def run_lever(lever: str, course: config.CourseSetup, baseline_epochs: int | None = None) -> dict:
    """Train and test one lever (or ``"baseline"``); one row of the results file."""
    rec = recipes.recipe("gru", embedding_dim=128 if lever == "vocab_40k_dim_128" else 64)
    profile = course.profile
    if lever == "vocab_40k_dim_128":
        profile = dataclasses.replace(profile, max_tokens=40_000 if profile.name == "full" else 2 * profile.max_tokens)
    prepared = recipes.prepare_course_data(rec, profile)
    vectors = recipes.course_word_vectors(rec, prepared)
    config.seed_everything(course.seed)
    model = lever_model(lever, rec, prepared.vectorizer.vocabulary_size(), vectors)
    if lever == "refit_train_val":  # no validation left to choose with: the baseline's best epoch count
        timer = training.EpochTimer()
        train = prepared.fresh_train().concatenate(prepared.validation)
        history = model.fit(train, epochs=baseline_epochs, callbacks=[timer, keras.callbacks.SwapEMAWeights()],
                            shuffle=False, verbose=config.keras_verbosity())
        history.history["val_accuracy"] = [float("nan")] * baseline_epochs
    else:
        callbacks = training.course_callbacks(model, prepared, rec.patience)
        timer = callbacks[0]
        history = model.fit(prepared.fresh_train(), validation_data=prepared.validation,
                            epochs=recipes.epochs(rec, profile), callbacks=callbacks, shuffle=False,
                            verbose=config.keras_verbosity())
    record = training.run_record(model, history, timer, prepared, profile, dataset="imdb", model_name=model.name,
                                 seed=course.seed)
    validation = [v for v in history.history["val_accuracy"] if v == v]
    return {"lever": lever, "test_accuracy": record["test_accuracy"],
            "best_validation_accuracy": max(validation) if validation else None,
            "best_epoch": record["best_epoch"] if validation else baseline_epochs, "epochs": record["epochs"],
            "params": record["params"], "train_seconds": record["train_seconds"],
            "vocabulary_size": record["vocabulary_size"], "embedding_dim": rec.embedding_dim}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling.levers", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="full", choices=sorted(config.PROFILES))
    parser.add_argument("--levers", nargs="+", default=list(LEVERS), choices=LEVERS)
    args = parser.parse_args(argv)
    course = config.setup(args.profile)
    start = time.perf_counter()
    rows = [run_lever("baseline", course)]
    for lever in args.levers:
        rows.append(run_lever(lever, course, baseline_epochs=rows[0]["best_epoch"]))
        print(f"{lever}: test {100 * rows[-1]['test_accuracy']:.2f} % against the baseline's "
              f"{100 * rows[0]['test_accuracy']:.2f} %", flush=True)
    bag = course.results_dir / "imdb_bag_of_words.json"
    report = {"profile": course.profile.name, "device": course.device["device"],
              "cpu_flags": course.device["cpu_flags"], "seed": course.seed,
              "bag_of_words_test_accuracy": results.read_json(bag)["test_accuracy"] if bag.is_file() else None,
              "total_seconds": time.perf_counter() - start, "rows": rows}
    path = results.write_json(course.results_dir / "levers_cpu.json", report)
    print(f"{'lever':18s} {'best val %':>10s} {'test %':>7s} {'epochs':>6s} {'train s':>8s}")
    for row in rows:
        val = "–" if row["best_validation_accuracy"] is None else f"{100 * row['best_validation_accuracy']:.2f}"
        print(f"{row['lever']:18s} {val:>10s} {100 * row['test_accuracy']:7.2f} {row['epochs']:6d} "
              f"{row['train_seconds']:8.0f}")
    print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
