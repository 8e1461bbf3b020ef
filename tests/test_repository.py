"""Habits that keep the repository clean: the linter passes, notebooks are
committed without outputs, every notebook starts with one setup call, and
`utils` is importable from anywhere in the environment."""

import json
import re
import shutil
import subprocess
import sys

import pytest

from utils import config

NOTEBOOKS = sorted((config.REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def code_cells(path):
    return [cell for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"]


def test_ruff_passes_on_utils_tests_and_notebooks():
    ruff = shutil.which("ruff") or str(config.REPO_ROOT / ".venv" / "bin" / "ruff")
    done = subprocess.run([ruff, "check", "utils", "tooling", "tests", "notebooks"], cwd=config.REPO_ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_committed_without_outputs(path):
    dirty = [i for i, cell in enumerate(code_cells(path)) if cell.get("outputs") or cell.get("execution_count")]
    assert not dirty, f"{path.name}: code cells {dirty} carry outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_first_code_cell_is_the_setup_call(path):
    source = "".join(code_cells(path)[0]["source"]).rstrip()
    calls = ("course = config.setup()", f'course = config.setup(notebook="{path.name[:2]}")')
    assert source.endswith(calls), f"{path.name} must start with {calls[1]} (or {calls[0]})"
    assert "sys.path" not in "".join("".join(c["source"]) for c in code_cells(path))


def test_utils_imports_from_any_folder(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import utils.recipes, utils.config; print(utils.config.REPO_ROOT)"],
                          cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(config.REPO_ROOT)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_a_lecture(path):
    """Goals up front, a Checks cell, 2 to 4 exercises each followed by tagged solution code, a summary."""
    cells = json.loads(path.read_text())["cells"]
    markdown = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"]
    assert "**You will learn**" in markdown[0] and "**Assumes**" in markdown[0], f"{path.name}: opening"
    assert any(re.search(r"^## Checks", text, re.M) for text in markdown), f"{path.name}: no Checks section"
    assert any(re.search(r"^## Summary", text, re.M) for text in markdown), f"{path.name}: no summary"
    exercises = [i for i, cell in enumerate(cells) if cell["cell_type"] == "markdown"
                 and "".join(cell["source"]).lstrip().startswith("### Exercise")]
    assert 2 <= len(exercises) <= 4, f"{path.name}: {len(exercises)} exercises"
    for i in exercises:
        following = cells[i + 1]
        assert following["cell_type"] == "code" and "solution" in following["metadata"].get("tags", []), (
            f"{path.name}: the exercise in cell {i} has no solution cell tagged 'solution' after it")


def test_no_build_artifact_is_tracked():
    """The set-up command (an editable install) and a course run write these; tracked, they
    would show as modified files in a fresh clone before the course has even run."""
    tracked = subprocess.run(["git", "ls-files"], cwd=config.REPO_ROOT, capture_output=True, text=True).stdout
    artifacts = [path for path in tracked.splitlines()
                 if re.search(r"(^|/)([^/]+\.egg-info|build|__pycache__|\.ipynb_checkpoints)/", path)]
    assert not artifacts, f"build artifacts tracked in git: {artifacts[:5]}"
    ignored = subprocess.run(["git", "check-ignore", "-q", "rnn_sentiment_course.egg-info/PKG-INFO"],
                             cwd=config.REPO_ROOT)
    assert ignored.returncode == 0, "the editable install's egg-info must be ignored"
