"""Offline RL baselines: every algorithm trains on a tiny logged dataset, saves, loads without unpickling, and is
evaluated online on the evaluation patients; wrong algorithm / action-space pairs are refused naming the choices."""

import hashlib
import io
import json
import pickle
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

pytest.importorskip("minari")
pytest.importorskip("d3rlpy")

from clinsim.cli import main  # noqa: E402
from clinsim.offline.datasets import collect  # noqa: E402
from clinsim.offline.rl import (  # noqa: E402
    ALGORITHMS,
    CONFIG_FILE,
    MODEL_FILE,
    config_class_name,
    evaluate_offline,
    load_offline,
    offline_policy,
    train_offline,
)
from clinsim.training.evaluate import evaluate_policy  # noqa: E402

CHECKPOINT = "immunosim/CheckpointInhibitor-v1"  # Discrete(3)
COMBINATION = "immunosim/CombinationTherapy-v1"  # MultiDiscrete([3, 3]): one flattened index of 9
FLUIDS = "sepsisim/FluidResuscitation-v1"  # Box: fluid bolus 0-1000 mL/h
STEPS = 5


@pytest.fixture(scope="module")
def dataset_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("datasets")


@pytest.fixture(scope="module")
def datasets(dataset_root) -> dict:
    return {env: collect(env, "mixed", episodes, seed=0, root=dataset_root, reference_episodes=1)
            for env, episodes in ((CHECKPOINT, 6), (COMBINATION, 4), (FLUIDS, 3))}


def _obs(env_id: str, n: int = 8) -> np.ndarray:
    obs, _ = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point").reset(seed=0)
    return obs


CASES = [(CHECKPOINT, a) for a in ("bc", "cql", "bcq")] + [(COMBINATION, "cql")] + [
    (FLUIDS, a) for a in ("bc", "cql", "bcq", "iql", "td3bc")]


@pytest.mark.parametrize(("env_id", "algo"), CASES)
def test_each_algorithm_trains_saves_reloads_and_acts_in_the_action_space(datasets, tmp_path, env_id, algo) -> None:
    model, config = train_offline(datasets[env_id], tmp_path / "run", algo, STEPS, seed=1)
    assert config["d3rlpy_config"] == config_class_name(algo, env_id) and config["steps"] == STEPS
    loaded, stored = load_offline(tmp_path / "run", env_id)
    obs = _obs(env_id)
    np.testing.assert_allclose(loaded.predict(obs), model.predict(obs), rtol=1e-6)
    assert {k: v for k, v in stored.items() if k != "model_sha256"} == json.loads(json.dumps(config))
    space = gym.spec(env_id).make().action_space
    actions = offline_policy(tmp_path / "run", env_id)(obs)
    assert all(space.contains(np.asarray(a, dtype=space.dtype)) for a in actions)


def test_same_seed_same_model(datasets, tmp_path) -> None:
    obs = _obs(CHECKPOINT)
    q = [train_offline(datasets[CHECKPOINT], tmp_path / f"run{k}", "cql", STEPS, seed=s)[0].predict_value(
        obs, np.zeros(len(obs), dtype=np.int64)) for k, s in enumerate((4, 4, 5))]
    np.testing.assert_array_equal(q[0], q[1])
    assert not np.array_equal(q[0], q[2])


def test_box_actions_are_learned_in_physical_units(datasets, tmp_path) -> None:
    """MinMaxActionScaler on the Box bounds: behaviour cloning's fluid rates are the logged mL/h, not [-1, 1]."""
    dataset = datasets[FLUIDS]
    train_offline(dataset, tmp_path / "bc", "bc", 300, seed=0)
    logged = np.concatenate([ep.actions for ep in dataset.iterate_episodes()]).ravel()
    obs = np.concatenate([ep.observations[:-1] for ep in dataset.iterate_episodes()])
    cloned = offline_policy(tmp_path / "bc", FLUIDS)(obs).ravel()
    assert abs(cloned.mean() - logged.mean()) < 0.25 * logged.std() + 20.0  # mL/h
    assert cloned.max() > 10.0


