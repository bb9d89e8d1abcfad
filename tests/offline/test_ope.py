"""Standard datasets, target policies, shipped ground truth, and the model-based estimators (FQE, DR)."""

import gymnasium as gym
import numpy as np
import pytest

import clinsim
from clinsim.cli import main
from clinsim.offline.datasets import STANDARD, collect, dataset_id, env_kwargs
from clinsim.offline.ground_truth import ground_truth, load_ground_truth, rollout, truth_path
from clinsim.offline.policies import ClinicianPolicy
from clinsim.offline.targets import TARGET_NAMES, VARIANTS, StatePlanner, target_policies

pytest.importorskip("minari")
CHECKPOINT = "immunosim/CheckpointInhibitor-v1"
FLUIDS = "sepsisim/FluidResuscitation-v1"
CLINICAL_TARGET_ENVS = [CHECKPOINT, FLUIDS]


def test_standard_datasets_cover_every_paper_environment_and_name_the_observation_mode() -> None:
    assert {e for e, _ in STANDARD} == set(clinsim.PAPER_IDS) and len(STANDARD) == 3 * len(clinsim.PAPER_IDS)
    assert dataset_id(CHECKPOINT, "mixed") == "clinsim/immunosim-checkpointinhibitor-v1/mixed-v0"
    assert dataset_id(CHECKPOINT, "mixed", "clinical") == "clinsim/immunosim-checkpointinhibitor-v1/mixed-clinical-v0"
    assert env_kwargs("state") == {} and env_kwargs("clinical") == {"observation": "clinical"}
    with pytest.raises(ValueError, match="valid: state, clinical"):
        env_kwargs("bedside")


@pytest.mark.parametrize("observation", ["state", "clinical"])
@pytest.mark.parametrize("env_id", list(VARIANTS))
def test_protocol_variants_act_validly_and_differ_from_the_protocol(env_id: str, observation: str) -> None:
    """The variants read observations by name through the table of their mode: in either mode they act validly
    and (on these patients) differently from the protocol."""
    venv = gym.make_vec(env_id, num_envs=64, vectorization_mode="vector_entry_point", observation=observation)
    obs, _ = venv.reset(seed=0)
    protocol, variant = clinsim.spec(env_id).protocol, VARIANTS[env_id][0]
    differs = False
    for _ in range(12):
        action = variant(obs)
        assert all(venv.single_action_space.contains(np.asarray(a, dtype=venv.single_action_space.dtype))
                   for a in action)
        differs |= not np.array_equal(action, protocol(obs))
        obs, *_ = venv.step(protocol(obs))
    assert differs


