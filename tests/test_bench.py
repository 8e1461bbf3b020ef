"""tooling.bench in its smoke profile: every model measured, the table written."""

import json

import numpy as np
import pytest

from tooling import bench
from utils import recipes


def test_smoke_benchmark_writes_its_table(tmp_path, monkeypatch, capsys, real_data_dir):
    """Among the slowest unit tests (about 60 s on 2 cores): it trains each of the benchmark's seven
    models at smoke sizes (one epoch each), through the same code as the full benchmark, which
    nothing else runs end to end."""
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    assert bench.main(["--profile", "smoke"]) == 0
    (path,) = (tmp_path / "results" / "smoke").glob("benchmark_*.json")
    table = json.loads(path.read_text())
    names = [row["model"] for row in table["rows"]]
    assert names == [*recipes.COURSE_MODELS, "tf_tutorial_bilstm", "keras_io_bilstm", "bag_of_words"]
    for row in table["rows"]:
        assert np.isfinite(row["train_samples_per_second"]) and row["train_samples_per_second"] > 0
        assert np.isfinite(row["eval_samples_per_second"]) and row["eval_samples_per_second"] > 0
        # One smoke epoch measures speed; the word vectors' start and the bag of words leave chance in it
        # (the SimpleRNNs and the tutorial, at Adam 1e-4 on 1,000 reviews, need more).
        if row["model"] in ("lstm", "gru", "bag_of_words"):
            assert row["test_accuracy"] > 0.5, f"{row['model']} above chance even at smoke sizes"
        assert 0.0 <= row["test_accuracy"] <= 1.0
        if row["model"] in recipes.COURSE_MODELS:
            assert row["epochs"] == 1, "the smoke benchmark's one-epoch cap"
        assert np.isfinite(row["test_loss"])
        assert row["peak_memory_mib"] > 0
    tutorial = next(row for row in table["rows"] if row["model"] == "tf_tutorial_bilstm")
    assert tutorial["throughput_vs_baseline"] == 1.0, "the tutorial row is the throughput baseline"
    lstm = next(row for row in table["rows"] if row["model"] == "lstm")
    for reference, comparison in table["comparisons"].items():
        other = next(row for row in table["rows"] if row["model"] == reference)
        assert comparison["lstm_speed_ratio"] == pytest.approx(
            lstm["train_samples_per_second"] / other["train_samples_per_second"])
        assert comparison["lstm_accuracy_margin"] == pytest.approx(lstm["test_accuracy"] - other["test_accuracy"])
        assert comparison["speed_ratio_target"] == bench.SPEED_TARGETS[reference]
        assert comparison["meets_target"] == bench.compare(
            {row["model"]: row for row in table["rows"]}, reference)["meets_target"]
    assert "x baseline" in capsys.readouterr().out
    variants = table["lstm_variants"]
    assert [(row["batching"], row["op_determinism"]) for row in variants] == \
        [(batching, deterministic) for _, batching, deterministic, _ in bench.VARIANTS]
    assert all(row["train_samples_per_second"] > 0 and row["timed_batches"] == 5 for row in variants)
    # XLA needs op determinism off; where an earlier test turned it on, the row says so.
    for row, (_, _, _, jit_compile) in zip(variants, bench.VARIANTS):
        assert row["jit_compile"] == jit_compile or row["variant"].endswith("op determinism was already on)")


def _row(model, samples_per_second, accuracy):
    return {"model": model, "train_samples_per_second": samples_per_second, "test_accuracy": accuracy}


@pytest.mark.parametrize("ratio, accuracy, met", [(3.0, 0.88, True), (2.9, 0.88, False), (4.0, 0.86, False)])
def test_speed_target_needs_the_ratio_and_the_accuracy(ratio, accuracy, met):
    rows = {"lstm": _row("lstm", 300.0 * ratio, accuracy), "gru": _row("gru", 250.0, 0.80),
            "tf_tutorial_bilstm": _row("tf_tutorial_bilstm", 300.0, 0.87)}
    assert bench.compare(rows, "tf_tutorial_bilstm")["meets_target"] is met


def test_bag_of_words_target_is_the_better_gated_model_ahead():
    rows = {"lstm": _row("lstm", 400.0, 0.887), "gru": _row("gru", 350.0, 0.91),
            "bag_of_words": _row("bag_of_words", 9000.0, 0.906)}
    comparison = bench.compare(rows, "bag_of_words")
    assert comparison["meets_target"] and comparison["best_course_accuracy_margin"] == pytest.approx(0.004)
    assert comparison["lstm_accuracy_margin"] == pytest.approx(-0.019)
