"""The course as a static site: one page per executed notebook, and the course map.

    python -m tooling.course --html         # run the course, then render it to build/html/
    python -m tooling.course --html-only    # render the executed copies of the last run again

:func:`render_html` writes ``<notebook>.html`` for every executed copy in
``build/notebooks/<profile>/`` and ``index.html``, the course map: title,
learning goals, run time, peak memory and status of each notebook, with the
machine and date of the run. Every page links the map and its neighbours;
a failed page says where it failed; solutions (cells tagged ``solution``)
are folded.

The equations are typeset by MathJax 2.7. When the ``jupyter-server-mathjax``
package is installed, its copy of MathJax goes to ``build/html/mathjax/``
and the pages load it from there, with the CDN only as a fallback; without
it they load MathJax from the CDN. No page loads anything else from the
network (docs/rendering.md).
"""

from __future__ import annotations

import copy
import datetime
import html
import importlib.util
import json
import re
import shutil
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters import markdown2html_mistune

from utils import config

RUN_METADATA = "course_run"  # executed copies record their run under this metadata key (tooling.course)
COURSE_TITLE = "Recurrent networks for sentiment classification: a Keras course"
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
BULLET = re.compile(r"^\s{0,3}(?:[-*+]|\d+[.)])\s+")
FAILED_CELL = re.compile(r"^cell (\d+): ")
# The setup cell's line about an earlier complete run (utils.config.print_run_times).
EARLIER_RUN_TIME = re.compile(r"^Run time: .* in the last complete .*\n?", re.MULTILINE)
NOTEBOOK_LINK = re.compile(r'href="([0-9][0-9]_[^"/:#]+)\.ipynb(#[^"]*)?"')

MATHJAX_PACKAGE = "jupyter_server_mathjax"  # PyPI: jupyter-server-mathjax, MathJax 2.7 in static/
MATHJAX_DIR = "mathjax"
# The package ships the HTML-CSS output with STIX-Web fonts, not the CDN's CommonHTML config.
MATHJAX_LOCAL = f"{MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
MATHJAX_CDN = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js?config=TeX-AMS_CHTML-full,Safe"
MATHJAX_CONFIG = r"""<script type="text/x-mathjax-config">
MathJax.Hub.Config({
  tex2jax: {inlineMath: [["$", "$"], ["\\(", "\\)"]], displayMath: [["$$", "$$"], ["\\[", "\\]"]],
            processEscapes: true, processEnvironments: true},
  TeX: {equationNumbers: {autoNumber: "AMS", useLabelIds: true}},
  displayAlign: "center",
  messageStyle: "none",
  "HTML-CSS": {webFont: "STIX-Web", availableFonts: [], preferredFont: null, imageFont: null,
               linebreaks: {automatic: true}},
  CommonHTML: {linebreaks: {automatic: true}}
});
</script>"""

# The lab template, with: the course's styles, navigation and failure notice; MathJax from
# resources.course.mathjax; no require.js (no output of the course uses it, and it blocks the
# head) and no mermaid loader (no notebook draws a mermaid diagram), as both come from a CDN;
# and every cell tagged "solution" folded until the reader opens it.
PAGE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_js_mathjax -%}
{{ resources.course.mathjax }}
{%- endblock html_head_js_mathjax -%}
{%- block html_head_css -%}
<style type="text/css">{{ resources.course.css }}</style>
{%- endblock html_head_css -%}
{%- block body_header -%}
{{ super() }}
{{ resources.course.header }}
{%- endblock body_header -%}
{% block body_footer %}
{{ resources.course.footer }}
{{ super() }}
{% endblock body_footer %}
{% block any_cell %}
{%- if 'solution' in cell.metadata.get('tags', []) -%}
<details class="course-solution"><summary>Solution</summary>
{{ super() }}
</details>
{%- else -%}
{{ super() }}
{%- endif -%}
{% endblock any_cell %}
"""

# After the lab styles. Course elements sit in the text column: the lab layout indents Markdown
# by the cell padding, the prompt (its width, padding and border) and the Markdown padding.
PAGE_CSS = """
:root { --course-column: calc(var(--jp-cell-padding) + var(--jp-cell-prompt-width)
                              + 3 * var(--jp-code-padding) + 2 * var(--jp-border-width)); }
.course-nav, .course-run, .course-failed { margin: 0.5em calc(var(--jp-cell-padding) + 20px) 0.5em var(--course-column);
  font-family: var(--jp-content-font-family);
  font-size: var(--jp-content-font-size1); line-height: var(--jp-content-line-height); }
.course-nav { display: flex; flex-wrap: wrap; gap: 0.4em 1.5em; padding: 0.4em 0;
  border-bottom: 1px solid var(--jp-border-color2); }