def test_ground_truth_is_reproducible_paired_and_the_shipped_file_regenerates() -> None:
    first = ground_truth(CHECKPOINT, episodes=30, planner_episodes=3, first_seed=10**6)
    assert first == ground_truth(CHECKPOINT, episodes=30, planner_episodes=3, first_seed=10**6)
    targets = first["targets"]
    assert list(targets) == list(TARGET_NAMES) and targets["planner"]["episodes"] == 3
    assert targets["protocol"]["value_minus_protocol"] == {"mean": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    assert 0.0 <= targets["random"]["escape"]["ci_low"] <= targets["random"]["escape"]["mean"] <= 1.0
    shipped = load_ground_truth(CHECKPOINT)
    assert shipped["episodes"] == 5000
    assert shipped["targets"]["planner"]["episodes"] == clinsim.spec(CHECKPOINT).episodes
    protocol = target_policies(CHECKPOINT)["protocol"]
    values = rollout(CHECKPOINT, protocol, shipped["episodes"], shipped["first_seed"], shipped["gamma"])["value"]
    assert values.mean() == shipped["targets"]["protocol"]["value"]["mean"]  # bit for bit


@pytest.fixture(scope="module")
def on_policy(tmp_path_factory):
    """150 patients of CheckpointInhibitor under the clinician, and the clinician as target (on policy)."""
    from clinsim.offline.ope import logged_episodes

    dataset = collect(CHECKPOINT, "clinician", 150, seed=0, root=tmp_path_factory.mktemp("minari"))
    target = ClinicianPolicy(clinsim.spec(CHECKPOINT).protocol, gym.spec(CHECKPOINT).make().action_space, 0.85,
                             seed=5)
    return logged_episodes(dataset), target


def test_fqe_recovers_the_logged_value_and_dr_the_truth_on_policy(on_policy) -> None:
    """FQE at gamma 0.5 (a short effective horizon: 800 steps converge; measured 0.03 SD off) against the Monte
    Carlo value of the same episodes; DR at the environment's gamma against the shipped truth, within sampling
    error (with correct weights DR is unbiased whatever the Q-function)."""
    pytest.importorskip("d3rlpy")
    from clinsim.offline.ope import doubly_robust, fit_q, with_target

    logged, target = on_policy
    first = np.stack([e.observations[0] for e in logged])
    monte_carlo = [np.sum(e.rewards * 0.5 ** np.arange(len(e.rewards))) for e in logged]
    q = fit_q(logged, target, 0.5, steps=800, seed=0)
    assert np.mean(q.v(first)) == pytest.approx(np.mean(monte_carlo), abs=0.1 * np.std(monte_carlo))
    gamma = clinsim.spec(CHECKPOINT).ppo["gamma"]
    q = fit_q(logged, target, gamma, steps=100, seed=0)
    dr = doubly_robust(logged, with_target(logged, target), q, gamma)
    returns = [np.sum(e.rewards * gamma ** np.arange(len(e.rewards))) for e in logged]
    truth = load_ground_truth(CHECKPOINT)["targets"]["clinician"]["value"]["mean"]
    assert abs(dr - truth) < 3 * np.std(returns) / np.sqrt(len(logged))


def test_estimators_on_continuous_actions_and_a_deterministic_target(tmp_path) -> None:
    """A deterministic protocol over continuous doses has no density: importance sampling and DR are undefined
    (None), FQE still estimates."""
    pytest.importorskip("d3rlpy")
    from clinsim.offline.ope import estimate_all, logged_episodes

    dataset = collect(FLUIDS, "mixed", 6, seed=0, root=tmp_path)
    protocol = target_policies(FLUIDS)["protocol"].probabilities
    values = estimate_all(logged_episodes(dataset), protocol, 0.99, fqe_steps=20)
    assert values["is"] is None and values["dr"] is None and np.isfinite(values["fqe"])


def test_cli_errors_name_the_valid_choices(capsys) -> None:
    for argv, valid in ((["ope", "x", "--estimators", "dr,magic"], "valid: is, wis, pdis, wpdis, dr, fqe"),
                        (["ope", "x", "--targets", "planner"], "valid: protocol, protocol-variant"),
                        (["dataset", CHECKPOINT, "--observation", "bedside"], "'state', 'clinical'"),
                        (["ground-truth", "sepsisim/SepsisManagementHard-v1"], CHECKPOINT)):
        with pytest.raises(SystemExit):
            main(argv)
        assert valid in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["dataset"])
    assert "or use --standard" in capsys.readouterr().err


@pytest.mark.parametrize("env_id", CLINICAL_TARGET_ENVS)
def test_clinical_targets_act_on_clinical_observations(env_id: str) -> None:
    """Every estimable target acts validly on clinical observations, stochastic ones with probabilities summing
    to 1 (finite actions); the PPO agent is the one trained on clinical observations."""
    targets = target_policies(env_id, observation="clinical")
    assert list(targets) == list(TARGET_NAMES) and "clinical observations" in targets["ppo"].description
    venv = gym.make_vec(env_id, num_envs=16, vectorization_mode="vector_entry_point", observation="clinical")
    space = venv.single_action_space
    obs, _ = venv.reset(seed=1)
    for step in range(3):
        for t in targets.values():
            if t.uses_state and step:  # the planner plans from the first visit (later ones may have ended)
                continue
            action = np.asarray(t.policy(obs, venv.unwrapped.state) if t.uses_state else t.policy(obs))
            assert len(action) == len(obs) and all(space.contains(np.asarray(a, dtype=space.dtype)) for a in action)
            if t.probabilities is not None and not isinstance(space, gym.spaces.Box):
                np.testing.assert_allclose(t.probabilities.probabilities(obs).sum(axis=1), 1.0, rtol=1e-9)
        obs, *_ = venv.step(targets["protocol"].policy(obs))


