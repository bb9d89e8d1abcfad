"""Untrusted run and benchmark directories: real pickle payloads through every loading path run no code.

A payload is a pickle whose ``__reduce__`` creates a marker file when unpickled. It is planted as a
model file with the checkpoint record's hash rewritten to match (the attacker controls the whole
directory), as a torch archive around a pickled object, and as the files of the old pickle format.
"""

import hashlib
import io
import json
import pickle
import shutil
import sys
from pathlib import Path

import pytest
import torch

from clinsim.cli import main
from clinsim.training.runs import RunDir
from clinsim.training.train import trained_policy

ENV = "immunosim/CheckpointInhibitor-v1"
SLUG = "immunosim__CheckpointInhibitor-v1"
ARGS = ["--algo", "ppo", "--timesteps", "200", "--quiet"]


class Payload:
    """Unpickling it creates ``marker`` (``open(marker, "w")``): the proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """A benchmark root with a finished PPO run (VecNormalize statistics) and, in ``run/``, a finished PPO run
    with checkpoints at 100 and 200 steps, so that resume has something to load."""
    root = tmp_path_factory.mktemp("bench")
    main(["benchmark", "--env", ENV, *ARGS, "--episodes", "2", "--root", str(root), "--no-figures"])
    main(["train", ENV, *ARGS, "--checkpoint-every", "100", "--run-dir", str(root / "run")])
    return root


@pytest.fixture
def root(pristine: Path, tmp_path: Path) -> Path:
    shutil.copytree(pristine, tmp_path / "root")
    return tmp_path / "root"


def plant(run: RunDir, steps: int, kind: str, marker: Path) -> None:
    """Replace checkpoint ``steps`` of ``run`` by a payload and make the record vouch for it."""
    if kind == "pickle":
        data = pickle.dumps(Payload(marker))
    elif kind == "torch":
        buffer = io.BytesIO()
        torch.save({"policy": Payload(marker), "policy.optimizer": {}}, buffer)
        data = buffer.getvalue()
    else:  # the old format: pickles beside the model, vouched for by a manifest; never read now
        for name in (f"vecnormalize_{steps}_steps.pkl", f"model_{steps}_steps.zip"):
            (run.checkpoints / name).write_bytes(pickle.dumps(Payload(marker)))
        manifest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in run.checkpoints.glob("*_steps.*")}
        (run.checkpoints / "manifest.json").write_text(json.dumps(manifest))
        return
    run.model_path(steps).write_bytes(data)
    record = json.loads(run.record_path(steps).read_text())
    record["sha256"] = hashlib.sha256(data).hexdigest()
    run.record_path(steps).write_text(json.dumps(record))


def cli(capsys, *argv: str) -> tuple[int, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("kind", ["pickle", "torch", "legacy"])
@pytest.mark.parametrize("path", ["evaluate", "train", "plot", "benchmark"])
def test_payload_never_runs(root: Path, tmp_path: Path, capsys, kind: str, path: str) -> None:
    marker = tmp_path / "pwned"
    run = RunDir(root / "run" if path == "train" else root / SLUG / "ppo_seed42")
    steps = 100 if path == "train" else 200
    if path == "train":  # resume from the planted checkpoint: the final one is gone
        run.record_path(200).unlink()
    if path == "benchmark":  # no stored evaluation: the benchmark must load the model
        run.result_path("eval").unlink()
    plant(run, steps, kind, marker)
    argv = {"evaluate": ["evaluate", ENV, "--run", str(run.root), "--episodes", "2"],
            "train": ["train", ENV, *ARGS, "--checkpoint-every", "100", "--run-dir", str(run.root)],
            "plot": ["plot", str(root)],
            "benchmark": ["benchmark", "--env", ENV, *ARGS, "--episodes", "2", "--root", str(root)]}[path]
    code, err = cli(capsys, *argv)
    assert not marker.exists()
    if kind == "legacy":  # old pickles are simply not part of the format
        assert code == 0, err
    else:
        assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
        assert "not a loadable PPO checkpoint" in err and "not tensors only" in err


def test_configuration_cannot_import_modules(root: Path, capsys) -> None:
    """``gym.make("this:X")`` would import the module ``this``; a configuration naming it is refused first."""
    assert "this" not in sys.modules
    config_path = root / SLUG / "ppo_seed42" / "config.json"
    config = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**config, "env_id": "this:CheckpointInhibitor-v1"}))
    code, err = cli(capsys, "evaluate", ENV, "--run", str(config_path.parent), "--episodes", "2")
    assert code == 2 and "'this:CheckpointInhibitor-v1' is not a clinsim environment ID" in err
    config_path.write_text(json.dumps({**config, "hyperparameters": {"total_timesteps": 200,
                                                                      "policy_kwargs": {"net_arch": [4]}}}))
    code, err = cli(capsys, "evaluate", ENV, "--run", str(config_path.parent), "--episodes", "2")
    assert code == 2 and "hyperparameters must be numbers" in err
    summary = root / "summary.json"
    summary.write_text(json.dumps([{"env_id": "this:CheckpointInhibitor-v1", "agent": "ppo", "return": 1.0}]))
    code, err = cli(capsys, "plot", str(root))
    assert code == 2 and "is not a clinsim environment ID" in err
    assert "this" not in sys.modules


def test_model_is_read_once(root: Path, tmp_path: Path, monkeypatch) -> None:
    """The bytes whose hash is checked are the bytes loaded: a file swapped after the first read is never read."""
    run = RunDir(root / SLUG / "ppo_seed42")
    marker = tmp_path / "pwned"
    model = run.model_path(200)
    real = model.read_bytes()
    original = Path.read_bytes
    reads = []

    def swap_after_first_read(self: Path) -> bytes:
        if self == model:
            reads.append(self)
            model.write_bytes(pickle.dumps(Payload(marker)))  # the swap, right after the read
            return real
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", swap_after_first_read)
    trained_policy(run.root, ENV)
    assert len(reads) == 1 and not marker.exists()


def test_foreign_sb3_zip_is_imported_only_with_trust(tmp_path: Path, capsys) -> None:
    """``--trust-checkpoint`` exists only on ``clinsim import``; the run it writes loads without unpickling."""
    import gymnasium as gym
    from stable_baselines3 import DQN

    from clinsim.training.agents import env_wrappers

    wrapper = env_wrappers(ENV, "dqn")
    env = wrapper(gym.make(ENV)) if wrapper else gym.make(ENV)
    DQN("MlpPolicy", env, buffer_size=100, learning_starts=10, seed=0).learn(50).save(tmp_path / "foreign.zip")
    argv = ["import", str(tmp_path / "foreign.zip"), "--env", ENV, "--algo", "dqn", "--run-dir", str(tmp_path / "run")]
    code, err = cli(capsys, *argv)
    assert code == 2 and "pass --trust-checkpoint only for a file you trust" in err and not (tmp_path / "run").exists()
    assert cli(capsys, *argv, "--trust-checkpoint") == (0, "")
    assert not list((tmp_path / "run").rglob("*.zip")) and RunDir(tmp_path / "run").latest_checkpoint() >= 50
    assert cli(capsys, "evaluate", ENV, "--run", str(tmp_path / "run"), "--episodes", "2") == (0, "")
