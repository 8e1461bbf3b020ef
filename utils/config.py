"""Profiles, seeding, output folders, devices, and the one call every notebook starts with.

One code path, two sizes: ``COURSE_PROFILE=full`` (default) is the course as
taught, ``COURSE_PROFILE=smoke`` runs the same code on a small slice so that
CI executes every notebook in minutes. A profile holds sizes only; what each
model is (its recipe) lives in :mod:`utils.recipes`.

:func:`setup` is the first code of every notebook and of the benchmark: it
reads the profile, seeds, checks the output folders, picks the precision
policy and the distribution strategy for this machine and prints a summary.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import platform
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED = 42
PROFILE_ENV = "COURSE_PROFILE"
TWEETS_LIMIT_ENV = "TWEETS_TRAIN_LIMIT"
OUTPUT_ENV = "COURSE_OUTPUT_DIR"
BATCH_RUN_ENV = "COURSE_BATCH_RUN"  # set by tooling.course and the test run: no progress bars


class SetupError(RuntimeError):
    """The course cannot start here; the message says why and what to set."""


@dataclasses.dataclass(frozen=True)
class Profile:
    """Sizes of one run. A profile never changes which code runs."""

    name: str
    imdb_train_limit: int | None  # reviews read from the training split
    imdb_test_limit: int | None  # reviews read from the test split
    tweets_train_limit: int | None
    tweets_test_limit: int | None
    max_tokens: int  # vocabulary size for reviews, padding and OOV ids included
    tweet_max_tokens: int  # vocabulary size for tweets
    sequence_length: int  # the most tokens any model reads (a recipe may ask for fewer)
    batch_size: int  # the largest batch a course recipe trains on (recipes.batch_size caps each recipe's)
    memory_distances: tuple[int, ...]  # long-range memory task: marker distances (steps)
    memory_train_size: int  # training sequences per distance
    memory_epochs: int
    memory_seeds: int  # initializations per network and distance
    comparison_seeds: int  # seeds per variant where a notebook compares trained variants (06)
    epochs: int  # upper bound; a recipe may ask for fewer, early stopping may end sooner


PROFILES = {
    "full": Profile(
        name="full",
        imdb_train_limit=None,
        imdb_test_limit=None,
        tweets_train_limit=20_000,  # TWEETS_TRAIN_LIMIT=all trains on the whole file
        tweets_test_limit=None,
        max_tokens=20_000,
        sequence_length=600,
        tweet_max_tokens=10_000,
        batch_size=256,
        memory_distances=(5, 10, 20, 40, 60),
        memory_train_size=2_048,
        memory_epochs=8,
        memory_seeds=3,
        comparison_seeds=3,
        epochs=8,
    ),
    "smoke": Profile(
        name="smoke",
        imdb_train_limit=4_000,
        imdb_test_limit=1_000,
        tweets_train_limit=4_000,
        tweets_test_limit=None,
        max_tokens=5_000,
        sequence_length=100,
        tweet_max_tokens=3_000,
        batch_size=64,
        memory_distances=(5,),
        memory_train_size=256,
        memory_epochs=1,
        memory_seeds=2,
        comparison_seeds=2,
        epochs=3,
    ),
}


# A smoke run's exercises: a quarter of the smoke profile's texts, one epoch.
EXERCISE_SIZES_IN_SMOKE = dict(imdb_train_limit=1_000, imdb_test_limit=500, tweets_train_limit=1_000, epochs=1)


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
        if tweets_limit != "all" and not (tweets_limit.isdigit() and int(tweets_limit) > 0):
            raise ValueError(f"{TWEETS_LIMIT_ENV} must be 'all' or a whole number above 0, got {tweets_limit!r}.")
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


def output_base() -> Path:
    """``$COURSE_OUTPUT_DIR`` (a relative path counts from the repository root) or the root."""
    value = os.environ.get(OUTPUT_ENV, "").strip()
    return REPO_ROOT / Path(value).expanduser() if value else REPO_ROOT


def output_dirs(profile: Profile | None = None) -> tuple[Path, Path]:
    """``(figures_dir, results_dir)`` for ``profile``, created if missing.

    Full runs write the committed ``figures/`` and ``results/``; smoke runs
    write into their ``smoke/`` subfolders (git-ignored) so they never
    overwrite the course's real outputs. ``$COURSE_OUTPUT_DIR`` moves both.
    """
    profile = profile or get_profile()
    base = output_base()
    figures, results = base / "figures", base / "results"
    if profile.name != "full":
        figures, results = figures / profile.name, results / profile.name
    check_writable((figures, results))
    return figures, results


def models_dir(profile: Profile | None = None) -> Path:
    """Where trained models are saved (not committed: several MB each)."""
    profile = profile or get_profile()
    path = output_base() / "build" / "models" / profile.name
    check_writable((path,))
    return path


def check_writable(folders) -> None:
    """Create each folder and write a file into it, or say in one line which
    folder cannot be written and what to set: before training, not after."""
    for folder in folders:
        try:
            Path(folder).mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as error:
            raise SetupError(
                f"Cannot write to {folder} ({type(error).__name__}: {error.strerror or error}): "
                f"set {OUTPUT_ENV} to a writable folder (figures/, results/ and build/ go there)."
            ) from None


def keras_verbosity() -> int:
    """Keras ``verbose=``: a live progress bar (1) in an interactive session,
    one line per epoch (2) when a notebook is executed by the course runner or
    the tests (``$COURSE_BATCH_RUN=1``), where each redraw would be a line."""
    return 2 if os.environ.get(BATCH_RUN_ENV, "").strip() not in ("", "0") else 1


@functools.cache
def gpu_count() -> int:
    """Number of GPUs TensorFlow sees: the one GPU check of the course."""
    import tensorflow as tf

    return len(tf.config.list_physical_devices("GPU"))


def precision_policy(n_gpus: int) -> str:
    """``mixed_float16`` on a GPU (tensor cores), ``float32`` on a CPU."""
    return "mixed_float16" if n_gpus > 0 else "float32"


def distribution_strategy(n_gpus: int):
    """``MirroredStrategy`` across several GPUs, else TensorFlow's default."""
    import tensorflow as tf

    return tf.distribute.MirroredStrategy() if n_gpus > 1 else tf.distribute.get_strategy()


