"""Every registered environment: Gymnasium conformance, seeding, pickling, vector == single, bad input."""

import copy
import inspect
import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clinsim
from clinsim.baselines import no_treatment
from clinsim.core.batch import PARALLEL_MIN_BATCH
from clinsim.core.task import EpisodeOverError, InvalidActionError, NonFiniteStateError


def rollout(env: gym.Env, seed: int, n_steps: int, action_seed: int = 0):
    """Observations and rewards of a seeded episode under seeded random actions."""
    env.action_space.seed(action_seed)
    obs, _ = env.reset(seed=seed)
    observations, rewards = [obs], []
    for _ in range(n_steps):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        observations.append(obs)
        rewards.append(reward)
        if terminated or truncated:
            break
    return np.array(observations), np.array(rewards)


def assert_same_info(info: dict, vinfo: dict, i: int) -> None:
    """A single env's info equals sub-env ``i`` of a vector env's, entries as Python scalars (or arrays)."""
    assert set(info) == {k for k in vinfo if not k.startswith("_")}
    for k, v in info.items():
        expected = vinfo[k][i]
        assert np.array_equal(v, expected), k
        if np.ndim(expected) == 0:
            assert type(v) is type(expected.item()), k


SHIPPED = {"immunosim/CheckpointInhibitor-v1", "immunosim/CombinationTherapy-v1", "immunosim/CARTCell-v1",
           "immunosim/AdaptiveDosing-v1"} | {f"sepsisim/{task}{tier}-v1" for task in
                                            ("FluidResuscitation", "VasopressorTitration", "SepsisManagement")
                                            for tier in ("", "Easy", "Medium", "Hard")} | {"sepsisim/Ward-v0"}


def test_import_registers_every_id_from_the_registry() -> None:
    """The disease packages' specs are the registry: every spec is registered with Gymnasium with the task's
    horizon, its native vector env, its protocol, hyperparameters and evaluation episodes."""
    assert set(clinsim.ENV_IDS) == set(clinsim.SPECS) == SHIPPED | {"glucose/InsulinDosing-v0"}
    assert set(clinsim.PAPER_IDS) == {e for e in SHIPPED if not e.endswith(("Easy-v1", "Medium-v1", "Hard-v1", "-v0"))}
    for env_id, spec in clinsim.SPECS.items():
        gym_spec = gym.spec(env_id)
        assert gym_spec.max_episode_steps == spec.env.task_class.horizon
        assert gym_spec.vector_entry_point.endswith(spec.vector.__name__)
        assert spec.ppo["total_timesteps"] > 0 and spec.episodes >= 2
    assert {s.episodes for k, s in clinsim.SPECS.items() if k.startswith("immunosim/")} == {100}
    assert {s.episodes for k, s in clinsim.SPECS.items() if k.startswith("sepsisim/")} == {50}
    with pytest.raises(KeyError, match="registered: immunosim/CheckpointInhibitor-v1"):
        clinsim.spec("immunosim/Nothing-v0")


def test_protocol_acts_in_the_action_space(env_id: str) -> None:
    venv = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point")
    obs, _ = venv.reset(seed=0)
    actions = clinsim.spec(env_id).protocol(obs)
    assert all(venv.single_action_space.contains(np.asarray(a, dtype=venv.single_action_space.dtype))
               for a in actions)


def test_check_env(env_id: str) -> None:
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)


def test_same_seed_same_trajectory(env_id: str) -> None:
    a = rollout(gym.make(env_id), seed=3, n_steps=200)
    b = rollout(gym.make(env_id), seed=3, n_steps=200)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_different_seeds_give_different_patients(env_id: str) -> None:
    env = gym.make(env_id)
    first = [env.reset(seed=s)[1]["patient"] for s in range(5)]
    obs = [env.reset(seed=s)[0] for s in range(5)]
    assert len(set(first)) == 5
    assert len({o.tobytes() for o in obs}) == 5


