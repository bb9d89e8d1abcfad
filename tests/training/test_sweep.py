"""clinsim sweep: a tiny grid on a local Ray instance, gathered into the benchmark tables, restored when rerun."""

import json
from pathlib import Path

import pytest

from clinsim.cli import main
from clinsim.training.sweep import trials

pytest.importorskip("ray")
ENV = "immunosim/CheckpointInhibitor-v1"


def test_grid_covers_environments_algorithms_hyperparameters_and_seeds() -> None:
    grid = trials([ENV, "sepsisim/FluidResuscitation-v1"], ["ppo", "dqn", "sac"], [1, 2], {"learning_rate": [1, 2]})
    # CheckpointInhibitor: ppo and dqn; FluidResuscitation (Box): ppo and sac; 2 rates x 2 seeds each
    assert len(grid) == 2 * 2 * 2 * 2
    assert {(t["env_id"], t["algo"]) for t in grid} == {(ENV, "ppo"), (ENV, "dqn"),
                                                       ("sepsisim/FluidResuscitation-v1", "ppo"),
                                                       ("sepsisim/FluidResuscitation-v1", "sac")}


def test_tiny_sweep_on_local_ray_then_restored(tmp_path: Path, capsys) -> None:
    argv = ["sweep", "--env", ENV, "--seeds", "2", "--timesteps", "256", "--episodes", "2", "--no-figures",
            "--set", "learning_rate=0.0003,0.001", "--root", str(tmp_path)]
    main(argv)
    rows = json.loads((tmp_path / "summary.json").read_text())
    agents = {r["agent"]: r for r in rows}
    assert set(agents) == {"random", "none", "protocol", "planner", "ppo[learning_rate=0.0003]",
                           "ppo[learning_rate=0.001]"}
    assert agents["ppo[learning_rate=0.001]"]["training_seeds"] == 2
    finals = sorted((tmp_path / "immunosim__CheckpointInhibitor-v1").glob("ppo*/checkpoints/checkpoint_256_steps.json"))
    assert len(finals) == 4
    stamps = [p.stat().st_mtime_ns for p in finals]
    capsys.readouterr()
    main(argv)  # Ray restores the finished experiment: nothing is trained again
    assert [p.stat().st_mtime_ns for p in finals] == stamps
    assert json.loads((tmp_path / "summary.json").read_text()) == rows


def test_bad_grid_is_refused_at_parsing(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sweep", "--set", "learnin_rate=0.1"])
    assert exc.value.code == 2 and "valid: batch_size" in capsys.readouterr().err