def test_planner_plans_the_same_in_both_observation_modes() -> None:
    """The planner reads the true state only: the same patients give the same returns in either mode, which is
    why the clinical ground truth reuses its state-mode entry."""
    from clinsim.core.evaluation import evaluate_cohort

    planner = StatePlanner(CHECKPOINT)
    state = evaluate_cohort(CHECKPOINT, planner, 3, seed=10**6).returns
    np.testing.assert_array_equal(state, evaluate_cohort(CHECKPOINT, planner, 3, seed=10**6,
                                                         observation="clinical").returns)


def test_clinical_ground_truth_is_reproducible_and_reuses_the_planner() -> None:
    first = ground_truth(CHECKPOINT, episodes=30, observation="clinical")
    assert first == ground_truth(CHECKPOINT, episodes=30, observation="clinical")
    assert first["observation"] == "clinical" and list(first["targets"]) == list(TARGET_NAMES)
    planner = first["targets"]["planner"]
    state = load_ground_truth(CHECKPOINT)
    assert planner["reused_from"] == state["command"]
    assert {k: v for k, v in planner.items() if k not in ("reused_from", "note")} == state["targets"]["planner"]
    assert first["targets"]["protocol"]["value_minus_protocol"] == {"mean": 0.0, "ci_low": 0.0, "ci_high": 0.0}
    with pytest.raises(ValueError, match="reused from the state-mode ground truth"):
        ground_truth(CHECKPOINT, episodes=30, planner_episodes=3, observation="clinical")
    with pytest.raises(ValueError, match="of state observations, not clinical ones"):
        load_ground_truth(CHECKPOINT, truth_path(CHECKPOINT), observation="clinical")
    shipped = load_ground_truth(CHECKPOINT, observation="clinical")
    assert shipped["episodes"] == 5000 and shipped["first_seed"] == state["first_seed"]
    protocol = target_policies(CHECKPOINT, observation="clinical")["protocol"]
    values = rollout(CHECKPOINT, protocol, shipped["episodes"], shipped["first_seed"], shipped["gamma"],
                     "clinical")["value"]
    assert values.mean() == shipped["targets"]["protocol"]["value"]["mean"]  # bit for bit


def test_estimators_recover_the_clinical_truth_on_policy(tmp_path) -> None:
    """A clinical-observation dataset under the clinician, the clinical clinician target (on policy): every weight
    is 1, so the importance-sampling estimates are the logged mean discounted return, within sampling error of
    the shipped clinical truth; the dataset picks the clinical targets and refuses a state-mode truth."""
    from clinsim.offline.ope import evaluate_dataset

    dataset = collect(CHECKPOINT, "clinician", 100, seed=0, root=tmp_path, reference_episodes=2,
                      observation="clinical")
    truth = load_ground_truth(CHECKPOINT, observation="clinical")
    (row,) = evaluate_dataset(dataset, truth, ("is", "wis", "pdis", "wpdis"), ["clinician"])
    gamma = truth["gamma"]
    returns = [np.sum(np.asarray(e.rewards) * gamma ** np.arange(len(e.rewards))) for e in dataset.iterate_episodes()]
    for estimator in ("is", "wis", "pdis", "wpdis"):
        assert row[estimator] == pytest.approx(np.mean(returns))
    assert row["value"] == truth["targets"]["clinician"]["value"]["mean"]
    assert abs(row["wis"] - row["value"]) < 3 * np.std(returns) / np.sqrt(len(returns))
    with pytest.raises(ValueError, match="truth is of state observations, the dataset of clinical ones"):
        evaluate_dataset(dataset, load_ground_truth(CHECKPOINT), ("is",), ["clinician"])


def test_every_paper_environment_ships_clinical_targets_and_truth() -> None:
    """The clinical-mode PPO agent (trained on clinical observations, the state agent's settings) and ground truth
    (the state file's patients and planner) of every paper environment."""
    from clinsim.offline.targets import agent_dir
    from clinsim.training.runs import RunDir

    for env_id in clinsim.PAPER_IDS:
        config, state_config = RunDir(agent_dir(env_id, "clinical")).config, RunDir(agent_dir(env_id)).config
        assert config.pop("observation") == "clinical" and config == state_config
        truth, state = load_ground_truth(env_id, observation="clinical"), load_ground_truth(env_id)
        assert truth["episodes"] == state["episodes"] and truth["first_seed"] == state["first_seed"]
        assert truth["targets"]["planner"]["reused_from"] == state["command"]
        for key in ("value", "return"):  # random actions are blind to observations: the same patients, same values
            assert truth["targets"]["random"][key] == state["targets"]["random"][key]
