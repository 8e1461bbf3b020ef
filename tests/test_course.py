"""tooling.course: bad arguments stop the run before it starts, a dead kernel does
not, and only a complete successful run replaces the committed course time
(tests/test_rendering.py tests the rendered course). Also: importing utils
keeps TensorFlow's C++ log lines out of a notebook's output.

The runner tests execute tiny notebooks (a second or two each), never the course."""

import json
import os
import re
import subprocess
import sys

import nbformat
import pytest

from tooling import course
from utils import config


def write_notebook(path, *sources):
    """A notebook of code cells at ``path``."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def output_dir(tmp_path, monkeypatch):
    """build/ and results/ of this test only."""
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path / "out"))
    return tmp_path / "out"


def test_bad_arguments_stop_the_run_before_any_notebook(tmp_path, output_dir, capsys):
    good = write_notebook(tmp_path / "good.ipynb", "print('ran')")
    text = tmp_path / "notes.txt"
    text.write_text("not a notebook")
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": 3')
    for bad, message in [(tmp_path / "missing.ipynb", "no such file"), (text, "not a notebook; give .ipynb"),
                         (broken, "not a readable notebook (NotJSONError")]:
        assert course.main([str(good), str(bad), "--profile", "smoke"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and str(bad) in err
    assert not (output_dir / "build" / "notebooks").exists(), "the good notebook must not have run"


def test_unknown_profile_in_the_environment_is_a_bad_argument(tmp_path, output_dir, monkeypatch, capsys):
    monkeypatch.setenv(config.PROFILE_ENV, "bogus")
    assert course.main([str(write_notebook(tmp_path / "good.ipynb", "1"))]) == 2
    assert "Unknown course profile 'bogus'" in capsys.readouterr().err
    assert not (output_dir / "build").exists()


def test_a_dead_kernel_is_recorded_and_the_run_goes_on(tmp_path, output_dir, capsys):
    killed = write_notebook(tmp_path / "a_killed.ipynb", "x = 1",
                            "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    failing = write_notebook(tmp_path / "b_failing.ipynb", "raise ValueError('boom')")
    good = write_notebook(tmp_path / "c_good.ipynb", "block = b'x' * (200 * 2**20)",
                          "import os\nprint(os.environ['COURSE_BATCH_RUN'], os.environ['COURSE_PROFILE'])")
    assert course.main([str(killed), str(failing), str(good), "--profile", "smoke"]) == 1

    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert ": cell 2: the kernel died (killed by SIGKILL, as the system does when memory runs out)" in out
    assert re.search(r"FAILED after \d+ s: cell 1: ValueError: boom\n", out)
    record = json.loads((output_dir / "build" / "course_time_last_run.json").read_text())
    rows = record["notebooks"]
    assert list(rows) == ["a_killed.ipynb", "b_failing.ipynb", "c_good.ipynb"]
    assert [rows[name]["ok"] for name in rows] == [False, False, True]
    assert rows["c_good.ipynb"]["error"] is None
    assert 200 <= rows["c_good.ipynb"]["peak_memory_mib"] < 1000, "the kernel held a 200 MiB block"
    assert record["complete"] is False and record["ok"] is False and record["profile"] == "smoke"
    assert not (output_dir / "results" / "smoke" / "course_time_cpu.json").exists()

    executed = nbformat.read(output_dir / "build" / "notebooks" / "smoke" / "c_good.ipynb", as_version=4)
    assert executed.cells[1].outputs[0]["text"] == "1 smoke\n", "kernels run with COURSE_BATCH_RUN=1"
    assert executed.metadata[course.RUN_METADATA] == rows["c_good.ipynb"]


def test_only_a_complete_successful_run_replaces_the_course_time(output_dir):
    profile = config.get_profile("smoke")
    rows = {"01_a.ipynb": {"ok": True, "seconds": 12.0, "peak_memory_mib": 300.0, "error": None}}
    committed = course.write_timings(rows, 12.5, profile, complete=True)
    assert committed == output_dir / "results" / "smoke" / "course_time_cpu.json"
    record = json.loads(committed.read_text())
    assert record["notebooks"] == rows and record["total_seconds"] == 12.5 and record["complete"] is True
    assert record["cpu"].endswith(f"({os.cpu_count()} cores)")

    failed = {"01_a.ipynb": {**rows["01_a.ipynb"], "ok": False, "error": "cell 3: ValueError: boom"}}
    for rows_of_run, complete in [(failed, True), (rows, False)]:
        path = course.write_timings(rows_of_run, 1.0, profile, complete=complete)
        assert path == output_dir / "build" / "course_time_last_run.json"
        assert json.loads(committed.read_text()) == record, "results/ must keep the complete run"


def test_one_line_strips_colour_codes():
    assert course._one_line("\x1b[0;31mValueError\x1b[0m: boom\n  at line 3") == "ValueError: boom at line 3"


def test_html_only_without_executed_notebooks_is_a_bad_argument(output_dir, capsys):
    assert course.main(["--html-only", "--profile", "smoke"]) == 2
    assert "No executed notebooks in" in capsys.readouterr().err


def test_peak_memory_of_this_process_is_at_least_its_current_memory():
    import psutil

    current_mib = psutil.Process().memory_info().rss / 2**20
    assert course.peak_memory_mib(os.getpid()) >= current_mib - 1


def test_stderr_without_drops_only_matching_lines(capfd):
    import utils

    with utils.stderr_without(re.compile(r"I\d{4} ")):
        os.write(2, b"I0000 00:00:1.0 1 cudart_stub.cc:31] Could not find cuda drivers\nE0000 a real error\n")
    assert capfd.readouterr().err == "E0000 a real error\n"


def test_importing_utils_keeps_tensorflow_log_lines_out(tmp_path):
    # The two error-level lines seen in notebooks came from a failed CUDA probe on a CPU-only machine
    # and from tf.data's op-determinism rewrite of a parallel map that looks up a vocabulary.
    script = (
        "import utils\n"
        "import tensorflow as tf\n"
        "tf.config.experimental.enable_op_determinism()\n"
        "table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(['a'], [1]), -1)\n"
        "ids = tf.data.Dataset.from_tensor_slices(['a', 'b']).map(table.lookup, num_parallel_calls=tf.data.AUTOTUNE)\n"
        "print(list(ids.as_numpy_iterator()))\n"
    )
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TF_CPP")}
    run = subprocess.run([sys.executable, "-c", script], cwd=config.REPO_ROOT, env=environment,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[np.int32(1), np.int32(-1)]"
    log_lines = [line for line in run.stderr.splitlines() if re.match(r"^[EWI]\d{4} |WARNING: All log messages", line)]
    assert log_lines == []


def test_an_executed_training_notebook_reads_cleanly(tmp_path, output_dir, real_data_dir):
    """A training notebook run by the course runner in the smoke profile, through the course's
    code paths (setup, a recipe's data, a visible ``model.fit`` with the course's callbacks, and
    the variant helper): its executed copy prints at most one line per epoch (no progress bar
    redrawn into hundreds of lines), no TensorFlow C++ log line and no Keras warning. Small
    (2 epochs of a tweet SimpleRNN, twice), so that it takes seconds, not the minute of notebook 07."""
    notebook = write_notebook(
        tmp_path / "training.ipynb",
        "from utils import config, recipes, training\nimport keras\ncourse = config.setup()",
        "rec = recipes.recipe('simple_rnn', dataset='sentiment140', epochs=2)\n"
        "prepared = recipes.prepare_course_data(rec, course.profile)",
        "model = keras.Sequential([keras.Input(shape=(None,), dtype='int32'),\n"
        "    keras.layers.Embedding(recipes.vocabulary_size(rec, course.profile), 16, mask_zero=True),\n"
        "    keras.layers.SimpleRNN(16), keras.layers.Dense(1, activation='sigmoid')])\n"
        "model.compile(optimizer=keras.optimizers.Adam(use_ema=True), loss='binary_crossentropy',\n"
        "              metrics=['accuracy'])\n"
        "history = model.fit(prepared.fresh_train(), validation_data=prepared.validation, epochs=2,\n"
        "                    shuffle=False,\n"
        "                    callbacks=training.course_callbacks(model, prepared, patience=1),\n"
        "                    verbose=config.keras_verbosity())",
        "recipes.train_course_model(rec, course, prepared=prepared, write=False)")
    assert course.main(["--profile", "smoke", str(notebook)]) == 0
    executed = nbformat.read(output_dir / "build" / "notebooks" / "smoke" / notebook.name, as_version=4)
    lines = [line for cell in executed.cells if cell.cell_type == "code" for output in cell.outputs
             for line in (output.get("text") or "").splitlines()]
    assert len(lines) < 40, f"{len(lines)} output lines"
    assert not [line for line in lines if re.match(r"^[EWI]\d{4} ", line)], "TensorFlow C++ log lines"
    assert not [line for line in lines if "Warning" in line], "warnings"
    assert sum("val_accuracy" in line for line in lines) == 4, "one line per epoch, per model"


def test_the_runner_starts_kernels_without_the_unencrypted_tcp_warning(tmp_path, output_dir, capfd):
    # Broken variant: kernels over TCP; ipykernel 7 then warns of eavesdropping at every start.
    good = write_notebook(tmp_path / "a_good.ipynb", "print('ran')")
    assert course.main([str(good), "--profile", "smoke"]) == 0
    captured = capfd.readouterr()
    assert "without encryption" not in captured.out + captured.err
