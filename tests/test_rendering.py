"""tooling.site: the rendered course. Pages load no script from the network that
they can do without (MathJax from the local copy, the CDN only as its
fallback), link the course map and each other, fold the solutions, show
Markdown outputs as tables, no builder's absolute path and this run's time;
the map counts and links the failures and names the machine and date.

Each test renders two or three small executed notebooks built here; nothing
is executed."""

import json
import re
from html.parser import HTMLParser

import nbformat
import pytest

from tooling import course, site
from utils import config, text

EQUATION = r"$$\begin{aligned} i_t &= \sigma(W_i x_t + U_i h_{t-1} + b_i) \end{aligned}$$"
RESULTS_TABLE = "| model | test accuracy |\n|---|---|\n| lstm | 88.1 % |\n| gru | 87.9 % |\n"
FINISHED = "2031-05-04T13:20:00+02:00"


@pytest.fixture
def output_dir(tmp_path, monkeypatch):
    """build/ and results/ of this test only."""
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path / "out"))
    return tmp_path / "out"


@pytest.fixture
def local_mathjax(tmp_path, monkeypatch):
    """A stand-in for the jupyter-server-mathjax package's MathJax folder."""
    static = tmp_path / "mathjax_package" / "static"
    (static / "config").mkdir(parents=True)
    (static / "MathJax.js").write_text("/* MathJax */")
    (static / "config" / "TeX-AMS-MML_HTMLorMML-full.js").write_text("/* config */")
    monkeypatch.setattr(site, "mathjax_source", lambda: static)
    return static


def stream(text_):
    return nbformat.v4.new_output("stream", name="stdout", text=text_)


def executed_notebook(title: str, run: dict, solution: str, next_stem: str | None = None,
                      failing: bool = False) -> nbformat.NotebookNode:
    """A notebook as the runner leaves it: outputs, a solution cell, the run record."""
    notebook = nbformat.v4.new_notebook()
    next_line = f"\n\n**Next:** [the next one]({next_stem}.ipynb)" if next_stem else ""
    notebook.cells = [
        nbformat.v4.new_markdown_cell(f"# {title}\n\nYou will learn:\n\n- to read **{title}**\n- to check it\n\n"
                                      f"{EQUATION}"),
        nbformat.v4.new_code_cell("course = config.setup()", execution_count=1, outputs=[stream(
            "Profile : full\nRun time: 4.2 min in the last complete full-profile run (CPU: Old (2 cores))\n"
            "Run time: 0.3 min in the last complete smoke-profile run (CPU: Old (2 cores))\n")]),
        nbformat.v4.new_code_cell("print('hello')", execution_count=2, outputs=[
            stream(f"hello\nresults read from {config.REPO_ROOT / 'results'}\n"),
            nbformat.v4.new_output("display_data", data={"text/markdown": RESULTS_TABLE,
                                                         "text/plain": "<Markdown object>"})]),
        nbformat.v4.new_markdown_cell("### Exercise 1 — try it" + next_line),
        nbformat.v4.new_code_cell(solution, metadata={"tags": ["solution"]}, execution_count=3),
    ]
    if failing:  # the runner counts every cell: cell 3 is the page's In [2]
        notebook.cells[2].outputs.append(nbformat.v4.new_output("error", ename="ValueError", evalue="<bad>",
                                                                traceback=["ValueError: <bad>"]))
        for cell in notebook.cells[3:]:
            if cell.cell_type == "code":
                cell.execution_count = None
    notebook.metadata[course.RUN_METADATA] = run
    return notebook


RUNS = {"01_first": {"ok": True, "seconds": 90.0, "peak_memory_mib": 1234.5, "error": None, "finished": FINISHED},
        "02_second": {"ok": False, "seconds": 30.4, "peak_memory_mib": 800.0, "error": "cell 3: ValueError: <bad>",
                      "finished": FINISHED}}


def render(output_dir, runs=RUNS):
    """Write the executed copies and a timings file as a smoke run leaves them; render the site."""
    executed_dir = output_dir / "build" / "notebooks" / "smoke"
    executed_dir.mkdir(parents=True)
    stems = list(runs)
    for i, (stem, run) in enumerate(runs.items()):
        notebook = executed_notebook(f"Notebook {stem}", run, f"answer = 42  # solution of {stem}",
                                     next_stem=stems[i + 1] if i + 1 < len(stems) else None,
                                     failing=not run["ok"])
        nbformat.write(notebook, executed_dir / f"{stem}.ipynb")
    timings = {"device": "CPU: Test CPU (2 cores)", "cpu": "Test CPU (2 cores)",
               "notebooks": {f"{stem}.ipynb": run for stem, run in runs.items()}}
    (output_dir / "build" / "course_time_last_run.json").write_text(json.dumps(timings))
    assert course.main(["--html-only", "--profile", "smoke"]) == 0
    html_dir = output_dir / "build" / "html"
    return html_dir, {stem: (html_dir / f"{stem}.html").read_text() for stem in runs}


