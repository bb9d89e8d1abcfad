"""The test disease runs through the command line with no edit outside its folder (subprocesses, so that
``CLINSIM_EXTRA_DISEASES`` is read as a user would set it)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV = "glucose/InsulinDosing-v0"


def clinsim(*args: str, cwd: Path) -> str:
    env = {**os.environ, "CLINSIM_EXTRA_DISEASES": "tests.glucose",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "clinsim.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_list_evaluate_train_and_benchmark_the_test_disease(tmp_path: Path) -> None:
    assert ENV in clinsim("list", cwd=tmp_path)
    summary = json.loads(clinsim("evaluate", ENV, "--policy", "protocol", cwd=tmp_path))
    assert "return" in summary
    clinsim("train", ENV, "--timesteps", "512", "--checkpoint-every", "256", "--run-dir", str(tmp_path / "run"),
            "--quiet", cwd=tmp_path)
    trained = json.loads(clinsim("evaluate", ENV, "--run", str(tmp_path / "run"), "--episodes", "4", cwd=tmp_path))
    assert "return" in trained
    table = clinsim("benchmark", "--env", ENV, "--timesteps", "512", "--root", str(tmp_path / "bench"),
                    "--no-figures", "--quiet", cwd=tmp_path)
    assert "protocol" in table
