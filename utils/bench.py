"""Benchmark: the course's four models against the TensorFlow RNN tutorial.

    python -m utils.bench                    # full: the numbers the README quotes
    python -m utils.bench --profile smoke    # the fast check CI could run

In one process, on the same IMDB data and machine, it trains and evaluates
the course's SimpleRNN, stacked RNN, LSTM and GRU exactly as the notebooks
build them, and the configuration of the TensorFlow tutorial "Text
classification with an RNN" as a fixed baseline (vocabulary 1,000, embedding
64 with masking, bidirectional LSTM 64, dense 64, logits, Adam 1e-4, batch 64,
reviews padded per batch, 10 epochs). It prints one row per model and writes
the table to ``results/benchmark_<cpu|gpu>.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings

import keras
import numpy as np
import tensorflow as tf

from utils import config, data, models, recipes, text, training

BASELINE_EPOCHS = {"full": 10, "smoke": 1}
# The tutorial model reads whole reviews (up to 2,500 tokens): in smoke, train it on a slice.
BASELINE_TRAIN_LIMIT = {"full": None, "smoke": 1_000}
VARIANT_STEPS = {"full": None, "smoke": 5}  # None: one whole epoch


def peak_memory_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_tutorial_baseline(train_texts) -> keras.Model:
    """The TensorFlow tutorial's model: raw strings in, logits out."""
    encoder = keras.layers.TextVectorization(max_tokens=1000)
    encoder.adapt(train_texts.map(lambda text, label: text).batch(1024))
    model = keras.Sequential([
        keras.Input(shape=(), dtype="string"),
        encoder,
        keras.layers.Embedding(len(encoder.get_vocabulary()), 64, mask_zero=True),
        keras.layers.Bidirectional(keras.layers.LSTM(64)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(1),
    ], name="tf_tutorial_bilstm")
    model.compile(loss=keras.losses.BinaryCrossentropy(from_logits=True),
                  optimizer=keras.optimizers.Adam(1e-4),
                  metrics=[keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")])
    return model


def run_baseline(train_texts, validation_texts, test_texts, profile, epochs: int) -> dict:
    """Train and evaluate the tutorial model on the same split as the course."""
    config.seed_everything(config.SEED)
    model = build_tutorial_baseline(train_texts)
    batches = {name: ds.batch(64).prefetch(tf.data.AUTOTUNE)
               for name, ds in (("train", train_texts.shuffle(10_000, seed=config.SEED)),
                                ("validation", validation_texts), ("test", test_texts))}
    timer = training.EpochTimer()
    start = time.perf_counter()
    model.fit(batches["train"], validation_data=batches["validation"],
              epochs=epochs, callbacks=[timer], verbose=config.keras_verbosity())
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    test_loss, test_accuracy = model.evaluate(batches["test"], verbose=0)
    eval_seconds = time.perf_counter() - start
    seconds_per_epoch = float(np.mean(timer.epoch_seconds))
    return {"model": model.name, "test_accuracy": float(test_accuracy), "test_loss": float(test_loss),
            "params": int(model.count_params()), "epochs": len(timer.epoch_seconds),
            "train_seconds": train_seconds, "seconds_per_epoch": seconds_per_epoch,
            "train_samples_per_second": data.count(train_texts) / seconds_per_epoch,
            "eval_samples_per_second": data.count(test_texts) / eval_seconds}


def run_course_model(name: str, course) -> dict:
    """One course model, trained from its recipe exactly as its notebook trains it."""
    model, record, prepared = recipes.train_course_model(recipes.recipe(name), course, write=False)
    # Where the time goes: one pass over the (now cached) input pipeline alone.
    start = time.perf_counter()
    for _ in prepared.train:
        pass
    pipeline_seconds = time.perf_counter() - start
    return {**{key: record[key] for key in ("model", "test_accuracy", "test_loss", "params", "epochs",
                                            "train_seconds", "seconds_per_epoch",
                                            "train_samples_per_second", "eval_samples_per_second")},
            "recipe": record["recipe"], "input_pipeline_seconds_per_epoch": pipeline_seconds}


# The course LSTM under one input or compiler change at a time: label, batching,
# op determinism, XLA. Keras refuses XLA while op determinism is on, and
# TensorFlow can switch determinism on but not back off, so those rows come first.
VARIANTS = (
    ("fixed length, no op determinism, XLA", "fixed", False, True),
    ("fixed length, no op determinism", "fixed", False, False),
    ("fixed length", "fixed", True, False),
    ("length buckets (course)", "bucketed", True, False),
)


def measure_variants(profile, steps: int | None) -> list[dict]:
    """Course LSTM training samples/s under each of :data:`VARIANTS`.

    Same vectorizer, same model; ``steps`` timed batches (``None``: one whole
    epoch, since length buckets fill in an uneven order) after three warm-up
    batches (tracing, XLA compilation, filling the shuffle buffer). Run it
    before anything turns op determinism on.
    """
    train, _ = data.split_validation(data.load_imdb("train", limit=profile.imdb_train_limit))
    vectorizer = text.make_vectorizer(train, profile.max_tokens)
    rows = []
    for label, batching, deterministic, jit_compile in VARIANTS:
        config.seed_everything(config.SEED, deterministic=deterministic)
        batches = text.make_pipeline(train, vectorizer, profile.batch_size, profile.sequence_length,
                                     shuffle=True, batching=batching)
        if steps is not None:
            batches = batches.take(steps + 3)
        lstm = recipes.recipe("lstm")
        model = models.build_rnn_classifier("lstm", profile.max_tokens, **lstm.builder_options())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the refusal is reported below instead
            model.compile(optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"],
                          jit_compile=jit_compile)
        if jit_compile and not model.jit_compile:
            label += " (XLA refused: op determinism was already on)"
        samples, seconds = 0, 0.0
        for step, (ids, labels) in enumerate(batches):
            start = time.perf_counter()
            model.train_on_batch(ids, labels)
            if step >= 3:
                seconds += time.perf_counter() - start
                samples += int(labels.shape[0])
        rows.append({"variant": label, "batching": batching, "op_determinism": deterministic,
                     "jit_compile": bool(model.jit_compile), "timed_batches": step - 2,
                     "train_samples_per_second": samples / seconds})
        print(f"LSTM, {label:40s}: {samples / seconds:7,.0f} training samples/s", flush=True)
    return rows


def format_table(rows: list[dict]) -> str:
    header = (f"{'model':20s} {'train samples/s':>15s} {'eval samples/s':>14s} {'s/epoch':>8s} "
              f"{'epochs':>6s} {'test acc':>8s} {'peak MiB':>9s} {'x baseline':>10s}")
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(f"{r['model']:20s} {r['train_samples_per_second']:15,.0f} {r['eval_samples_per_second']:14,.0f} "
                     f"{r['seconds_per_epoch']:8.1f} {r['epochs']:6d} {100 * r['test_accuracy']:7.2f}% "
                     f"{r['peak_memory_mib']:9,.0f} {r['throughput_vs_baseline']:9.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(config.PROFILES), default="full",
                        help="data and epoch sizes, as for utils.course (default: full)")
    parser.add_argument("--variant-steps", type=int, default=None,
                        help="batches timed per LSTM variant (fixed length, XLA, buckets); "
                             "default a whole epoch in full, 5 batches in smoke")
    parser.add_argument("--baseline-epochs", type=int, default=None,
                        help="epochs of the tutorial baseline (default: 10 full, 1 smoke); its "
                             "throughput needs one, its accuracy all ten")
    args = parser.parse_args(argv)
    # Op determinism stays off until the variants have run: some need it off.
    course = config.setup(args.profile, deterministic=False)
    profile, device = course.profile, course.device
    print(f"Benchmark, profile {profile.name}, on {device['device']}")

    start = time.perf_counter()
    # First: some variants need op determinism off, and the course runs turn it on.
    variants = measure_variants(profile, args.variant_steps or VARIANT_STEPS[profile.name])
    rows = []
    for name in recipes.COURSE_MODELS:
        rows.append({**run_course_model(name, course), "peak_memory_mib": peak_memory_mib()})
    # The baseline reads raw text: the same train/validation split, before vectorization.
    train_texts, validation_texts = data.split_validation(
        data.load_imdb("train", limit=profile.imdb_train_limit))
    test_texts = data.load_imdb("test", limit=profile.imdb_test_limit)
    if BASELINE_TRAIN_LIMIT[profile.name] is not None:
        train_texts = train_texts.take(BASELINE_TRAIN_LIMIT[profile.name])
    baseline_epochs = args.baseline_epochs or BASELINE_EPOCHS[profile.name]
    baseline = {**run_baseline(train_texts, validation_texts, test_texts, profile, baseline_epochs),
                "peak_memory_mib": peak_memory_mib()}
    rows.append(baseline)
    for row in rows:
        row["throughput_vs_baseline"] = row["train_samples_per_second"] / baseline["train_samples_per_second"]
    total = time.perf_counter() - start

    print("\n" + format_table(rows))
    for row in rows[:-1]:
        share = 100 * row["input_pipeline_seconds_per_epoch"] / row["seconds_per_epoch"]
        print(f"{row['model']}: input pipeline alone {row['input_pipeline_seconds_per_epoch']:.2f} s per epoch, "
              f"{share:.1f} % of the {row['seconds_per_epoch']:.1f} s training epoch")
    print(f"Total {total:.0f} s. Peak memory is the process's peak so far (models run one after another).")
    _, results_dir = config.output_dirs(profile)
    kind = "gpu" if device["gpus"] else "cpu"
    path = results_dir / f"benchmark_{kind}.json"
    path.write_text(json.dumps({"profile": profile.name, **device, "total_seconds": total,
                                "baseline": baseline["model"], "rows": rows,
                                "lstm_variants": variants}, indent=2) + "\n")
    print(f"Wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
