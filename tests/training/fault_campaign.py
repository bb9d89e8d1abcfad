"""Fault campaign behind the figures in docs/robustness.md (not collected by pytest; a few minutes).

    PYTHONPATH=src python tests/training/fault_campaign.py [--kills 20]

1. Arguments: every count, seed and path option of every command with edge values; each must give a
   valid value or one usage line and exit code 2.
2. Tampering: a finished run directory damaged or poisoned in many ways, then ``clinsim evaluate --run``;
   each must give one error line and exit code 2, and no payload may run.
3. Interruptions: ``clinsim train`` killed with SIGKILL at random moments after each new checkpoint; the result
   must have exactly its budget, a valid monitor holding exactly the checkpoint's episodes, no temporary files.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import pickle
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from clinsim.cli import main, parser
from clinsim.training.runs import RunDir, read_monitor

ENV = "immunosim/CheckpointInhibitor-v1"
VALUES = ["", " ", "\t", "0", "-0", "1", "-1", "-5", "+3", "1.5", "1e3", "0x10", "1_000", "nan", "inf", "abc",
          "\x00", "a\nb", "4294967295", "4294967296", "1000000000", "1000000001", "9" * 5000, "./x", "..", "é"]
COMMANDS = {"evaluate": (["evaluate", ENV, "--policy", "none"], ["--episodes", "--seed", "--output"]),
            "evaluate-run": (["evaluate", ENV], ["--run"]),
            "train": (["train", ENV, "--run-dir", "r"], ["--timesteps", "--checkpoint-every", "--seed"]),
            "train-dir": (["train", ENV], ["--run-dir"]),
            "benchmark": (["benchmark"], ["--episodes", "--timesteps", "--seed", "--root"]),
            "reproduce": (["reproduce"], ["--episodes", "--seeds", "--root"]),
            "plot": (["plot"], [""])}


class Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


def cli(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            main(list(argv))
        return 0, err.getvalue()
    except SystemExit as exc:
        return exc.code, err.getvalue()


def arguments() -> tuple[int, int]:
    tried = handled = 0
    p = parser()
    for head, options in COMMANDS.values():
        for option in options:
            for value in VALUES:
                argv = [*head, option, value] if option else [*head, value]
                tried += 1
                err = io.StringIO()
                try:
                    with contextlib.redirect_stderr(err):
                        p.parse_args(argv)
                    handled += value.strip() != "" and "\x00" not in value  # accepted: must be a usable value
                except SystemExit as exc:
                    handled += exc.code == 2 and err.getvalue().count("\n") == 1
    return tried, handled


def _rehash(run: RunDir, steps: int) -> None:
    record = json.loads(run.record_path(steps).read_text())
    record["sha256"] = hashlib.sha256(run.model_path(steps).read_bytes()).hexdigest()
    run.record_path(steps).write_text(json.dumps(record))


def _edit_json(path: Path, edit) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def tampering(work: Path) -> tuple[int, int, int]:
    pristine = work / "pristine"
    assert cli("train", ENV, "--timesteps", "300", "--checkpoint-every", "100", "--quiet",
               "--run-dir", str(pristine))[0] == 0
    marker = work / "pwned"
    torch_payload = io.BytesIO()
    torch.save({"policy": Payload(marker)}, torch_payload)
    faults = {
        "model truncated": lambda r: r.model_path(300).write_bytes(r.model_path(300).read_bytes()[:100]),
        "model byte flipped": lambda r: r.model_path(300).write_bytes(b"\0" + r.model_path(300).read_bytes()[1:]),
        "model deleted": lambda r: r.model_path(300).unlink(),
        "model is a pickle payload, hash rewritten": lambda r: (
            r.model_path(300).write_bytes(pickle.dumps(Payload(marker))), _rehash(r, 300)),
        "model is a torch archive around a payload, hash rewritten": lambda r: (
            r.model_path(300).write_bytes(torch_payload.getvalue()), _rehash(r, 300)),
        "model is a symlink to a payload, hash rewritten": lambda r: (
            (work / "evil.pt").write_bytes(pickle.dumps(Payload(marker))), r.model_path(300).unlink(),
            r.model_path(300).symlink_to(work / "evil.pt"), _rehash(r, 300)),
        "weights of another algorithm": lambda r: _edit_json(
            r.root / "config.json", lambda c: c.update(algo="dqn", vec_normalize=None)),
        "final record deleted": lambda r: r.record_path(300).unlink(),
        "record is a pickle": lambda r: r.record_path(300).write_bytes(pickle.dumps(Payload(marker))),
        "record is not JSON": lambda r: r.record_path(300).write_text("{"),
        "record has NaN": lambda r: r.record_path(300).write_text(
            r.record_path(300).read_text().replace('"obs_count": ', '"obs_count": NaN, "x": ')),
        "record misses a key": lambda r: _edit_json(r.record_path(300), lambda d: d.pop("monitor_episodes")),
        "normalisation of the wrong shape": lambda r: _edit_json(
            r.record_path(300), lambda d: d["vec_normalize"].update(obs_mean=[0.0])),
        "negative variance": lambda r: _edit_json(
            r.record_path(300), lambda d: d["vec_normalize"].update(obs_var=[-1.0] * 5)),
        "config names a module": lambda r: _edit_json(
            r.root / "config.json", lambda c: c.update(env_id="this:CheckpointInhibitor-v1")),
        "config names another environment": lambda r: _edit_json(
            r.root / "config.json", lambda c: c.update(env_id="immunosim/CARTCell-v1")),
        "config passes policy_kwargs": lambda r: _edit_json(
            r.root / "config.json", lambda c: c["hyperparameters"].update(policy_kwargs={"net_arch": [4]})),
        "config has a negative budget": lambda r: _edit_json(
            r.root / "config.json", lambda c: c["hyperparameters"].update(total_timesteps=-5)),
        "config has an extra key": lambda r: _edit_json(r.root / "config.json", lambda c: c.update(extra=1)),
        "config deleted": lambda r: (r.root / "config.json").unlink(),
        "config is a pickle": lambda r: (r.root / "config.json").write_bytes(pickle.dumps(Payload(marker))),
        "old pickle checkpoints with a manifest": lambda r: (
            (r.checkpoints / "vecnormalize_300_steps.pkl").write_bytes(pickle.dumps(Payload(marker))),
            (r.checkpoints / "manifest.json").write_text(json.dumps({"vecnormalize_300_steps.pkl": "x"}))),
    }
    tried = handled = ran = 0
    for name, fault in faults.items():
        run = RunDir(work / "run")
        shutil.rmtree(run.root, ignore_errors=True)
        shutil.copytree(pristine, run.root)
        fault(run)
        code, err = cli("evaluate", ENV, "--run", str(run.root), "--episodes", "2")
        tried += 1
        harmless = name.startswith("old pickle")
        ok = (code == 0) if harmless else (code == 2 and err.count("\n") == 1 and "Traceback" not in err)
        handled += ok
        ran += marker.exists() or "this" in sys.modules
        print(f"  {'ok ' if ok else 'BAD'} {name}: {err.strip() or 'exit 0'}")
    return tried, handled, ran


def interruptions(work: Path, kills: int, seed: int = 0) -> tuple[int, bool]:
    """Kill ``clinsim train`` each time it has written a new checkpoint, after a random further 0-0.5 s."""
    rng = random.Random(seed)
    run = RunDir(work / "killed")
    total = 15_000
    argv = [sys.executable, "-m", "clinsim.cli", "train", ENV, "--timesteps", str(total), "--checkpoint-every",
            "500", "--quiet", "--run-dir", str(run.root)]
    survived = 0
    while True:
        before = run.latest_checkpoint() or 0
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while survived < kills and proc.poll() is None and (run.latest_checkpoint() or 0) <= before:
            time.sleep(0.02)
        if survived < kills and proc.poll() is None:
            time.sleep(rng.uniform(0.0, 0.5))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            survived += 1
            continue
        _, err = proc.communicate()
        assert proc.returncode == 0, err.decode()
        break
    record, _ = run.read_checkpoint(total)
    rows = read_monitor(run.monitor_file(0))
    exact = (run.latest_checkpoint() == total and len(rows) == record["monitor_episodes"][0]
             and rows[:, 1].sum() <= total and not list(run.root.rglob(".*.tmp")))
    return survived, exact


if __name__ == "__main__":
    cmd = argparse.ArgumentParser()
    cmd.add_argument("--kills", type=int, default=20)
    opts = cmd.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print("arguments: {} tried, {} handled".format(*arguments()))
        print("tampered run directories: {} tried, {} handled, payloads run: {}".format(*tampering(work)))
        print("interruptions: {} SIGKILLs mid-training survived, final run exact: {}"
              .format(*interruptions(work, opts.kills)))
