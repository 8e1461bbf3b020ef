"""The README's results and performance tables and docs/performance.md's
detail tables, generated from ``results/``.

    python -m tooling.report          # rewrite the tables in README.md and docs/performance.md
    python -m tooling.report --check  # exit 1 if either is out of date

Exit status 2 (both forms): a results file is unreadable, e.g. truncated by
an interrupted write; the one-line message names it, and both pages are left
as it was. ``--results-dir`` reads another results folder (default ``results/``).

The results table comes from the training runs' ``results/*.json``; the
README's performance tables (the benchmark's models, the course's wall time)
from ``results/benchmark_cpu.json`` and ``results/course_time_cpu.json``; the
details page's (the LSTM one change at a time, the GPU run) from
``results/benchmark_cpu.json`` and ``results/benchmark_gpu.json``. Each sits
between two marker comments; nothing in them is typed by hand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from utils import config, results

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
PERFORMANCE_BEGIN, PERFORMANCE_END = "<!-- performance:begin -->", "<!-- performance:end -->"
DETAILS_BEGIN, DETAILS_END = "<!-- performance-details:begin -->", "<!-- performance-details:end -->"
README = config.REPO_ROOT / "README.md"
DETAILS = config.REPO_ROOT / "docs" / "performance.md"
RESULTS_DIR = config.REPO_ROOT / "results"
SMOKE_COURSE_TIME = "course_time_cpu.json"  # under results/smoke/, committed: the README shows it
OUT_OF_DATE, UNREADABLE_RESULTS = 1, 2  # exit statuses besides 0


def load_performance(results_dir: Path | None = None) -> tuple[dict | None, dict | None, dict | None]:
    """``(benchmark, course_time, gpu_benchmark)``: the CPU benchmark and course
    time and :mod:`tooling.gpu_bench`'s run, ``None`` where a file is missing. The
    smoke course's time (``results/smoke/course_time_cpu.json``, committed too) rides
    along as ``course_time["smoke"]``, so that one table shows both profiles.

    Raises :class:`utils.results.ResultsFileError` naming a file that is unreadable.
    """
    results_dir = results_dir or RESULTS_DIR
    found = [results_dir / name for name in ("benchmark_cpu.json", "course_time_cpu.json", "benchmark_gpu.json")]
    benchmark, course_time, gpu = (results.read_json(path) if path.is_file() else None for path in found)
    smoke = results_dir / "smoke" / SMOKE_COURSE_TIME
    if course_time and smoke.is_file():
        course_time = {**course_time, "smoke": results.read_json(smoke)}
    return benchmark, course_time, gpu


def performance_tables(benchmark: dict | None, course_time: dict | None) -> str:
    """The README's tables: the benchmark's models, then the course's wall time, as Markdown."""
    lines = []
    if benchmark:
        lines += [f"Benchmark ({benchmark.get('profile') or benchmark['setting']} profile, {benchmark['device']}, "
                  f"{benchmark['total_seconds'] / 60:.0f} min in all):", "",
                  "| model | train samples/s | eval samples/s | s/epoch | epochs | test accuracy | peak MiB "
                  "| × baseline |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in benchmark["rows"]:
            lines.append(f"| {r['model']} | {r['train_samples_per_second']:,.0f} | {r['eval_samples_per_second']:,.0f} "
                         f"| {r['seconds_per_epoch']:.1f} | {r['epochs']} | {100 * r['test_accuracy']:.2f} % "
                         f"| {r['peak_memory_mib']:,.0f} | {r['throughput_vs_baseline']:.2f} |")
        lines += comparison_lines(benchmark.get("comparisons", {}))
    if course_time:
        lines += [""] if lines else []
        lines += course_time_table(course_time)
    return "\n".join(lines).strip() or "(no benchmark or course timing in results/ yet)"


def comparison_lines(comparisons: dict) -> list[str]:
    """One line per reference: the course LSTM's speed ratio and accuracy margin, against the target."""
    lines = []
    for reference, c in comparisons.items():
        verdict = "**met**" if c["meets_target"] else "**missed**"
        if c["speed_ratio_target"] is None:
            lines.append(f"- against {reference}: the course's better gated model "
                         f"{100 * c['best_course_accuracy_margin']:+.2f} points of test accuracy "
                         f"(target: ahead): {verdict}")
        else:
            lines.append(f"- against {reference}: the course LSTM at {c['lstm_speed_ratio']:.2f}x its training "
                         f"samples/s, {100 * c['lstm_accuracy_margin']:+.2f} points of test accuracy (target: at least "
                         f"{c['speed_ratio_target']:g}x, ahead): {verdict}")
    return [""] + lines if lines else []


def detail_tables(benchmark: dict | None, gpu_benchmark: dict | None) -> str:
    """docs/performance.md's tables: the course LSTM one change at a time, and the GPU run."""
    lines = []
    if benchmark:
        lines += ["| course LSTM, one change at a time | train samples/s |", "| --- | ---: |"]
        lines += [f"| {v['variant']} | {v['train_samples_per_second']:,.0f} |" for v in benchmark["lstm_variants"]]
    if gpu_benchmark:
        lines += [""] if lines else []
        lines += gpu_table(gpu_benchmark)
    return "\n".join(lines).strip() or "(no benchmark in results/ yet)"


def _failures(course_time: dict) -> str:
    rows = course_time["notebooks"]
    failed = sum(not row["ok"] for row in rows.values())
    return f", **{failed} of {len(rows)} notebooks FAILED**" if failed else ""


def course_time_table(course_time: dict) -> list[str]:
    """The whole course's wall time, then one row per notebook: minutes, peak memory, status;
    with ``course_time["smoke"]``, the smoke course's total and seconds per notebook beside them.

    A failed notebook is marked in its row and in the total, so its time is
    never read as a real run time.
    """
    rows, smoke = course_time["notebooks"], course_time.get("smoke")
    lines = [f"Whole course, {course_time['profile']} profile, {course_time['device']}: "
             f"**{course_time['total_seconds'] / 60:.1f} min**{_failures(course_time)}."]
    if smoke:
        lines.append(f"Smoke profile, {smoke['device']}: **{smoke['total_seconds'] / 60:.1f} min**{_failures(smoke)}.")
    smoke_rows = smoke["notebooks"] if smoke else {}
    lines += ["", "| notebook | minutes | peak memory (MiB) | status |" + (" smoke seconds |" if smoke else ""),
              "| --- | ---: | ---: | --- |" + (" ---: |" if smoke else "")]
    for name, row in rows.items():
        peak = row.get("peak_memory_mib")  # runs before the runner measured memory lack it
        line = (f"| {name.removesuffix('.ipynb')} | {row['seconds'] / 60:.1f} "
                f"| {'–' if peak is None else f'{peak:,.0f}'} | {'ok' if row['ok'] else '**FAILED**'} |")
        if smoke:
            quick = smoke_rows.get(name)
            line += " – |" if quick is None else f" {quick['seconds']:.0f}{'' if quick['ok'] else ' FAILED'} |"
        lines.append(line)
    return lines


def gpu_table(gpu_benchmark: dict) -> list[str]:
    """One row per model of a :mod:`tooling.gpu_bench` run."""
    lines = [f"On a GPU ({gpu_benchmark['device']}, {gpu_benchmark['precision_policy']}, Keras "
             f"{gpu_benchmark['keras_version']} without TensorFlow, `tooling.gpu_bench`): {len(gpu_benchmark['rows'])} "
             f"trainings in **{gpu_benchmark['total_seconds'] / 60:.1f} min** in all.", "",
             "| model | backend | mask | cuDNN asserted | tokens | train samples/s | s/epoch | epochs "
             "| test accuracy |", "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in gpu_benchmark["rows"]:
        lines.append(f"| {r['model']} | {r['backend']} | {'yes' if r['masked'] else 'no'} "
                     f"| {'yes' if r['cudnn_asserted'] else 'no'} | {r['sequence_length']} "
                     f"| {r['train_samples_per_second']:,.0f} | {r['seconds_per_epoch']:.1f} | {r['epochs']} "
                     f"| {100 * r['test_accuracy']:.2f} % |")
    return lines


def _replace_block(readme: str, begin: str, end: str, body: str, page: str = "README.md") -> str:
    if begin not in readme or end not in readme:
        raise ValueError(f"{page} lacks the markers {begin} and {end}.")
    head, rest = readme.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def render(readme: str, records: list[dict], performance: tuple = (None, None, None)) -> str:
    """``readme`` with the text between each pair of markers replaced by its table;
    ``performance`` is :func:`load_performance`'s triple."""
    benchmark, course_time, _ = performance
    readme = _replace_block(readme, BEGIN, END, results.results_table(records))
    return _replace_block(readme, PERFORMANCE_BEGIN, PERFORMANCE_END, performance_tables(benchmark, course_time))


def render_details(page: str, performance: tuple = (None, None, None)) -> str:
    """docs/performance.md with its detail tables replaced."""
    benchmark, _, gpu_benchmark = performance
    return _replace_block(page, DETAILS_BEGIN, DETAILS_END, detail_tables(benchmark, gpu_benchmark),
                          "docs/performance.md")


def stale_pages(results_dir: Path | None = None) -> dict[Path, str]:
    """The pages whose tables differ from ``results_dir`` (default ``results/``),
    each with its regenerated text.

    Raises :class:`utils.results.ResultsFileError` naming an unreadable file.
    """
    results_dir = results_dir or RESULTS_DIR
    records, performance = results.load_results(results_dir), load_performance(results_dir)
    current = {README: README.read_text(), DETAILS: DETAILS.read_text()}
    pages = {README: render(current[README], records, performance),
             DETAILS: render_details(current[DETAILS], performance)}
    return {path: text for path, text in pages.items() if text != current[path]}


def refresh_after_write(path: Path) -> list[Path]:
    """Called by :func:`utils.results.write_json`: when ``path`` lies in the
    reference folder ``results/`` (a full-profile run), rewrite the README's and
    docs/performance.md's tables that it changed, so that the pages always show
    what ``results/`` holds; so does the smoke course's time, which the tables show
    too. Other files elsewhere (smoke records, tests) change nothing."""
    path = Path(path).resolve()
    smoke_time = path == (RESULTS_DIR / "smoke" / SMOKE_COURSE_TIME).resolve()
    if path.parent != RESULTS_DIR.resolve() and not smoke_time:
        return []
    stale = stale_pages()
    for page, text in stale.items():
        page.write_text(text)
    return list(stale)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only check that README.md and docs/performance.md are up to date")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help="the results folder to read")
    args = parser.parse_args(argv)
    try:
        stale = stale_pages(args.results_dir)
    except results.ResultsFileError as error:
        print(error, file=sys.stderr)
        return UNREADABLE_RESULTS
    if args.check:
        for path in stale:
            print(f"{path.relative_to(config.REPO_ROOT)}'s tables differ from results/: run python -m tooling.report")
        return OUT_OF_DATE if stale else 0
    for path, text in stale.items():
        path.write_text(text)
    written = " and ".join(str(path.relative_to(config.REPO_ROOT)) for path in stale)
    print(f"Results and performance tables: wrote {written or 'neither page (both were up to date)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
