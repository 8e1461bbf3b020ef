"""Every pytest run in this repository, whatever paths it is given, runs the
notebooks in the smoke profile: ``pytest notebooks/04_lstm.ipynb`` alone does
not load ``tests/conftest.py``, and a full-profile kernel would overwrite the
committed ``results/`` and ``figures/``."""

import os

os.environ["COURSE_PROFILE"] = "smoke"
os.environ["COURSE_BATCH_RUN"] = "1"  # one line per epoch (utils.config.keras_verbosity)
