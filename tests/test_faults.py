"""Faults a user meets (issue 15): broken results files, interrupted or incomplete
extractions, no network, an unwritable cache, odd CSV files, and the exported model
called as a user would call it. Each test reproduces the fault."""

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import tar_gz_bytes, write_imdb_tree
from tooling import report
from utils import config, data, models, text
from utils.data import DataError


def one_line(error_info, *fragments):
    message = str(error_info.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


# The report and a broken results file (item 4) -----------------------------------

def write_record(results_dir: Path, name: str, **changes):
    record = {"dataset": "imdb", "model": "lstm", "test_accuracy": 0.8765, "params": 1234, "epochs": 3,
              "seconds_per_epoch": 41.25, "train_samples_per_second": 545.4, "device": "CPU",
              "target_accuracy": None, "meets_target": None, **changes}
    (results_dir / name).write_text(json.dumps(record, indent=2))


@pytest.mark.parametrize("broken", ["imdb_lstm.json", "benchmark_cpu.json", "course_time_cpu.json"])
@pytest.mark.parametrize("check", [True, False])
def test_report_names_a_truncated_results_file_and_exits_2(tmp_path, capsys, monkeypatch, broken, check):
    readme, page = tmp_path / "README.md", tmp_path / "performance.md"
    readme.write_text("unchanged")
    page.write_text("unchanged")
    monkeypatch.setattr(report, "README", readme)
    monkeypatch.setattr(report, "DETAILS", page)
    write_record(tmp_path, "imdb_gru.json", model="gru")
    write_record(tmp_path, broken)
    path = tmp_path / broken
    path.write_bytes(path.read_bytes()[:60])  # an interrupted write
    code = report.main([*(["--check"] if check else []), "--results-dir", str(tmp_path)])
    out = capsys.readouterr()
    assert code == 2
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "unreadable results file" in lines[0], out
    assert readme.read_text() == page.read_text() == "unchanged", "nothing is written from broken results"


def test_report_check_still_says_out_of_date_with_1(tmp_path, capsys, monkeypatch):
    readme, page = tmp_path / "README.md", tmp_path / "performance.md"
    readme.write_text("<!-- results:begin -->\n<!-- results:end -->\n"
                      "<!-- performance:begin -->\n<!-- performance:end -->\n")
    page.write_text("<!-- performance-details:begin -->\n<!-- performance-details:end -->\n")
    monkeypatch.setattr(report, "README", readme)
    monkeypatch.setattr(report, "DETAILS", page)
    monkeypatch.setattr(report.config, "REPO_ROOT", tmp_path)
    write_record(tmp_path, "imdb_lstm.json")
    assert report.main(["--check", "--results-dir", str(tmp_path)]) == 1
    assert "differ from" in capsys.readouterr().out
    assert report.main(["--results-dir", str(tmp_path)]) == 0
    assert "| imdb | lstm | 87.65 % |" in readme.read_text()
    assert report.main(["--check", "--results-dir", str(tmp_path)]) == 0


# Stale staging folders (item 6) ---------------------------------------------------

def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_stale_staging_folders_are_removed_live_ones_kept(fixture_data, cache):
    cache.mkdir()
    host = socket.gethostname()

    def staging(name, age_seconds=0):
        folder = cache / name
        (folder / "aclImdb" / "train").mkdir(parents=True)
        (folder / "aclImdb" / "train" / "0_1.txt").write_text("half a review")
        stamp = time.time() - age_seconds
        os.utime(folder, (stamp, stamp))
        return folder

    dead = staging(f".partial-{dead_pid()}@{host}-abc123")
    live = staging(f".partial-{os.getpid()}@{host}-def456")
    reused_pid = staging(f".partial-{os.getpid()}@{host}-stu901", age_seconds=2 * data.STALE_STAGING_SECONDS)
    other_host = staging(f".partial-{dead_pid()}@another-machine-ghi789")
    old_unowned = staging(".partial-jkl012", age_seconds=2 * data.STALE_STAGING_SECONDS)
    young_unowned = staging(".partial-mno345")
    old_other_host = staging(".partial-1@another-machine-pqr678", age_seconds=2 * data.STALE_STAGING_SECONDS)
    assert len(list(data.load_imdb("train", data_dir=fixture_data).as_numpy_iterator())) == 4
    assert not any(folder.exists() for folder in (dead, old_unowned, old_other_host, reused_pid))
    assert live.exists(), "a running extraction's folder must stay"
    assert other_host.exists() and young_unowned.exists(), "a young folder of unknown owner may be in use"
    assert [p.name.startswith("aclImdb-") for p in cache.iterdir()].count(True) == 1


def test_staging_folder_names_its_owner(fixture_data, cache, monkeypatch):
    seen = []
    real_extractall = tarfile.TarFile.extractall

    def spy(self, path, *args, **kwargs):
        seen.append(Path(path).name)
        return real_extractall(self, path, *args, **kwargs)

    monkeypatch.setattr(tarfile.TarFile, "extractall", spy)
    data.load_imdb("train", data_dir=fixture_data)
    assert seen and seen[0].startswith(f".partial-{os.getpid()}@{socket.gethostname()}-")


# No network (item 7) --------------------------------------------------------------

@pytest.fixture
def offline(monkeypatch, cache):
    """No network: every connection fails at once, as without a route."""
    calls = []

    def unreachable(address, *args, **kwargs):
        calls.append(address)
        raise OSError(errno.ENETUNREACH, "Network is unreachable (simulated)")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    monkeypatch.delenv("RNN_COURSE_DATA", raising=False)
    return calls


def test_imdb_offline_fails_fast_without_reaching_tensorflow_datasets(offline, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setattr(tfds.core.DatasetBuilder, "is_prepared", lambda self: False)
    monkeypatch.setattr(tfds, "load", lambda *args, **kwargs: pytest.fail("tfds.load reached: ~200 s of retries"))
    start = time.monotonic()
    with pytest.raises(DataError) as info:
        data.load_imdb("train")
    assert time.monotonic() - start < 15
    one_line(info, "Could not download the IMDB reviews", "simulated", "RNN_COURSE_DATA",
             "imdb/aclImdb_v1.tar.gz")
    assert offline == [("ai.stanford.edu", 80)]


def test_connection_test_goes_through_the_configured_proxy(offline, monkeypatch):
    for name in ("no_proxy", "NO_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    with pytest.raises(DataError) as info:
        data.load_sentiment140("test")
    one_line(info, "Could not download Sentiment140")
    assert offline == [("proxy.example", 3128)]


def test_imdb_offline_with_a_prepared_tfds_copy_needs_no_network(offline, monkeypatch):
    import tensorflow_datasets as tfds

    pairs = tf.data.Dataset.from_tensor_slices((["fine"], np.array([1], dtype="int64")))
    monkeypatch.setattr(tfds.core.DatasetBuilder, "is_prepared", lambda self: True)
    monkeypatch.setattr(tfds, "load", lambda *args, **kwargs: pairs)
    assert list(data.load_imdb("train").as_numpy_iterator()) == [(b"fine", 1)]
    assert offline == []


def test_sentiment140_offline_fails_fast_without_reaching_keras(offline, monkeypatch):
    monkeypatch.setattr(keras.utils, "get_file", lambda *args, **kwargs: pytest.fail("get_file reached offline"))
    start = time.monotonic()
    with pytest.raises(DataError) as info:
        data.load_sentiment140("test")
    assert time.monotonic() - start < 15
    one_line(info, "Could not download Sentiment140", "simulated", "RNN_COURSE_DATA", "sentiment140/*.csv")
    assert offline == [("cs.stanford.edu", 443)]


def test_sentiment140_offline_with_a_downloaded_zip_needs_no_network(offline, monkeypatch, cache, tmp_path):
    downloads = cache / "downloads"
    downloads.mkdir(parents=True)
    (downloads / "trainingandtestdata.zip").write_bytes(b"already downloaded")
    extracted = tmp_path / "extracted"
    extracted.mkdir()
    (extracted / "testdata.manual.2009.06.14.csv").write_text('4,"so good"\n0,"so bad"\n')
    asked = []
    monkeypatch.setattr(keras.utils, "get_file", lambda *args, **kwargs: asked.append(kwargs) or str(extracted))
    assert sorted(data.class_counts(data.load_sentiment140("test")).values()) == [1, 1]
    assert offline == [] and asked[0]["cache_dir"] == str(cache)


def test_sentiment140_download_onto_a_full_disk(cache, monkeypatch):
    class Connection:
        def close(self):
            pass

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.delenv("RNN_COURSE_DATA", raising=False)
    monkeypatch.setattr(socket, "create_connection", lambda *args, **kwargs: Connection())
    monkeypatch.setattr(keras.utils, "get_file", disk_full)
    with pytest.raises(DataError) as info:
        data.load_sentiment140("train")
    one_line(info, "write the Sentiment140 download into", str(cache), "No space left", "RNN_COURSE_CACHE")


# Incomplete IMDB copies (item 8) -------------------------------------------------

def imdb_without(root: Path, *missing: str) -> Path:
    """The tiny aclImdb tree without the folders ``missing`` (e.g. "test/neg"),
    or, for a name ending in "/", with that folder emptied."""
    tree = write_imdb_tree(root)
    for name in missing:
        folder = tree / name.rstrip("/")
        shutil.rmtree(folder)
        if name.endswith("/"):
            folder.mkdir()
    return tree


@pytest.mark.parametrize("missing, listed", [
    (("test",), "aclImdb/test/pos, aclImdb/test/neg"),
    (("train/neg",), "aclImdb/train/neg"),
    (("test/pos/",), "aclImdb/test/pos"),
])
def test_incomplete_archive_is_refused_and_not_cached(tmp_path, cache, missing, listed):
    tree = imdb_without(tmp_path / "source", *missing)
    (tmp_path / "data" / "imdb").mkdir(parents=True)
    (tmp_path / "data" / "imdb" / "aclImdb_v1.tar.gz").write_bytes(tar_gz_bytes(tree))
    for split in ("train", "test"):
        with pytest.raises(DataError) as info:
            data.load_imdb(split, data_dir=tmp_path / "data")
        one_line(info, "aclImdb_v1.tar.gz holds no", listed, "missing or empty", "official")
    assert list(cache.iterdir()) == [], "an incomplete archive is not cached"


def test_incomplete_folder_is_refused(tmp_path, cache):
    imdb_without(tmp_path / "data" / "imdb", "test/neg", "train/pos/")
    with pytest.raises(DataError) as info:
        data.load_imdb("train", data_dir=tmp_path / "data")
    one_line(info, str(tmp_path / "data" / "imdb" / "aclImdb"), "train/pos, test/neg", "missing or empty")


def test_an_incomplete_cache_entry_is_extracted_again(fixture_data, cache):
    data.load_imdb("train", data_dir=fixture_data)
    (entry,) = cache.iterdir()
    for review in (entry / "aclImdb" / "test" / "neg").iterdir():
        review.unlink()  # as an earlier version cached an incomplete archive
    assert len(list(data.load_imdb("test", data_dir=fixture_data).as_numpy_iterator())) == 2
    assert sorted(p.name for p in (entry / "aclImdb" / "test" / "neg").iterdir()) == ["0_2.txt"]


# An unwritable cache (item 9) -------------------------------------------------------

def test_cache_path_that_is_a_file(fixture_data, tmp_path, monkeypatch):
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("")
    monkeypatch.setenv("RNN_COURSE_CACHE", str(blocker))
    with pytest.raises(DataError) as info:
        data.load_imdb("train", data_dir=fixture_data)
    one_line(info, str(blocker), "RNN_COURSE_CACHE")


def test_full_disk_during_extraction(fixture_data, cache, monkeypatch):
    def disk_full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tarfile.TarFile, "extractall", disk_full)
    with pytest.raises(DataError) as info:
        data.load_imdb("train", data_dir=fixture_data)
    one_line(info, "aclImdb.tar.gz", str(cache), "No space left on device", "RNN_COURSE_CACHE")
    assert list(cache.iterdir()) == [], "the staging folder is removed"


def test_read_only_cache(fixture_data, cache, monkeypatch):
    def read_only(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(cache))

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    with pytest.raises(DataError) as info:
        data.load_imdb("train", data_dir=fixture_data)
    one_line(info, str(cache), "Permission denied", "RNN_COURSE_CACHE")


# CSV edge cases (item 10) ------------------------------------------------------------

def write_csv(tmp_path, content: bytes) -> Path:
    path = tmp_path / "testdata.manual.2009.06.14.csv"
    path.write_bytes(content)
    return path


def test_stray_quote_merging_rows_is_an_error(tmp_path):
    path = write_csv(tmp_path, b'4,"fine"\n0,"a stray quote\n4,"good"\n0,"bad"\n4,"nice"\n0,"awful"\n')
    with pytest.raises(DataError) as info:
        data.read_sentiment140_csv(path)
    one_line(info, "testdata.manual.2009.06.14.csv, line 2", "line break", "quote")


def test_unclosed_quote_at_the_end_is_an_error(tmp_path):
    path = write_csv(tmp_path, b'4,"fine"\n0,"never closed\n4,good\n')
    with pytest.raises(DataError) as info:
        data.read_sentiment140_csv(path)
    one_line(info, "line 2", "line break")


@pytest.mark.parametrize("header", [b"", b"polarity,text\n", b'"target","ids","date","flag","user","text"\n'])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_bom_and_header_row(tmp_path, header, bom):
    six = b'"4","1","date","NO_QUERY","u","good day"\n"0","2","date","NO_QUERY","u","caf\xe9"\n'
    two = b'4,"good day"\n0,"caf\xe9"\n'
    rows = six if header.startswith(b'"target"') else two
    texts, labels = data.read_sentiment140_csv(write_csv(tmp_path, bom + header + rows))
    assert texts == ["good day", "café"] and labels.tolist() == [1, 0]


def test_a_header_later_in_the_file_is_still_an_error(tmp_path):
    with pytest.raises(DataError) as info:
        data.read_sentiment140_csv(write_csv(tmp_path, b'4,"good"\npolarity,text\n'))
    one_line(info, "line 2", "polarity 'polarity'")


def test_unreadable_csv_names_file_and_line(tmp_path):
    huge = b"x" * (2 * 131072)  # beyond csv.field_size_limit()
    path = write_csv(tmp_path, b'4,"fine"\n0,"ok"\n4,"' + huge + b'"\n')
    with pytest.raises(DataError) as info:
        data.read_sentiment140_csv(path)
    one_line(info, "testdata.manual.2009.06.14.csv, line 3", "unreadable CSV", "field larger than field limit")


# Messages describe the layout, not this repository's shared/data (item 11) ------------

def test_messages_describe_the_expected_layout(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("RNN_COURSE_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataError) as info:
        data.load_imdb("train")
    missing = one_line(info, "imdb/aclImdb_v1.tar.gz", "imdb/aclImdb/{train,test}/{pos,neg}", "sentiment140/*.csv")
    monkeypatch.delenv("RNN_COURSE_DATA")
    with pytest.raises(DataError) as info:
        data.load_sentiment140("train")
    assert "shared/data" not in missing + str(info.value)


# Small ones -----------------------------------------------------------------------------

@pytest.mark.parametrize("limit", [True, False, np.bool_(True)])
def test_bool_limit_is_refused(fixture_data, limit):
    with pytest.raises(DataError) as info:
        data.load_imdb("train", data_dir=fixture_data, limit=limit)
    one_line(info, "limit must be a positive whole number", repr(limit))


def test_numpy_integer_limit_still_works(fixture_data):
    assert len(list(data.load_imdb("train", data_dir=fixture_data, limit=np.int64(3)).as_numpy_iterator())) == 3


@pytest.mark.parametrize("value", ["  ", "\t"])
def test_blank_data_variable_is_an_error(monkeypatch, value):
    monkeypatch.setenv("RNN_COURSE_DATA", value)
    with pytest.raises(DataError) as info:
        data.load_imdb("train")
    one_line(info, "RNN_COURSE_DATA is blank", "unset")


def test_empty_data_variable_means_download(monkeypatch):
    monkeypatch.setenv("RNN_COURSE_DATA", "")
    assert data.resolve_data_dir() is None


def test_relative_data_folder_is_taken_from_the_repository_root(tmp_path, monkeypatch):
    (tmp_path / "tests").mkdir()  # exists under the current folder and under the root
    (tmp_path / "only-here").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RNN_COURSE_DATA", "tests")
    assert data.resolve_data_dir() == config.REPO_ROOT / "tests"
    assert data.resolve_data_dir("utils") == config.REPO_ROOT / "utils"
    monkeypatch.setenv("RNN_COURSE_DATA", "only-here")
    with pytest.raises(DataError) as info:
        data.resolve_data_dir()
    one_line(info, str(config.REPO_ROOT / "only-here"), "repository root")


# The exported model as a user calls it (items 12-13) -------------------------------------

@pytest.fixture(scope="module")
def tweet_model():
    """A small untrained model on raw tweets, with the tweet standardization."""
    keras.utils.set_random_seed(0)
    vectorizer = text.make_vectorizer(["good great day", "bad awful day", "@friend loooove it"], max_tokens=20,
                                      standardize=text.standardize_tweet)
    return models.export_text_model(models.build_rnn_classifier("lstm", 20, units=4, embedding_dim=4), vectorizer, 8)


SENTENCES = ["good great day", "bad awful day", "I loooove it"]


def test_saved_model_reloads_with_utils_models_alone(tweet_model, tmp_path):
    path = tmp_path / "tweets_lstm.keras"
    tweet_model.save(path)
    expected = np.asarray(tweet_model(tf.constant(SENTENCES))).ravel()
    script = ("import json, sys, keras, utils.models, tensorflow as tf; "
              "model = keras.models.load_model(sys.argv[1]); "
              "assert 'utils.data' not in sys.modules, 'utils.models must not need utils.data'; "
              f"print(json.dumps(model(tf.constant({SENTENCES!r})).numpy().ravel().tolist()))")
    done = subprocess.run([sys.executable, "-c", script, str(path)], check=False, cwd=config.REPO_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(json.loads(done.stdout.strip().splitlines()[-1]), expected, atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda texts: texts,
    lambda texts: tuple(texts),
    lambda texts: np.array(texts),
    lambda texts: np.array(texts, dtype=object),
    lambda texts: tf.constant(texts),
    lambda texts: [t.encode() for t in texts],
], ids=["list", "tuple", "numpy-str", "numpy-object", "tf-string", "bytes"])
def test_predict_sentiment_takes_every_form_of_strings(tweet_model, make):
    expected = np.asarray(tweet_model(tf.constant(SENTENCES))).ravel()
    got = models.predict_sentiment(tweet_model, make(SENTENCES))
    assert got.shape == (3,) and got.dtype.kind == "f"
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert len(set(np.round(expected, 6))) > 1, "the texts must give different answers for this test to mean much"


def test_predict_sentiment_single_and_empty(tweet_model):
    expected = np.asarray(tweet_model(tf.constant(SENTENCES[:1]))).ravel()
    for single in (SENTENCES[0], np.str_(SENTENCES[0]), tf.constant(SENTENCES[0])):
        np.testing.assert_allclose(models.predict_sentiment(tweet_model, single), expected, atol=1e-6)
    for empty in ([], (), np.array([], dtype=str), tf.constant([], dtype=tf.string)):
        got = models.predict_sentiment(tweet_model, empty)
        assert got.shape == (0,) and got.dtype.kind == "f"


def test_predict_sentiment_batches_many_texts(tweet_model):
    many = SENTENCES * 50
    got = models.predict_sentiment(tweet_model, many)
    np.testing.assert_allclose(got, np.tile(models.predict_sentiment(tweet_model, SENTENCES), 50), atol=1e-6)


@pytest.mark.parametrize("bad", [3, [1, 2], ["fine", 3], np.array([0.5]), tf.constant([1]), [["nested"]], None])
def test_predict_sentiment_refuses_non_strings(tweet_model, bad):
    with pytest.raises(TypeError) as info:
        models.predict_sentiment(tweet_model, bad)
    one_line(info, "texts must be a string or a sequence of strings")
