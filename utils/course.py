"""Run the whole course: every notebook, in order, each in a fresh kernel.

    python -m utils.course                      # full profile
    python -m utils.course --profile smoke      # the fast profile used by CI
    python -m utils.course notebooks/01_data_loading.ipynb

The profile goes to the kernels through ``$COURSE_PROFILE``. Executed copies
(with their outputs) are written to ``build/notebooks/<profile>/`` so the
committed notebooks stay output-free. A run of the whole course writes its
timings to ``results/course_time_<cpu|gpu>.json`` (``results/smoke/`` for the
smoke profile). Exits non-zero if any notebook fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from utils import config

NOTEBOOKS_DIR = config.REPO_ROOT / "notebooks"


def run_notebook(path: Path, out_dir: Path) -> tuple[bool, float, str]:
    """Execute one notebook in a fresh kernel; ``(ok, seconds, error line)``."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=None, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    error = ""
    try:
        client.execute()
    except CellExecutionError as exc:
        error = next((line for line in str(exc).splitlines()[::-1] if line.strip()), "cell failed")
    seconds = time.perf_counter() - start
    nbformat.write(notebook, out_dir / path.name)
    return not error, seconds, error


def write_timings(rows, total: float, profile) -> Path:
    """The whole course's wall time, per notebook, with the device that ran it."""
    device = config.device_summary()
    _, results_dir = config.output_dirs(profile)
    path = results_dir / f"course_time_{'gpu' if device['gpus'] else 'cpu'}.json"
    record = {"profile": profile.name, "device": device["device"], "total_seconds": total,
              "notebooks": {name: {"ok": ok, "seconds": seconds} for name, ok, seconds, _ in rows}}
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"Wrote {path}")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: all of notebooks/, in order)")
    parser.add_argument("--profile", choices=sorted(config.PROFILES),
                        default=os.environ.get(config.PROFILE_ENV, "full"))
    args = parser.parse_args(argv)

    os.environ[config.PROFILE_ENV] = args.profile
    notebooks = args.notebooks or sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
    out_dir = config.REPO_ROOT / "build" / "notebooks" / args.profile
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"Running {len(notebooks)} notebooks, profile {args.profile}; executed copies in {out_dir}")

    rows, start = [], time.perf_counter()
    for path in notebooks:
        print(f"-> {path.name} ...", flush=True)
        ok, seconds, error = run_notebook(Path(path), out_dir)
        rows.append((path.name, ok, seconds, error))
        print(f"   {'ok' if ok else 'FAILED'} in {seconds:.0f} s{': ' + error if error else ''}", flush=True)
    total = time.perf_counter() - start

    width = max(len(name) for name, *_ in rows) if rows else 10
    print(f"\n{'notebook':{width}s}  status  time (s)")
    for name, ok, seconds, _ in rows:
        print(f"{name:{width}s}  {'ok' if ok else 'FAILED':6s}  {seconds:8.1f}")
    print(f"Total wall time: {total:.0f} s ({total / 60:.1f} min), profile {args.profile}")
    if not args.notebooks:
        write_timings(rows, total, config.get_profile(args.profile))
    return 0 if all(ok for _, ok, *_ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
