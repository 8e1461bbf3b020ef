"""The README's results table, generated from ``results/*.json``.

    python -m utils.report          # rewrite the table in README.md
    python -m utils.report --check  # exit 1 if README.md is out of date

The table sits between two marker comments; nothing in it is typed by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from utils import config

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
README = config.REPO_ROOT / "README.md"


def load_results(results_dir: Path | None = None) -> list[dict]:
    results_dir = results_dir or config.REPO_ROOT / "results"
    # One file per training run; benchmark and course timings have their own schema.
    return [json.loads(path.read_text()) for path in sorted(results_dir.glob("*.json"))
            if not path.name.startswith(("benchmark_", "course_time_"))]


def results_table(records: list[dict]) -> str:
    """A Markdown table: one row per results file."""
    lines = ["| data set | model | test accuracy | target | parameters | epochs | s/epoch | train samples/s | device |",
             "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | --- |"]
    for r in records:
        target = r.get("target_accuracy")
        status = "–" if target is None else f"{100 * target:.1f} % {'met' if r['meets_target'] else 'missed'}"
        lines.append(f"| {r['dataset']} | {r['model']} | {100 * r['test_accuracy']:.2f} % | {status} | {r['params']:,} "
                     f"| {r['epochs']} | {r['seconds_per_epoch']:.1f} | {r['train_samples_per_second']:,.0f} "
                     f"| {r['device']} |")
    return "\n".join(lines)


def render(readme: str, records: list[dict]) -> str:
    """``readme`` with the text between the markers replaced by the table."""
    if BEGIN not in readme or END not in readme:
        raise ValueError(f"README.md lacks the markers {BEGIN} and {END}.")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{results_table(records)}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that README.md is up to date")
    args = parser.parse_args(argv)
    current = README.read_text()
    updated = render(current, load_results())
    if args.check:
        if updated != current:
            print("README.md's results table differs from results/*.json: run python -m utils.report")
            return 1
        return 0
    README.write_text(updated)
    print(f"Wrote the results table ({len(load_results())} rows) into {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
