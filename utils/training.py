"""Training, timing, evaluation and the results JSON of every model run."""

from __future__ import annotations

import time
import warnings

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
    """Seconds of each training epoch, validation excluded."""

    def on_train_begin(self, logs=None):
        self.epoch_seconds, self._validation = [], 0.0

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

    The best epoch's weights are restored before testing: its averaged weights
    when the optimizer keeps a moving average (``use_ema``). ``patience`` is 3
    because a SimpleRNN's validation accuracy can dip for two epochs and then
    climb to its best (measured on IMDB). Returns the run's
    record (the schema in :mod:`utils.results`) and, with ``write``, saves it as
    ``results/<dataset>_<model_name>.json`` and the model, with its vectorizer
    in front so that it takes raw strings, as
    ``build/models/<profile>/<dataset>_<model_name>.keras``.
    """
    timer = EpochTimer()
    stopper = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience,
                                            restore_best_weights=True)
    callbacks = [timer, stopper]
    averaging = averages_weights(model.optimizer)
    if averaging:
        # Validate the averaged weights, and hand them to the early stopping that keeps
        # the best; the order matters: each callback sees the weights the one before left.
        callbacks[1:1] = [UnaveragedValidation(prepared.validation),
                          keras.callbacks.SwapEMAWeights(swap_on_epoch=True)]
    start = time.perf_counter()
    # shuffle=False: the pipeline shuffles itself (Keras ignores the flag for a dataset, and says so).
    # A fresh pipeline: the shuffling starts from the seed, whatever read prepared.train before.
    train = prepared.fresh_train() if prepared.fresh_train else prepared.train
    history = model.fit(train, validation_data=prepared.validation,
                        epochs=epochs or profile.epochs, callbacks=callbacks, shuffle=False,
                        verbose=config.keras_verbosity())
    train_seconds = time.perf_counter() - start
    # One pass over the test set gives the accuracy, the loss and the predictions that
    # evaluation.show_evaluation draws (a second pass over 25,000 reviews took a minute).
    start = time.perf_counter()
    probabilities, labels = evaluation.predict_probabilities(model, prepared.test)
    eval_seconds = time.perf_counter() - start
    test_accuracy = evaluation.accuracy(labels, probabilities)
    test_loss = evaluation.binary_cross_entropy(labels, probabilities)
    seconds_per_epoch = float(np.mean(timer.epoch_seconds))
    device = config.device_summary()
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
        "train_seconds": train_seconds,
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
    if write:
        _, results_dir = config.output_dirs(profile)
        stem = f"{dataset}_{record['model']}"
        # The model first: a results file always has its saved model beside it.
        text_model = export_text_model(model, prepared.vectorizer, prepared.sequence_length,
                                       truncating=prepared.truncating)
        text_model.save(config.models_dir(profile) / f"{stem}.keras")
        results.write_json(results_dir / f"{stem}.json", record)
    return record


def training_throughput(model, ids, labels, steps: int = 5) -> float:
    """Training samples per second on one batch, after a warm-up step.

    Trains the model for ``steps + 1`` steps: use a model you rebuild afterwards.
    """
    model.train_on_batch(ids, labels)  # builds and compiles the training graph
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(ids, labels)
    return steps * int(ids.shape[0]) / (time.perf_counter() - start)
