"""The results files: what one training run records, where, and how it is read.

Every training run of the course writes ``results/<dataset>_<model>.json``
(``results/<profile>/`` for a profile other than ``full``). Notebook 07 and
the README tables read these files; no number is copied by hand.

Schema of one run's record (all keys always present; ``None`` where a value
does not apply):

==========================  ==================================================
``dataset``                 ``"imdb"`` or ``"sentiment140"``
``model``                   course model name (see :data:`MODEL_ORDER`)
``profile``                 ``"full"`` or ``"smoke"``
``test_accuracy``           accuracy on the whole test split (0 to 1)
``test_loss``               binary cross-entropy on the test split
``target_accuracy``         the course's target (full profile), else ``None``
``meets_target``            ``test_accuracy >= target_accuracy``, else ``None``
``params``                  trainable and non-trainable parameters
``ema_momentum``            weight averaging momentum, ``None`` without it
``epochs``                  epochs trained (early stopping may end sooner)
``best_epoch``              the epoch whose weights were kept (1-based)
``train_seconds``           wall time of ``fit``, validation included
``seconds_per_epoch``       mean training time of an epoch, validation excluded
``train_samples_per_second``  ``n_train / seconds_per_epoch``
``eval_samples_per_second``   test examples per second of the one prediction pass
``n_train`` ...             sizes of the training, validation and test parts
``sequence_length``         most tokens a text keeps
``vocabulary_size``         vectorizer vocabulary, padding and OOV included
``recipe``                  the model's recipe (:mod:`utils.recipes`) or ``{}``
``device``                  e.g. ``"CPU: <model name> (2 cores)"``
``cpu_flags``               the CPU's vector instruction sets (reproducibility)
``tensorflow_version``, ``keras_version``, ``seed``
``history``                 Keras' per-epoch logs (``loss``, ``accuracy``,
                            ``val_*``, ``val_accuracy_unaveraged``)
``test_predictions``        in memory only, never written: the test set's
                            ``probabilities`` and ``labels``, in the order of
                            the pipeline, for :func:`utils.evaluation.show_evaluation`
==========================  ==================================================

Files are written atomically (a temporary file in the same folder, then a
rename), so an interrupted run never leaves half a file. A file written to
``results/`` itself (the full profile) also regenerates the tables of the
README and docs/performance.md (:mod:`tooling.report`), so the pages and the
tests that compare them with ``results/`` agree after any run.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

# The course's models, in teaching order: tables and figures list them so.
MODEL_ORDER = ["simple_rnn", "stacked_rnn", "lstm", "gru", "bidirectional_lstm", "bag_of_words"]

# Course targets on the test set, full profile: recorded in each results file,
# so that the README table shows which are met.
TARGETS = {
    ("imdb", "simple_rnn"): 0.83, ("imdb", "stacked_rnn"): 0.83,
    ("imdb", "lstm"): 0.895, ("imdb", "gru"): 0.895,
    ("sentiment140", "lstm"): 0.77, ("sentiment140", "gru"): 0.77,
}

# Simpler models measured on this course's data: a course model below its
# baseline in the full profile has a bug, whatever its target says. The
# notebooks' Checks cells assert against these.
BASELINES = {
    ("imdb", "simple_rnn"): ("a plain masked SimpleRNN-128 on 300 tokens", 0.764),
    ("imdb", "stacked_rnn"): ("a plain masked SimpleRNN-128 on 300 tokens", 0.764),
    ("imdb", "lstm"): ("the TensorFlow RNN tutorial's model", 0.856),
    ("imdb", "gru"): ("the TensorFlow RNN tutorial's model", 0.856),
    ("sentiment140", "gru"): ("a plain masked GRU-64", 0.716),
    ("sentiment140", "lstm"): ("a plain masked GRU-64", 0.716),
}

# The key of a record that stays in memory: arrays, not JSON.
IN_MEMORY_KEY = "test_predictions"

# Files in results/ that are not one training run's record.
OTHER_FILES = ("benchmark_", "course_time_", "levers_")


class ResultsFileError(RuntimeError):
    """A results file is missing or unreadable; the message names it."""


def saved_part(record: dict) -> dict:
    """``record`` without what stays in memory (:data:`IN_MEMORY_KEY`): what its file holds."""
    return {key: value for key, value in record.items() if key != IN_MEMORY_KEY}


def write_json(path: Path, record: dict) -> Path:
    """Write ``record`` as JSON to ``path`` atomically: all or nothing. What
    stays in memory (:data:`IN_MEMORY_KEY`) is left out."""
    path, record = Path(path), saved_part(record)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w") as file:
            file.write(json.dumps(record, indent=2) + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's file is the owner's alone; a results file is not
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _refresh_pages(path)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _refresh_pages(path: Path) -> None:
    """A record written to the reference folder ``results/`` updates the README's
    and docs/performance.md's tables at once, so the pages never disagree with it."""
    from tooling import report  # tooling imports utils: import here, not at the top

    try:
        pages = report.refresh_after_write(path)
    except ResultsFileError as error:
        print(f"The README's tables were not updated: {error}")
        return
    if pages:
        print(f"Updated the tables of {' and '.join(page.name for page in pages)} from results/ "
              "(git diff shows what this run changed).")


def read_json(path: Path) -> dict:
    """One results file, or :class:`ResultsFileError` naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsFileError(f"{path}: unreadable results file ({type(error).__name__}: {error}); "
                               "delete it and re-run the notebook that writes it.") from None


def load_results(results_dir: Path) -> list[dict]:
    """Every training run's record in ``results_dir``, in file-name order."""
    return [read_json(path) for path in sorted(Path(results_dir).glob("*.json"))
            if not path.name.startswith(OTHER_FILES)]


def order_key(record: dict):
    """Sort key: data set, then :data:`MODEL_ORDER`, unknown models last."""
    name = record["model"]
    return (MODEL_ORDER.index(name) if name in MODEL_ORDER else len(MODEL_ORDER), name)


def select_best(records: list[dict], dataset: str, models=None) -> dict:
    """The run of ``dataset`` with the highest **validation** accuracy.

    Model selection never looks at the test set; each record's
    ``val_accuracy`` history holds the validation accuracy of every epoch,
    and its best epoch is the one that was kept.
    """
    candidates = [r for r in records if r["dataset"] == dataset and (models is None or r["model"] in models)
                  and r.get("history", {}).get("val_accuracy")]
    if not candidates:
        raise ResultsFileError(f"No {dataset} run with a validation history among the results.")
    return max(candidates, key=lambda r: max(r["history"]["val_accuracy"]))


def results_table(records: list[dict]) -> str:
    """A Markdown table: one row per results file. The device is named once
    under the table when every run had the same one, in a column otherwise."""
    one_device = len({r["device"] for r in records}) <= 1
    lines = ["| data set | model | test accuracy | target | parameters | epochs | s/epoch | train samples/s |"
             + ("" if one_device else " device |"),
             "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |" + ("" if one_device else " --- |")]
    for r in records:
        target = r.get("target_accuracy")
        status = "–" if target is None else f"{100 * target:.1f} % {'met' if r['meets_target'] else 'missed'}"
        lines.append(f"| {r['dataset']} | {r['model']} | {100 * r['test_accuracy']:.2f} % | {status} | {r['params']:,} "
                     f"| {r['epochs']} | {r['seconds_per_epoch']:.1f} | {r['train_samples_per_second']:,.0f} |"
                     + ("" if one_device else f" {r['device']} |"))
    if records and one_device:
        lines += ["", f"Every run on {records[0]['device']}."]
    return "\n".join(lines)
