"""Logged datasets (Minari round trip, exact propensities) and off-policy evaluation against the ground truth."""

import gymnasium as gym
import numpy as np
import pytest

import clinsim
from clinsim.offline.datasets import collect, dataset_id, minari_root
from clinsim.offline.ground_truth import rollout
from clinsim.offline.ope import Episode, episodes_from_dataset, estimate
from clinsim.offline.policies import ClinicianPolicy, DeterministicPolicy, EpsilonMixture, UniformPolicy
from clinsim.offline.targets import Target

minari = pytest.importorskip("minari")
CHECKPOINT = "immunosim/CheckpointInhibitor-v1"
COMBINATION = "immunosim/CombinationTherapy-v1"
FLUIDS = "sepsisim/SepsisManagement-v1"


def _obs(env_id: str, n: int = 64) -> np.ndarray:
    venv = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")
    obs, _ = venv.reset(seed=0)
    venv.action_space.seed(0)
    for _ in range(3):
        obs, *_ = venv.step(venv.action_space.sample())
    return obs


@pytest.mark.parametrize("env_id", [CHECKPOINT, COMBINATION])
def test_discrete_propensities_sum_to_one_and_match_the_draws(env_id: str) -> None:
    space = gym.spec(env_id).make().action_space
    clinician = ClinicianPolicy(clinsim.spec(env_id).protocol, space, 0.8, seed=1)
    obs = _obs(env_id)
    for policy in (clinician, EpsilonMixture(clinician, 0.3, seed=2), UniformPolicy(space, 3),
                   DeterministicPolicy(clinsim.spec(env_id).protocol, space)):
        probs = policy.probabilities(obs)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)
    one = np.repeat(obs[:1], 20_000, axis=0)
    draws = clinician(one).reshape(len(one), -1)
    flat = np.ravel_multi_index(draws.T, np.atleast_1d(space.n if hasattr(space, "n") else space.nvec))
    frequency = np.bincount(flat, minlength=clinician.probabilities(one[:1]).shape[1]) / len(one)
    np.testing.assert_allclose(frequency, clinician.probabilities(one[:1])[0], atol=0.01)


def test_continuous_densities_integrate_to_one() -> None:
    """Monte Carlo: E_uniform[p(a) / u(a)] = 1 for the clinician's truncated normal and the epsilon mixture."""
    space = gym.spec(FLUIDS).make().action_space
    clinician = ClinicianPolicy(clinsim.spec(FLUIDS).protocol, space, spread=0.2, seed=1)
    uniform = UniformPolicy(space, 5)
    obs = np.repeat(_obs(FLUIDS, 2)[:1], 200_000, axis=0)
    actions = uniform(obs)
    for policy in (clinician, EpsilonMixture(clinician, 0.3, seed=2)):
        ratio = np.exp(policy.log_prob(obs, actions) - uniform.log_prob(obs, actions))
        assert ratio.mean() == pytest.approx(1.0, abs=0.03)
    with pytest.raises(TypeError, match="no density"):
        DeterministicPolicy(clinsim.spec(FLUIDS).protocol, space).log_prob(obs[:2], actions[:2])


def test_dataset_round_trip_is_reproducible_and_logs_the_behaviour_probabilities(tmp_path) -> None:
    first = collect(CHECKPOINT, "mixed", 4, seed=3, root=tmp_path / "a", reference_episodes=2)
    collect(CHECKPOINT, "mixed", 4, seed=3, root=tmp_path / "b", reference_episodes=2)
    loaded = []
    for root in ("a", "b"):
        with minari_root(tmp_path / root):
            loaded.append(minari.load_dataset(dataset_id(CHECKPOINT, "mixed")))
    a, b = loaded
    assert first.spec.dataset_id == "clinsim/immunosim-checkpointinhibitor-v1/mixed-v0"
    assert a.recover_environment().spec.id == CHECKPOINT == a.recover_environment(eval_env=True).spec.id
    assert a.total_episodes == 4 and a.storage.metadata["ref_min_score"] < a.storage.metadata["ref_max_score"]
    from clinsim.offline.datasets import behaviour_policy

    policy = behaviour_policy(CHECKPOINT, "mixed")
    for ea, eb in zip(a.iterate_episodes(), b.iterate_episodes(), strict=True):
        assert np.array_equal(ea.actions, eb.actions) and np.array_equal(ea.observations, eb.observations)
        logged = np.asarray(ea.infos["behaviour_log_prob"])
        assert np.isnan(logged[0])
        np.testing.assert_allclose(logged[1:], policy.log_prob(ea.observations[:-1], ea.actions), rtol=1e-12)


