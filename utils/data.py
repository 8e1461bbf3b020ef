"""Loading IMDB reviews and Sentiment140 tweets as ``tf.data`` datasets.

Both loaders return a ``tf.data.Dataset`` of ``(text, label)``: ``text`` a
``tf.string``, ``label`` an ``int32`` that is 0 (negative) or 1 (positive).

Where the data comes from:

* ``data_dir=`` or ``$RNN_COURSE_DATA`` names a local copy (see
  :data:`LOCAL_LAYOUT`; a relative path is taken from the repository root).
  Nothing is downloaded then.
* Otherwise IMDB comes from ``tensorflow_datasets`` (``imdb_reviews``) and
  Sentiment140 from the official zip through ``keras.utils.get_file`` (kept
  in ``$RNN_COURSE_CACHE``). Before a download, a short connection test to the
  server makes a machine without network fail within seconds. Both downloads
  are checked against the official size and SHA-256 (those
  ``tensorflow_datasets`` registers); a file that differs is deleted and
  refused with :class:`DownloadMismatchError`.

The IMDB archive is extracted once into ``$RNN_COURSE_CACHE`` (default
``~/.cache/rnn-course``) through a staging folder ``.partial-<pid>@<host>-*``;
a staging folder left by an interrupted run is removed by a later one.

Every problem with the input raises :class:`DataError` with a one-line
message that says what is wrong and what to do about it.

Turning text into token ids lives in :mod:`utils.text`; :func:`prepare_imdb`
and :func:`prepare_sentiment140` combine both into :class:`PreparedData`.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import errno
import functools
import gzip
import hashlib
import numbers
import os
import re
import shutil
import socket
import tarfile
import tempfile
import time
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from utils.config import REPO_ROOT
from utils.text import (
    batch_examples,
    make_pipeline,
    make_vectorizer,
    standardize_review,
    standardize_tweet,
    vectorized_examples,
)

DATA_ENV = "RNN_COURSE_DATA"
CACHE_ENV = "RNN_COURSE_CACHE"
SPLITS = ("train", "test")
SENTIMENT140_URL = "https://cs.stanford.edu/people/alecmgo/trainingandtestdata.zip"
# What tensorflow_datasets downloads for imdb_reviews: the connection test asks its server.
IMDB_URL = "http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
# Size in bytes and SHA-256 of the official archives, as tensorflow_datasets
# registers them in datasets/{sentiment140,imdb_reviews}/checksums.tsv
# (tests/test_downloads.py checks that they still agree). Pinned here so the
# Sentiment140 download, which does not go through tfds, is checked too.
SENTIMENT140_ARCHIVE = "trainingandtestdata.zip"
SENTIMENT140_SIZE = 81_363_704
SENTIMENT140_SHA256 = "004a3772c8a7ff9bbfeb875880f47f0679d93fc63e5cf9cff72d54a8a6162e57"
IMDB_ARCHIVE = "aclImdb_v1.tar.gz"
IMDB_SIZE = 84_125_825
IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe"
CONNECT_TIMEOUT_SECONDS = 3  # per address of the server: a few addresses stay within 15 s
# Errors that say a folder cannot be written (full, read-only, not ours), not that the network failed.
DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)
# Local file names, most preferred first: the full training file wins over the
# 20k sample when both are present.
SENTIMENT140_FILES = {
    "train": ("training.1600000.processed.noemoticon.csv", "training.sample20k.csv"),
    "test": ("testdata.manual.2009.06.14.csv",),
}
IMDB_ARCHIVES = ("imdb/aclImdb.tar.gz", "imdb/aclImdb_v1.tar.gz")
# The four folders of labeled reviews; each must hold reviews before a copy is trusted.
IMDB_LABEL_FOLDERS = ("train/pos", "train/neg", "test/pos", "test/neg")
LOCAL_LAYOUT = ("a folder with imdb/aclImdb_v1.tar.gz (or imdb/aclImdb.tar.gz, or the extracted "
                "imdb/aclImdb/{train,test}/{pos,neg}) and sentiment140/*.csv")
# A staging folder whose owner cannot be checked (another machine, or an older
# version's unnamed one) counts as abandoned after this long; extracting takes a minute.
STALE_STAGING_SECONDS = 3600
SHUFFLE_SEED = 1337  # fixes the order of the examples that a loader returns


class DataError(RuntimeError):
    """A data set could not be loaded; the message says why and what to do."""


class DownloadMismatchError(DataError):
    """A downloaded archive is not the official file: its size or SHA-256
    differs from the pinned one. The bad download has been deleted (a copy put
    by hand into tfds' manual folder is left; the message names it)."""


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise DataError(f"Unknown split {split!r}: use one of {', '.join(SPLITS)}.")


def _check_limit(limit: int | None) -> None:
    # bool is an Integral in Python: limit=True would mean 1.
    if limit is not None and (not isinstance(limit, numbers.Integral) or isinstance(limit, bool) or limit < 1):
        raise DataError(f"limit must be a positive whole number or None, got {limit!r}.")


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The local data folder from ``data_dir`` or ``$RNN_COURSE_DATA``, if any.

    ``None`` (download) when neither is given or the variable is empty; a value
    of only spaces is an error. A relative path is taken from the repository
    root, wherever Python runs (notebooks run in ``notebooks/``).
    """
    value = data_dir if data_dir is not None else os.environ.get(DATA_ENV)
    source = "data_dir" if data_dir is not None else DATA_ENV
    if value is None or str(value) == "":
        return None
    if str(value).strip() == "":
        raise DataError(f"{source} is blank ({str(value)!r}): set it to {LOCAL_LAYOUT}, "
                        f"or unset {DATA_ENV} to download the data.")
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not path.is_dir():
        raise DataError(
            f"{source}={str(value)!r} is not a folder ({path}; a relative path is taken from the repository "
            f"root): point it at {LOCAL_LAYOUT}, or unset {DATA_ENV} to download the data."
        )
    return path


def cache_dir() -> Path:
    """Where extracted archives and downloads are kept: ``$RNN_COURSE_CACHE``,
    else ``rnn-course`` in ``$XDG_CACHE_HOME`` or ``~/.cache``; created if needed."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rnn-course"
    path = Path(os.environ.get(CACHE_ENV) or default)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _cache_error(path, "create the cache folder", error) from None
    return path


def _cache_error(folder: Path, action: str, error: OSError) -> DataError:
    return DataError(f"Could not {action} {folder} ({_brief(error)}): make it writable with about 500 MB free, "
                     f"or set {CACHE_ENV} to another folder.")


def _staging_owner() -> str:
    return f"{os.getpid()}@{socket.gethostname()}"


def _is_stale_staging(folder: Path) -> bool:
    """Whether a staging folder was abandoned: the process named in it ran on
    this machine and has ended, or the folder is older than
    :data:`STALE_STAGING_SECONDS` (an owner on another machine, an earlier
    version's unnamed folder, a process id reused since)."""
    owner = folder.name.removeprefix(".partial-").rpartition("-")[0]
    pid, _, host = owner.partition("@")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)  # signal 0 only asks whether the process exists
        except ProcessLookupError:
            return True
        except PermissionError:
            pass  # it exists, run by another user
    try:
        return time.time() - folder.stat().st_mtime > STALE_STAGING_SECONDS
    except FileNotFoundError:
        return False  # its owner finished meanwhile


