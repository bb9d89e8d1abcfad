"""The training / evaluation pipeline end to end on tiny budgets: train, kill, resume, evaluate, plot."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import clinsim
from clinsim.training.benchmark import run_benchmark
from clinsim.training.evaluate import evaluate_policy, seed_summary
from clinsim.training.hyperparameters import hyperparameters
from clinsim.training.runs import RunDir, UntrustedCheckpointError
from clinsim.training.stats import summarize
from clinsim.training.train import train, train_config, trained_policy

ENV = "immunosim/CheckpointInhibitor-v0"


def test_paper_hyperparameters_are_the_single_source() -> None:
    assert hyperparameters(ENV, "ppo") == dict(clinsim.spec(ENV).ppo)
    assert hyperparameters("immunosim/CombinationTherapy-v0", "ppo")["total_timesteps"] == 500_000
    with pytest.raises(ValueError, match="valid: ppo, dqn"):
        hyperparameters(ENV, "sac")
    with pytest.raises(ValueError, match="valid: ppo, dqn, sac"):
        hyperparameters(ENV, "a3c")


def test_bootstrap_summary() -> None:
    s = summarize(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert s["mean"] == 3.0 and s["std"] == pytest.approx(np.std([1, 2, 3, 4, 5], ddof=1))
    assert s["ci_low"] < 3.0 < s["ci_high"]
    assert np.isnan(summarize(np.array([1.0]))["ci_low"])


def test_train_killed_resumes_from_last_checkpoint(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    config = train_config(ENV, "ppo", seed=42, total_timesteps=3_000, checkpoint_every=500,
                          overrides={"n_steps": 256, "batch_size": 64})
    code = (f"import json; from clinsim.training.train import train; "
            f"train({str(run_dir)!r}, json.loads({json.dumps(json.dumps(config))}), progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code])
    run = RunDir(run_dir)
    deadline = time.time() + 120
    while run.latest_checkpoint() is None or run.latest_checkpoint()[0] < 1_000:
        assert time.time() < deadline and proc.poll() is None, "training did not checkpoint"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = run.latest_checkpoint()[0]
    assert 1_000 <= killed_at < 3_000 and not (run_dir / "DONE").exists()
    train(run_dir, config, progress=False)
    assert run.latest_checkpoint()[0] == 3_000 and (run_dir / "DONE").exists()
    # no torn files left behind by the kill
    assert not list(run.checkpoints.glob(".*.tmp"))
    result = evaluate_policy(ENV, trained_policy(run_dir), episodes=10)
    assert len(result["returns"]) == 10 and set(result["metrics"]) >= {"tumour_control", "escape"}
    with pytest.raises(ValueError, match="different configuration"):
        train(run_dir, {**config, "seed": 7}, progress=False)


def test_corrupt_checkpoint_gives_a_clear_error(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    config = train_config(ENV, "dqn", seed=1, total_timesteps=600, checkpoint_every=300)
    train(run_dir, config, progress=False)
    (run_dir / "checkpoints" / "model_600_steps.zip").write_bytes(b"not a zip")
    with pytest.raises(UntrustedCheckpointError, match="corrupt or foreign file"):
        trained_policy(run_dir)
    with pytest.raises(ValueError, match="not a loadable DQN checkpoint"):
        trained_policy(run_dir, trust=True)


def test_foreign_checkpoint_is_not_unpickled_without_trust(tmp_path: Path) -> None:
    """A checkpoint copied in from elsewhere is refused before anything is unpickled."""
    source, target = tmp_path / "a", tmp_path / "b"
    config = train_config(ENV, "dqn", seed=1, total_timesteps=300, checkpoint_every=300)
    train(source, config, progress=False)
    train(target, config, progress=False)
    model = source / "checkpoints" / "model_300_steps.zip"
    evil = target / "checkpoints" / "model_300_steps.zip"
    evil.write_bytes(model.read_bytes() + b"\0")  # any change: not what this run recorded
    with pytest.raises(UntrustedCheckpointError, match="pass trust=True"):
        trained_policy(target)


def test_benchmark_writes_tables_and_figures(tmp_path: Path) -> None:
    from clinsim.cli import main

    main(["benchmark", "--env", "immunosim/CombinationTherapy-v0", "--algo", "dqn", "--timesteps", "600",
          "--episodes", "6", "--root", str(tmp_path), "--quiet"])
    rows = json.loads((tmp_path / "summary.json").read_text())
    assert {r["agent"] for r in rows} == {"random", "none", "protocol", "planner", "dqn"}
    assert (tmp_path / "summary.csv").exists() and "| planner |" in (tmp_path / "summary.md").read_text()
    for name in ("comparison.png", "training_dqn.png", "trajectory_immunosim__CombinationTherapy-v0.png"):
        assert (tmp_path / "figures" / name).stat().st_size > 10_000
    # a second invocation reuses every finished piece
    start = time.perf_counter()
    rows_again = run_benchmark(["immunosim/CombinationTherapy-v0"], tmp_path, ["dqn"], [42], 600, 6, progress=False)
    assert rows_again == rows and time.perf_counter() - start < 10


def test_seed_summary_over_training_seeds() -> None:
    results = [{"returns": [1.0, 3.0], "metrics": {"escape": [0.0, 1.0]}},
               {"returns": [3.0, 5.0], "metrics": {"escape": [0.0, 0.0]}}]
    s = seed_summary(results)
    assert s["return"]["mean"] == 3.0 and s["escape"]["mean"] == 0.25 and s["return"]["n"] == 2


def test_planner_leaves_the_protocol_behind() -> None:
    import gymnasium as gym

    from clinsim.baselines import HEURISTICS
    from clinsim.training.planner import RolloutPlanner

    for env_id in ("immunosim/CheckpointInhibitor-v0", "immunosim/CombinationTherapy-v0"):
        planner = RolloutPlanner(gym.make(env_id).unwrapped.task, HEURISTICS[env_id])
        planned = np.mean(evaluate_policy(env_id, planner, episodes=60)["returns"])
        protocol = np.mean(evaluate_policy(env_id, HEURISTICS[env_id], episodes=60)["returns"])
        assert planned > protocol + 3


def test_sac_trains_and_evaluates_on_a_continuous_environment(tmp_path: Path) -> None:
    env_id = "sepsisim/VasopressorTitration-v0"
    config = train_config(env_id, "sac", seed=3, total_timesteps=300, checkpoint_every=300,
                          overrides={"learning_starts": 100, "batch_size": 32})
    train(tmp_path / "sac", config, progress=False)
    result = evaluate_policy(env_id, trained_policy(tmp_path / "sac"), episodes=4)
    assert len(result["returns"]) == 4 and "survival_72h" in result["metrics"]
