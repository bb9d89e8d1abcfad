"""clinsim tune: an Optuna search on Ray scored on validation patients, its result saved as data."""

import json
from pathlib import Path

import pytest

from clinsim.training import tuning

pytest.importorskip("optuna")
ENV = "immunosim/CheckpointInhibitor-v1"


def test_tiny_search_scores_on_validation_patients_and_saves_the_best(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(tuning, "TUNED_DIR", tmp_path / "tuned")
    record = tuning.run_tuning(ENV, "ppo", trials=2, timesteps=256, root=tmp_path / "runs", episodes=2)
    assert set(record["overrides"]) == set(tuning.SEARCH_SPACES["ppo"])
    assert record["validation_patients"] == [tuning.VALIDATION_FIRST_SEED, tuning.VALIDATION_FIRST_SEED + 1]
    saved = json.loads(tuning.tuned_path(ENV, "ppo").read_text())
    assert saved["overrides"] == record["overrides"] == tuning.tuned_overrides(ENV, "ppo")
    evals = list((tmp_path / "runs").glob("*/trial_*/results/eval.json"))
    assert len(evals) == 2 and all(json.loads(p.read_text())["config"]["first_seed"] == 100_000 for p in evals)
    with pytest.raises(FileNotFoundError, match="was not tuned on"):
        tuning.tuned_overrides(ENV, "dqn")