def _remove_stale_staging(cache: Path) -> None:
    for folder in cache.glob(".partial-*"):
        if folder.is_dir() and _is_stale_staging(folder):
            shutil.rmtree(folder, ignore_errors=True)


def _missing_label_folders(root: Path) -> list[str]:
    """Which of ``train/pos``... under ``root`` are missing or hold no review."""
    return [name for name in IMDB_LABEL_FOLDERS if next((root / name).glob("*.txt"), None) is None]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file_digest(path: Path) -> str:
    return _sha256(path)[:16]


def extract_imdb_archive(archive: Path) -> Path:
    """Extract ``aclImdb`` from ``archive`` once and return its folder.

    The archive is unpacked into a staging folder beside the cache entry and
    renamed into place only when its four label folders hold reviews, so an
    interrupted run or an incomplete archive never leaves a folder that a
    later run would trust. Staging folders abandoned by interrupted runs are
    removed first (those of running extractions are kept: several processes
    may extract at once). The cache key is the archive's content hash: a
    replaced archive is extracted again.
    """
    archive = Path(archive)
    cache = cache_dir()
    _remove_stale_staging(cache)
    target = cache / f"aclImdb-{_file_digest(archive)}"
    if target.is_dir():
        if not _missing_label_folders(target / "aclImdb"):
            return target / "aclImdb"
        shutil.rmtree(target, ignore_errors=True)  # cached incomplete by an earlier version
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".partial-{_staging_owner()}-", dir=cache))
    except OSError as error:
        raise _cache_error(cache, "write to the cache folder", error) from None
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(staging, filter="data")
        missing = _missing_label_folders(staging / "aclImdb")
        if missing:
            raise DataError(
                f"{archive} holds no {', '.join('aclImdb/' + name for name in missing)} (missing or empty): "
                "it is not the complete IMDB reviews archive; replace it with the official aclImdb_v1.tar.gz."
            )
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # another process may have won the race
                raise
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DataError(
            f"{archive} is truncated or corrupt ({_brief(error)}): delete it and copy or "
            "download aclImdb_v1.tar.gz again."
        ) from None
    except OSError as error:  # a full disk or a read-only cache
        raise _cache_error(cache, f"extract {archive.name} into", error) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target / "aclImdb"