def test_reset_without_seed_draws_a_new_patient(env_id: str) -> None:
    env = gym.make(env_id)
    env.reset(seed=0)
    assert env.reset()[1]["patient"] != env.reset()[1]["patient"]


def test_observations_stay_in_the_declared_space(env_id: str) -> None:
    env = gym.make(env_id)
    for seed in range(3):
        observations, rewards = rollout(env, seed=seed, n_steps=400, action_seed=seed)
        assert all(env.observation_space.contains(o) for o in observations)
        assert np.isfinite(rewards).all()


def test_env_pickles_mid_episode(env_id: str) -> None:
    env = gym.make(env_id)
    env.reset(seed=1)
    env.step(env.action_space.sample())
    clone = pickle.loads(pickle.dumps(env))
    action = env.action_space.sample()
    assert np.array_equal(env.step(action)[0], clone.step(action)[0])


def test_vector_env_equals_single_envs(env_id: str) -> None:
    n = 4
    venv = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")
    singles = [gym.make(env_id) for _ in range(n)]
    vobs, _ = venv.reset(seed=7)
    sobs = [env.reset(seed=7 + i)[0] for i, env in enumerate(singles)]
    assert np.array_equal(vobs, np.stack(sobs))
    needs_reset = [False] * n
    venv.action_space.seed(0)
    horizon = gym.spec(env_id).max_episode_steps
    for _ in range(horizon + horizon // 2):  # crosses at least one autoreset per sub-env
        actions = venv.action_space.sample()
        vobs, vrew, vterm, vtrunc, vinfo = venv.step(actions)
        for i, env in enumerate(singles):
            if needs_reset[i]:
                obs, _ = env.reset()
                reward, term, trunc = 0.0, False, False
            else:
                obs, reward, term, trunc, info = env.step(actions[i])
                assert_same_info(info, vinfo, i)
            needs_reset[i] = term or trunc
            assert np.array_equal(obs, vobs[i])
            assert reward == vrew[i] and term == vterm[i] and trunc == vtrunc[i]
    pickle.loads(pickle.dumps(venv))


def test_same_step_autoreset_equals_single_envs(env_id: str) -> None:
    """``autoreset_mode="SameStep"``: the ending step returns the next patient's first observation and the
    finished patient's last observation and info in ``final_obs`` / ``final_info`` (Gymnasium's convention)."""
    n = 3
    venv = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", autoreset_mode="SameStep")
    assert venv.metadata["autoreset_mode"].value == "SameStep"
    singles = [gym.make(env_id) for _ in range(n)]
    vobs, _ = venv.reset(seed=5)
    assert np.array_equal(vobs, np.stack([env.reset(seed=5 + i)[0] for i, env in enumerate(singles)]))
    venv.action_space.seed(0)
    horizon = gym.spec(env_id).max_episode_steps
    ended = 0
    for _ in range(horizon + 2):
        actions = venv.action_space.sample()
        vobs, vrew, vterm, vtrunc, vinfo = venv.step(actions)
        for i, env in enumerate(singles):
            obs, reward, term, trunc, info = env.step(actions[i])
            assert reward == vrew[i] and term == vterm[i] and trunc == vtrunc[i]
            if term or trunc:
                ended += 1
                assert vinfo["_final_obs"][i] and np.array_equal(vinfo["final_obs"][i], obs)
                assert_same_info(info, {k: v for k, v in vinfo["final_info"].items()}, i)
                obs, info = env.reset()
            else:
                assert "_final_obs" not in vinfo or not vinfo["_final_obs"][i]
            assert np.array_equal(obs, vobs[i])
            assert_same_info(info, {k: v for k, v in vinfo.items() if "final" not in k}, i)
    assert ended >= n


def assert_same_vector_info(ours: dict, theirs: dict) -> None:
    """Two vector infos agree: the same keys and masks, and the same values wherever the mask is set."""
    assert set(ours) == set(theirs)
    for k, v in theirs.items():
        if k.startswith("_"):
            assert np.array_equal(ours[k], v), k
        elif isinstance(v, dict):
            assert_same_vector_info(ours[k], v)
        else:
            for i in np.flatnonzero(theirs["_" + k]):
                assert np.array_equal(ours[k][i], v[i]), (k, i)


@pytest.mark.parametrize("mode", ["NextStep", "SameStep", "Disabled"])
def test_native_vector_env_equals_sync_vector_env_in_every_autoreset_mode(env_id: str, mode: str) -> None:
    """Gymnasium's SyncVectorEnv over single envs is the reference for each autoreset mode: observations,
    rewards, flags and infos (``final_obs`` / ``final_info`` included) agree bit for bit; in ``Disabled`` mode the
    caller's ``reset(options={"reset_mask": ...})`` restarts only the finished patients."""
    n = 3
    ours = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point", autoreset_mode=mode)
    if "autoreset_mode" not in inspect.signature(gym.vector.SyncVectorEnv).parameters:  # gymnasium 1.0
        if mode != "NextStep":
            pytest.skip("gymnasium 1.0's SyncVectorEnv has next-step autoreset only: no reference")
        sync = gym.make_vec(env_id, num_envs=n, vectorization_mode="sync")
    else:
        sync = gym.make_vec(env_id, num_envs=n, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode})
    assert ours.autoreset_mode.value == mode == ours.metadata["autoreset_mode"].value
    (obs, info), (sobs, sinfo) = ours.reset(seed=9), sync.reset(seed=9)
    assert np.array_equal(obs, sobs)
    assert_same_vector_info(info, sinfo)
    ours.action_space.seed(4)
    horizon = gym.spec(env_id).max_episode_steps
    restarts = 0
    for _ in range(horizon + horizon // 2):
        actions = ours.action_space.sample()
        out, sout = ours.step(actions), sync.step(actions)
        for a, b in zip(out[:4], sout[:4], strict=True):
            assert np.array_equal(a, b)
        assert_same_vector_info(out[4], sout[4])
        done = out[2] | out[3]
        if mode == "Disabled" and done.any():
            with pytest.raises(EpisodeOverError, match="reset_mask"):
                ours.step(actions)
            (obs, info), (sobs, sinfo) = (env.reset(options={"reset_mask": done}) for env in (ours, sync))
            assert np.array_equal(obs, sobs)
            assert_same_vector_info(info, sinfo)
            restarts += int(done.sum())
    assert mode != "Disabled" or restarts >= n


def test_threaded_vector_env_equals_single_envs(env_id: str) -> None:
    """Batches of >= PARALLEL_MIN_BATCH run their patients in threads: the same bits as single envs."""
    n = PARALLEL_MIN_BATCH
    venv = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")
    vobs, _ = venv.reset(seed=11)
    venv.action_space.seed(2)
    checked = (0, n // 2, n - 1)
    singles = {i: gym.make(env_id) for i in checked}
    for i, env in singles.items():
        assert np.array_equal(env.reset(seed=11 + i)[0], vobs[i])
    for _ in range(12):
        actions = venv.action_space.sample()
        vobs, vrew, vterm, _, _ = venv.step(actions)
        for i, env in list(singles.items()):
            obs, reward, term, _, _ = env.step(actions[i])
            assert np.array_equal(obs, vobs[i]) and reward == vrew[i] and term == vterm[i]
            if term:  # the vector env autoresets this patient next step
                del singles[i]


def test_vector_infos_and_observations_handed_out_never_change(env_id: str) -> None:
    """Autoresets replace patients without touching arrays returned by earlier steps."""
    venv = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point")
    venv.reset(seed=3)
    venv.action_space.seed(1)
    horizon = gym.spec(env_id).max_episode_steps
    kept = []
    for _ in range(horizon + 2):
        obs, reward, _, _, info = venv.step(venv.action_space.sample())
        kept.append((obs, reward, info, copy.deepcopy((obs, reward, info))))
    for obs, reward, info, (obs_then, reward_then, info_then) in kept:
        assert np.array_equal(obs, obs_then) and np.array_equal(reward, reward_then)
        for k, v in info.items():
            assert np.array_equal(v, info_then[k]), k


@pytest.mark.parametrize("mode", ["rgb_array", "ansi"])
def test_render_modes(env_id: str, mode: str) -> None:
    env = gym.make(env_id, render_mode=mode)
    env.reset(seed=0)
    env.action_space.seed(0)
    ended = any(env.step(env.action_space.sample())[2:4])
    frame = env.render()
    if mode == "ansi":
        assert isinstance(frame, str) and "outcome=" in frame
        return
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3 and frame.std() > 0
    if not ended:
        env.step(env.action_space.sample())
        later = env.render()
        assert later.shape == frame.shape and not np.array_equal(later, frame)  # the new step is drawn
        clone = pickle.loads(pickle.dumps(env))  # the figure is not pickled: rebuilt on the next render
        assert np.array_equal(clone.render(), later)


def test_human_and_vector_rendering(env_id: str, monkeypatch) -> None:
    """``human`` shows each step in a window (here: matplotlib's headless backend); the vector env tiles its
    first patients' dashboards."""
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "pause", lambda _: None)
    env = gym.make(env_id, render_mode="human")
    env.reset(seed=0)
    env.step(env.action_space.sample())
    assert env.render() is None and plt.get_fignums()
    env.close()
    assert not plt.get_fignums()
    venv = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point", render_mode="rgb_array",
                        render_patients=2)
    venv.reset(seed=0)
    venv.step(venv.action_space.sample())
    single = gym.make(env_id, render_mode="rgb_array")
    single.reset(seed=0)
    h, w, _ = single.render().shape
    assert venv.render().shape == (h, 2 * w, 3)
    shown = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point", render_mode="human",
                         render_patients=2)
    shown.reset(seed=0)  # the grid is shown after every reset and step
    shown.step(shown.action_space.sample())
    assert shown.render() is None and plt.get_fignums()
    shown.close()
    assert not plt.get_fignums()