def test_online_evaluation_uses_the_evaluation_patients_of_the_other_baselines(datasets, tmp_path, capsys) -> None:
    train_offline(datasets[CHECKPOINT], tmp_path / "run", "cql", STEPS, seed=0)
    result = evaluate_offline(tmp_path / "run", episodes=3)
    same = evaluate_policy(CHECKPOINT, offline_policy(tmp_path / "run"), 3)
    assert result["first_seed"] == 0 and result["returns"] == same["returns"] and result["metrics"] == same["metrics"]
    capsys.readouterr()  # d3rlpy's training log
    main(["evaluate", CHECKPOINT, "--run", str(tmp_path / "run"), "--episodes", "3"])  # stdout: JSON only
    assert json.loads(capsys.readouterr().out)["return"] == pytest.approx(np.mean(same["returns"]))
    with pytest.raises(SystemExit):
        main(["evaluate", FLUIDS, "--run", str(tmp_path / "run"), "--episodes", "3"])
    assert "trained on immunosim/CheckpointInhibitor-v1, not sepsisim/FluidResuscitation-v1" in capsys.readouterr().err


def test_cli_trains_and_evaluates(datasets, dataset_root, tmp_path, capsys) -> None:
    root = dataset_root
    main(["train-offline", datasets[CHECKPOINT].spec.dataset_id, "--root", str(root), "--algo", "bc", "--steps", "3",
          "--episodes", "2", "--run-dir", str(tmp_path / "run"), "--quiet"])
    out = capsys.readouterr().out
    assert "trained bc (DiscreteBCConfig, 3 steps" in out and (tmp_path / "run" / "eval.json").exists()
    with pytest.raises(SystemExit):  # a finished run is not overwritten
        main(["train-offline", datasets[CHECKPOINT].spec.dataset_id, "--root", str(root), "--algo", "bc",
              "--run-dir", str(tmp_path / "run"), "--quiet"])
    assert "already holds an offline run" in capsys.readouterr().err


def test_wrong_algorithm_for_the_action_space_names_the_valid_choices(datasets, tmp_path, capsys) -> None:
    with pytest.raises(ValueError, match=r"iql has no discrete-action version .* valid for "
                                         r"immunosim/CheckpointInhibitor-v1: bc, cql, bcq$"):
        train_offline(datasets[CHECKPOINT], tmp_path / "a", "iql", STEPS)
    with pytest.raises(ValueError, match="td3bc has no discrete-action version"):
        config_class_name("td3bc", COMBINATION)
    with pytest.raises(ValueError, match=f"unknown offline algorithm 'sac'; valid: {', '.join(ALGORITHMS)}"):
        config_class_name("sac", FLUIDS)
    with pytest.raises(ValueError, match="hyperparameters of DiscreteCQLConfig must be .* among .*alpha"):
        train_offline(datasets[CHECKPOINT], tmp_path / "b", "cql", STEPS, overrides={"encoder_factory": 1.0})
    with pytest.raises(SystemExit):
        main(["train-offline", "x/y-v0", "--algo", "sac", "--run-dir", str(tmp_path / "c")])
    assert "invalid choice: 'sac' (choose from 'bc', 'cql', 'bcq', 'iql', 'td3bc')" in capsys.readouterr().err


class Payload:
    """Unpickling it creates ``marker``: the proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (str(self.marker), "w")


@pytest.mark.parametrize("kind", ["pickle", "torch"])
def test_untrusted_run_directory_runs_no_code(datasets, tmp_path, kind) -> None:
    """The attacker controls the directory: a pickled payload as the model, its hash rewritten to match."""
    run = tmp_path / "run"
    train_offline(datasets[CHECKPOINT], run, "bc", STEPS)
    marker = tmp_path / "pwned"
    if kind == "pickle":
        data = pickle.dumps(Payload(marker))
    else:
        buffer = io.BytesIO()
        torch.save({"_imitator": Payload(marker)}, buffer)
        data = buffer.getvalue()
    (run / MODEL_FILE).write_bytes(data)
    config = json.loads((run / CONFIG_FILE).read_text())
    (run / CONFIG_FILE).write_text(json.dumps({**config, "model_sha256": hashlib.sha256(data).hexdigest()}))
    with pytest.raises(ValueError, match="not tensors only|not a loadable"):
        load_offline(run)
    assert not marker.exists()
    (run / CONFIG_FILE).write_text(json.dumps({**config, "env_id": "os:system"}))
    with pytest.raises(ValueError, match="not a clinsim environment ID"):
        load_offline(run)
    (run / CONFIG_FILE).write_text(json.dumps(config))  # the payload under the old hash: refused before loading
    with pytest.raises(ValueError, match="does not match the SHA-256"):
        load_offline(run)
