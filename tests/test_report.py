"""tooling.report: the README's tables are the results files, to the digit."""

from tooling import report
from utils import config, results


def test_readme_table_matches_results_files():
    readme = report.README.read_text()
    assert report.render(readme, results.load_results(report.RESULTS_DIR), report.load_performance()) == readme, (
        "README.md's tables are stale: run python -m tooling.report")


def test_performance_page_tables_match_results_files():
    page = report.DETAILS.read_text()
    assert report.render_details(page, report.load_performance()) == page, (
        "docs/performance.md's tables are stale: run python -m tooling.report")


def test_check_names_the_stale_page(tmp_path, monkeypatch, capsys):
    readme, page = tmp_path / "README.md", tmp_path / "performance.md"
    readme.write_text(report.README.read_text())
    page.write_text(report.DETAILS.read_text().replace("| --- | ---: |", "| --- | --: |", 1))
    monkeypatch.setattr(report, "README", readme)
    monkeypatch.setattr(report, "DETAILS", page)
    monkeypatch.setattr(report.config, "REPO_ROOT", tmp_path)
    assert report.main(["--check"]) == report.OUT_OF_DATE
    expected = "performance.md's tables differ from results/: run python -m tooling.report"
    assert capsys.readouterr().out.strip() == expected
    assert report.main([]) == 0 and report.main(["--check"]) == 0, "a run mends the stale page"


def test_table_has_a_row_per_record():
    record = {"dataset": "imdb", "model": "lstm", "test_accuracy": 0.8765, "params": 1234, "epochs": 3,
              "seconds_per_epoch": 41.25, "train_samples_per_second": 545.4, "device": "CPU",
              "target_accuracy": 0.885, "meets_target": False}
    table = results.results_table([record, {**record, "model": "gru", "target_accuracy": None}])
    assert table.count("\n") == 5
    assert "| imdb | lstm | 87.65 % | 88.5 % missed | 1,234 | 3 | 41.2 | 545 |" in table
    assert "| imdb | gru | 87.65 % | – |" in table
    assert table.endswith("\n\nEvery run on CPU."), "one device: named once, under the table"
    mixed = results.results_table([record, {**record, "model": "gru", "device": "GPU"}])
    assert "| 545 | CPU |" in mixed and "| 545 | GPU |" in mixed and "Every run" not in mixed


def test_performance_tables_show_ratios_variants_and_course_time():
    row = {"model": "lstm", "train_samples_per_second": 700.0, "eval_samples_per_second": 2000.0,
           "seconds_per_epoch": 32.1, "epochs": 5, "test_accuracy": 0.87, "peak_memory_mib": 3000.0,
           "throughput_vs_baseline": 3.2}
    benchmark = {"setting": "full", "device": "CPU", "total_seconds": 1800.0, "rows": [row],
                 "lstm_variants": [{"variant": "length buckets (course)", "train_samples_per_second": 750.0}]}
    course = {"profile": "full", "device": "CPU", "total_seconds": 1500.0,
              "notebooks": {"01_data_loading.ipynb": {"ok": True, "seconds": 60.0}}}
    text = report.performance_tables(benchmark, course)
    assert "(full profile, CPU, 30 min in all)" in text
    assert "| lstm | 700 | 2,000 | 32.1 | 5 | 87.00 % | 3,000 | 3.20 |" in text
    assert "one change at a time" not in text, "the variants table lives in docs/performance.md"
    assert "| length buckets (course) | 750 |" in report.detail_tables(benchmark, None)
    assert "Whole course, full profile, CPU: **25.0 min**." in text
    assert "| 01_data_loading | 1.0 | – | ok |" in text, "runs before peak memory was measured show a dash"
    assert "no benchmark" in report.performance_tables(None, None)


def test_performance_tables_say_which_reference_targets_are_met():
    row = {"model": "lstm", "train_samples_per_second": 400.0, "eval_samples_per_second": 800.0,
           "seconds_per_epoch": 56.0, "epochs": 4, "test_accuracy": 0.887, "peak_memory_mib": 2000.0,
           "throughput_vs_baseline": 4.6}
    comparisons = {
        "tf_tutorial_bilstm": {"lstm_speed_ratio": 4.6, "lstm_accuracy_margin": 0.06,
                               "best_course_accuracy_margin": 0.07, "speed_ratio_target": 3.0, "meets_target": True},
        "bag_of_words": {"lstm_speed_ratio": 0.05, "lstm_accuracy_margin": -0.019,
                         "best_course_accuracy_margin": -0.008, "speed_ratio_target": None, "meets_target": False}}
    benchmark = {"profile": "full", "device": "CPU", "total_seconds": 4000.0, "rows": [row],
                 "comparisons": comparisons, "lstm_variants": []}
    text = report.performance_tables(benchmark, None)
    assert ("- against tf_tutorial_bilstm: the course LSTM at 4.60x its training samples/s, +6.00 points of test "
            "accuracy (target: at least 3x, ahead): **met**") in text
    assert "- against bag_of_words: the course's better gated model -0.80 points of test accuracy (target: ahead): " \
           "**missed**" in text


