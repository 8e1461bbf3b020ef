"""Shared code of the RNN sentiment course: data, models, training, plots.

Notebooks stay thin and import from here; every piece is unit-tested.

Importing this package imports TensorFlow, the course's Keras backend, quietly:
TensorFlow's C++ start-up and probing lines say nothing a student can act on
(docs/notebook-output.md lists each line, where it comes from and why it is
silenced). With KERAS_BACKEND set to another backend it leaves TensorFlow
alone, for tooling.gpu_bench on a GPU machine without it.
"""

import contextlib
import os
import re
import sys
import tempfile

# Read by TensorFlow once, when it is imported. Level 3 keeps fatal errors only: the two
# error-level lines TensorFlow prints in this course are not errors (a CPU-only machine's
# failed CUDA probe, and a tf.data rewrite under op determinism that trips on its own
# attribute). TF_CPP_MIN_LOG_LEVEL=0 before starting Jupyter shows everything again.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

# Written while TensorFlow's shared libraries load, before its log level applies: absl's
# notice that logging is not initialized yet, and info lines (no CUDA runtime on this machine).
IMPORT_NOTICE = re.compile(r"WARNING: All log messages before absl::InitializeLog\(\) is called|I\d{4} ")


@contextlib.contextmanager
def stderr_without(pattern: re.Pattern):
    """Hold back the lines on file descriptor 2 that start with ``pattern``; pass the rest on.

    Works at the descriptor level, so it also catches what C++ libraries write
    (and in a Jupyter kernel, what ipykernel would copy into the notebook).
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines(keepends=True)
            os.write(2, "".join(line for line in lines if not pattern.match(line)).encode())


# The course runs on TensorFlow. tooling.gpu_bench's training half also runs where Keras has
# another backend and TensorFlow is missing (a GPU machine with JAX or PyTorch only).
if os.environ["KERAS_BACKEND"] == "tensorflow":
    with stderr_without(IMPORT_NOTICE):
        import tensorflow  # noqa: E402, F401

    # TensorFlow's Python logger warns when a function is traced again for a new model or shape
    # (the memory task builds several): nothing a student can act on. Errors still show.
    tensorflow.get_logger().setLevel("ERROR")
