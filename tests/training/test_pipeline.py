"""The training / evaluation pipeline end to end on tiny budgets: train, kill, resume, evaluate, plot."""

import json
import os
import shutil
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
from clinsim.training.runs import RunDir, RunLockedError, read_monitor
from clinsim.training.stats import summarize
from clinsim.training.train import train, train_config, trained_policy

ENV = "immunosim/CheckpointInhibitor-v1"


def test_paper_hyperparameters_are_the_single_source() -> None:
    assert hyperparameters(ENV, "ppo") == dict(clinsim.spec(ENV).ppo)
    assert hyperparameters("immunosim/CombinationTherapy-v1", "ppo")["total_timesteps"] == 500_000
    with pytest.raises(ValueError, match="valid: ppo, dqn"):
        hyperparameters(ENV, "sac")
    with pytest.raises(ValueError, match="valid: ppo, dqn, sac"):
        hyperparameters(ENV, "a3c")


def test_bootstrap_summary() -> None:
    s = summarize(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert s["mean"] == 3.0 and s["std"] == pytest.approx(np.std([1, 2, 3, 4, 5], ddof=1))
    assert s["ci_low"] < 3.0 < s["ci_high"]
    assert summarize(np.array([1.0]))["ci_low"] is None and summarize(np.array([1.0]))["std"] is None


def test_train_killed_resumes_from_last_checkpoint(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    config = train_config(ENV, "ppo", seed=42, total_timesteps=3_000, checkpoint_every=500,
                          overrides={"n_steps": 256, "batch_size": 64})
    code = (f"import json; from clinsim.training.train import train; "
            f"train({str(run_dir)!r}, json.loads({json.dumps(json.dumps(config))}), progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code])
    run = RunDir(run_dir)
    deadline = time.time() + 120
    while (run.latest_checkpoint() or 0) < 1_000:
        assert time.time() < deadline and proc.poll() is None, "training did not checkpoint"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = run.latest_checkpoint()
    assert 1_000 <= killed_at < 3_000
    train(run_dir, config, progress=False)
    assert run.latest_checkpoint() == 3_000
    # no torn files left behind by the kill
    assert not list(run.checkpoints.glob(".*.tmp"))
    assert_monitor_matches_checkpoint(run, 3_000)
    result = evaluate_policy(ENV, trained_policy(run_dir), episodes=10)
    assert len(result["returns"]) == 10 and set(result["metrics"]) >= {"tumour_control", "escape"}
    with pytest.raises(ValueError, match=r"different configuration \(seed: 42 there, 7 requested\)"):
        train(run_dir, {**config, "seed": 7}, progress=False)


def assert_monitor_matches_checkpoint(run: RunDir, steps: int) -> None:
    """The monitor is a valid SB3 file holding exactly the episodes the checkpoint saw, in time order."""
    record, _ = run.read_checkpoint(steps)
    lines = run.monitor_file(0).read_text().splitlines()
    assert "t_start" in json.loads(lines[0][1:]) and lines[1] == "r,l,t"  # what SB3's load_results parses
    assert not any(x.startswith(("#", "r,")) for x in lines[2:])
    rows = read_monitor(run.monitor_file(0))
    assert len(rows) == record["monitor_episodes"][0] > 0
    assert rows[:, 1].sum() <= steps and (np.diff(rows[:, 2]) >= 0).all()


@pytest.mark.parametrize("n_envs", [1, 4])
def test_resume_is_exact_on_budget_and_monitor(tmp_path: Path, n_envs: int) -> None:
    """Lose the last checkpoint as a crash would: the resumed run ends at exactly its budget, and the monitor
    keeps the episodes of the checkpoint it resumed from, once each (PPO's rollout of 256 does not divide 1000).
    ``n_envs = 4``: the native vector env, 4 patients at a time, one monitor file."""
    run_dir = tmp_path / "run"
    config = train_config(ENV, "ppo", seed=1, total_timesteps=1_000, checkpoint_every=300,
                          overrides={"n_steps": 256, "batch_size": 64}, n_envs=n_envs)
    assert config["hyperparameters"]["n_steps"] * n_envs == 256
    train(run_dir, config, progress=False)
    run = RunDir(run_dir)
    assert sorted(int(p.name.split("_")[1]) for p in run.checkpoints.glob("checkpoint_*")) == [300, 600, 900, 1000]
    assert_monitor_matches_checkpoint(run, 1_000)
    for step in (1_000, 900):
        run.record_path(step).unlink()
    finished_by_600 = run.read_checkpoint(600)[0]["monitor_episodes"][0]
    assert len(read_monitor(run.monitor_file(0))) > finished_by_600  # episodes to be run again
    train(run_dir, config, progress=False)
    assert run.latest_checkpoint() == 1_000
    assert_monitor_matches_checkpoint(run, 1_000)
    rows = read_monitor(run.monitor_file(0))
    assert len(rows) > finished_by_600


def test_native_vector_training_keeps_the_rollout_and_refuses_what_it_cannot_split() -> None:
    config = train_config(ENV, "ppo", seed=0, n_envs=8)
    assert config["hyperparameters"]["n_steps"] == 2048 // 8 and config["n_envs"] == 8
    with pytest.raises(ValueError, match="divide PPO's n_steps"):
        train_config(ENV, "ppo", seed=0, n_envs=3)
    with pytest.raises(ValueError, match="for PPO"):
        train_config(ENV, "dqn", seed=0, n_envs=8)
    with pytest.raises(ValueError, match="multiples of it"):
        train_config(ENV, "ppo", seed=0, total_timesteps=1_001, n_envs=8)


def test_missing_final_model_is_an_error(tmp_path: Path) -> None:
    config = train_config(ENV, "dqn", seed=1, total_timesteps=600, checkpoint_every=300)
    train(tmp_path, config, progress=False)
    RunDir(tmp_path).record_path(600).unlink()
    with pytest.raises(FileNotFoundError, match=r"no final model \(600 steps; latest checkpoint: 300\)"):
        trained_policy(tmp_path)


def test_monitor_is_readable_by_stable_baselines3(tmp_path: Path) -> None:
    from stable_baselines3.common.monitor import load_results

    train(tmp_path, train_config(ENV, "dqn", seed=1, total_timesteps=600, checkpoint_every=600), progress=False)
    frame = load_results(str(tmp_path / "monitor"))
    assert np.array_equal(frame[["r", "l"]].to_numpy(), read_monitor(tmp_path / "monitor" / "0.monitor.csv")[:, :2])


def test_one_process_per_run_directory(tmp_path: Path, capsys) -> None:
    from clinsim.cli import main

    config = train_config(ENV, "dqn", seed=1, total_timesteps=300, checkpoint_every=10_000)
    with RunDir(tmp_path).lock():
        with pytest.raises(RunLockedError, match=f"in use by process {os.getpid()}"):
            train(tmp_path, config, progress=False)
        with pytest.raises(SystemExit) as exit_info:
            main(["train", ENV, "--algo", "dqn", "--seed", "1", "--timesteps", "300", "--run-dir", str(tmp_path)])
    assert exit_info.value.code == 2 and f"in use by process {os.getpid()}" in capsys.readouterr().err
    train(tmp_path, config, progress=False)  # the lock went with its holder
    assert RunDir(tmp_path).latest_checkpoint() == 300


def test_corrupt_checkpoint_gives_a_clear_error(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    config = train_config(ENV, "dqn", seed=1, total_timesteps=600, checkpoint_every=300)
    train(run_dir, config, progress=False)
    model = run_dir / "checkpoints" / "model_600_steps.pt"
    model.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="does not match its checkpoint record"):
        trained_policy(run_dir)


def test_evaluate_refuses_a_run_of_another_environment(tmp_path: Path) -> None:
    train(tmp_path, train_config(ENV, "dqn", seed=1, total_timesteps=300, checkpoint_every=300), progress=False)
    with pytest.raises(ValueError, match=f"trained on {ENV}, not immunosim/CombinationTherapy-v1"):
        trained_policy(tmp_path, "immunosim/CombinationTherapy-v1")


def test_benchmark_writes_tables_and_figures(tmp_path: Path) -> None:
    from clinsim.cli import main

    main(["benchmark", "--env", "immunosim/CombinationTherapy-v1", "--algo", "dqn", "--timesteps", "600",
          "--episodes", "6", "--root", str(tmp_path), "--quiet"])
    rows = json.loads((tmp_path / "summary.json").read_text())
    assert {r["agent"] for r in rows} == {"random", "none", "protocol", "planner", "dqn"}
    assert (tmp_path / "summary.csv").exists() and "| planner |" in (tmp_path / "summary.md").read_text()
    for name in ("comparison.png", "training_dqn.png", "trajectory_immunosim__CombinationTherapy-v1.png"):
        assert (tmp_path / "figures" / name).stat().st_size > 10_000
    # a second invocation with the same settings reuses every finished piece
    start = time.perf_counter()
    rows_again = run_benchmark(["immunosim/CombinationTherapy-v1"], tmp_path, ["dqn"], [42], 600, 6, progress=False)
    assert rows_again == rows and time.perf_counter() - start < 10
    # and so does a committed results tree, which keeps evaluations but not checkpoints (.gitignore)
    run_dir = tmp_path / "immunosim__CombinationTherapy-v1" / "dqn_seed42"
    shutil.rmtree(run_dir / "checkpoints")
    assert run_benchmark(["immunosim/CombinationTherapy-v1"], tmp_path, ["dqn"], [42], 600, 6,
                         progress=False) == rows
    assert not (run_dir / "checkpoints").exists()  # not retrained


def test_benchmark_runs_later_environments_in_the_background(tmp_path: Path) -> None:
    """The background process's baselines are those this process computes, and its errors surface here."""
    envs = ["immunosim/CheckpointInhibitor-v1", "sepsisim/FluidResuscitation-v1"]
    rows = run_benchmark(envs, tmp_path / "ahead", [], [42], None, 2, progress=False)
    alone = [r for e in envs for r in run_benchmark([e], tmp_path / "alone", [], [42], None, 2, progress=False)]
    assert rows == alone
    with pytest.raises(KeyError, match="no clinical protocol for .sepsisim/Nope-v1"):
        run_benchmark([envs[0], "sepsisim/Nope-v1"], tmp_path / "error", [], [42], None, 1, progress=False)


def test_benchmark_never_reports_results_made_with_other_settings(tmp_path: Path) -> None:
    env = ["immunosim/CheckpointInhibitor-v1"]
    first = run_benchmark(env, tmp_path, ["dqn"], [42], 300, 3, progress=False)
    again = run_benchmark(env, tmp_path, ["dqn"], [42], 300, 4, progress=False)  # more episodes: recomputed
    assert all(r != a for r, a in zip(first, again, strict=True))
    assert json.loads((tmp_path / "immunosim__CheckpointInhibitor-v1" / "dqn_seed42" / "results" / "eval.json")
                      .read_text())["episodes"] == 4
    with pytest.raises(ValueError, match=r"total_timesteps: 300 there, 600 requested"):
        run_benchmark(env, tmp_path, ["dqn"], [42], 600, 4, progress=False)


def test_seed_summary_over_training_seeds() -> None:
    results = [{"returns": [1.0, 3.0], "metrics": {"escape": [0.0, 1.0]}},
               {"returns": [3.0, 5.0], "metrics": {"escape": [0.0, 0.0]}}]
    s = seed_summary(results)
    assert s["return"]["mean"] == 3.0 and s["escape"]["mean"] == 0.25 and s["return"]["n"] == 2


def test_planner_leaves_the_protocol_behind() -> None:
    import gymnasium as gym

    from clinsim.baselines import HEURISTICS
    from clinsim.training.planner import RolloutPlanner

    for env_id in ("immunosim/CheckpointInhibitor-v1", "immunosim/CombinationTherapy-v1"):
        planner = RolloutPlanner(gym.make(env_id).unwrapped.task, HEURISTICS[env_id])
        planned = np.mean(evaluate_policy(env_id, planner, episodes=60)["returns"])
        protocol = np.mean(evaluate_policy(env_id, HEURISTICS[env_id], episodes=60)["returns"])
        assert planned > protocol + 3


def test_sac_trains_and_evaluates_on_a_continuous_environment(tmp_path: Path) -> None:
    env_id = "sepsisim/VasopressorTitration-v1"
    config = train_config(env_id, "sac", seed=3, total_timesteps=300, checkpoint_every=300,
                          overrides={"learning_starts": 100, "batch_size": 32})
    train(tmp_path / "sac", config, progress=False)
    result = evaluate_policy(env_id, trained_policy(tmp_path / "sac"), episodes=4)
    assert len(result["returns"]) == 4 and "survival_72h" in result["metrics"]


def test_clinical_observation_run_records_its_mode_and_refuses_another(tmp_path: Path) -> None:
    """``--observation clinical``: the agent trains and acts on clinical observations; the mode is in the config,
    so the policy is rebuilt with it, and a resume or a load asking for the state is refused."""
    import gymnasium as gym

    config = train_config(ENV, "ppo", seed=0, total_timesteps=256, checkpoint_every=128,
                          overrides={"n_steps": 128, "batch_size": 64}, n_envs=2, observation="clinical")
    assert config["observation"] == "clinical" and "observation" not in train_config(ENV, "ppo", seed=0)
    train(tmp_path, config, progress=False)
    policy = trained_policy(tmp_path, ENV, observation="clinical")
    env = gym.make(ENV, observation="clinical")
    obs, _ = env.reset(seed=0)
    assert env.action_space.contains(np.asarray(policy(obs[None])[0], dtype=env.action_space.dtype))
    with pytest.raises(ValueError, match="trained on clinical observations, not state ones"):
        trained_policy(tmp_path, ENV, observation="state")
    with pytest.raises(ValueError, match="different configuration"):
        train(tmp_path, {k: v for k, v in config.items() if k != "observation"}, progress=False)
    with pytest.raises(ValueError, match="observation must be one of state, clinical"):
        train_config(ENV, "ppo", seed=0, observation="bedside")