def test_course_time_shows_peak_memory_and_marks_failures():
    course = {"profile": "full", "device": "CPU", "total_seconds": 600.0, "notebooks": {
        "01_data_loading.ipynb": {"ok": True, "seconds": 48.0, "peak_memory_mib": 1234.4},
        "02_simple_rnn.ipynb": {"ok": False, "seconds": 3.0, "peak_memory_mib": 310.0}}}
    lines = report.course_time_table(course)
    assert lines[0] == "Whole course, full profile, CPU: **10.0 min**, **1 of 2 notebooks FAILED**."
    assert lines[4:] == ["| 01_data_loading | 0.8 | 1,234 | ok |", "| 02_simple_rnn | 0.1 | 310 | **FAILED** |"]


def test_course_time_shows_the_smoke_course_beside_the_full_one(tmp_path):
    full = {"profile": "full", "device": "CPU", "total_seconds": 600.0, "notebooks": {
        "01_data_loading.ipynb": {"ok": True, "seconds": 48.0, "peak_memory_mib": 1234.4},
        "02_simple_rnn.ipynb": {"ok": True, "seconds": 120.0, "peak_memory_mib": 900.0}}}
    smoke = {"profile": "smoke", "device": "CPU", "total_seconds": 90.0, "notebooks": {
        "01_data_loading.ipynb": {"ok": True, "seconds": 17.4, "peak_memory_mib": 700.0}}}
    (tmp_path / "smoke").mkdir()
    results.write_json(tmp_path / "course_time_cpu.json", full)
    results.write_json(tmp_path / "smoke" / "course_time_cpu.json", smoke)
    _, course_time, _ = report.load_performance(tmp_path)
    lines = report.course_time_table(course_time)
    assert lines[1] == "Smoke profile, CPU: **1.5 min**."
    assert lines[5:] == ["| 01_data_loading | 0.8 | 1,234 | ok | 17 |", "| 02_simple_rnn | 2.0 | 900 | ok | – |"]


def test_gpu_table_shows_each_backend_mask_and_cudnn_assertion():
    gpu = {"device": "GPU: NVIDIA H200", "precision_policy": "mixed_float16", "keras_version": "3.15.1",
           "total_seconds": 120.0, "rows": [
               {"model": "lstm", "backend": "jax", "masked": True, "cudnn_asserted": False, "sequence_length": 600,
                "train_samples_per_second": 5078.7, "seconds_per_epoch": 4.43, "epochs": 5, "test_accuracy": 0.8867},
               {"model": "lstm_unmasked_cudnn", "backend": "torch", "masked": False, "cudnn_asserted": True,
                "sequence_length": 600, "train_samples_per_second": 10452.2, "seconds_per_epoch": 2.16, "epochs": 6,
                "test_accuracy": 0.8862}]}
    text = report.detail_tables(None, gpu)
    assert "GPU: NVIDIA H200, mixed_float16" in text and "2 trainings in **2.0 min** in all" in text
    assert "| lstm | jax | yes | no | 600 | 5,079 | 4.4 | 5 | 88.67 % |" in text
    assert "| lstm_unmasked_cudnn | torch | no | yes | 600 | 10,452 | 2.2 | 6 | 88.62 % |" in text


def test_a_record_written_to_results_updates_the_readme_table(tmp_path, monkeypatch):
    """A full-profile run writes results/ and the README's table follows it, so the README
    test above passes after the course ran on any machine; a write elsewhere changes no page."""
    reference = tmp_path / "results"
    reference.mkdir()
    readme, page = tmp_path / "README.md", tmp_path / "performance.md"
    readme.write_text(report.README.read_text())
    page.write_text(report.DETAILS.read_text())
    for name in ("README", "DETAILS", "RESULTS_DIR"):
        monkeypatch.setattr(report, name, {"README": readme, "DETAILS": page, "RESULTS_DIR": reference}[name])
    record = results.read_json(config.REPO_ROOT / "results" / "imdb_lstm.json")
    moved = {**record, "test_accuracy": 0.5123}
    elsewhere = tmp_path / "smoke"
    elsewhere.mkdir()
    results.write_json(elsewhere / "imdb_lstm.json", moved)
    assert "51.23 %" not in readme.read_text(), "a write outside results/ leaves the pages alone"
    results.write_json(reference / "imdb_lstm.json", moved)
    assert "| imdb | lstm | 51.23 % |" in readme.read_text()
    assert report.main(["--check"]) == 0