def test_ground_truth_is_reproducible_and_estimators_recover_it_on_policy(tmp_path) -> None:
    """On-policy data (target = behaviour): every importance weight is 1, so IS and WIS are the logged mean
    discounted return, which agrees with the true value within its sampling error."""
    dataset = collect(CHECKPOINT, "clinician", 150, seed=0, root=tmp_path)
    target = ClinicianPolicy(clinsim.spec(CHECKPOINT).protocol, gym.spec(CHECKPOINT).make().action_space, 0.85)
    episodes = episodes_from_dataset(dataset, target)
    for e in episodes:
        np.testing.assert_allclose(e.target_log_prob, e.behaviour_log_prob, rtol=1e-12)
    gamma = clinsim.spec(CHECKPOINT).ppo["gamma"]
    values = estimate(episodes, gamma)
    logged = np.mean([np.sum(e.rewards * gamma ** np.arange(len(e.rewards))) for e in episodes])
    assert values["is"] == pytest.approx(logged) and values["wis"] == pytest.approx(logged)
    assert values["pdis"] == pytest.approx(logged) and values["wpdis"] == pytest.approx(logged)
    runs = [rollout(CHECKPOINT, Target(p, "", p), 1000, 10**6, gamma)["value"]
            for p in (target, ClinicianPolicy(target.protocol, target.space, 0.85))]
    assert np.array_equal(*runs)  # same patients, same seeded draws: the same values
    truth_se = runs[0].std(ddof=1) / np.sqrt(1000)
    spread = np.std([np.sum(e.rewards * gamma ** np.arange(len(e.rewards))) for e in episodes]) / np.sqrt(150)
    assert abs(values["wis"] - runs[0].mean()) < 3 * np.hypot(spread, truth_se)


def test_estimators_on_a_known_two_step_problem() -> None:
    """Hand-computed: two episodes, target doubles the first action's probability and halves the second's."""
    episodes = [Episode(np.array([1.0, 1.0]), np.log([0.5, 0.5]), np.log([1.0, 0.25])),
                Episode(np.array([0.0, 2.0]), np.log([0.5, 0.5]), np.log([0.5, 0.5]))]
    values = estimate(episodes, gamma=1.0)
    # episode weights 2 * 0.5 = 1 and 1; per-decision weights (2, 1) and (1, 1)
    assert values["is"] == pytest.approx((1 * 2 + 1 * 2) / 2)
    assert values["wis"] == pytest.approx((2 + 2) / 2)
    assert values["pdis"] == pytest.approx(((2 * 1 + 1 * 1) + (0 + 1 * 2)) / 2)
    assert values["wpdis"] == pytest.approx((2 * 1 + 1 * 0) / 3 + (1 * 1 + 1 * 2) / 2)


@pytest.mark.parametrize("observation", ["state", "clinical"])
def test_behaviour_actions_keep_the_batch_axis_on_a_multidimensional_box(observation):
    """One observation in, one (3,)-action out: scipy's truncnorm drops the batch axis of a single row."""
    from clinsim.offline.datasets import behaviour_policy

    env = gym.make("sepsisim/SepsisManagement-v1", observation=observation)
    obs, _ = env.reset(seed=0)
    for behaviour in ("clinician", "mixed"):
        action = behaviour_policy("sepsisim/SepsisManagement-v1", behaviour, 0)(obs[None])
        assert action.shape == (1, 3) and env.action_space.contains(action[0])
