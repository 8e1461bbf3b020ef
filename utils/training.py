"""Training, timing, evaluation and the results JSON of every model run."""

from __future__ import annotations

import json
import time

import keras
import numpy as np

from utils import config
from utils.models import export_text_model, recurrent_layers


# Course targets on the test set, full profile (the course's issues): recorded in each
# results file, so that the README table shows which are met.
TARGETS = {
    ("imdb", "simple_rnn"): 0.83, ("imdb", "stacked_rnn"): 0.83,
    ("imdb", "lstm"): 0.885, ("imdb", "gru"): 0.885,
    ("sentiment140", "lstm"): 0.76, ("sentiment140", "gru"): 0.76,
}


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


def train_classifier(model, prepared, profile, *, dataset: str, model_name: str | None = None,
                     epochs: int | None = None, patience: int = 3, seed: int = config.SEED,
                     write: bool = True) -> dict:
    """Fit with early stopping on validation accuracy, evaluate on the test set.

    The best epoch's weights are restored before testing: its averaged weights
    when the optimizer keeps a moving average (``use_ema``). ``patience`` is 3
    because a SimpleRNN's validation accuracy can dip for two epochs and then
    climb to its best (measured on IMDB). Returns the run's
    record (the results schema of DESIGN.md) and, with ``write``, saves it as
    ``results/<dataset>_<model_name>.json`` and the model, with its vectorizer
    in front so that it takes raw strings, as
    ``build/models/<profile>/<dataset>_<model_name>.keras``.
    """
    timer = EpochTimer()
    stopper = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience,
                                            restore_best_weights=True)
    callbacks = [timer, stopper]
    if model.optimizer.use_ema:
        # Validate the averaged weights, and hand them to the early stopping that keeps
        # the best; the order matters: each callback sees the weights the one before left.
        callbacks[1:1] = [UnaveragedValidation(prepared.validation),
                          keras.callbacks.SwapEMAWeights(swap_on_epoch=True)]
    start = time.perf_counter()
    history = model.fit(prepared.train, validation_data=prepared.validation,
                        epochs=epochs or profile.epochs, callbacks=callbacks,
                        verbose=profile.verbose)
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    test_loss, test_accuracy = model.evaluate(prepared.test, verbose=0)
    eval_seconds = time.perf_counter() - start
    seconds_per_epoch = float(np.mean(timer.epoch_seconds))
    device = config.device_summary()
    name = model_name or model.name
    target = TARGETS.get((dataset, name)) if profile.name == "full" else None
    record = {
        "dataset": dataset,
        "model": name,
        "profile": profile.name,
        "test_accuracy": float(test_accuracy),
        "test_loss": float(test_loss),
        "target_accuracy": target,
        "meets_target": None if target is None else bool(test_accuracy >= target),
        "params": int(model.count_params()),
        "ema_momentum": float(model.optimizer.ema_momentum) if model.optimizer.use_ema else None,
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
        "device": device["device"],
        "tensorflow_version": device["tensorflow_version"],
        "keras_version": device["keras_version"],
        "seed": seed,
        "history": {key: [float(v) for v in values] for key, values in history.history.items()},
    }
    print(f"{record['model']}: test accuracy {100 * test_accuracy:.2f} % on {prepared.n_test:,} "
          f"{dataset} texts, {record['epochs']} epochs of {seconds_per_epoch:.1f} s "
          f"({record['train_samples_per_second']:,.0f} samples/s), {record['params']:,} parameters")
    if target is not None:
        print(f"Course target {100 * target:.1f} %: {'met' if record['meets_target'] else 'MISSED'}")
    if write:
        _, results_dir = config.output_dirs(profile)
        stem = f"{dataset}_{record['model']}"
        (results_dir / f"{stem}.json").write_text(json.dumps(record, indent=2) + "\n")
        text_model = export_text_model(model, prepared.vectorizer, prepared.sequence_length)
        text_model.save(config.models_dir(profile) / f"{stem}.keras")
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


def predict_probabilities(model, batches) -> tuple[np.ndarray, np.ndarray]:
    """``(probabilities, labels)`` over a batched ``(ids, label)`` dataset.

    ``model.predict`` runs one compiled graph per batch; calling the model
    eagerly would run the recurrence step by step in Python (minutes for a
    600-token test set). ``batches`` must come in a fixed order (no shuffle).
    """
    labels = np.concatenate([np.asarray(label) for _, label in batches])
    probabilities = model.predict(batches.map(lambda ids, label: ids), verbose=0)
    return np.asarray(probabilities).reshape(-1), labels


