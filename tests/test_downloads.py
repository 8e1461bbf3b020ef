"""utils.data: downloads are checked against the official size and SHA-256.

The Sentiment140 tests serve a tiny zip from a local HTTP server and go
through the real ``keras.utils.get_file``; the pinned digest is swapped for
the tiny zip's own. The IMDB test stands in for tensorflow_datasets' own
checksum failure.
"""

import hashlib
import http.server
import importlib.util
import io
import socket
import threading
import uuid
import zipfile
from pathlib import Path

import pytest

from utils import data
from utils.data import DataError, DownloadMismatchError

TEST_CSV = "testdata.manual.2009.06.14.csv"
TWEETS = b'4,"so good"\n0,"so bad"\n2,"just a tweet"\n'
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def one_line(info, *fragments):
    message = str(info.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(TEST_CSV, TWEETS)
    return buffer.getvalue()


GOOD = zip_bytes()
GOOD_SHA256 = hashlib.sha256(GOOD).hexdigest()


class Server:
    """Serves ``body`` at every path; ``requests`` counts the GETs."""

    def __init__(self):
        self.body = GOOD
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/zip")
                self.end_headers()  # no Content-Length: a short body is not caught by urllib
                self.wfile.write(server.body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/{data.SENTIMENT140_ARCHIVE}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(cache, monkeypatch):
    """Sentiment140 served from localhost, its pinned size and digest the tiny zip's."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("RNN_COURSE_DATA", raising=False)
    served = Server()
    monkeypatch.setattr(data, "SENTIMENT140_URL", served.url)
    monkeypatch.setattr(data, "SENTIMENT140_SIZE", len(GOOD))
    monkeypatch.setattr(data, "SENTIMENT140_SHA256", GOOD_SHA256)
    yield served
    served.close()


def cached_zip(cache: Path) -> Path:
    return cache / "downloads" / data.SENTIMENT140_ARCHIVE


def loaded_tweets():
    return sorted((text.decode(), int(label)) for text, label in data.load_sentiment140("test").as_numpy_iterator())


# The pinned digests ----------------------------------------------------------------

def registered_checksums(dataset: str) -> dict[str, tuple[str, int, str]]:
    """``{file name: (url, size, sha256)}`` from the installed tfds' checksums.tsv."""
    spec = importlib.util.find_spec("tensorflow_datasets")  # finds the package without importing it
    path = Path(spec.submodule_search_locations[0]) / "datasets" / dataset / "checksums.tsv"
    entries = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            url, size, sha256, name = line.split("\t")
            entries[name] = (url, int(size), sha256)
    return entries


@pytest.mark.parametrize("dataset, name, url, size, sha256", [
    ("sentiment140", data.SENTIMENT140_ARCHIVE, data.SENTIMENT140_URL, data.SENTIMENT140_SIZE,
     data.SENTIMENT140_SHA256),
    ("imdb_reviews", data.IMDB_ARCHIVE, data.IMDB_URL, data.IMDB_SIZE, data.IMDB_SHA256),
])
def test_pinned_checksums_agree_with_tensorflow_datasets(dataset, name, url, size, sha256):
    registered_url, registered_size, registered_sha256 = registered_checksums(dataset)[name]
    assert (size, sha256) == (registered_size, registered_sha256)
    # The same file: tfds names it by http://, the course fetches Sentiment140 over https://.
    assert registered_url.split("://", 1)[1] == url.split("://", 1)[1]


# Sentiment140 through keras.utils.get_file -------------------------------------------

def test_the_official_bytes_pass_and_are_downloaded_once(server, cache):
    assert loaded_tweets() == [("so bad", 0), ("so good", 1)]
    assert loaded_tweets() == [("so bad", 0), ("so good", 1)]
    assert server.requests == 1
    assert cached_zip(cache).read_bytes() == GOOD


@pytest.mark.parametrize("body", [
    pytest.param(GOOD[: len(GOOD) // 2], id="truncated"),
    pytest.param(GOOD[:-1] + bytes([GOOD[-1] ^ 1]), id="altered"),
    pytest.param(b"<html>Please log in to the network</html>", id="other"),
])
def test_wrong_bytes_are_refused_in_one_line_and_deleted(server, cache, body):
    server.body = body
    with pytest.raises(DownloadMismatchError) as info:
        data.load_sentiment140("test")
    one_line(info, data.SENTIMENT140_ARCHIVE, server.url, f"{len(GOOD):,} bytes", GOOD_SHA256,
             f"{len(body):,} bytes", hashlib.sha256(body).hexdigest(), "deleted", "run again", "RNN_COURSE_DATA")
    assert isinstance(info.value, DataError)
    assert not cached_zip(cache).exists(), "a refused download must not stay where the next run finds it"
    assert not any(path.name.endswith("_extracted") for path in cached_zip(cache).parent.iterdir())


def test_the_run_after_a_refusal_downloads_again(server, cache):
    server.body = b"not the archive"
    with pytest.raises(DownloadMismatchError):
        data.load_sentiment140("test")
    server.body = GOOD
    assert loaded_tweets() == [("so bad", 0), ("so good", 1)]
    assert server.requests == 2


def test_a_bad_zip_already_in_the_cache_is_not_trusted(server, cache):
    # e.g. cut short by a killed process, or left by a version that did not check
    cached_zip(cache).parent.mkdir(parents=True)
    cached_zip(cache).write_bytes(GOOD[:100])
    assert loaded_tweets() == [("so bad", 0), ("so good", 1)]
    assert server.requests == 1 and cached_zip(cache).read_bytes() == GOOD


def test_a_bad_zip_in_the_cache_and_a_bad_download_are_refused(server, cache):
    cached_zip(cache).parent.mkdir(parents=True)
    cached_zip(cache).write_bytes(GOOD[:100])
    server.body = b"still not the archive"
    with pytest.raises(DownloadMismatchError) as info:
        data.load_sentiment140("test")
    one_line(info, data.SENTIMENT140_ARCHIVE, hashlib.sha256(b"still not the archive").hexdigest())
    assert not cached_zip(cache).exists()


# IMDB through tensorflow_datasets ----------------------------------------------------

class Connection:
    def close(self):
        pass


def test_imdb_checksum_failure_in_tensorflow_datasets_is_one_line(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core.download.download_manager import NonMatchingChecksumError

    monkeypatch.delenv("RNN_COURSE_DATA", raising=False)
    monkeypatch.setattr(socket, "create_connection", lambda *args, **kwargs: Connection())
    monkeypatch.setattr(tfds.core.DatasetBuilder, "is_prepared", lambda self: False)
    # Where tfds leaves a download whose checksum it rejects, and its own message.
    staging = tmp_path / "downloads" / f"ai.stanford.edu_aclImdb_v1.tar.gz.tmp.{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    bad = staging / data.IMDB_ARCHIVE
    bad.write_bytes(b"truncated")
    message = (f"Artifact {data.IMDB_URL}, downloaded to {bad}, has wrong checksum:\n"
               f"* Expected: UrlInfo(size=80.23 MiB, checksum='{data.IMDB_SHA256}', filename='aclImdb_v1.tar.gz')\n"
               "* Got: UrlInfo(size=9 bytes, checksum='...', filename='aclImdb_v1.tar.gz')")

    def rejected(*args, **kwargs):
        try:
            raise NonMatchingChecksumError(message)
        except NonMatchingChecksumError as error:  # tfds may re-raise it wrapped
            raise RuntimeError("Failed to prepare imdb_reviews") from error

    monkeypatch.setattr(tfds, "load", rejected)
    with pytest.raises(DownloadMismatchError) as info:
        data.load_imdb("train")
    one_line(info, data.IMDB_ARCHIVE, data.IMDB_URL, f"{data.IMDB_SIZE:,} bytes", data.IMDB_SHA256,
             "9 bytes", hashlib.sha256(b"truncated").hexdigest(), "run again", "RNN_COURSE_DATA")
    assert not staging.exists()


def test_imdb_other_tfds_failures_still_read_as_no_network(monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.delenv("RNN_COURSE_DATA", raising=False)
    monkeypatch.setattr(socket, "create_connection", lambda *args, **kwargs: Connection())
    monkeypatch.setattr(tfds.core.DatasetBuilder, "is_prepared", lambda self: False)
    monkeypatch.setattr(tfds, "load", lambda *args, **kwargs: (_ for _ in ()).throw(ConnectionError("reset")))
    with pytest.raises(DataError) as info:
        data.load_imdb("train")
    assert not isinstance(info.value, DownloadMismatchError)
    one_line(info, "Could not download the IMDB reviews", "RNN_COURSE_DATA")