def _local_imdb_root(data_dir: Path) -> Path:
    """The aclImdb folder of a local copy: an extracted folder with reviews in
    its four label folders, else the archive's extraction."""
    folders = [folder for folder in (data_dir / "imdb" / "aclImdb", data_dir / "aclImdb") if folder.is_dir()]
    for folder in folders:
        if not _missing_label_folders(folder):
            return folder
    for name in IMDB_ARCHIVES:
        if (data_dir / name).is_file():
            return extract_imdb_archive(data_dir / name)
    if folders:
        raise DataError(
            f"{folders[0]} is incomplete: {', '.join(_missing_label_folders(folders[0]))} missing or empty; "
            "it needs the reviews' .txt files in train/{pos,neg} and test/{pos,neg}."
        )
    raise DataError(
        f"No IMDB reviews in {data_dir}: expected {' or '.join(IMDB_ARCHIVES)}, "
        "or an extracted imdb/aclImdb/ folder with train/{pos,neg} and test/{pos,neg}."
    )


def _imdb_local_files(data_dir: Path, split: str) -> tuple[Path, list[str], np.ndarray]:
    """``(split folder, review files, labels)`` in a fixed shuffled order."""
    split_dir = _local_imdb_root(data_dir) / split
    # neg=0, pos=1; the official archive's train/unsup (unlabeled) is skipped.
    files = [(str(path), label) for label, name in enumerate(("neg", "pos"))
             for path in sorted((split_dir / name).glob("*.txt"))]
    order = np.random.default_rng(SHUFFLE_SEED).permutation(len(files))
    return split_dir, [files[i][0] for i in order], np.array([files[i][1] for i in order], dtype="int32")


def _movie_ids(split_dir: Path, paths: list[str]) -> np.ndarray | None:
    """The movie of each review file in ``paths``, from ``urls_{neg,pos}.txt``, or ``None``."""
    urls = {}
    for name in ("neg", "pos"):
        path = split_dir / f"urls_{name}.txt"
        if not path.is_file():
            return None
        urls[name] = path.read_text(encoding="utf-8", errors="replace").split()
    movies = []
    for review in map(Path, paths):
        index = int(review.name.split("_", 1)[0])
        lines = urls[review.parent.name]
        if index >= len(lines) or "/title/" not in lines[index]:
            return None  # a copy whose url lists do not match its reviews
        movies.append(lines[index].split("/title/", 1)[1].split("/", 1)[0])
    return np.array(movies)