class Resources(HTMLParser):
    """Every address a page loads: scripts, stylesheets, images, frames, and script imports."""

    def __init__(self):
        super().__init__()
        self.loaded, self.fallbacks, self._in_script = [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self._in_script = True
            if attrs.get("src"):
                self.loaded.append(attrs["src"])
            if attrs.get("onerror"):
                self.fallbacks.append(attrs["onerror"])
        elif tag == "link" and "stylesheet" in (attrs.get("rel") or ""):
            self.loaded.append(attrs["href"])
        elif tag in ("img", "iframe", "embed") and attrs.get("src"):
            self.loaded.append(attrs["src"])

    def handle_endtag(self, tag):
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data):
        if self._in_script:  # import("https://...") in a module script
            self.loaded += re.findall(r"""import\(\s*["']([^"']+)""", data)


def links(page: str) -> list[dict]:
    """The attributes of every <a> of the page."""
    found = []
    parser = HTMLParser()
    parser.handle_starttag = lambda tag, attrs: found.append(dict(attrs)) if tag == "a" else None
    parser.feed(page)
    return found


def resources(page: str) -> Resources:
    parser = Resources()
    parser.feed(page)
    return parser


def is_external(address: str) -> bool:
    return bool(re.match(r"^(https?:)?//", address))


def test_title_and_learning_goals_come_from_the_opening_markdown():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("Intro without heading."),
        nbformat.v4.new_markdown_cell("# 04 · LSTM: gates\n\n**You will learn**\n\n- why *gates* help\n"
                                      "- how the cell state\n  carries gradients\n\n1. numbered too\n\nAssumes: 03"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell("## You will learn\n- not this one"),
    ]
    assert site.notebook_title(notebook, "fallback") == "04 · LSTM: gates"
    assert site.learning_goals(notebook) == ["why *gates* help", "how the cell state carries gradients",
                                             "numbered too"]
    assert site.notebook_title(nbformat.v4.new_notebook(), "fallback") == "fallback"
    assert site.learning_goals(nbformat.v4.new_notebook()) == []


def test_a_page_loads_mathjax_locally_and_nothing_else_from_the_network(output_dir, local_mathjax):
    html_dir, pages = render(output_dir)
    assert (html_dir / "mathjax" / "MathJax.js").is_file(), "MathJax is copied next to the pages"
    for page in pages.values():
        found = resources(page)
        external = [address for address in found.loaded if is_external(address)]
        assert not external, f"the page loads {external} from the network"
        for address in found.loaded:
            if not address.startswith("data:"):
                assert (html_dir / address.split("?")[0]).is_file(), f"{address} is missing"
        assert any(address.startswith("mathjax/MathJax.js?config=") for address in found.loaded)
        assert [site.MATHJAX_CDN in fallback for fallback in found.fallbacks] == [True], "CDN only as fallback"
        assert "require" not in " ".join(found.loaded) and "mermaid" not in page
        assert r"\begin{aligned}" in page and 'type="text/x-mathjax-config"' in page


def test_without_a_local_mathjax_the_pages_load_it_from_the_cdn(output_dir, monkeypatch, capsys):
    monkeypatch.setattr(site, "mathjax_source", lambda: None)
    html_dir, pages = render(output_dir)
    assert "load it from a CDN" in capsys.readouterr().out
    assert not (html_dir / "mathjax").exists()
    for page in pages.values():
        assert [address for address in resources(page).loaded if is_external(address)] == [site.MATHJAX_CDN]


def test_the_installed_mathjax_has_what_the_pages_load():
    """Where jupyter-server-mathjax is installed (requirements.txt), its folder holds the
    loader, the configuration and the fonts that the pages ask for."""
    source = site.mathjax_source()
    if source is not None:
        loader, config_name = site.MATHJAX_LOCAL.removeprefix(f"{site.MATHJAX_DIR}/").split("?config=")
        assert (source / loader).is_file()
        assert (source / "config" / f"{config_name.split(',')[0]}.js").is_file()
        assert (source / "extensions" / "Safe.js").is_file()
        assert any((source / "fonts" / "HTML-CSS" / "STIX-Web").rglob("*.woff")), "the fonts of webFont"


