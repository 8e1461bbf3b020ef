"""The notebooks whose Checks read a training trajectory pass on a second numeric path.

Another CPU rounds differently (oneDNN and the BLAS pick kernels by instruction set), so a
trajectory, and any Checks assertion on it, can end elsewhere there. ``TF_ENABLE_ONEDNN_OPTS=0``
switches TensorFlow to its other CPU kernels on this machine: a second path that CI can run
without a second machine. docs/reproducibility.md lists what moved on it and by how much.
"""

import os
import subprocess
import sys

from utils import config

# 03: the clipping experiment, an unstable SGD trajectory, runs at full size in every profile and
# its assertions moved most between paths. The other smoke notebooks' trained numbers came out the
# same on both paths (docs/reproducibility.md), so a second run of them would add minutes, not checks.
TRAJECTORY_NOTEBOOKS = ("03_stacked_rnn.ipynb",)


def test_trajectory_notebooks_pass_with_onednn_off(tmp_path):
    """Runs the smoke notebook end to end in a fresh kernel (about 1.5 minutes, among the slowest
    tests: its point is to execute the notebook's Checks cell, which a unit test cannot do), with
    the outputs in a scratch folder so that nothing of the repository's smoke run is replaced."""
    env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": "0", config.OUTPUT_ENV: str(tmp_path)}
    notebooks = [str(config.REPO_ROOT / "notebooks" / name) for name in TRAJECTORY_NOTEBOOKS]
    done = subprocess.run([sys.executable, "-m", "tooling.course", "--profile", "smoke", *notebooks],
                          cwd=config.REPO_ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for name in TRAJECTORY_NOTEBOOKS:
        assert f"-> {name} ...\n   ok after" in done.stdout, done.stdout[-3000:]