def confusion_matrix(labels, probabilities, threshold: float = 0.5) -> np.ndarray:
    """2x2 counts: rows true negative/positive, columns predicted."""
    predicted = (np.asarray(probabilities) >= threshold).astype(int)
    matrix = np.zeros((2, 2), dtype=int)
    np.add.at(matrix, (np.asarray(labels).astype(int), predicted), 1)
    return matrix


def most_confident_mistakes(texts, labels, probabilities, n: int = 5) -> list[dict]:
    """The ``n`` wrong predictions the model was surest of."""
    labels, probabilities = np.asarray(labels), np.asarray(probabilities)
    wrong = np.flatnonzero((probabilities >= 0.5) != (labels == 1))
    confidence = np.abs(probabilities[wrong] - 0.5)
    return [{"text": texts[i], "label": int(labels[i]), "probability": float(probabilities[i])}
            for i in wrong[np.argsort(-confidence)][:n]]


def input_gradient_norms(model, ids, labels) -> np.ndarray:
    """Norm of d(loss)/d(embedded token) at each time step, averaged over the batch.

    How much the loss still "feels" the token at step t: for a plain RNN it
    fades with the distance from the end, the vanishing gradient. Pass rows
    without padding (texts at least as long as the sequence), so that no mask
    is needed between the layers.
    """
    import tensorflow as tf

    embedding = model.get_layer("embedding")
    rest = model.layers[model.layers.index(embedding) + 1:]
    with tf.GradientTape() as tape:
        hidden = embedding(tf.convert_to_tensor(ids))
        tape.watch(hidden)
        embedded = hidden
        for layer in rest:
            hidden = layer(hidden)
        loss = keras.losses.binary_crossentropy(tf.cast(labels, hidden.dtype)[:, None], hidden)
    grads = tape.gradient(loss, embedded)
    return tf.reduce_mean(tf.norm(grads, axis=-1), axis=0).numpy()


def prefix_probabilities(model, ids) -> np.ndarray:
    """P(positive) after each prefix of ``ids``: the head applied to every state.

    Uses copies of the model's recurrent layers that return their whole
    sequence of hidden states; dropout is off at inference, so the head sees
    exactly what it would see if the text ended at that token.
    """
    hidden = model.get_layer("embedding")(np.asarray(ids))
    for layer in recurrent_layers(model):
        sequence_layer = type(layer).from_config({**layer.get_config(), "return_sequences": True})
        sequence_layer.build(hidden.shape)
        sequence_layer.set_weights(layer.get_weights())
        hidden = sequence_layer(hidden)
    return np.asarray(model.get_layer("positive_probability")(hidden))[..., 0]


def report_evaluation(model, prepared, record: dict, figure_prefix: str, profile,
                      n_mistakes: int = 3) -> dict:
    """Training curves, confusion matrix and the surest mistakes of one run.

    Saves ``<figure_prefix>_history.png`` and ``<figure_prefix>_confusion.png``
    and returns the confusion matrix and the mistakes for the checks cell.
    """
    from utils import plots

    probabilities, labels = predict_probabilities(model, prepared.test)
    matrix = confusion_matrix(labels, probabilities)
    name = record["model"]
    plots.save_figure(plots.plot_history(record["history"], f"{name}: training curves"),
                      f"{figure_prefix}_history", profile)
    plots.save_figure(plots.plot_confusion_matrix(
        matrix, f"{name}: test set ({matrix.sum():,} texts)"), f"{figure_prefix}_confusion", profile)
    texts = [text.decode("utf-8", errors="replace") for text, _ in prepared.test_texts.as_numpy_iterator()]
    mistakes = most_confident_mistakes(texts, labels, probabilities, n_mistakes)
    print(f"Test accuracy {100 * np.mean((probabilities >= 0.5) == labels):.2f} %; "
          f"the {len(mistakes)} surest mistakes:")
    for mistake in mistakes:
        truth = "positive" if mistake["label"] else "negative"
        print(f"\n[true {truth}, P(positive) = {100 * mistake['probability']:.1f} %] "
              f"{mistake['text'][:400]}{' …' if len(mistake['text']) > 400 else ''}")
    return {"confusion": matrix, "mistakes": mistakes, "probabilities": probabilities}