.course-nav.bottom { border-top: 1px solid var(--jp-border-color2); border-bottom: none; margin-top: 2em; }
.course-nav a { color: var(--jp-content-link-color); text-decoration: none; }
.course-nav a:hover { text-decoration: underline; }
.course-nav .next { margin-left: auto; }
.course-run { color: var(--jp-content-font-color2); }
.course-failed { padding: 0.6em 0.9em; border-left: 4px solid var(--jp-error-color1);
  background: var(--jp-error-color3); color: var(--jp-content-font-color1); }
.course-failed a { color: var(--jp-content-link-color); }
details.course-solution > summary { margin: 0.6em 0 0.6em var(--course-column); cursor: pointer;
  font-family: var(--jp-content-font-family); font-size: var(--jp-content-font-size2);
  font-weight: var(--jp-content-heading-font-weight); color: var(--jp-content-font-color1); }
details.course-solution > summary:hover { color: var(--jp-content-link-color); }
/* Printed lines wrap at spaces; only a word longer than the line is cut. */
.jp-OutputArea-output pre { word-break: normal; overflow-wrap: break-word; }
"""

INDEX_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.5; color: rgba(0, 0, 0, 0.87); }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ccc; padding: 0.5rem; text-align: left; vertical-align: top; }}
td ul {{ margin: 0; padding-left: 1.2rem; }}
a {{ color: #0d47a1; }}
.run {{ color: rgba(0, 0, 0, 0.6); }}
.failed {{ color: #b00020; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{summary}</p>
<p class="run">{run}</p>
<table>
<thead><tr><th>Notebook</th><th>You will learn</th><th>Run time</th><th>Peak memory</th><th>Status</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</body>
</html>
"""


def notebook_title(notebook: nbformat.NotebookNode, default: str) -> str:
    """The first Markdown heading of ``notebook``, else ``default``."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if match := HEADING.match(line):
                    return match.group(1)
    return default


def learning_goals(notebook: nbformat.NotebookNode) -> list[str]:
    """The bullets under a "You will learn" line in the Markdown cells before the first code cell."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            break
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            if "you will learn" in line.lower():
                return _bullets(lines[i + 1:])
    return []


def _bullets(lines: list[str]) -> list[str]:
    """The Markdown list at the start of ``lines`` (blank lines and indented continuations allowed)."""
    items: list[str] = []
    for line in lines:
        if BULLET.match(line):
            items.append(BULLET.sub("", line).strip())
        elif items and line[:1] in (" ", "\t") and line.strip():
            items[-1] += " " + line.strip()
        elif line.strip():
            break
    return items


def mathjax_source() -> Path | None:
    """MathJax's folder in the installed ``jupyter-server-mathjax`` package, or ``None``."""
    spec = importlib.util.find_spec(MATHJAX_PACKAGE)  # finds the folder without importing jupyter_server
    if spec is None or not spec.submodule_search_locations:
        return None
    static = Path(next(iter(spec.submodule_search_locations))) / "static"
    return static if (static / "MathJax.js").is_file() else None


