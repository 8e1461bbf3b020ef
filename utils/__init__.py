"""Shared code of the RNN sentiment course: data, models, training, plots.

Notebooks stay thin and import from here; every piece is unit-tested.
"""

import os

# TensorFlow's C++ start-up chatter (CUDA probing, oneDNN notes) drowns the
# first cell of every notebook; keep warnings and errors only.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
