"""utils.report: the README's results table is the results files, to the digit."""

from utils import report


def test_readme_table_matches_results_files():
    readme = report.README.read_text()
    assert report.render(readme, report.load_results()) == readme, (
        "README.md's results table is stale: run python -m utils.report")


def test_table_has_a_row_per_record():
    record = {"dataset": "imdb", "model": "lstm", "test_accuracy": 0.8765, "params": 1234, "epochs": 3,
              "seconds_per_epoch": 41.25, "train_samples_per_second": 545.4, "device": "CPU",
              "target_accuracy": 0.885, "meets_target": False}
    table = report.results_table([record, {**record, "model": "gru", "target_accuracy": None}])
    assert table.count("\n") == 3
    assert "| imdb | lstm | 87.65 % | 88.5 % missed | 1,234 | 3 | 41.2 | 545 | CPU |" in table
    assert "| imdb | gru | 87.65 % | – |" in table
