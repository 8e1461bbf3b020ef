"""Profiles, seeding, output folders and the device summary.

One code path, two sizes: ``COURSE_PROFILE=full`` (default) is the course as
taught, ``COURSE_PROFILE=smoke`` runs the same code on a small slice so that
CI executes every notebook in minutes.
"""

from __future__ import annotations

import dataclasses
import os
import platform
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED = 42
PROFILE_ENV = "COURSE_PROFILE"
TWEETS_LIMIT_ENV = "TWEETS_TRAIN_LIMIT"
OUTPUT_ENV = "COURSE_OUTPUT_DIR"


@dataclasses.dataclass(frozen=True)
class Profile:
    """Sizes of one run. A profile never changes which code runs."""

    name: str
    imdb_train_limit: int | None  # reviews read from the training split
    imdb_test_limit: int | None  # reviews read from the test split
    tweets_train_limit: int | None
    tweets_test_limit: int | None
    max_tokens: int  # vocabulary size, padding and OOV ids included
    sequence_length: int  # tokens kept per review (the last ones)
    simple_rnn_sequence_length: int  # shorter: a plain RNN forgets the start anyway
    tweet_sequence_length: int  # tokens kept per tweet
    tweet_max_tokens: int  # vocabulary size for tweets
    batch_size: int
    memory_distances: tuple[int, ...]  # long-range memory task: marker distances (steps)
    memory_train_size: int  # training sequences per distance
    memory_epochs: int
    memory_seeds: int  # initializations per network and distance
    epochs: int  # upper bound; early stopping may end sooner
    verbose: int  # Keras verbosity: 1 progress bar, 2 one line per epoch


PROFILES = {
    "full": Profile(
        name="full",
        imdb_train_limit=None,
        imdb_test_limit=None,
        tweets_train_limit=20_000,  # TWEETS_TRAIN_LIMIT=all trains on the whole file
        tweets_test_limit=None,
        max_tokens=20_000,
        sequence_length=600,
        simple_rnn_sequence_length=200,
        tweet_sequence_length=40,
        tweet_max_tokens=10_000,
        batch_size=128,
        memory_distances=(5, 10, 20, 40, 60),
        memory_train_size=2_048,
        memory_epochs=8,
        memory_seeds=3,
        epochs=8,
        verbose=1,
    ),
    "smoke": Profile(
        name="smoke",
        imdb_train_limit=4_000,
        imdb_test_limit=1_000,
        tweets_train_limit=4_000,
        tweets_test_limit=None,
        max_tokens=5_000,
        sequence_length=100,
        simple_rnn_sequence_length=40,
        tweet_sequence_length=32,
        tweet_max_tokens=3_000,
        batch_size=64,
        memory_distances=(5,),
        memory_train_size=256,
        memory_epochs=1,
        memory_seeds=2,
        epochs=3,
        verbose=2,
    ),
}


def get_profile(name: str | None = None) -> Profile:
    """The profile named by ``name`` or by ``$COURSE_PROFILE`` (default full)."""
    name = (name or os.environ.get(PROFILE_ENV) or "full").strip().lower()
    if name not in PROFILES:
        raise ValueError(
            f"Unknown course profile {name!r}: set {PROFILE_ENV} to one of "
            f"{', '.join(sorted(PROFILES))}."
        )
    profile = PROFILES[name]
    tweets_limit = os.environ.get(TWEETS_LIMIT_ENV, "").strip().lower()
    if tweets_limit:
        # With internet, the 1.6M-tweet training file is there: "all" uses every tweet.
        if tweets_limit != "all" and not tweets_limit.isdigit():
            raise ValueError(f"{TWEETS_LIMIT_ENV} must be 'all' or a whole number, got {tweets_limit!r}.")
        limit = None if tweets_limit == "all" else int(tweets_limit)
        profile = dataclasses.replace(profile, tweets_train_limit=limit)
    return profile


def seed_everything(seed: int = SEED, deterministic: bool = True) -> None:
    """Seed Python, NumPy, TensorFlow and Keras so that a run repeats.

    ``deterministic`` also asks TensorFlow for deterministic kernels, which
    makes CPU runs bit-for-bit repeatable at a small cost in speed.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)  # seeds Python, NumPy and TensorFlow
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def output_dirs(profile: Profile | None = None) -> tuple[Path, Path]:
    """``(figures_dir, results_dir)`` for ``profile``, created if missing.

    Full runs write the committed ``figures/`` and ``results/``; smoke runs
    write into their ``smoke/`` subfolders (git-ignored) so they never
    overwrite the course's real outputs. ``$COURSE_OUTPUT_DIR`` moves both.
    """
    profile = profile or get_profile()
    base = Path(os.environ.get(OUTPUT_ENV) or REPO_ROOT)
    figures, results = base / "figures", base / "results"
    if profile.name != "full":
        figures, results = figures / profile.name, results / profile.name
    figures.mkdir(parents=True, exist_ok=True)
    results.mkdir(parents=True, exist_ok=True)
    return figures, results


def models_dir(profile: Profile | None = None) -> Path:
    """Where trained models are saved (not committed: several MB each)."""
    profile = profile or get_profile()
    base = Path(os.environ.get(OUTPUT_ENV) or REPO_ROOT)
    path = base / "build" / "models" / profile.name
    path.mkdir(parents=True, exist_ok=True)
    return path


def precision_policy(n_gpus: int) -> str:
    """``mixed_float16`` on a GPU (tensor cores), ``float32`` on a CPU."""
    return "mixed_float16" if n_gpus > 0 else "float32"


def distribution_strategy(n_gpus: int):
    """``MirroredStrategy`` across several GPUs, else TensorFlow's default."""
    import tensorflow as tf

    return tf.distribute.MirroredStrategy() if n_gpus > 1 else tf.distribute.get_strategy()


def configure_devices():
    """Set the precision policy for this machine and return the strategy.

    Build and compile models inside ``with strategy.scope():``; on one device
    or a CPU the scope changes nothing.
    """
    import keras
    import tensorflow as tf

    n_gpus = len(tf.config.list_physical_devices("GPU"))
    keras.mixed_precision.set_global_policy(precision_policy(n_gpus))
    return distribution_strategy(n_gpus)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_summary() -> dict:
    """What this run executes on: device, core count and library versions."""
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        name = details.get("device_name", "GPU")
        device = f"GPU: {len(gpus)} x {name}"
    else:
        device = f"CPU: {_cpu_name()} ({os.cpu_count()} cores)"
    return {
        "device": device,
        "gpus": len(gpus),
        "python_version": platform.python_version(),
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "keras_backend": keras.backend.backend(),
    }


def print_setup(profile: Profile | None = None) -> dict:
    """Print the profile, device and versions; return the device summary."""
    profile = profile or get_profile()
    summary = device_summary()
    sizes = ", ".join(
        f"{field.name}={getattr(profile, field.name)}"
        for field in dataclasses.fields(profile)
        if field.name != "name"
    )
    print(f"Profile : {profile.name} ({sizes})")
    print(f"Device  : {summary['device']}")
    print(
        f"Versions: Python {summary['python_version']}, "
        f"TensorFlow {summary['tensorflow_version']}, "
        f"Keras {summary['keras_version']} ({summary['keras_backend']} backend)"
    )
    return summary
