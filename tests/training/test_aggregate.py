"""rliable aggregates on normalised scores (random 0, planner 1) of a benchmark directory."""

import json
from pathlib import Path

import pytest

from clinsim.cli import main
from clinsim.training.aggregate import normalised_scores

pytest.importorskip("rliable")


def _fake_benchmark(root: Path) -> None:
    """Two environments; ppo with 3 seeds; returns chosen so that the normalised scores are known."""
    returns = {"a/E-v0": {"random": 0.0, "none": -10.0, "protocol": 5.0, "planner": 10.0, "ppo": [2.0, 6.0, 10.0]},
               "b/F-v0": {"random": 100.0, "none": 90.0, "protocol": 150.0, "planner": 200.0, "ppo": [100.0, 150.0,
                                                                                                      200.0]}}
    rows = []
    for env_id, values in returns.items():
        env_dir = root / env_id.replace("/", "__")
        for name in ("random", "none", "protocol", "planner"):
            (env_dir / "baselines").mkdir(parents=True, exist_ok=True)
            (env_dir / "baselines" / f"{name}.json").write_text(json.dumps({"returns": [values[name]] * 2}))
            rows.append({"env_id": env_id, "agent": name})
        for k, r in enumerate(values["ppo"]):
            (env_dir / f"ppo_seed{k}" / "results").mkdir(parents=True)
            (env_dir / f"ppo_seed{k}" / "results" / "eval.json").write_text(json.dumps({"returns": [r, r]}))
        rows.append({"env_id": env_id, "agent": "ppo"})
    (root / "summary.json").write_text(json.dumps(rows))


def test_scores_are_normalised_per_environment_and_aggregated(tmp_path: Path, capsys) -> None:
    _fake_benchmark(tmp_path)
    env_ids, scores = normalised_scores(tmp_path)
    assert env_ids == ["a/E-v0", "b/F-v0"] and set(scores) == {"none", "protocol", "ppo"}
    assert scores["protocol"].tolist() == [[0.5, 0.5]] and scores["none"].tolist() == [[-1.0, -0.1]]
    assert scores["ppo"].tolist() == [[0.2, 0.0], [0.6, 0.5], [1.0, 1.0]]
    main(["aggregate", str(tmp_path)])
    result = json.loads((tmp_path / "aggregate.json").read_text())
    ppo = result["agents"]["ppo"]
    assert ppo["runs"] == 3 and ppo["mean"]["estimate"] == pytest.approx(3.3 / 6)
    assert ppo["mean"]["ci_low"] <= ppo["mean"]["estimate"] <= ppo["mean"]["ci_high"]
    assert result["agents"]["protocol"]["IQM"]["estimate"] == pytest.approx(0.5)
    assert 0.0 <= ppo["P(improves on protocol)"]["estimate"] <= 1.0
    assert (tmp_path / "figures" / "aggregate_profiles.png").stat().st_size > 0
    assert "| ppo | 3 |" in capsys.readouterr().out
