"""The course models on a GPU, where TensorFlow may be missing: export here, train there.

    python -m tooling.gpu_bench export build/gpu_bundle          # here (TensorFlow): data and models
    KERAS_BACKEND=jax python -m tooling.gpu_bench run build/gpu_bundle results/benchmark_gpu.json

``export`` vectorizes IMDB exactly as the course does (the recipes' split,
vocabulary, truncation and post-padding; the last 600 tokens, from which the
SimpleRNNs' last 200 are cut), writes the arrays, the word vectors and each
course model's architecture and optimizer from its recipe (``utils.recipes``).
``run`` needs only Keras 3 and NumPy: under the GPU's ``mixed_float16`` policy
it trains each course model as its recipe says (weight averaging, early
stopping on validation accuracy, the best epoch's averaged weights kept), in
fixed-length batches, and records training samples per second and test
accuracy. It also trains the LSTM once without a mask on pre-padded reviews
with ``use_cudnn=True``, so that Keras raises unless the fused cuDNN kernel
runs: Keras' JAX and PyTorch backends take cuDNN only for unmasked layers,
while the course's masked layers run a compiled loop there (on TensorFlow,
cuDNN also takes a right-padded mask).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

from utils import results

MODELS = ("simple_rnn", "stacked_rnn", "lstm", "gru")
UNMASKED = "lstm_unmasked_cudnn"
RUN_ORDER = (UNMASKED, "lstm", "gru", "simple_rnn", "stacked_rnn")  # the gated models first


def last_tokens(ids: np.ndarray, length: int) -> np.ndarray:
    """The last ``length`` tokens of each post-padded row, post-padded again."""
    lengths = (ids != 0).sum(axis=1)
    start = np.clip(lengths - length, 0, None)
    return np.take_along_axis(ids, start[:, None] + np.arange(length), axis=1)


def pre_padded(ids: np.ndarray) -> np.ndarray:
    """Post-padded rows with their padding moved to the front."""
    width = ids.shape[1]
    shift = width - (ids != 0).sum(axis=1)
    source = np.arange(width) - shift[:, None]
    return np.where(source >= 0, np.take_along_axis(ids, np.clip(source, 0, None), axis=1), 0)


def export_recipes(dataset: str) -> dict:
    """The recipes ``export`` writes for ``dataset``, by name.

    IMDB: the four course models and the LSTM unmasked for cuDNN. Sentiment140:
    the course's tweet LSTM and GRU, each also started from word vectors of
    the training tweets (which the tweet recipes do not use).
    """
    from utils import recipes

    if dataset == "imdb":
        found = {name: recipes.recipe(name) for name in MODELS}
        found[UNMASKED] = recipes.recipe("lstm", mask_zero=False, padding="pre", model=UNMASKED)
        return found
    found = {}
    for name in ("lstm", "gru"):
        found[name] = recipes.recipe(name, dataset=dataset)
        found[f"{name}_word_vectors"] = recipes.recipe(name, dataset=dataset, word_vectors=True,
                                                       model=f"{name}_word_vectors")
    return found


def export(out_dir: Path, profile_name: str = "full", dataset: str = "imdb") -> None:
    """Write ``arrays.npz``, ``word_vectors.npy`` and ``models.json`` to ``out_dir``."""
    import keras

    from utils import config, recipes

    course = config.setup(profile_name, verbose=False)
    # Built as the GPU builds them: float16 layers, a float32 output (see utils.models).
    keras.mixed_precision.set_global_policy("mixed_float16")
    chosen = export_recipes(dataset)
    longest = max(chosen.values(), key=lambda rec: rec.sequence_length)
    prepared = recipes.prepare_course_data(dataclasses.replace(longest, batching="fixed"), course.profile)
    arrays = {}
    for split in ("train", "validation", "test"):
        ids, labels = zip(*getattr(prepared, split).as_numpy_iterator())
        arrays[f"x_{split}"] = np.concatenate(ids).astype(np.int16)
        arrays[f"y_{split}"] = np.concatenate(labels).astype(np.int8)
    vectors = recipes.course_word_vectors(dataclasses.replace(longest, word_vectors=True), prepared)
    models = {}
    for name, rec in chosen.items():
        model = recipes.build_course_model(rec, course, word_vectors=vectors if rec.word_vectors else None)
        models[name] = {"recipe": dataclasses.asdict(rec), "architecture": json.loads(model.to_json()),
                        "optimizer": keras.optimizers.serialize(model.optimizer),
                        "epochs": recipes.epochs(rec, course.profile),
                        "batch_size": recipes.batch_size(rec, course.profile)}
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out_dir / "arrays.npz", **arrays)
    np.save(out_dir / "word_vectors.npy", vectors)
    (out_dir / "models.json").write_text(json.dumps({"profile": profile_name, "dataset": dataset, "models": models}))
    print(f"Wrote {out_dir}: {len(arrays['x_train']):,} {dataset} training texts, "
          f"{arrays['x_train'].shape[1]} tokens")


def _set_layer_options(config, class_name: str, **options):
    """Set ``options`` in the config of every layer of ``class_name`` (recursively)."""
    if isinstance(config, dict):
        if config.get("class_name") == class_name:
            config["config"].update(options)
        for value in config.values():
            _set_layer_options(value, class_name, **options)
    elif isinstance(config, list):
        for value in config:
            _set_layer_options(value, class_name, **options)


def train_one(spec: dict, data: dict, vectors: np.ndarray, seed: int = 42, global_clipnorm: bool = False) -> dict:
    """Train one exported model as its recipe says; its results row.

    ``global_clipnorm`` swaps the recipe's per-variable ``clipnorm`` for a
    ``global_clipnorm`` of the same value (notebook 03 explains the two).
    """
    import keras

    rec, architecture = spec["recipe"], spec["architecture"]
    split = dict(data)
    if rec["sequence_length"] < split["x_train"].shape[1]:
        split.update({f"x_{s}": last_tokens(split[f"x_{s}"], rec["sequence_length"])
                      for s in ("train", "validation", "test")})
    cudnn_unmasked = not rec["mask_zero"]
    if cudnn_unmasked:
        # Keras raises unless the fused kernel runs: the assertion that cuDNN is in use.
        _set_layer_options(architecture, rec["cell"].upper(), use_cudnn=True)
    if rec["padding"] == "pre":
        split.update({f"x_{s}": pre_padded(split[f"x_{s}"]) for s in ("train", "validation", "test")})
    optimizer = json.loads(json.dumps(spec["optimizer"]))  # a copy to edit
    settings = optimizer["config"]
    if optimizer["class_name"] == "LossScaleOptimizer":  # built under mixed_float16: the Adam inside
        settings = settings["inner_optimizer"]["config"]
    if global_clipnorm:
        settings.update(global_clipnorm=settings["clipnorm"] or settings["global_clipnorm"], clipnorm=None)
    clipping = "global_clipnorm" if settings["global_clipnorm"] else "clipnorm"
    keras.utils.set_random_seed(seed)
    model = keras.models.model_from_json(json.dumps(architecture))
    if rec["word_vectors"]:
        model.get_layer("embedding").set_weights([vectors])
    model.compile(optimizer=keras.optimizers.deserialize(optimizer), loss="binary_crossentropy",
                  metrics=["accuracy"])
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer), "float16 gradients need loss scaling"
    epoch_seconds = []
    timer = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: epoch_seconds.append(-time.perf_counter()),
        on_epoch_end=lambda epoch, logs: epoch_seconds.__setitem__(-1, epoch_seconds[-1] + time.perf_counter()))
    callbacks = [timer, keras.callbacks.SwapEMAWeights(swap_on_epoch=True),
                 keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=rec["patience"],
                                               restore_best_weights=True)]
    batch = spec.get("batch_size", 128)  # bundles exported before recipes named a batch size trained on 128
    history = model.fit(split["x_train"], split["y_train"], batch_size=batch, epochs=spec["epochs"],
                        validation_data=(split["x_validation"], split["y_validation"]), shuffle=True,
                        callbacks=callbacks, verbose=2)
    start = time.perf_counter()
    test_loss, test_accuracy = model.evaluate(split["x_test"], split["y_test"], batch_size=512, verbose=0)
    eval_seconds = time.perf_counter() - start
    steady = float(np.median(epoch_seconds[1:])) if len(epoch_seconds) > 1 else epoch_seconds[0]
    n_train = len(split["x_train"])
    return {"model": rec["model"] + ("_global_clipnorm" if global_clipnorm else ""), "cell": rec["cell"],
            "seed": seed, "clipping": f"{clipping}={settings[clipping]}",
            "masked": not cudnn_unmasked, "cudnn_asserted": cudnn_unmasked,
            "sequence_length": int(split["x_train"].shape[1]), "batch_size": batch,
            "test_accuracy": float(test_accuracy), "test_loss": float(test_loss),
            "epochs": len(epoch_seconds), "best_epoch": int(np.argmax(history.history["val_accuracy"])) + 1,
            "first_epoch_seconds": epoch_seconds[0], "seconds_per_epoch": steady,
            "train_samples_per_second": n_train / steady,
            "eval_samples_per_second": len(split["x_test"]) / eval_seconds,
            "history": {key: [float(v) for v in values] for key, values in history.history.items()}}


def run(bundle: Path, out_json: Path, models=RUN_ORDER, append: bool = False, seeds=(42,),
        clippings=("clipnorm",)) -> dict:
    """Train the exported models on this machine's accelerator; write and return the results."""
    import keras

    keras.mixed_precision.set_global_policy("mixed_float16")  # the compiled model then scales its loss
    exported = json.loads((bundle / "models.json").read_text())
    unknown = [name for name in models if name not in exported["models"]]
    if unknown:
        raise ValueError(f"{bundle} holds no {', '.join(unknown)}: it holds {', '.join(exported['models'])}.")
    with np.load(bundle / "arrays.npz") as stored:
        data = {name: stored[name].astype(np.int32) for name in stored.files}
    vectors = np.load(bundle / "word_vectors.npy")
    report = {"profile": exported["profile"], "dataset": exported.get("dataset", "imdb"),
              "keras_version": keras.__version__,
              "precision_policy": "mixed_float16", "device": _device_name(), "n_train": len(data["x_train"]),
              "n_validation": len(data["x_validation"]), "n_test": len(data["x_test"]), "rows": [],
              "total_seconds": 0.0}
    if append and out_json.is_file():  # another backend's rows, from an earlier run on this machine
        report = results.read_json(out_json)
    start = time.perf_counter() - report["total_seconds"]
    for name, seed, clipping in itertools.product(models, seeds, clippings):
        row = {"backend": keras.backend.backend(),
               **train_one(exported["models"][name], data, vectors, seed, clipping == "global_clipnorm")}
        print(json.dumps({key: value for key, value in row.items() if key != "history"}), flush=True)
        report["rows"].append(row)
        report["total_seconds"] = time.perf_counter() - start
        results.write_json(out_json, report)  # after each model: a run cut short keeps what it measured
    return report