def test_info_is_the_tasks_info_table(env_id: str) -> None:
    """The info holds exactly the patient label and the task's info table, as Python scalars whose outcome
    is one of the task's outcome names."""
    env = gym.make(env_id)
    _, info = env.reset(seed=0)
    table = env.unwrapped.task.info_table
    rows = (*table.patient_rows, *table.clinical_rows)
    assert list(info) == ["patient", *(row.key for row in rows)]
    assert all(isinstance(v, int | float | bool | str) for v in info.values())
    outcome = next(row for row in table.rows if row.key == "outcome")
    assert info["outcome"] in outcome.names


def test_stepping_a_finished_episode_raises_naming_the_made_id(env_id: str) -> None:
    """One documented behaviour: after ``terminated`` or at the task's horizon, ``step`` raises
    EpisodeOverError naming the ID the user made and ``reset()``; ``reset()`` starts a new episode."""
    env = gym.make(env_id, max_episode_steps=10_000).unwrapped  # no TimeLimit: the env itself must stop
    env.reset(seed=0)
    env.action_space.seed(0)
    terminated = truncated = False
    steps = 0
    while not (terminated or truncated):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        steps += 1
    assert steps <= env.task.horizon and (terminated or steps == env.task.horizon)
    with pytest.raises(EpisodeOverError, match=rf"{env_id}: the episode .*call reset\(\)"):
        env.step(env.action_space.sample())
    env.reset(seed=1)
    env.step(env.action_space.sample())