def install_mathjax(html_dir: Path) -> bool:
    """Copy MathJax next to the pages; ``False`` when no local copy is installed."""
    source = mathjax_source()
    if source is None:
        return False
    shutil.copytree(source, html_dir / MATHJAX_DIR, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return True


def mathjax_html(local: bool) -> str:
    """The page's MathJax: the local copy with the CDN as fallback, or the CDN alone."""
    if not local:
        return f'{MATHJAX_CONFIG}\n<script src="{html.escape(MATHJAX_CDN)}"></script>'
    # A page copied without its mathjax/ folder still typesets, online.
    fallback = ("var s = document.createElement('script'); "
                f"s.src = '{MATHJAX_CDN}'; document.head.appendChild(s);")
    return (f'{MATHJAX_CONFIG}\n<script src="{html.escape(MATHJAX_LOCAL)}" '
            f'onerror="{html.escape(fallback)}"></script>')


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def failed_cell(notebook: nbformat.NotebookNode, run: dict | None) -> tuple[str, str] | None:
    """``(anchor, label)`` of the cell where a failed notebook stopped, e.g.
    ``("cell-id=ab12", "In [10]")``; ``None`` for a notebook that ran through.

    The run's error counts every cell ("cell 22"); the page numbers code cells by
    execution ("In [10]"), so the label is the failing cell's prompt.
    """
    if not run or run.get("ok", True):
        return None
    cell = next((cell for cell in notebook.cells if cell.cell_type == "code"
                 and any(output.output_type == "error" for output in cell.get("outputs", []))), None)
    if cell is None and (match := FAILED_CELL.match(run.get("error") or "")):
        index = int(match.group(1)) - 1  # a dead kernel leaves no error output, only the count
        cell = notebook.cells[index] if 0 <= index < len(notebook.cells) else None
    if cell is None:
        return None
    label = f"In [{cell.execution_count}]" if cell.get("execution_count") else "the failing cell"
    return (f"cell-id={cell.id}" if cell.get("id") else ""), label


def _error_text(run: dict) -> str:
    """The run's error without its cell count, which the page's prompt replaces."""
    return FAILED_CELL.sub("", run.get("error") or "unknown error")


def _status_html(page: str, notebook: nbformat.NotebookNode, run: dict) -> str:
    if run["ok"]:
        return "ok"
    where = failed_cell(notebook, run)
    at = ""
    if where:
        anchor, label = where
        at = f' at <a href="{html.escape(page)}#{html.escape(anchor)}">{html.escape(label)}</a>'
    return f'<strong class="failed">FAILED</strong>{at}: {html.escape(_error_text(run))}'


def _index_row(page: str, notebook: nbformat.NotebookNode, title: str) -> str:
    run = notebook.metadata.get(RUN_METADATA)
    goals = learning_goals(notebook)
    goals_html = markdown2html_mistune("\n".join(f"- {goal}" for goal in goals)) if goals else ""
    if run is None:
        time = memory = status = "–"
    else:
        time = duration(run["seconds"])
        memory = "–" if run["peak_memory_mib"] is None else f"{run['peak_memory_mib']:,.0f} MiB"
        status = _status_html(page, notebook, run)
    return (f'<tr><td><a href="{html.escape(page)}">{html.escape(title)}</a></td><td>{goals_html}</td>'
            f"<td>{time}</td><td>{memory}</td><td>{status}</td></tr>")


def run_machine(executed_dir: Path, runs: dict[str, dict]) -> str | None:
    """The device the executed copies ran on, from the runner's timings file of that run.

    The runner writes the device into ``build/course_time_last_run.json`` or
    ``results/[<profile>/]course_time_<cpu|gpu>.json``, not into the copies;
    the file whose run times equal the copies' is that run's.
    """
    build = executed_dir.parent.parent
    results_dir = build.parent / "results"
    if executed_dir.name != "full":
        results_dir = results_dir / executed_dir.name
    candidates = [build / "course_time_last_run.json", results_dir / "course_time_gpu.json",
                  results_dir / "course_time_cpu.json"]
    for path in candidates:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        rows = record.get("notebooks", {})
        if any(name in rows and rows[name].get("seconds") == run.get("seconds") for name, run in runs.items()):
            device, cpu = record.get("device"), record.get("cpu")
            return f"{device} ({cpu})" if device and cpu and not device.startswith("CPU") else device
    return None


def run_finished(executed_dir: Path, runs: dict[str, dict]) -> datetime.datetime | None:
    """When the last of the executed copies finished: its record, else its file's time."""
    times = []
    for name, run in runs.items():
        if run.get("finished"):
            times.append(datetime.datetime.fromisoformat(run["finished"]))
        else:
            times.append(datetime.datetime.fromtimestamp((executed_dir / name).stat().st_mtime).astimezone())
    return max(times) if times else None


def _date(moment: datetime.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip() if moment else "date not recorded"


def _relative_paths(text: str, roots: list[str]) -> str:
    for root in roots:
        text = text.replace(root + "/", "")
    return text


def page_notebook(notebook: nbformat.NotebookNode, run: dict | None, machine: str | None,
                  roots: list[str]) -> nbformat.NotebookNode:
    """A copy of ``notebook`` as its page shows it; the executed copy stays as it ran.

    * the paths of the machine that ran it (``roots``), relative, so that a
      published page does not show the builder's folders;
    * the setup cell's run time of an earlier complete run becomes this run's,
      the one the course map shows.
    """
    page = copy.deepcopy(notebook)
    this_run = ""
    if run:
        this_run = f"Run time: {duration(run['seconds'])} in this run" + (f" ({machine})" if machine else "") + "\n"
    for cell in page.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if output.output_type == "stream":
                output.text = _relative_paths(output.text, roots)
                if run and (earlier := EARLIER_RUN_TIME.search(output.text)):
                    start = earlier.start()
                    output.text = output.text[:start] + this_run + EARLIER_RUN_TIME.sub("", output.text[start:])
                    this_run = ""  # one line, in place of the first
            elif output.output_type in ("execute_result", "display_data"):
                for mime in ("text/plain", "text/markdown"):
                    if isinstance(output.data.get(mime), str):
                        output.data[mime] = _relative_paths(output.data[mime], roots)
            elif output.output_type == "error":
                output.traceback = [_relative_paths(line, roots) for line in output.traceback]
    return page


def _nav(pages: list[tuple[str, str]], index: int, where: str) -> str:
    links = ['<a href="index.html">Course index</a>']
    if index > 0:
        page, title = pages[index - 1]
        links.append(f'<a rel="prev" href="{html.escape(page)}">← {html.escape(title)}</a>')
    if index + 1 < len(pages):
        page, title = pages[index + 1]
        label = "Next: " if where == "bottom" else ""
        links.append(f'<a class="next" rel="next" href="{html.escape(page)}">{label}{html.escape(title)} →</a>')
    return f'<nav class="course-nav {where}" aria-label="Course pages">{" ".join(links)}</nav>'


def _header(nav: str, notebook: nbformat.NotebookNode, run: dict | None, machine: str | None,
            finished: datetime.datetime | None) -> str:
    parts = [nav]
    if run:
        memory = "" if run.get("peak_memory_mib") is None else f", peak memory {run['peak_memory_mib']:,.0f} MiB"
        on = f", on {html.escape(machine)}" if machine else ""
        parts.append(f'<p class="course-run">This run: {duration(run["seconds"])}{memory}{on}, '
                     f"finished {_date(finished)}.</p>")
    if run and not run.get("ok", True):
        where = failed_cell(notebook, run)
        at = f' at <a href="#{html.escape(where[0])}">{html.escape(where[1])}</a>' if where else ""
        parts.append(f'<div class="course-failed" role="alert"><strong>This notebook failed</strong>{at}: '
                     f"{html.escape(_error_text(run))}. The cells after it did not run: their outputs are "
                     "missing from this page.</div>")
    return "\n".join(parts)


def render_html(executed_dir: Path, html_dir: Path) -> Path:
    """Render every executed notebook in ``executed_dir`` to ``html_dir``; return the course map's path."""
    exporter = HTMLExporter(template_name="lab")
    exporter.raw_template = PAGE_TEMPLATE
    html_dir.mkdir(parents=True, exist_ok=True)
    local_mathjax = install_mathjax(html_dir)
    if not local_mathjax:
        print("MathJax: no local copy (pip install jupyter-server-mathjax); the pages load it from a CDN, "
              "so their equations need the network.")
    paths = sorted(executed_dir.glob("*.ipynb"))
    notebooks = [nbformat.read(path, as_version=4) for path in paths]
    pages = [(f"{path.stem}.html", notebook_title(notebook, default=path.stem))
             for path, notebook in zip(paths, notebooks)]
    runs = {path.name: notebook.metadata[RUN_METADATA] for path, notebook in zip(paths, notebooks)
            if RUN_METADATA in notebook.metadata}
    machine, finished = run_machine(executed_dir, runs), run_finished(executed_dir, runs)
    roots = sorted({str(config.REPO_ROOT), str(executed_dir.parent.parent.parent.resolve())}, key=len, reverse=True)
    rendered = {Path(page).stem for page, _ in pages}

    def link_pages(match: re.Match) -> str:  # Markdown links between notebooks, to their pages
        stem, anchor = match.group(1), match.group(2) or ""
        return f'href="{stem}.html{anchor}"' if stem in rendered else match.group(0)

    rows = []
    for i, (path, notebook) in enumerate(zip(paths, notebooks)):
        page, title = pages[i]
        run = notebook.metadata.get(RUN_METADATA)
        course = {"mathjax": mathjax_html(local_mathjax), "css": PAGE_CSS,
                  "header": _header(_nav(pages, i, "top"), notebook, run, machine,
                                    run_finished(executed_dir, {path.name: run} if run else {})),
                  "footer": _nav(pages, i, "bottom")}
        body, _ = exporter.from_notebook_node(page_notebook(notebook, run, machine, roots),
                                              resources={"metadata": {"name": title}, "course": course})
        (html_dir / page).write_text(NOTEBOOK_LINK.sub(link_pages, body), encoding="utf-8")
        rows.append(_index_row(page, notebook, title))

    failed = [f'<a href="{html.escape(page)}">{html.escape(title)}</a>' for (page, title), notebook
              in zip(pages, notebooks) if not notebook.metadata.get(RUN_METADATA, {}).get("ok", True)]
    outcome = f'<strong class="failed">{len(failed)} failed</strong>: {", ".join(failed)}' if failed else "none failed"
    summary = (f"{len(paths)} notebooks executed with the <code>{html.escape(executed_dir.name)}</code> profile "
               f"(<code>python -m tooling.course --html</code>): {len(paths) - len(failed)} ran through, {outcome}.")
    total = duration(sum(run["seconds"] for run in runs.values()))
    run_line = (f"Run on {html.escape(machine)}, finished {_date(finished)}; {total} in all." if machine
                else f"Finished {_date(finished)}; {total} in all (the machine is not recorded).")
    index = html_dir / "index.html"
    index.write_text(INDEX_PAGE.format(title=COURSE_TITLE, summary=summary, run=run_line,
                                       rows="\n".join(rows)), encoding="utf-8")
    return index
