"""Test set-up: the fast profile, fixture data sets made on the fly, and the
real local copy of the data when ``$RNN_COURSE_DATA`` names one."""

import io
import os
import tarfile
from pathlib import Path

import pytest

# The smoke profile for every notebook nbval executes is set in the repository's conftest.py.

REVIEWS = {
    "train": {"pos": ["A wonderful film.<br />Loved it!", "Great acting, great story."],
              "neg": ["Dull and far too long.", "The worst film I have seen."]},
    "test": {"pos": ["Brilliant and moving."], "neg": ["Boring, avoid it."]},
}


def write_imdb_tree(root: Path) -> Path:
    """A tiny aclImdb folder in the official layout, with an unsup/ to skip."""
    for split, classes in REVIEWS.items():
        for label, texts in classes.items():
            folder = root / "aclImdb" / split / label
            folder.mkdir(parents=True)
            for i, text in enumerate(texts):
                (folder / f"{i}_{8 if label == 'pos' else 2}.txt").write_text(text)
    unsup = root / "aclImdb" / "train" / "unsup"
    unsup.mkdir()
    (unsup / "0_0.txt").write_text("An unlabeled review.")
    return root / "aclImdb"


# Coded reviews: review k carries its own words (only<k>, tens<k // 10>, units<k % 10>), so a test
# can read off any row of tokens which review it came from. Odd k are positive.
TRAIN_CODES = range(40)
TEST_CODES = range(50, 60)  # tens5: a word of the test split only
REVIEWS_PER_MOVIE = 4


def write_coded_data(root: Path, text_of) -> Path:
    """A data folder with review ``k`` = ``text_of(k)``: as IMDB (extracted, with url lists,
    :data:`REVIEWS_PER_MOVIE` reviews a movie) and as Sentiment140 files."""
    for split, codes in (("train", TRAIN_CODES), ("test", TEST_CODES)):
        for label in ("neg", "pos"):
            folder = root / "imdb" / "aclImdb" / split / label
            folder.mkdir(parents=True)
            mine = [k for k in codes if k % 2 == (label == "pos")]
            for index, k in enumerate(mine):
                (folder / f"{index}_{8 if label == 'pos' else 2}.txt").write_text(text_of(k))
            (folder.parent / f"urls_{label}.txt").write_text("".join(
                f"http://www.imdb.com/title/tt{k // REVIEWS_PER_MOVIE:07d}/usercomments\n" for k in mine))
    tweets = root / "sentiment140"
    tweets.mkdir()
    for name, codes in (("training.sample20k.csv", TRAIN_CODES), ("testdata.manual.2009.06.14.csv", TEST_CODES)):
        (tweets / name).write_text("".join(f'"{4 * (k % 2)}","{text_of(k)}"\n' for k in codes))
    return root


def tar_gz_bytes(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=folder.name)
    return buffer.getvalue()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh extraction cache for this test only."""
    path = tmp_path / "cache"
    monkeypatch.setenv("RNN_COURSE_CACHE", str(path))
    return path


@pytest.fixture
def fixture_data(tmp_path, cache, monkeypatch):
    """A data folder laid out like shared/data, with tiny IMDB and tweet files."""
    source = write_imdb_tree(tmp_path / "source")
    data_dir = tmp_path / "data"
    (data_dir / "imdb").mkdir(parents=True)
    (data_dir / "imdb" / "aclImdb.tar.gz").write_bytes(tar_gz_bytes(source))
    tweets = data_dir / "sentiment140"
    tweets.mkdir()
    (tweets / "training.sample20k.csv").write_bytes(
        b'"0","1","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","user1","so sad today"\n'
        b'"4","2","Mon Apr 06 22:19:46 PDT 2009","NO_QUERY","user2","@friend love it http://x.co"\n'
        b'"4","3","Mon Apr 06 22:19:47 PDT 2009","NO_QUERY","user3",""\n'
        b'"0","4","Mon Apr 06 22:19:48 PDT 2009","NO_QUERY","user4","caf\xe9 closed \xf0\x9f\x98\xa2"\n'
    )
    (tweets / "testdata.manual.2009.06.14.csv").write_bytes(
        b'4,"I loooove my Kindle2."\n2,"Reading the news."\n0,"Worst day ever"\n\n'
    )
    monkeypatch.delenv("RNN_COURSE_DATA", raising=False)
    return data_dir


@pytest.fixture(scope="session")
def real_data_dir():
    """The local copy named by $RNN_COURSE_DATA; CI must have it, so no skip there."""
    value = os.environ.get("RNN_COURSE_DATA")
    if not value:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but RNN_COURSE_DATA is not set: .ci/run must point it at shared/data")
        pytest.skip("RNN_COURSE_DATA is not set: no local copy of the real data sets")
    return Path(value)


# No silent skips under CI ------------------------------------------------------------------
# A CI runner without the data would otherwise pass while skipping every test that needs it.
_skips = []


def _record_skip(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        _skips.append(report.nodeid)


pytest_runtest_logreport = pytest_collectreport = _record_skip


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def pytest_sessionfinish(session, exitstatus):
    if _under_ci() and _skips and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if _under_ci() and _skips:
        count = f"{len(_skips)} test{'s' if len(_skips) > 1 else ''}"
        terminalreporter.write_line(
            f"CI=true: {count} skipped, and CI must run them all (why: the short test summary, -rs): "
            f"{', '.join(_skips[:5])}{' …' if len(_skips) > 5 else ''}", red=True, bold=True)