def test_max_episode_steps_above_the_horizon_truncates_at_the_horizon(env_id: str) -> None:
    horizon = gym.spec(env_id).max_episode_steps
    env = gym.make(env_id, max_episode_steps=horizon + 50)
    env.reset(seed=0)
    action = no_treatment(env_id)(np.zeros((1, 1)))[0]
    venv = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", max_episode_steps=horizon + 50)
    venv.reset(seed=0)
    ended = np.zeros(2, dtype=bool)  # a vector patient whose episode ended early restarts: not at the horizon
    for step in range(1, horizon + 1):
        _, _, terminated, truncated, _ = env.step(action)
        _, _, vterm, vtrunc, _ = venv.step(np.array([action] * 2))
        if terminated:
            return
        assert truncated == (step == horizon)
        assert np.array_equal(vtrunc[~ended], np.full(int((~ended).sum()), step == horizon))
        ended |= vterm


@pytest.mark.parametrize("bad", [np.nan, "dose", [[0, 0, 0, 0]], 99, -1])
def test_invalid_actions_raise_naming_the_space(env_id: str, bad) -> None:
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    space = env.action_space
    if isinstance(space, gym.spaces.Box) and isinstance(bad, int):
        pytest.skip("finite out-of-bounds continuous actions are clipped (documented rule)")
    if isinstance(space, gym.spaces.Box):
        bad = np.full(space.shape, bad) if not isinstance(bad, list) else bad
    with pytest.raises(InvalidActionError, match=env_id.split("/")[1].split("-")[0]):
        env.step(bad)


