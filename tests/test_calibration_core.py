"""The virtual-population calibration method (clinsim.core.calibration) on problems with known answers."""

import numpy as np
import pytest

from clinsim.core.calibration import CalibrationError, Target, VirtualPopulation, maxent_weights, target_rows


def _features(n: int = 3000, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).random((n, 3))
    return np.stack([x[:, 0] < 0.7, x[:, 1] < x[:, 0], x[:, 2] < 0.2], axis=1).astype(float)


def test_weights_meet_joint_targets_and_stay_spread():
    targets = [Target("a", 0.437, 0.05, "s"), Target("b", 0.30, 0.05, "s"), Target("c", 0.55, 0.05, "s")]
    result = maxent_weights(_features(), targets)
    np.testing.assert_allclose(result.achieved, [0.437, 0.30, 0.55], atol=1e-6)
    assert np.isclose(result.weights.sum(), 1.0) and (result.weights > 0).all()
    assert result.effective_size > 300  # not a handful of patients


def test_targets_already_met_keep_uniform_weights():
    f = _features()
    targets = [Target(k, float(v), 0.05, "s") for k, v in zip("abc", f.mean(axis=0), strict=True)]
    np.testing.assert_allclose(maxent_weights(f, targets).weights, 1.0 / len(f), rtol=1e-5)


def test_unreachable_and_conflicting_targets_are_named():
    f = _features()
    with pytest.raises(CalibrationError, match="reaches b"):
        maxent_weights(f[:, :2] * [1, 0], [Target("a", 0.4, 0.05, "s"), Target("b", 0.3, 0.05, "s")])
    complement = np.stack([f[:, 0], 1.0 - f[:, 0]], axis=1)  # the solver diverges: no finite weights exist
    with pytest.raises(CalibrationError, match="a, b"):
        maxent_weights(complement, [Target("a", 0.9, 0.05, "s"), Target("b", 0.9, 0.05, "s")])
    twin = np.stack([f[:, 0], f[:, 0]], axis=1)
    with pytest.raises(CalibrationError, match="targets a, b"):
        maxent_weights(twin, [Target("a", 0.3, 0.05, "s"), Target("b", 0.6, 0.05, "s")])


def test_population_round_trip_and_weighted_draws(tmp_path):
    rng = np.random.default_rng(1)
    weights = np.array([0.7, 0.2, 0.1, 0.0])
    population = VirtualPopulation({"gamma": np.arange(4.0)}, weights, {"seed": np.int64(3), "targets": []})
    population.save(tmp_path / "cohort")
    loaded = VirtualPopulation.load(tmp_path / "cohort")
    assert len(loaded) == 4 and loaded.metadata["seed"] == 3
    np.testing.assert_array_equal(loaded.column("gamma"), np.arange(4.0))
    draws = np.bincount([loaded.draw(rng) for _ in range(20_000)], minlength=4) / 20_000
    np.testing.assert_allclose(draws, weights, atol=0.015)
    with pytest.raises(KeyError, match="columns: gamma"):
        loaded.column("delta")


def test_bad_inputs_fail_clearly():
    with pytest.raises(ValueError, match="not a rate"):
        Target("orr", 43.7, 0.05, "Larkin 2015")
    with pytest.raises(ValueError, match="summing to 1"):
        VirtualPopulation({"x": np.ones(2)}, np.array([0.5, 0.6]))
    with pytest.raises(ValueError, match="one value per patient"):
        VirtualPopulation({"x": np.ones(3)}, np.array([0.5, 0.5]))
    rows = target_rows([Target("orr", 0.437, 0.05, "Larkin 2015")], [0.46])
    assert rows[0]["met"] and rows[0]["trial"] == 0.437
