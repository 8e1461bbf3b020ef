"""A student edits a notebook's Model cell, and the notebook still runs to its end.

Notebook 04's LSTM made 32 units wide instead of 64, run in the smoke profile in a fresh kernel
(about 40 s): the Checks cell passes, the run says it is not the course's model, and it writes
its record, saved model and figures under ``build/edited/`` while the course's own results
stay untouched.
"""

import json
import os
import subprocess
import sys

from utils import config, recipes

COURSE_LAYER = 'keras.layers.LSTM(64, name="lstm_1")'
EDITED_LAYER = 'keras.layers.LSTM(32, name="lstm_1")'


def test_a_narrower_lstm_runs_to_the_end_and_writes_beside_the_course(tmp_path):
    notebook = json.loads((config.REPO_ROOT / "notebooks" / "04_lstm.ipynb").read_text())
    model_cells = [cell for cell in notebook["cells"] if COURSE_LAYER in "".join(cell["source"])]
    assert len(model_cells) == 1, "fixture: the Model cell of notebook 04"
    model_cells[0]["source"] = "".join(model_cells[0]["source"]).replace(COURSE_LAYER, EDITED_LAYER)
    edited = tmp_path / "notebooks" / "04_lstm.ipynb"
    edited.parent.mkdir()
    edited.write_text(json.dumps(notebook))
    output = tmp_path / "output"
    env = {**os.environ, config.OUTPUT_ENV: str(output)}

    done = subprocess.run([sys.executable, "-m", "tooling.course", "--profile", "smoke", str(edited)],
                          cwd=config.REPO_ROOT, env=env, capture_output=True, text=True)

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    executed = (output / "build" / "notebooks" / "smoke" / "04_lstm.ipynb").read_text()
    assert "Not the course's lstm (lstm_1: units=32 instead of 64)" in executed
    assert "All checks passed." in executed
    record = json.loads((output / "build" / "edited" / "results" / "smoke" / "imdb_lstm.json").read_text())
    assert record["recipe"] == {"edited_from": "lstm", "changes": ["lstm_1: units=32 instead of 64"]}
    assert recipes.edited(record)
    assert (output / "build" / "edited" / "figures" / "smoke" / "04_lstm_history.png").is_file()
    assert (output / "build" / "edited" / "build" / "models" / "smoke" / "imdb_lstm.keras").is_file()
    assert not (output / "results" / "smoke" / "imdb_lstm.json").exists(), "the course's record is not replaced"
    assert not (output / "figures" / "smoke" / "04_lstm_history.png").exists()
