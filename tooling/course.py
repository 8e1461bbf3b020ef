"""Run the whole course: every notebook, in order, each in a fresh kernel.

    python -m tooling.course                      # full profile
    python -m tooling.course --profile smoke      # the fast profile used by CI
    python -m tooling.course notebooks/01_data_loading.ipynb
    python -m tooling.course --html               # run, then render the course to build/html/
    python -m tooling.course --html-only          # render the executed copies already there

The profile goes to the kernels through ``$COURSE_PROFILE``, and
``$COURSE_BATCH_RUN=1`` tells them that nobody watches (Keras then prints one
line per epoch instead of a progress bar). Every argument is checked before
the first notebook starts; a bad one ends the run with one line and exit
code 2.

Executed copies (with their outputs, and their run time, peak memory and
status in the metadata key ``course_run``) are written to
``build/notebooks/<profile>/`` so the committed notebooks stay output-free.
A notebook that fails, or whose kernel dies, is recorded and the run goes on;
the run exits 1 if any notebook failed.

Timings: only a complete, successful run of every course notebook replaces
``results/course_time_<cpu|gpu>.json`` (``results/smoke/`` for the smoke
profile), which the README's performance section reads. Any other run writes
``build/course_time_last_run.json``.

``--html`` renders every executed copy to ``build/html/<notebook>.html`` and
writes the course map ``build/html/index.html`` (:mod:`tooling.site`,
docs/rendering.md). ``$COURSE_OUTPUT_DIR`` moves ``build/`` as it moves
``results/``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError

from tooling.site import RUN_METADATA, render_html
from utils import config, results

NOTEBOOKS_DIR = config.REPO_ROOT / "notebooks"
ANSI_CODE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class ArgumentError(ValueError):
    """A bad notebook path or option; the message says which and what to do."""


def course_notebooks() -> list[Path]:
    """The course's notebooks, in teaching order."""
    return sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def build_dir() -> Path:
    """``build/`` of the repository, or of ``$COURSE_OUTPUT_DIR`` when set."""
    return config.output_base() / "build"


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path``, or :class:`ArgumentError` saying why it cannot run."""
    if not path.exists():
        raise ArgumentError(f"{path}: no such file; give the path of a notebook, e.g. notebooks/01_data_loading.ipynb.")
    if not path.is_file() or path.suffix != ".ipynb":
        raise ArgumentError(f"{path}: not a notebook; give .ipynb files.")
    try:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # nbformat raises NotJSONError, ValidationError, TypeError, ... on a broken file
        brief = " ".join(str(error).split())[:200]
        raise ArgumentError(f"{path}: not a readable notebook ({type(error).__name__}: {brief}).") from None
    return notebook


def peak_memory_mib(pid: int) -> float:
    """Peak resident memory of process ``pid`` so far, in MiB.

    Linux keeps the high-water mark (``VmHWM``); elsewhere this is the current
    resident memory, so a caller samples it often.
    """
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return psutil.Process(pid).memory_info().rss / 2**20
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise ProcessLookupError(f"process {pid} has exited")  # a zombie's status has no memory lines


class KernelMemory:
    """The peak resident memory of one kernel process, sampled in a background thread.

    ``watch(pid)`` starts sampling every ``interval`` seconds (which also
    catches the peak of a kernel that dies mid-cell), ``sample()`` takes one
    more now, ``stop()`` ends sampling and returns the peak in MiB (``None``
    if never sampled).
    """

    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self.peak_mib: float | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, pid: int) -> None:
        self._pid = pid
        self._thread = threading.Thread(target=self._sample_until_stopped, daemon=True)
        self._thread.start()

    def sample(self) -> None:
        try:
            mib = peak_memory_mib(self._pid)
        except (OSError, psutil.Error):  # the process is gone
            return
        with self._lock:
            self.peak_mib = max(self.peak_mib or 0.0, mib)

    def _sample_until_stopped(self) -> None:
        while True:
            self.sample()
            if self._stopped.wait(self.interval):
                return

    def stop(self) -> float | None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()
        return self.peak_mib


def _one_line(text: str) -> str:
    """``text`` without terminal colour codes, on one line."""
    return " ".join(ANSI_CODE.sub("", text).split())


def _death(process) -> str:
    """How a kernel process ended: the signal that killed it, or its exit code."""
    code = process.poll() if process is not None else None
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        hint = ", as the system does when memory runs out" if -code == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return "exit code unknown" if code is None else f"exit code {code}"


def run_notebook(notebook: nbformat.NotebookNode, path: Path, out_dir: Path, env: dict[str, str]) -> dict:
    """Execute ``notebook`` (read from ``path``) in a fresh kernel with environment ``env``;
    write the executed copy to ``out_dir``.

    Returns ``{"ok", "seconds", "peak_memory_mib", "error"}`` (``error`` is
    ``None`` when it ran through); the executed copy carries the same record
    in its metadata. A failing cell or a dying kernel is recorded, not raised.
    """
    memory, where = KernelMemory(), {"cell": 0, "process": None}
    # ipykernel 7 warns at every start that its local TCP traffic is unencrypted: nothing a
    # student can act on. Kernel errors still show.
    client = NotebookClient(notebook, timeout=None, kernel_name="python3",
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            resources={"metadata": {"path": str(path.parent)}})

    def kernel_started(**_):
        where["process"] = client.km.provisioner.process
        memory.watch(where["process"].pid)

    client.on_notebook_start = kernel_started
    client.on_cell_start = lambda cell_index, **_: where.update(cell=cell_index + 1)
    client.on_cell_executed = lambda **_: memory.sample()

    start, error = time.perf_counter(), None
    try:
        client.execute(env=env)
    except CellExecutionError as exc:
        error = _one_line(f"cell {where['cell']}: {exc.ename}: {exc.evalue}")
    except DeadKernelError:
        error = f"cell {where['cell']}: the kernel died ({_death(where['process'])})"
    seconds = time.perf_counter() - start
    peak = memory.stop()
    record = {"ok": error is None, "seconds": seconds,
              "peak_memory_mib": None if peak is None else round(peak, 1), "error": error,
              "finished": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}  # the site dates the run
    notebook.metadata[RUN_METADATA] = record
    nbformat.write(notebook, out_dir / path.name)
    return record


def _cpu() -> str:
    return f"{config.cpu_info()[0]} ({os.cpu_count()} cores)"


def write_timings(rows: dict[str, dict], total: float, profile, complete: bool) -> Path:
    """Write the run's timings; only a complete, successful run goes to ``results/``."""
    device = config.device_summary()
    ok = all(row["ok"] for row in rows.values())
    record = {"profile": profile.name, "device": device["device"], "cpu": _cpu(),
              "complete": complete, "ok": ok, "total_seconds": total, "notebooks": rows}
    if complete and ok:
        _, results_dir = config.output_dirs(profile)
        path = results_dir / f"course_time_{'gpu' if device['gpus'] else 'cpu'}.json"
    else:
        path = build_dir() / "course_time_last_run.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        why = "some notebooks failed" if complete else "not every course notebook ran"
        print(f"Not a complete, successful run ({why}): results/ left as it was.")
    results.write_json(path, record)
    print(f"Wrote {path}")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: all of notebooks/, in order)")
    parser.add_argument("--profile", choices=sorted(config.PROFILES),
                        help=f"sizes of the run (default: ${config.PROFILE_ENV}, else full)")
    rendering = parser.add_mutually_exclusive_group()
    rendering.add_argument("--html", action="store_true",
                           help="after the run, render the executed notebooks and the course map to build/html/")
    rendering.add_argument("--html-only", action="store_true",
                           help="only render the executed notebooks already in build/notebooks/<profile>/")
    args = parser.parse_args(argv)

    try:
        profile = config.get_profile(args.profile)
        out_dir = build_dir() / "notebooks" / profile.name
        if args.html_only:
            if args.notebooks:
                raise ArgumentError("--html-only renders the executed copies; it takes no notebook paths.")
            if not any(out_dir.glob("*.ipynb")):
                raise ArgumentError(f"No executed notebooks in {out_dir}: run python -m tooling.course "
                                    f"--profile {profile.name} first.")
            print(f"Wrote {render_html(out_dir, build_dir() / 'html')}")
            return 0
        paths = [path.resolve() for path in args.notebooks] or course_notebooks()
        if not paths:
            raise ArgumentError(f"No notebooks in {NOTEBOOKS_DIR}.")
        notebooks = [(path, read_notebook(path)) for path in paths]
        if len({path.name for path in paths}) < len(paths):
            raise ArgumentError("Two notebooks share a file name; their executed copies would overwrite each other.")
    except ValueError as error:  # ArgumentError, or get_profile's unknown profile
        print(f"tooling.course: {error}", file=sys.stderr)
        return 2

    kernel_env = {**os.environ, config.PROFILE_ENV: profile.name, config.BATCH_RUN_ENV: "1"}
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"Running {len(notebooks)} notebooks, profile {profile.name}; executed copies in {out_dir}")

    rows, start = {}, time.perf_counter()
    for path, notebook in notebooks:
        print(f"-> {path.name} ...", flush=True)
        row = rows[path.name] = run_notebook(notebook, path, out_dir, kernel_env)
        outcome = "" if row["ok"] else f": {row['error']}"
        print(f"   {'ok' if row['ok'] else 'FAILED'} after {row['seconds']:.0f} s{outcome}", flush=True)
    total = time.perf_counter() - start

    width = max(len(name) for name in rows)
    print(f"\n{'notebook':{width}s}  status  time (s)  peak MiB")
    for name, row in rows.items():
        peak = "–" if row["peak_memory_mib"] is None else f"{row['peak_memory_mib']:,.0f}"
        print(f"{name:{width}s}  {'ok' if row['ok'] else 'FAILED':6s}  {row['seconds']:8.1f}  {peak:>8s}")
    print(f"Total wall time: {total:.0f} s ({total / 60:.1f} min), profile {profile.name}")
    write_timings(rows, total, profile, complete=set(paths) == set(course_notebooks()))
    if args.html:
        print(f"Wrote {render_html(out_dir, build_dir() / 'html')}")
    return 0 if all(row["ok"] for row in rows.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
