"""utils.config.setup: one call for profile, seed, folders, precision and strategy;
and the GPU path (mixed precision, cuDNN) exercised on a CPU with mocks."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.test_training import tiny_data
from utils import config, models, recipes, training


@pytest.fixture
def restore_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_setup_on_this_cpu(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    course = config.setup("smoke")
    assert course.profile is config.PROFILES["smoke"]
    assert course.precision_policy == "float32" == keras.mixed_precision.global_policy().name
    assert course.strategy.num_replicas_in_sync == 1
    assert (course.figures_dir, course.results_dir) == (tmp_path / "figures" / "smoke", tmp_path / "results" / "smoke")
    assert course.models_dir == tmp_path / "build" / "models" / "smoke"
    assert course.device["device"].startswith("CPU: ") and course.device["tensorflow_version"] == tf.__version__
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("Profile : smoke") and "precision float32, 1 replica(s)" in printed[1]


def test_setup_seeds(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    config.setup("smoke", seed=11, verbose=False)
    first = (np.random.rand(3), tf.random.uniform((3,)).numpy())
    config.setup("smoke", seed=11, verbose=False)
    np.testing.assert_array_equal(first[0], np.random.rand(3))
    np.testing.assert_array_equal(first[1], tf.random.uniform((3,)).numpy())


def test_relative_output_dir_counts_from_the_repository_root(monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", "build/relative-output-test")
    figures, _ = config.output_dirs(config.PROFILES["full"])
    assert figures == config.REPO_ROOT / "build" / "relative-output-test" / "figures"


@pytest.mark.parametrize("blocker", ["file", "read-only"])
def test_an_unwritable_output_folder_is_found_before_training(tmp_path, monkeypatch, blocker):
    if blocker == "file":
        (tmp_path / "out").write_text("not a folder")
    else:
        # Root ignores permission bits, so make writing fail the way a read-only disk does.
        (tmp_path / "out").mkdir()
        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")
        monkeypatch.setattr(config.tempfile, "TemporaryFile", refuse)
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path / "out"))
    with pytest.raises(config.SetupError, match="set COURSE_OUTPUT_DIR to a writable folder"):
        config.setup("smoke", verbose=False)


def test_setup_on_a_gpu_uses_mixed_precision_and_cudnn(monkeypatch, tmp_path, restore_policy):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    monkeypatch.setattr(config, "gpu_count", lambda: 1)
    monkeypatch.setattr(config, "device_summary", lambda: {"device": "GPU: 1 x mock", "cpu_flags": [],
                                                           "python_version": "", "tensorflow_version": "",
                                                           "keras_version": "", "keras_backend": ""})
    course = config.setup("smoke", verbose=False)
    assert course.precision_policy == "mixed_float16" == keras.mixed_precision.global_policy().name
    for name in ("lstm", "gru"):
        rec = recipes.recipe(name, word_vectors=False)
        model = recipes.build_course_model(rec, course)
        (layer,) = models.recurrent_layers(model)
        assert layer.use_cudnn is True, "on a GPU the builders insist on the fused kernel"
        assert layer.compute_dtype == "float16" and model.output.dtype == "float32"
    assert models.recurrent_layers(recipes.build_course_model(recipes.recipe("simple_rnn"), course))[0]


def test_no_cudnn_request_on_a_cpu(monkeypatch):
    monkeypatch.setattr(config, "gpu_count", lambda: 0)
    (layer,) = models.recurrent_layers(models.build_rnn_classifier("lstm", 30, units=4))
    assert layer.use_cudnn == "auto"


@pytest.mark.parametrize("policy", ["float32", "mixed_float16"])
def test_weight_averaging_survives_mixed_precision(policy, restore_policy):
    """Under mixed_float16 Keras wraps the optimizer in a LossScaleOptimizer whose
    use_ema reads False; broken variant: ``if model.optimizer.use_ema:`` in
    train_classifier, which skips the averaged validation under that policy."""
    keras.mixed_precision.set_global_policy(policy)
    config.seed_everything(5)
    prepared = tiny_data()
    model = models.build_rnn_classifier("lstm", 20, units=4, embedding_dim=4, learning_rate=0.05, ema_momentum=0.9)
    assert (type(model.optimizer).__name__ == "LossScaleOptimizer") == (policy == "mixed_float16")
    record = training.train_classifier(model, prepared, config.PROFILES["smoke"], dataset="tiny",
                                       epochs=4, patience=1, write=False)
    history = record["history"]
    assert record["ema_momentum"] == 0.9 and "val_accuracy_unaveraged" in history
    assert np.all(np.isfinite(history["loss"])) and model.output.dtype == "float32"
    best = record["best_epoch"] - 1
    loss, accuracy = model.evaluate(prepared.validation, verbose=0)
    assert accuracy == pytest.approx(history["val_accuracy"][best], abs=1e-6)
    assert loss == pytest.approx(history["val_loss"][best], rel=1e-3 if policy == "mixed_float16" else 1e-5)