def test_pages_link_the_map_and_each_other_and_fold_solutions(output_dir, local_mathjax):
    _, pages = render(output_dir)
    first, second = pages["01_first"], pages["02_second"]
    for stem, page in pages.items():
        assert "<title>Notebook " in page and "hello" in page
        assert page.count('<a href="index.html">Course index</a>') == 2, "nav at the top and the bottom"
        solution = page.index(f"solution of {stem}")
        assert page.rfind("<details", 0, solution) > page.rfind("</details>", 0, solution), "solution not folded"
        assert page.index("</details>", solution) > solution
    assert [a["href"] for a in links(first) if a.get("rel") == "next"] == ["02_second.html"] * 2
    assert [a["href"] for a in links(second) if a.get("rel") == "prev"] == ["01_first.html"] * 2
    assert "prev" not in [a.get("rel") for a in links(first)] and "next" not in [a.get("rel") for a in links(second)]
    assert {"href": "02_second.html"} in links(first), "a link to the next notebook leads to its page"


def test_pages_show_tables_relative_paths_and_this_runs_time(output_dir, local_mathjax):
    _, pages = render(output_dir)
    for page in pages.values():
        assert "|---|" not in page and re.search(r"<table>\s*<thead>\s*<tr>\s*<th>model</th>", page)
        assert str(config.REPO_ROOT) not in page and "results read from results\n" in page
        assert "in the last complete" not in page
        assert re.search(r"\.jp-OutputArea-output pre \{ word-break: normal;", page.split("</style>")[-2]), (
            "printed lines wrap at spaces: the rule comes after the lab styles")
    assert page_run_time(pages["01_first"]) == ["Run time: 1.5 min in this run (CPU: Test CPU (2 cores))"]
    assert "This run: 1.5 min, peak memory 1,234 MiB, on CPU: Test CPU (2 cores), finished 2031-05-04 13:20" \
        in pages["01_first"]


def page_run_time(page: str) -> list[str]:
    return re.findall(r"Run time: [^\n<]*", page)


def test_the_map_counts_and_links_failures_and_a_failed_page_says_so(output_dir, local_mathjax):
    html_dir, pages = render(output_dir)
    index = (html_dir / "index.html").read_text()
    for stem in RUNS:
        assert f'<a href="{stem}.html">Notebook {stem}</a>' in index
    assert "<li>to read <strong>Notebook 01_first</strong></li>" in index
    assert "1.5 min" in index and "30 s" in index and "1,234 MiB" in index
    assert "2 notebooks executed" in index and "1 ran through" in index and "1 failed</strong>" in index
    failed = nbformat.read(output_dir / "build" / "notebooks" / "smoke" / "02_second.ipynb", as_version=4)
    anchor = f"cell-id={failed.cells[2].id}"
    assert (f'FAILED</strong> at <a href="02_second.html#{anchor}">In [2]</a>: ValueError: &lt;bad&gt;'
            in index), "the page's prompt, not the runner's cell count"
    assert "CPU: Test CPU (2 cores)" in index and "2031-05-04 13:20" in index, "machine and date of the run"
    assert f'id="{anchor}"' in pages["02_second"]
    assert re.search(rf'class="course-failed"[^>]*><strong>This notebook failed</strong> at <a href="#{anchor}">'
                     r"In \[2\]</a>: ValueError: &lt;bad&gt;", pages["02_second"])
    assert "course-failed" not in pages["01_first"].split("</style>")[-1]


def test_a_dead_kernel_is_linked_by_the_runners_cell_count():
    notebook = executed_notebook("Dead", {"ok": False, "error": "cell 2: the kernel died (killed by SIGKILL)"}, "x")
    assert site.failed_cell(notebook, notebook.metadata[course.RUN_METADATA]) == (
        f"cell-id={notebook.cells[1].id}", "In [1]")
    assert site.failed_cell(notebook, {"ok": True}) is None


def test_reviews_print_as_a_reader_reads_them():
    assert text.readable("Cool.<br /><br />Of course <BR>not.<br/>") == "Cool.\nOf course\nnot."
    assert text.readable("@friend &gt; no tags") == "@friend &gt; no tags"
