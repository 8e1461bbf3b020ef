"""utils.config: profiles, seeding, output folders, device summary."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from utils import config


def test_profiles(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    assert config.get_profile().name == "full"
    monkeypatch.setenv("COURSE_PROFILE", "Smoke")
    assert config.get_profile().name == "smoke"
    with pytest.raises(ValueError, match="set COURSE_PROFILE to one of full, smoke"):
        config.get_profile("huge")


def is_size(value) -> bool:
    """A count, a tuple of counts, or None (no limit); a flag (bool) is not a size."""
    if isinstance(value, tuple):
        return len(value) > 0 and all(map(is_size, value))
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0)


def no_larger(small, large) -> bool:
    if isinstance(small, tuple):
        return set(small) <= set(large)
    return large is None or (small is not None and small <= large)


def test_profiles_change_sizes_only():
    # One code path, two sizes: a profile holds no function, option string or flag,
    # only its name and sizes, and the smoke sizes are the smaller.
    full, smoke = config.PROFILES["full"], config.PROFILES["smoke"]
    assert (full.name, smoke.name) == ("full", "smoke")
    for field in dataclasses.fields(config.Profile):
        if field.name == "name":
            continue
        values = getattr(full, field.name), getattr(smoke, field.name)
        assert all(map(is_size, values)), f"{field.name} = {values}: a profile field must be a size"
        assert no_larger(values[1], values[0]), f"{field.name}: smoke {values[1]} is larger than full {values[0]}"
    assert smoke.imdb_train_limit <= 5_000 and smoke.epochs <= 3
    assert full.imdb_train_limit is None and full.imdb_test_limit is None


def test_smoke_outputs_never_overwrite_full_outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    full = config.output_dirs(config.PROFILES["full"])
    smoke = config.output_dirs(config.PROFILES["smoke"])
    assert full == (tmp_path / "figures", tmp_path / "results")
    assert smoke == (tmp_path / "figures" / "smoke", tmp_path / "results" / "smoke")
    assert all(path.is_dir() for path in full + smoke)


def test_exercises_train_at_smoke_sizes_and_smaller_in_a_smoke_run(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", str(tmp_path))
    setups = {name: config.CourseSetup(config.PROFILES[name], config.SEED, "float32", None, {},
                                       *config.output_dirs(config.PROFILES[name]), tmp_path)
              for name in ("full", "smoke")}
    from_full, from_smoke = setups["full"].small(), setups["smoke"].small()
    assert from_full.profile == config.PROFILES["smoke"], "a full run's exercises: the smoke profile's sizes"
    assert from_smoke.profile == dataclasses.replace(config.PROFILES["smoke"], **config.EXERCISE_SIZES_IN_SMOKE)
    assert from_smoke.profile.imdb_train_limit < from_full.profile.imdb_train_limit
    for small in (from_full, from_smoke):  # both write where the smoke profile writes
        assert (small.figures_dir, small.results_dir) == config.output_dirs(config.PROFILES["smoke"])
        assert small.profile.name == "smoke"


def test_seeding_repeats_random_draws():
    config.seed_everything(7)
    first = (np.random.rand(3), tf.random.uniform((3,)).numpy())
    config.seed_everything(7)
    second = (np.random.rand(3), tf.random.uniform((3,)).numpy())
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_tweets_train_limit_setting(monkeypatch):
    monkeypatch.setenv("TWEETS_TRAIN_LIMIT", "all")
    assert config.get_profile("full").tweets_train_limit is None
    monkeypatch.setenv("TWEETS_TRAIN_LIMIT", "5000")
    assert config.get_profile("full").tweets_train_limit == 5000
    monkeypatch.setenv("TWEETS_TRAIN_LIMIT", "lots")
    with pytest.raises(ValueError, match="TWEETS_TRAIN_LIMIT must be 'all' or a whole number"):
        config.get_profile("full")


@pytest.mark.parametrize("n_gpus, policy, strategy", [
    (0, "float32", "_DefaultDistributionStrategy"),
    (1, "mixed_float16", "_DefaultDistributionStrategy"),
    (2, "mixed_float16", "MirroredStrategy"),
])
def test_precision_and_strategy_follow_the_gpus(n_gpus, policy, strategy, monkeypatch):
    assert config.precision_policy(n_gpus) == policy
    if n_gpus > 1:
        # No second GPU here: check the choice, not the construction.
        monkeypatch.setattr(tf.distribute, "MirroredStrategy", type("MirroredStrategy", (), {}))
    assert type(config.distribution_strategy(n_gpus)).__name__ == strategy
