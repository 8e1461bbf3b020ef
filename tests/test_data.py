"""utils.data: loaders, local copies, downloads (mocked) and bad input."""

import tarfile

import pytest
import tensorflow as tf

from utils import data
from utils.data import DataError


def as_lists(dataset):
    pairs = [(text.decode(), int(label)) for text, label in dataset.as_numpy_iterator()]
    return sorted(pairs)


def assert_one_line(error_info, *fragments):
    message = str(error_info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


# Local copies -----------------------------------------------------------------

def test_imdb_from_archive_has_text_label_pairs(fixture_data):
    train = data.load_imdb("train", data_dir=fixture_data)
    assert train.element_spec == (tf.TensorSpec((), tf.string), tf.TensorSpec((), tf.int32))
    pairs = as_lists(train)
    assert len(pairs) == 4  # unsup/ is skipped
    assert ("Great acting, great story.", 1) in pairs
    assert ("Dull and far too long.", 0) in pairs
    assert as_lists(data.load_imdb("test", data_dir=fixture_data)) == [
        ("Boring, avoid it.", 0), ("Brilliant and moving.", 1)]


def test_imdb_reads_the_environment_variable_and_limit(fixture_data, monkeypatch):
    monkeypatch.setenv("RNN_COURSE_DATA", str(fixture_data))
    first = as_lists(data.load_imdb("train", limit=3))
    assert len(first) == 3
    assert first == as_lists(data.load_imdb("train", limit=3)), "limit must pick the same slice"


def test_imdb_from_extracted_folder(tmp_path, cache):
    from conftest import write_imdb_tree

    write_imdb_tree(tmp_path / "data" / "imdb")
    assert len(as_lists(data.load_imdb("train", data_dir=tmp_path / "data"))) == 4
    assert not cache.exists() or not any(cache.iterdir()), "a folder needs no extraction"


def test_imdb_movies_follow_the_order_of_the_reviews(tmp_path, monkeypatch):
    from conftest import REVIEWS, write_imdb_tree

    root = write_imdb_tree(tmp_path / "data" / "imdb")
    data_dir = tmp_path / "data"
    assert data.imdb_movies("train", data_dir=data_dir) is None, "no url lists: unknown"
    # Line i of urls_<label>.txt is the movie of review i_<rating>.txt.
    movie_of = {}
    for label, texts in REVIEWS["train"].items():
        movies = [f"tt{label}{i}" for i in range(len(texts))]
        (root / "train" / f"urls_{label}.txt").write_text(
            "".join(f"http://www.imdb.com/title/{movie}/usercomments\n" for movie in movies))
        movie_of.update(zip(texts, movies))
    reviews = [text.decode() for text, _ in data.load_imdb("train", data_dir=data_dir).as_numpy_iterator()]
    movies = data.imdb_movies("train", data_dir=data_dir)
    assert list(movies) == [movie_of[text] for text in reviews]
    assert list(data.imdb_movies("train", data_dir=data_dir, limit=3)) == list(movies[:3])
    monkeypatch.delenv("RNN_COURSE_DATA", raising=False)
    assert data.imdb_movies("train") is None, "tensorflow_datasets has no movie ids"


def test_archive_is_extracted_once_into_the_cache(fixture_data, cache):
    data.load_imdb("train", data_dir=fixture_data)
    (entry,) = cache.iterdir()
    marker = entry / "aclImdb" / "marker"
    marker.write_text("kept")
    data.load_imdb("test", data_dir=fixture_data)
    assert marker.exists(), "the second load must reuse the extracted folder"
    assert [p.name for p in cache.iterdir()] == [entry.name]


def test_interrupted_extraction_leaves_nothing_trusted(fixture_data, cache, monkeypatch):
    real_extractall = tarfile.TarFile.extractall

    def extract_then_die(self, path, *args, **kwargs):
        members = self.getmembers()[:3]
        real_extractall(self, path, members=members, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(tarfile.TarFile, "extractall", extract_then_die)
    with pytest.raises(KeyboardInterrupt):
        data.load_imdb("train", data_dir=fixture_data)
    assert not cache.exists() or list(cache.iterdir()) == []
    monkeypatch.setattr(tarfile.TarFile, "extractall", real_extractall)
    assert len(as_lists(data.load_imdb("train", data_dir=fixture_data))) == 4


def test_sentiment140_six_and_two_column_files(fixture_data):
    train = as_lists(data.load_sentiment140("train", data_dir=fixture_data))
    assert len(train) == 4
    assert ("so sad today", 0) in train and ("", 1) in train, "empty text loads"
    assert any(text.startswith("caf") and label == 0 for text, label in train), "latin-1 bytes load"
    test = as_lists(data.load_sentiment140("test", data_dir=fixture_data))
    assert test == [("I loooove my Kindle2.", 1), ("Worst day ever", 0)], "neutral tweet dropped"


def test_sentiment140_decodes_utf8_and_latin1_rows(tmp_path):
    path = tmp_path / "tweets.csv"
    path.write_bytes('0,"naïve café"\n'.encode("utf-8") + '4,"crème brûlée"\n'.encode("latin-1"))
    texts, labels = data.read_sentiment140_csv(path)
    assert texts == ["naïve café", "crème brûlée"]
    assert labels.tolist() == [0, 1]


def test_sentiment140_limit_keeps_both_classes(fixture_data):
    # Sorted by label, like the official training file: a plain head would be all negative.
    (fixture_data / "sentiment140" / "training.sample20k.csv").write_text(
        "".join(f'"{polarity}","tweet {polarity} {i}"\n' for polarity in (0, 4) for i in range(50)))
    limited = data.load_sentiment140("train", data_dir=fixture_data, limit=20)
    counts = data.class_counts(limited)
    assert sum(counts.values()) == 20 and counts["negative"] >= 5 and counts["positive"] >= 5, counts
    whole = list(data.load_sentiment140("train", data_dir=fixture_data).as_numpy_iterator())
    assert list(limited.as_numpy_iterator()) == whole[:20], "limit keeps the head of the fixed shuffled order"


# Downloads, offline -------------------------------------------------------------

def test_imdb_tfds_path_with_mock_data(monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.delenv("RNN_COURSE_DATA", raising=False)
    # mock_data stands for a copy tfds has prepared: no download, so no connection test.
    monkeypatch.setattr(tfds.core.DatasetBuilder, "is_prepared", lambda self: True)
    with tfds.testing.mock_data(num_examples=12):
        dataset = data.load_imdb("train", limit=5)
        pairs = list(dataset.as_numpy_iterator())
    assert dataset.element_spec == (tf.TensorSpec((), tf.string), tf.TensorSpec((), tf.int32))
    assert len(pairs) == 5
    assert all(label in (0, 1) for _, label in pairs)


def test_imdb_without_network_says_how_to_use_a_local_copy(monkeypatch):
    import tensorflow_datasets as tfds

    def no_network(*args, **kwargs):
        raise ConnectionError("Failed to establish a new connection:\n Name or service not known")

    monkeypatch.delenv("RNN_COURSE_DATA", raising=False)
    monkeypatch.setattr(tfds, "load", no_network)
    with pytest.raises(DataError) as info:
        data.load_imdb("train")
    assert_one_line(info, "Could not download the IMDB reviews", "RNN_COURSE_DATA")


def test_sentiment140_without_network_says_how_to_use_a_local_copy(monkeypatch):
    import keras

    def no_network(*args, **kwargs):
        raise Exception("URL fetch failure on https://cs.stanford.edu: None -- [Errno -3]")

    monkeypatch.delenv("RNN_COURSE_DATA", raising=False)
    monkeypatch.setattr(keras.utils, "get_file", no_network)
    with pytest.raises(DataError) as info:
        data.load_sentiment140("test")
    assert_one_line(info, "Could not download Sentiment140", "RNN_COURSE_DATA")


# Bad input ------------------------------------------------------------------------

def test_missing_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_COURSE_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataError) as info:
        data.load_imdb("train")
    assert_one_line(info, "RNN_COURSE_DATA=", "is not a folder", "imdb/aclImdb.tar.gz")


def test_folder_without_the_expected_files(tmp_path):
    with pytest.raises(DataError) as info:
        data.load_imdb("train", data_dir=tmp_path)
    assert_one_line(info, "No IMDB reviews", "imdb/aclImdb.tar.gz", "imdb/aclImdb/")
    with pytest.raises(DataError) as info:
        data.load_sentiment140("train", data_dir=tmp_path)
    assert_one_line(info, "No Sentiment140 train file", "training.sample20k.csv")


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_archive(fixture_data, cut):
    archive = fixture_data / "imdb" / "aclImdb.tar.gz"
    archive.write_bytes(archive.read_bytes()[: int(archive.stat().st_size * cut)])
    with pytest.raises(DataError) as info:
        data.load_imdb("train", data_dir=fixture_data)
    assert_one_line(info, "aclImdb.tar.gz is truncated or corrupt", "again")


def test_corrupt_archive(fixture_data, cache):
    (fixture_data / "imdb" / "aclImdb.tar.gz").write_bytes(b"this is not a gzip file" * 10)
    with pytest.raises(DataError) as info:
        data.load_imdb("train", data_dir=fixture_data)
    assert_one_line(info, "truncated or corrupt")
    assert list(cache.iterdir()) == [], "nothing half-extracted is left behind"


def test_archive_without_imdb_reviews(tmp_path, cache):
    other = tmp_path / "other"
    (other / "something").mkdir(parents=True)
    (tmp_path / "data" / "imdb").mkdir(parents=True)
    from conftest import tar_gz_bytes

    (tmp_path / "data" / "imdb" / "aclImdb.tar.gz").write_bytes(tar_gz_bytes(other))
    with pytest.raises(DataError) as info:
        data.load_imdb("train", data_dir=tmp_path / "data")
    assert_one_line(info, "holds no aclImdb/train/pos")


@pytest.mark.parametrize(
    "row, fragment",
    [
        (b'"0","1","date","NO_QUERY","user"\n', "found 5"),
        (b'"5","good day"\n', "polarity '5' is not 0, 2 or 4"),
        (b'"positive","good day"\n', "polarity 'positive'"),
    ],
)
def test_malformed_csv_row_names_file_and_line(tmp_path, row, fragment):
    path = tmp_path / "training.sample20k.csv"
    path.write_bytes(b'"0","fine row"\n"4","another fine row"\n' + row)
    with pytest.raises(DataError) as info:
        data.read_sentiment140_csv(path)
    assert_one_line(info, "training.sample20k.csv, line 3", fragment)


def test_empty_csv(tmp_path):
    path = tmp_path / "training.sample20k.csv"
    path.write_bytes(b"\n")
    with pytest.raises(DataError) as info:
        data.read_sentiment140_csv(path)
    assert_one_line(info, "holds no labeled tweets")


@pytest.mark.parametrize("loader", [data.load_imdb, data.load_sentiment140])
def test_unknown_split(loader, fixture_data):
    with pytest.raises(DataError) as info:
        loader("validation", data_dir=fixture_data)
    assert_one_line(info, "Unknown split 'validation'", "train, test")


@pytest.mark.parametrize("limit", [0, -3, 2.5])
def test_bad_limit(limit, fixture_data):
    with pytest.raises(DataError) as info:
        data.load_imdb("train", data_dir=fixture_data, limit=limit)
    assert_one_line(info, "limit must be a positive whole number")


# The real local copy ---------------------------------------------------------------

def test_real_imdb_splits_are_full_and_balanced(real_data_dir):
    for split in data.SPLITS:
        assert data.class_counts(data.load_imdb(split, data_dir=real_data_dir)) == {
            "negative": 12_500, "positive": 12_500}


def test_real_sentiment140(real_data_dir):
    assert data.class_counts(data.load_sentiment140("test", data_dir=real_data_dir)) == {
        "negative": 177, "positive": 182}
    train = data.load_sentiment140("train", data_dir=real_data_dir)
    assert data.class_counts(train) == {"negative": 9_999, "positive": 10_001}
    first_labels = [int(label) for _, label in train.take(200).as_numpy_iterator()]
    assert 60 < sum(first_labels) < 140, "the training file is sorted by label: loader must shuffle"


def test_real_imdb_limit_is_a_balanced_slice(real_data_dir):
    counts = data.class_counts(data.load_imdb("train", data_dir=real_data_dir, limit=1_000))
    assert sum(counts.values()) == 1_000 and abs(counts["positive"] - 500) < 60