def _device_name() -> str:
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return f"GPU: {jax.devices()[0].device_kind}" if jax.default_backend() == "gpu" else "CPU"
    if keras.backend.backend() == "torch":
        import torch

        return f"GPU: {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "CPU"
    return keras.backend.backend()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tooling.gpu_bench", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export_parser = commands.add_parser("export", help="vectorize the data and write the models (needs TensorFlow)")
    export_parser.add_argument("bundle", type=Path)
    export_parser.add_argument("--profile", default="full")
    export_parser.add_argument("--dataset", default="imdb", choices=("imdb", "sentiment140"))
    run_parser = commands.add_parser("run", help="train the exported models (Keras 3 on any backend)")
    run_parser.add_argument("bundle", type=Path)
    run_parser.add_argument("out_json", type=Path)
    run_parser.add_argument("--models", nargs="+", default=list(RUN_ORDER),
                            help="names in the export's models.json (default: the IMDB export's, gated first)")
    run_parser.add_argument("--append", action="store_true", help="add rows to an existing results file")
    run_parser.add_argument("--seeds", nargs="+", type=int, default=[42])
    run_parser.add_argument("--clipping", nargs="+", default=["clipnorm"], choices=("clipnorm", "global_clipnorm"),
                            help="train each model with the recipe's clipnorm and/or a global_clipnorm of that value")
    args = parser.parse_args(argv)
    if args.command == "export":
        export(args.bundle, args.profile, args.dataset)
    else:
        if not (args.bundle / "models.json").is_file():
            print(f"No exported models in {args.bundle}: run `python -m tooling.gpu_bench export {args.bundle}` "
                  "on a machine with TensorFlow first.", file=sys.stderr)
            return 2
        run(args.bundle, args.out_json, args.models, args.append, args.seeds, args.clipping)
    return 0


if __name__ == "__main__":
    sys.exit(main())