def _imdb_split(split: str, local: Path | None, limit: int | None):
    """``(dataset of (text, label), movie ids or None)`` of one split, from one
    listing of its files: each review is paired with its own movie."""
    if local is None:
        dataset, movies = _load_imdb_tfds(split), None
        if limit is not None:
            dataset = dataset.take(limit)
    else:
        split_dir, paths, labels = _imdb_local_files(local, split)
        paths, labels = paths[:limit], labels[:limit]
        movies = _movie_ids(split_dir, paths)
        dataset = tf.data.Dataset.from_tensor_slices((paths, labels)).map(
            lambda path, label: (tf.io.read_file(path), label), num_parallel_calls=tf.data.AUTOTUNE)
    return _as_text_label(dataset), movies


def imdb_movies(split: str, data_dir=None, limit: int | None = None) -> np.ndarray | None:
    """The IMDB title id (``tt…``) of the movie each review is about, in the
    order of :func:`load_imdb`, or ``None`` where that is unknown.

    The official archive lists them in ``<split>/urls_{neg,pos}.txt`` (line i:
    the movie of review ``i_<rating>.txt``); ``tensorflow_datasets`` does not
    carry them. IMDB's test reviews are about other movies than its training
    reviews, at most 30 reviews per movie (Maas et al., 2011).
    """
    _check_split(split)
    _check_limit(limit)
    local = resolve_data_dir(data_dir)
    return None if local is None else _imdb_split(split, local, limit)[1]


def _brief(error: Exception) -> str:
    """An exception as one short line, for messages that must stay one line."""
    return f"{type(error).__name__}: {' '.join(str(error).split())[:160]}"


def _no_network_error(what: str, error: Exception) -> DataError:
    return DataError(
        f"Could not download {what} ({_brief(error)}). Without "
        f"internet, set {DATA_ENV} to a local copy: {LOCAL_LAYOUT}."
    )


def _check_reachable(url: str, what: str) -> None:
    """Connect to ``url``'s server (or the proxy that ``$https_proxy`` /
    ``$http_proxy`` name for it) once, briefly: without network, fail now
    rather than after the downloaders' retries (about 200 s for tfds)."""
    parts = urllib.parse.urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname):
        parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    address = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    try:
        socket.create_connection(address, timeout=CONNECT_TIMEOUT_SECONDS).close()
    except OSError as error:
        raise _no_network_error(what, error) from None


def _mismatch_error(name: str, url: str, expected: tuple[int, str], actual: tuple[int, str] | None,
                    advice: str) -> DownloadMismatchError:
    size, sha256 = expected
    got = "other bytes" if actual is None else f"{actual[0]:,} bytes, SHA-256 {actual[1]}"
    return DownloadMismatchError(
        f"{name} from {url} is not the official file (expected {size:,} bytes, SHA-256 {sha256}; "
        f"got {got}): {advice}; if this repeats, something between you and the server alters the "
        f"download: set {DATA_ENV} to a local copy instead (docs/settings.md)."
    )


def _discard_unless_official(path: Path, name: str, url: str,
                             expected: tuple[int, str]) -> DownloadMismatchError | None:
    """``None`` when ``path`` is the official file (or is gone), else delete it
    and return the error to raise: deleted, no later run can extract or trust it."""
    try:
        actual = (path.stat().st_size, _sha256(path))
    except FileNotFoundError:
        return None
    if actual == expected:
        return None
    path.unlink(missing_ok=True)
    return _mismatch_error(name, url, expected, actual, "it has been deleted, run again to download it anew")