def test_unknown_autoreset_mode_names_the_valid_ones(env_id: str) -> None:
    with pytest.raises(ValueError, match="'NextStep', 'SameStep', 'Disabled'"):
        gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", autoreset_mode="Sometimes")


def test_unknown_constructor_argument_values_raise(env_id: str) -> None:
    """Every string option of the task (patient, tier, ...) rejects unknown values, naming the valid ones."""
    import inspect

    task_class = gym.spec(env_id).make().unwrapped.task_class
    options = [name for name, par in inspect.signature(task_class.__init__).parameters.items()
               if isinstance(par.default, str)]
    assert "patient" in options
    for name in options:
        with pytest.raises(ValueError, match="valid"):
            gym.make(env_id, **{name: "nobody"})


@pytest.mark.parametrize("bad", [np.timedelta64(1, "s"), np.datetime64("2026-01-01"), np.array([1], dtype=object),
                                 np.ma.masked_array([1], mask=[True]), True, np.array([True])],
                         ids=["timedelta", "datetime", "object", "masked", "bool", "bool-array"])
def test_non_numeric_actions_raise(env_id: str, bad) -> None:
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    space = env.action_space
    if isinstance(bad, np.ma.MaskedArray):
        bad = np.ma.masked_array(np.zeros(space.shape, dtype=space.dtype), mask=True)
    elif isinstance(bad, np.ndarray):
        bad = np.zeros(space.shape, dtype=bad.dtype)
    elif not isinstance(bad, bool):
        bad = np.full(space.shape, bad)
    with pytest.raises(InvalidActionError):
        env.step(bad)


def test_any_byte_order_is_the_same_action(env_id: str) -> None:
    """Actions numpy converts exactly are accepted whatever their byte order, with the same result."""
    envs = [gym.make(env_id).unwrapped for _ in range(2)]
    for env in envs:
        env.reset(seed=4)
    space = envs[0].action_space
    space.seed(0)
    for _ in range(5):
        action = np.asarray(space.sample())
        swapped = action.astype(action.dtype.newbyteorder())
        a, b = envs[0].step(action), envs[1].step(swapped)
        assert np.array_equal(a[0], b[0]) and a[1] == b[1]
        if a[2]:
            break
    venv = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point")
    venv.reset(seed=0)
    batch = np.stack([np.asarray(space.sample()) for _ in range(2)])
    venv.step(batch.astype(batch.dtype.newbyteorder()))


def test_seeds_follow_gymnasium_rules_with_clear_errors(env_id: str) -> None:
    venv = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point")
    assert np.array_equal(venv.reset(seed=np.int64(5))[0], venv.reset(seed=5)[0])
    assert np.array_equal(venv.reset(seed=[5, None])[0][0], venv.reset(seed=5)[0][0])
    for bad in (-1, 2.5, "5", [1, 2, 3], True):
        with pytest.raises(ValueError, match="seed"):
            venv.reset(seed=bad)
    env = gym.make(env_id)
    with pytest.raises(ValueError, match="seed"):
        env.reset(seed=-3)
    for made in (env, venv):
        with pytest.raises(ValueError, match="unknown reset option.*'patient'.*valid: (none|'reset_mask')"):
            made.reset(seed=0, options={"patient": "reference"})