def cpu_info() -> tuple[str, list[str]]:
    """The CPU's model name and its vector instruction sets (from /proc/cpuinfo)."""
    name, flags = platform.processor() or platform.machine(), []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                name = value.strip()
            elif key.strip() in ("flags", "Features"):
                flags = value.split()
                break
    except OSError:
        pass
    vector = sorted(f for f in flags if f.startswith(("avx", "amx", "fma", "sse4", "f16c", "asimd", "sve")))
    return name, vector


def device_summary() -> dict:
    """What this run executes on: device, CPU instruction sets, library versions."""
    import keras
    import tensorflow as tf

    cpu, flags = cpu_info()
    if gpu_count():
        details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
        device = f"GPU: {gpu_count()} x {details.get('device_name', 'GPU')}"
    else:
        device = f"CPU: {cpu} ({os.cpu_count()} cores)"
    return {
        "device": device,
        "gpus": gpu_count(),
        "cpu": cpu,
        "cpu_flags": flags,
        "python_version": platform.python_version(),
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "keras_backend": keras.backend.backend(),
    }


@dataclasses.dataclass(frozen=True)
class CourseSetup:
    """What :func:`setup` decided; a notebook keeps it as ``course``."""

    profile: Profile
    seed: int
    precision_policy: str  # Keras' global dtype policy: float32 or mixed_float16
    strategy: object  # tf.distribute.Strategy: build and compile models in its scope
    device: dict  # :func:`device_summary`
    figures_dir: Path
    results_dir: Path
    models_dir: Path

    def small(self) -> CourseSetup:
        """The setup that the exercises' solutions train with, writing into the smoke profile's
        folders: in a full run the smoke profile's sizes, so that they take seconds; in a smoke
        run (CI, which only checks that their code runs) :data:`EXERCISE_SIZES_IN_SMOKE`."""
        smoke = PROFILES["smoke"]
        figures, results = output_dirs(smoke)
        if self.profile.name == "smoke":
            smoke = dataclasses.replace(smoke, **EXERCISE_SIZES_IN_SMOKE)
        return dataclasses.replace(self, profile=smoke, figures_dir=figures, results_dir=results,
                                   models_dir=models_dir(smoke))


def setup(profile: Profile | str | None = None, seed: int = SEED, deterministic: bool = True,
          verbose: bool = True, notebook: str | None = None) -> CourseSetup:
    """The first call of every notebook: profile, seed, output folders, devices.

    * the profile from ``profile`` or ``$COURSE_PROFILE``;
    * seeds Python, NumPy, TensorFlow and Keras (and op determinism);
    * checks that ``figures/``, ``results/`` and ``build/`` can be written,
      before any training rather than after it;
    * on a GPU, the ``mixed_float16`` policy (the builders keep a float32
      output) and, with several GPUs, a ``MirroredStrategy``; on a CPU,
      float32 and TensorFlow's default strategy, which change nothing;
    * prints the profile, the device and the library versions, and, for
      ``notebook`` (e.g. ``"02"``), its run time in the last complete course runs.
    """
    import keras

    if not isinstance(profile, Profile):
        profile = get_profile(profile)
    figures, results = output_dirs(profile)  # each checked writable: before training, not after
    models = models_dir(profile)
    seed_everything(seed, deterministic)
    n_gpus = gpu_count()
    policy = precision_policy(n_gpus)
    keras.mixed_precision.set_global_policy(policy)
    course = CourseSetup(profile=profile, seed=seed, precision_policy=policy,
                         strategy=distribution_strategy(n_gpus), device=device_summary(),
                         figures_dir=figures, results_dir=results, models_dir=models)
    if verbose:
        print_setup(course)
        if notebook:
            print_run_times(notebook)
    return course


def print_run_times(notebook: str) -> None:
    """This notebook's wall time in the last complete course run of each profile
    (``results/course_time_cpu.json``, ``results/smoke/...``), where one exists."""
    from utils import results

    for profile in PROFILES:
        path = output_base() / "results" / ("" if profile == "full" else profile) / "course_time_cpu.json"
        if not path.is_file():
            continue
        timing = results.read_json(path)
        for name, row in timing.get("notebooks", {}).items():
            if name.startswith(f"{notebook}_") and row.get("ok"):
                print(f"Run time: {row['seconds'] / 60:.1f} min in the last complete {profile}-profile run "
                      f"({timing.get('device', 'unknown device')})")


def print_setup(course: CourseSetup) -> None:
    """Print the profile, device, precision and library versions."""
    profile, device = course.profile, course.device
    sizes = ", ".join(f"{field.name}={getattr(profile, field.name)}"
                      for field in dataclasses.fields(profile) if field.name != "name")
    print(f"Profile : {profile.name} ({sizes})")
    print(f"Device  : {device['device']}; precision {course.precision_policy}, "
          f"{course.strategy.num_replicas_in_sync} replica(s)")
    print(f"Versions: Python {device['python_version']}, TensorFlow {device['tensorflow_version']}, "
          f"Keras {device['keras_version']} ({device['keras_backend']} backend)")
