"""Training, timing, evaluation and the results JSON of every model run."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import keras
import numpy as np

from utils import config, evaluation, results
from utils.models import export_text_model

# Keras counts a dataset's batches in its first pass; the course's length-bucketed and
# filtered pipelines vary by a batch from pass to pass, which Keras reports as running out
# of data (in fit, evaluate and predict alike). Nothing is lost: the pass ends with the data.
warnings.filterwarnings("ignore", message="Your input ran out of data")


def count(n: int, noun: str) -> str:
    """``"1 epoch"``, ``"4 epochs"``: a count with its noun, singular for one."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


class EpochTimer(keras.callbacks.Callback):
    """Seconds of each training epoch, validation excluded (``epoch_seconds``), and of the
    whole ``fit``, validation included (``train_seconds``)."""

    def on_train_begin(self, logs=None):
        self.epoch_seconds, self._validation = [], 0.0
        self._train_start = time.perf_counter()

    def on_train_end(self, logs=None):
        self.train_seconds = time.perf_counter() - self._train_start

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._validation = time.perf_counter(), 0.0

    def on_test_begin(self, logs=None):
        self._test_start = time.perf_counter()

    def on_test_end(self, logs=None):
        self._validation += time.perf_counter() - self._test_start

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_seconds.append(time.perf_counter() - self._start - self._validation)


class UnaveragedValidation(keras.callbacks.Callback):
    """Validation accuracy of the weights as the optimizer left them, before
    averaging: logged as ``val_accuracy_unaveraged``, so every run measures
    what the moving average of the weights adds."""

    def __init__(self, validation):
        super().__init__()
        self.validation = validation

    def on_epoch_end(self, epoch, logs=None):
        _, accuracy = self.model.evaluate(self.validation, verbose=0)
        logs["val_accuracy_unaveraged"] = float(accuracy)


def averages_weights(optimizer):
    """The optimizer that keeps a moving average of the weights, or ``None``.

    Under mixed precision Keras wraps the optimizer in a ``LossScaleOptimizer``
    whose own ``use_ema`` is always False: the average lives in the inner one.
    """
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    return inner if inner.use_ema else None


def train_classifier(model, prepared, profile, *, dataset: str, model_name: str | None = None,
                     epochs: int | None = None, patience: int = 3, seed: int = config.SEED,
                     write: bool = True, recipe: dict | None = None) -> dict:
    """Fit with early stopping on validation accuracy, then predict the test set once.

    What notebooks 02 to 07 write out in their Train cells, in one call, for the
    variants and exercises that train several models and for the benchmark:
    the callbacks of :func:`course_callbacks`, ``model.fit``, one prediction pass
    over the test set, :func:`run_record` and, with ``write``, :func:`save_run`.
    """
    callbacks = course_callbacks(model, prepared, patience)
    # shuffle=False: the pipeline shuffles itself (Keras ignores the flag for a dataset, and says so).
    # A fresh pipeline: the shuffling starts from the seed, whatever read prepared.train before.
    train = prepared.fresh_train() if prepared.fresh_train else prepared.train
    history = model.fit(train, validation_data=prepared.validation,
                        epochs=epochs or profile.epochs, callbacks=callbacks, shuffle=False,
                        verbose=config.keras_verbosity())
    record = run_record(model, history, callbacks[0], prepared, profile, dataset=dataset, model_name=model_name,
                        seed=seed, recipe=recipe)
    if write:
        save_run(model, record, prepared, profile)
    return record


def course_callbacks(model, prepared, patience: int) -> list:
    """The course's callbacks, in the order that matters: time each epoch; with weight
    averaging, log the unaveraged weights' validation accuracy and swap the averaged ones in
    for validation; keep the best epoch's weights, stopping after ``patience`` epochs
    without a better validation accuracy. The first one is the :class:`EpochTimer`."""
    callbacks = [EpochTimer()]
    if averages_weights(model.optimizer):
        # Each callback sees the weights that the one before it left.
        callbacks += [UnaveragedValidation(prepared.validation), keras.callbacks.SwapEMAWeights(swap_on_epoch=True)]
    return callbacks + [keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience,
                                                      restore_best_weights=True)]