def _tfds_mismatch(error: BaseException) -> DownloadMismatchError | None:
    """The one-line error for tfds' NonMatchingChecksumError anywhere in ``error``'s chain, else ``None``."""
    try:
        from tensorflow_datasets.core.download.download_manager import NonMatchingChecksumError
    except ImportError:  # a tfds that moved it: keep the generic message rather than fail here
        return None
    while error is not None and not isinstance(error, NonMatchingChecksumError):
        error = error.__cause__ or error.__context__
    if error is None:
        return None
    expected = (IMDB_SIZE, IMDB_SHA256)
    found = re.search(r"downloaded to (.+?), has wrong checksum", str(error))
    path = Path(found[1]) if found else None
    actual = None
    if path is not None and path.is_file():
        actual = (path.stat().st_size, _sha256(path))
    # tfds keeps a rejected download in its own "<name>.tmp.<uuid>" folder, which
    # no later run reads; remove it anyway rather than leave 80 MB behind.
    if path is not None and re.search(r"\.tmp\.[0-9a-f]{32}$", path.parent.name):
        path.unlink(missing_ok=True)
        shutil.rmtree(path.parent, ignore_errors=True)
        advice = "it has been deleted, run again to download it anew"
    elif path is not None:  # a copy the user placed in tfds' manual folder
        advice = f"replace {path} with the official {IMDB_ARCHIVE} or delete it to download it anew"
    else:
        advice = "run again to download it anew"
    return _mismatch_error(IMDB_ARCHIVE, IMDB_URL, expected, actual, advice)


def _load_imdb_tfds(split: str):
    import tensorflow_datasets as tfds

    what = "the IMDB reviews (tensorflow_datasets 'imdb_reviews')"
    if not tfds.builder("imdb_reviews").is_prepared():
        _check_reachable(IMDB_URL, what)
    try:
        # tfds stores the examples shuffled, so a prefix is a balanced slice.
        # It checks the archive against its registered size and SHA-256 itself.
        return tfds.load("imdb_reviews", split=split, as_supervised=True)
    except Exception as error:  # any download/prepare failure gets one clear line
        mismatch = _tfds_mismatch(error)
        if mismatch is not None:
            raise mismatch from None
        raise _no_network_error(what, error) from None


