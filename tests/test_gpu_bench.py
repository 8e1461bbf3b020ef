"""tooling.gpu_bench: the arrays it derives, its CLI, and that it runs where TensorFlow is missing."""

import os
import subprocess
import sys

import numpy as np

from tooling import gpu_bench


def test_last_tokens_keeps_each_texts_end_and_pads_after_it():
    ids = np.array([[5, 6, 7, 8, 0, 0], [9, 10, 0, 0, 0, 0], [2, 3, 4, 5, 6, 7]])
    np.testing.assert_array_equal(gpu_bench.last_tokens(ids, 3), [[6, 7, 8], [9, 10, 0], [5, 6, 7]])


def test_pre_padding_moves_the_zeros_in_front_and_keeps_the_order():
    ids = np.array([[5, 6, 7, 0], [8, 0, 0, 0], [1, 2, 3, 4]])
    np.testing.assert_array_equal(gpu_bench.pre_padded(ids), [[0, 5, 6, 7], [0, 0, 0, 8], [1, 2, 3, 4]])


def test_layer_options_reach_layers_nested_anywhere_in_the_config():
    config = {"config": {"layers": [{"class_name": "LSTM", "config": {"units": 4}},
                                    {"class_name": "Bidirectional", "config": {
                                        "layer": {"class_name": "LSTM", "config": {"units": 4}}}}]}}
    gpu_bench._set_layer_options(config, "LSTM", use_cudnn=True)
    layers = config["config"]["layers"]
    assert layers[0]["config"]["use_cudnn"] is True
    assert layers[1]["config"]["layer"]["config"]["use_cudnn"] is True
    assert "use_cudnn" not in layers[1]["config"]


def test_run_without_an_export_says_what_to_do(tmp_path, capsys):
    assert gpu_bench.main(["run", str(tmp_path), str(tmp_path / "out.json")]) == 2
    assert "python -m tooling.gpu_bench export" in capsys.readouterr().err


def test_the_training_half_imports_without_tensorflow():
    # A GPU machine may have Keras on JAX or PyTorch and no TensorFlow at all.
    code = ("import sys; sys.modules['tensorflow'] = None; import tooling.gpu_bench; "
            "assert sys.modules['tensorflow'] is None")
    environment = {**os.environ, "KERAS_BACKEND": "jax"}
    subprocess.run([sys.executable, "-c", code], check=True, env=environment)