def run_record(model, history, timer: EpochTimer, prepared, profile, *, dataset: str,
               model_name: str | None = None, seed: int = config.SEED, recipe: dict | None = None) -> dict:
    """Predict the test set once and return the results record of a trained ``model``
    (the schema in :mod:`utils.results`), printed in one line. The record keeps the test
    predictions in memory for :func:`utils.evaluation.show_evaluation` (a second pass over
    25,000 reviews took a minute)."""
    start = time.perf_counter()
    probabilities, labels = evaluation.predict_probabilities(model, prepared.test)
    eval_seconds = time.perf_counter() - start
    test_accuracy = evaluation.accuracy(labels, probabilities)
    test_loss = evaluation.binary_cross_entropy(labels, probabilities)
    seconds_per_epoch = float(np.mean(timer.epoch_seconds))
    device = config.device_summary()
    averaging = averages_weights(model.optimizer)
    name = model_name or model.name
    target = results.TARGETS.get((dataset, name)) if profile.name == "full" else None
    record = {
        "dataset": dataset,
        "model": name,
        "profile": profile.name,
        "test_accuracy": float(test_accuracy),
        "test_loss": float(test_loss),
        "target_accuracy": target,
        "meets_target": None if target is None else bool(test_accuracy >= target),
        "params": int(model.count_params()),
        "ema_momentum": float(averaging.ema_momentum) if averaging else None,
        "epochs": len(timer.epoch_seconds),
        "best_epoch": int(np.argmax(history.history["val_accuracy"])) + 1,
        "train_seconds": timer.train_seconds,
        "seconds_per_epoch": seconds_per_epoch,
        "train_samples_per_second": prepared.n_train / seconds_per_epoch,
        "eval_samples_per_second": prepared.n_test / eval_seconds,
        "n_train": prepared.n_train,
        "n_validation": prepared.n_validation,
        "n_test": prepared.n_test,
        "sequence_length": prepared.sequence_length,
        "vocabulary_size": prepared.vectorizer.vocabulary_size(),
        "recipe": recipe or {},
        "device": device["device"],
        "cpu_flags": device["cpu_flags"],
        "tensorflow_version": device["tensorflow_version"],
        "keras_version": device["keras_version"],
        "seed": seed,
        "history": {key: [float(v) for v in values] for key, values in history.history.items()},
        results.IN_MEMORY_KEY: {"probabilities": probabilities, "labels": labels},
    }
    print(f"{record['model']}: test accuracy {100 * test_accuracy:.2f} % on {prepared.n_test:,} "
          f"{dataset} texts, {count(record['epochs'], 'epoch')} of {seconds_per_epoch:.1f} s of training each "
          f"({record['train_samples_per_second']:,.0f} samples/s), {record['params']:,} parameters")
    if target is not None:
        print(f"Course target {100 * target:.1f} %: {'met' if record['meets_target'] else 'MISSED'}")
    return record


def save_run(model, record: dict, prepared, profile) -> Path:
    """Save ``record`` as ``results/<dataset>_<model>.json`` and the model, with its vectorizer
    in front so that it takes raw strings, as ``build/models/<profile>/<dataset>_<model>.keras``
    (both under ``$COURSE_OUTPUT_DIR`` when set). Returns the results file's path."""
    _, results_dir = config.output_dirs(profile)
    stem = f"{record['dataset']}_{record['model']}"
    # The model first: a results file always has its saved model beside it.
    text_model = export_text_model(model, prepared.vectorizer, prepared.sequence_length,
                                   truncating=prepared.truncating)
    text_model.save(config.models_dir(profile) / f"{stem}.keras")
    return results.write_json(results_dir / f"{stem}.json", record)


def training_throughput(model, ids, labels, steps: int = 5) -> float:
    """Training samples per second on one batch, after a warm-up step.

    Trains the model for ``steps + 1`` steps: use a model you rebuild afterwards.
    """
    model.train_on_batch(ids, labels)  # builds and compiles the training graph
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(ids, labels)
    return steps * int(ids.shape[0]) / (time.perf_counter() - start)