def _as_text_label(dataset):
    return dataset.map(
        lambda text, label: (text, tf.cast(label, tf.int32)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )


def load_imdb(split: str, data_dir=None, limit: int | None = None):
    """IMDB movie reviews: ``(text, label)`` with label 1 for a positive review.

    ``split`` is ``"train"`` or ``"test"`` (25,000 balanced reviews each).
    ``limit`` keeps the first ``limit`` reviews of a fixed shuffled order, so a
    slice is balanced and the same in every run.
    """
    _check_split(split)
    _check_limit(limit)
    return _imdb_split(split, resolve_data_dir(data_dir), limit)[0]


def _decode_line(raw: bytes) -> str:
    # The official files are mostly latin-1, yet some tweets are UTF-8 bytes.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_sentiment140_csv(path, drop_neutral: bool = True) -> tuple[list[str], np.ndarray]:
    """Texts and 0/1 labels from a Sentiment140 CSV file.

    Reads the official six-column rows (``polarity,id,date,query,user,text``)
    and the two-column form (``polarity,text``). Polarity 0 maps to 0 and 4 to
    1; neutral rows (2) are dropped when ``drop_neutral``. A leading UTF-8 byte
    order mark is ignored, and so is a first row of column names (every field
    one word, e.g. ``polarity,text``). A malformed row raises
    :class:`DataError` naming the file and line; so does a quoted field that
    runs over a line break (a stray quote that would swallow the rows after it).
    """
    path = Path(path)
    raw = path.read_bytes().removeprefix(codecs.BOM_UTF8)
    lines = (_decode_line(line) for line in raw.splitlines(keepends=True))
    reader = csv.reader(lines)
    texts, labels = [], []
    labels_of = {"0": 0, "4": 1, "2": None}
    first_row, row_end = True, 0
    try:
        for row in reader:
            row_start, row_end = row_end + 1, reader.line_num
            if not row:
                continue  # blank line
            where = f"{path.name}, line {row_start}"
            if first_row and _is_header(row):
                first_row = False
                continue
            first_row = False
            if any("\n" in field or "\r" in field for field in row):
                raise DataError(
                    f"{where}: a quoted field runs over a line break into line {row_end} (a stray quote?); "
                    "fix the quotes of that row."
                )
            if len(row) not in (2, 6):
                raise DataError(
                    f"{where}: expected 6 columns (polarity,id,date,query,user,text) "
                    f"or 2 (polarity,text), found {len(row)}; fix or delete that row."
                )
            polarity = row[0].strip()
            if polarity not in labels_of:
                raise DataError(
                    f"{where}: polarity {row[0]!r} is not 0, 2 or 4; fix or delete that row."
                )
            label = labels_of[polarity]
            if label is None:
                if drop_neutral:
                    continue
                raise DataError(f"{where}: neutral tweet (polarity 2) in a binary training file.")
            texts.append(row[-1])
            labels.append(label)
    except csv.Error as error:  # e.g. a field beyond csv.field_size_limit()
        raise DataError(
            f"{path.name}, line {row_end + 1}: unreadable CSV ({_brief(error)}); a quote left open there may "
            "run on over the lines after it: fix or delete that row."
        ) from None
    if not texts:
        raise DataError(f"{path} holds no labeled tweets: is it a Sentiment140 CSV file?")
    return texts, np.asarray(labels, dtype=np.int32)


def _is_header(row: list[str]) -> bool:
    """Column names such as ``polarity,text``: every field a single word."""
    return all(field.strip().replace("_", "").isalpha() for field in row)


def _sentiment140_dir(data_dir: Path | None) -> Path:
    if data_dir is not None:
        return data_dir / "sentiment140"
    what = f"Sentiment140 from {SENTIMENT140_URL}"
    cache = cache_dir()
    archive = cache / "downloads" / SENTIMENT140_ARCHIVE  # where get_file keeps it
    if not archive.is_file():
        _check_reachable(SENTIMENT140_URL, what)
    try:
        # With file_hash, get_file downloads again over a cached zip that does
        # not match, and raises a ValueError (leaving the file) when a fresh
        # download does not match; it extracts only a matching zip.
        return Path(keras.utils.get_file(SENTIMENT140_ARCHIVE, origin=SENTIMENT140_URL, extract=True,
                                         file_hash=SENTIMENT140_SHA256, hash_algorithm="sha256",
                                         cache_dir=str(cache), cache_subdir="downloads"))
    except Exception as error:  # urllib's and keras' failures alike
        if isinstance(error, OSError) and error.errno in DISK_ERRNOS:
            raise _cache_error(cache, "write the Sentiment140 download into", error) from None
        if isinstance(error, ValueError):
            mismatch = _discard_unless_official(archive, SENTIMENT140_ARCHIVE, SENTIMENT140_URL,
                                                (SENTIMENT140_SIZE, SENTIMENT140_SHA256))
            if mismatch is not None:
                raise mismatch from None
        raise _no_network_error(what, error) from None


def _sentiment140_file(folder: Path, split: str) -> Path:
    names = SENTIMENT140_FILES[split]
    for name in names:
        found = sorted(folder.rglob(name)) if folder.is_dir() else []
        if found:
            return found[0]
    raise DataError(
        f"No Sentiment140 {split} file in {folder}: expected {' or '.join(names)}."
    )


def load_sentiment140(split: str, data_dir=None, limit: int | None = None):
    """Sentiment140 tweets: ``(text, label)`` with label 1 for a positive tweet.

    ``"train"`` is the 1.6M-tweet training file (or, in a local copy without
    it, the 20,000-tweet sample); ``"test"`` is the hand-labeled test set with
    its neutral tweets dropped (359 tweets). Examples come in a fixed shuffled
    order (the training file is sorted by label), and ``limit`` keeps the
    first ``limit`` of them.
    """
    _check_split(split)
    _check_limit(limit)
    path = _sentiment140_file(_sentiment140_dir(resolve_data_dir(data_dir)), split)
    texts, labels = read_sentiment140_csv(path)
    order = np.random.default_rng(SHUFFLE_SEED).permutation(len(texts))[:limit]
    texts = tf.constant([texts[i] for i in order], dtype=tf.string)
    return tf.data.Dataset.from_tensor_slices((texts, labels[order]))


def class_counts(dataset) -> dict[str, int]:
    """``{"negative": n, "positive": m}`` for a ``(text, label)`` dataset."""
    labels = np.fromiter((int(label) for _, label in dataset.as_numpy_iterator()), dtype=np.int64)
    return {"negative": int(np.sum(labels == 0)), "positive": int(np.sum(labels == 1))}


def examples_per_class(dataset, per_class: int = 2) -> list[tuple[str, int]]:
    """The first ``per_class`` texts of each label, as ``(text, label)``."""
    found = {0: [], 1: []}
    for text, label in dataset.as_numpy_iterator():
        if len(found[int(label)]) < per_class:
            found[int(label)].append((text.decode("utf-8", errors="replace"), int(label)))
        if all(len(rows) == per_class for rows in found.values()):
            break
    return found[0] + found[1]


@dataclasses.dataclass
class PreparedData:
    """Everything a model notebook trains and evaluates on."""

    vectorizer: keras.layers.TextVectorization
    train: tf.data.Dataset  # batched (ids, label), shuffled
    validation: tf.data.Dataset  # carved from the training split, never the test set
    test: tf.data.Dataset  # batched (ids, label), in the order of test_texts
    test_texts: tf.data.Dataset  # (text, label)
    sequence_length: int
    n_train: int
    n_validation: int
    n_test: int
    truncating: str = "pre"  # the end of a long text that is cut ("pre": its last tokens are kept)
    # A new training pipeline over the same cached examples, its shuffling started afresh from the
    # seed: each training reads the same batches, whatever iterated ``train`` before it.
    fresh_train: Callable[[], tf.data.Dataset] | None = None


def prepare_sentiment140(profile, sequence_length: int, batching: str = "bucketed", padding: str = "post",
                         truncating: str = "pre", validation_fraction: float = 0.1, seed: int = SHUFFLE_SEED,
                         data_dir=None) -> PreparedData:
    """Sentiment140 ready for training, with the tweet standardization."""
    train = load_sentiment140("train", data_dir=data_dir, limit=profile.tweets_train_limit)
    test = load_sentiment140("test", data_dir=data_dir, limit=profile.tweets_test_limit)
    return prepare(train, test, profile.tweet_max_tokens, sequence_length, profile.batch_size,
                   padding=padding, truncating=truncating, batching=batching,
                   validation_fraction=validation_fraction, seed=seed, standardize=standardize_tweet)


def count(dataset) -> int:
    """Number of elements, counted when tf.data does not know it."""
    known = int(dataset.cardinality())
    return known if known >= 0 else int(dataset.reduce(0, lambda n, _: n + 1))


def split_validation(dataset, validation_fraction: float = 0.1, seed: int = SHUFFLE_SEED,
                     groups=None):
    """``(train, validation)``: a fixed random ``validation_fraction`` held out.

    Without ``groups`` the examples are held out at random. With ``groups``
    (one id per example, in the dataset's order, e.g. :func:`imdb_movies`)
    whole groups are held out, drawn at random until they hold
    ``validation_fraction`` of the examples: no group is on both sides, as
    between IMDB's training and test movies. Same seed, same split in every
    run and every epoch.
    """
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must lie between 0 and 1, got {validation_fraction}.")
    dataset = dataset.cache()
    total = count(dataset)
    if groups is None:
        n_validation = max(1, round(total * validation_fraction))
        dataset = dataset.shuffle(total, seed=seed, reshuffle_each_iteration=False)
        return dataset.skip(n_validation), dataset.take(n_validation)
    groups = np.asarray(groups)
    if len(groups) != total:
        raise ValueError(f"groups has {len(groups)} entries for {total} examples: one per example.")
    names, sizes = np.unique(groups, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(names))
    # The fewest groups, in random order, that hold at least the fraction of the examples.
    n_held = int(np.searchsorted(np.cumsum(sizes[order]), validation_fraction * total)) + 1
    if n_held >= len(names):
        raise ValueError(f"Only {len(names)} groups: too few to hold {validation_fraction:.0%} out by group.")
    held_out = tf.data.Dataset.from_tensor_slices(np.isin(groups, names[order[:n_held]]))
    flagged = tf.data.Dataset.zip(dataset, held_out)
    keep = lambda wanted: flagged.filter(lambda example, held: tf.equal(held, wanted)).map(
        lambda example, held: example)
    return keep(False), keep(True)


def imdb_text_splits(profile, validation_fraction: float = 0.1, seed: int = SHUFFLE_SEED, data_dir=None):
    """``(train, validation, test)``: the course's IMDB split as raw ``(text, label)`` datasets.

    The reviews :func:`prepare_imdb` trains, validates and tests on, before
    vectorization: for models that read text their own way (the bag-of-words
    baseline, the reference configurations). Where the movie of each review is
    known (:func:`imdb_movies`), validation holds out whole movies, as the test
    set does; a random validation set rewards memorizing the training movies' names.
    """
    local = resolve_data_dir(data_dir)  # once, for both splits
    train, movies = _imdb_split("train", local, profile.imdb_train_limit)
    test, _ = _imdb_split("test", local, profile.imdb_test_limit)
    if movies is None:
        print("No movie ids in this copy of IMDB (tensorflow_datasets has none): validation reviews are "
              "drawn at random, share movies with training and read 1.5 to 2.5 points above the test set.")
    train, validation = split_validation(train, validation_fraction, seed, groups=movies)
    return train, validation, test


def prepare_imdb(profile, sequence_length: int | None = None, padding: str = "post", truncating: str = "pre",
                 batching: str = "bucketed", validation_fraction: float = 0.1,
                 seed: int = SHUFFLE_SEED, data_dir=None) -> PreparedData:
    """IMDB ready for training: splits (:func:`imdb_text_splits`), vectorizer
    (train text only), pipelines.

    ``sequence_length`` (the most tokens kept per review) defaults to the profile's.
    """
    train, validation, test = imdb_text_splits(profile, validation_fraction, seed, data_dir)
    return prepare(train, test, profile.max_tokens, sequence_length or profile.sequence_length,
                   profile.batch_size, padding=padding, truncating=truncating, batching=batching, seed=seed,
                   validation=validation)


def prepare(train, test, max_tokens: int, sequence_length: int, batch_size: int,
            padding: str = "post", truncating: str = "pre", batching: str = "bucketed",
            validation_fraction: float = 0.1, seed: int = SHUFFLE_SEED, standardize=standardize_review,
            groups=None, validation=None) -> PreparedData:
    """Split a validation set off ``train``, adapt the vectorizer, build pipelines.

    ``batching`` (see :func:`make_pipeline`) applies to training and
    validation; the test batches keep the order of ``test_texts``, padded to
    their longest text (``"bucketed"``) or to ``sequence_length`` (``"fixed"``).
    A ``validation`` set held out already is used as it is, and ``train`` whole.
    """
    if validation is None:
        train, validation = split_validation(train, validation_fraction, seed, groups)
    vectorizer = make_vectorizer(train, max_tokens, standardize=standardize)
    pipe = functools.partial(make_pipeline, vectorizer=vectorizer, batch_size=batch_size,
                             sequence_length=sequence_length, padding=padding, truncating=truncating)
    counts = [count(dataset) for dataset in (train, validation)]
    n_test = count(test)
    train_examples = vectorized_examples(train, vectorizer, sequence_length, padding, truncating, batching)
    fresh_train = functools.partial(batch_examples, train_examples, batch_size, sequence_length, shuffle=True,
                                    seed=seed, batching=batching)
    return PreparedData(
        vectorizer=vectorizer,
        train=fresh_train(),
        fresh_train=fresh_train,
        validation=pipe(validation, batching=batching),
        test=pipe(test, batching="fixed" if batching == "fixed" else "longest"),
        test_texts=test,
        sequence_length=sequence_length,
        n_train=counts[0],
        n_validation=counts[1],
        n_test=n_test,
        truncating=truncating,
    )
