"""utils.bench in its smoke profile: every model measured, the table written."""

import json

from utils import bench, recipes


def test_smoke_benchmark_writes_its_table(tmp_path, monkeypatch, capsys, real_data_dir):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    assert bench.main(["--profile", "smoke"]) == 0
    (path,) = (tmp_path / "results" / "smoke").glob("benchmark_*.json")
    table = json.loads(path.read_text())
    names = [row["model"] for row in table["rows"]]
    assert names == [*recipes.COURSE_MODELS, "tf_tutorial_bilstm"]
    for row in table["rows"]:
        assert row["train_samples_per_second"] > 0 and row["eval_samples_per_second"] > 0
        assert 0 <= row["test_accuracy"] <= 1 and row["peak_memory_mib"] > 0
    assert table["rows"][-1]["throughput_vs_baseline"] == 1.0
    assert "x baseline" in capsys.readouterr().out
    variants = table["lstm_variants"]
    assert [(row["batching"], row["op_determinism"]) for row in variants] == \
        [(batching, deterministic) for _, batching, deterministic, _ in bench.VARIANTS]
    assert all(row["train_samples_per_second"] > 0 and row["timed_batches"] == 5 for row in variants)
    # XLA needs op determinism off; where an earlier test turned it on, the row says so.
    for row, (_, _, _, jit_compile) in zip(variants, bench.VARIANTS):
        assert row["jit_compile"] == jit_compile or row["variant"].endswith("op determinism was already on)")