@pytest.mark.parametrize("value", ["abc", float("nan"), float("inf"), True, None])
def test_parameter_values_must_be_finite_numbers(env_id: str, value) -> None:
    pset = gym.make(env_id).unwrapped.task.parameter_set
    name = pset.names[0]
    with pytest.raises(ValueError, match=rf"{env_id.split('/')[1].split('-')[0]}.*{name}.*finite real number"):
        gym.make(env_id, parameters={name: value}, allow_out_of_range=True)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_actions_are_accepted_or_refused_clearly(data) -> None:
    """Any array-like of any dtype, shape and byte order, on any registered ID: a step, or
    InvalidActionError naming the ID; never another exception, never a changed state after a refusal."""
    env_id = data.draw(st.sampled_from(clinsim.ENV_IDS))
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    dtype = np.dtype(data.draw(st.sampled_from(["<f4", ">f8", "<i8", ">i4", "u1", "?", "<m8[s]", "<M8[D]", "O",
                                                "U3", "<c16"])))
    shape = data.draw(st.sampled_from([env.action_space.shape, (), (1,), (2,), (3,), (1, 3)]))
    values = data.draw(st.lists(st.one_of(st.floats(-1e3, 1e3), st.sampled_from([np.nan, np.inf, -np.inf])), min_size=3,
                                max_size=3))
    try:
        action = np.resize(np.array(values), shape).astype(dtype)
    except (TypeError, ValueError, OverflowError):
        return
    before = env.state
    try:
        env.step(action)
    except InvalidActionError as exc:
        assert env_id.split("/")[1].split("-")[0] in str(exc)
        after = env.state
        for name in before.clinical.dtype.names:
            assert np.array_equal(after.clinical[name], before.clinical[name], equal_nan=True), name


@pytest.mark.parametrize("factor", [1e-3, 1e3])
@pytest.mark.parametrize("env_id", clinsim.FAMILY_IDS)
def test_out_of_range_parameters_never_give_nan_silently(env_id: str, factor: float) -> None:
    """Every parameter scaled far outside its literature range (allowed explicitly): each step returns finite
    observations and rewards, or raises NonFiniteStateError naming the patient's parameters; never hangs."""
    pset = gym.make(env_id).unwrapped.task.parameter_set
    parameters = {p.name: p.value * factor for p in pset if p.value > 0}
    for env in (gym.make(env_id, parameters=parameters, allow_out_of_range=True).unwrapped,
                gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point", parameters=parameters,
                             allow_out_of_range=True)):
        env.action_space.seed(0)
        try:
            env.reset(seed=0)
            for _ in range(env.unwrapped.task.horizon // 2):
                obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
                assert np.isfinite(obs).all() and np.isfinite(reward).all()
                if np.any(terminated) or np.any(truncated):
                    break
        except NonFiniteStateError as exc:
            assert "outside their literature range" in str(exc) and env_id.split("/")[1].split("-")[0] in str(exc)


def test_bad_reset_mask_and_partial_reset_before_reset_raise_clearly() -> None:
    venv = gym.make_vec("immunosim/CheckpointInhibitor-v1", num_envs=2, vectorization_mode="vector_entry_point",
                        autoreset_mode="Disabled")
    with pytest.raises(RuntimeError, match="without reset_mask"):
        venv.reset(options={"reset_mask": np.array([True, False])})
    venv.reset(seed=0)
    for bad in ([True, False], np.array([1, 0]), np.zeros(2, bool), np.ones(3, bool)):
        with pytest.raises(ValueError, match=r"reset_mask.*shape \(2,\)"):
            venv.reset(options={"reset_mask": bad})
    with pytest.raises(ValueError, match="valid: 'reset_mask'"):
        venv.reset(options={"patient": "reference"})
