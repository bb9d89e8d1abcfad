"""Gymnasium adapters: one task implementation serves a single ``gym.Env`` and a native ``VectorEnv``.

Sub-environment ``i`` of a vector env reset with ``seed=s`` uses the generator a single env gets from
``reset(seed=s + i)`` (Gymnasium's ``SyncVectorEnv`` convention), and all randomness of an episode is
drawn from that generator at reset, so both adapters produce identical trajectories.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, ClassVar

import numpy as np
from gymnasium import Env, spaces
from gymnasium.utils import seeding
from gymnasium.vector import VectorEnv
from gymnasium.vector.utils import batch_space
from gymnasium.wrappers.utils import rescale_box

try:
    from gymnasium.vector import AutoresetMode
except ImportError:  # gymnasium 1.0 (pinned by d3rlpy 2.8): no enum yet, next-step autoreset everywhere

    class AutoresetMode(Enum):  # type: ignore[no-redef]
        """Gymnasium 1.1's autoreset modes, for gymnasium 1.0."""

        NEXT_STEP = "NextStep"
        SAME_STEP = "SameStep"
        DISABLED = "Disabled"

from clinsim.core.batch import PARALLEL_MIN_BATCH
from clinsim.core.measurement import clinical_doc, observed_task
from clinsim.core.render import Dashboard, DashboardGrid, HumanWindow, render_text
from clinsim.core.state import State, rows
from clinsim.core.task import EpisodeOverError, Task
from clinsim.core.threads import ThreadCount


class TaskEnv(Env):
    """Single-patient environment around a :class:`Task` (time limit added by the registration).

    Episodes end at the task's horizon at the latest (``truncated``), also under a longer
    ``max_episode_steps``; stepping a finished episode raises :class:`~clinsim.core.task.EpisodeOverError`
    (call ``reset()``).

    ``render_mode="rgb_array"`` draws a dashboard of the patient's course so far (the task's
    ``render_panels``, with the clinical thresholds and the action taken), ``"human"`` shows it in a window
    at every step, ``"ansi"`` returns a one-line text summary of the current step.

    ``normalize_actions=True``: a ``Box`` action space in physical units (mL/h, ug/kg/min) becomes
    ``Box(-1, 1)``, mapped linearly onto the physical bounds (Gymnasium's ``RescaleAction`` arithmetic, so the
    trajectories are those of ``RescaleAction(gym.make(ID), -1.0, 1.0)``); discrete spaces are unchanged. Off by
    default: the papers' spaces are the physical ones. The info reports the physical dose.
    ``observation``: ``"state"`` (default: the model's state, as published) or ``"clinical"`` (only what is
    measured at the bedside, on its clinical schedule, with its noise and turnaround: :mod:`clinsim.core.measurement`;
    for the tasks that declare it). The default is unchanged, so published results stay valid.
    """

    task_class: ClassVar[type[Task]]
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["human", "rgb_array", "ansi"], "render_fps": 4}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "task_class" in cls.__dict__ and cls.__doc__:
            cls.__doc__ += clinical_doc(cls.task_class)

    def __init__(self, render_mode: str | None = None, observation: str = "state", normalize_actions: bool = False,
                 **task_kwargs: Any) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"{self.task_class.env_id}: render_mode {render_mode!r} not supported; "
                             f"valid: None, {', '.join(self.metadata['render_modes'])}")
        self.render_mode = render_mode
        self.observation = observation
        self.task = observed_task(self.task_class, observation, self.task_class.env_id)(**task_kwargs)
        self.observation_space = self.task.observation_space
        self.action_space, self._to_physical = _action_scaling(self.task.action_space, normalize_actions,
                                                               self.task_class.env_id)
        self._state: State | None = None
        # the next step's clinical record and the info views of both records (swapped every step)
        self._spare: np.ndarray | None = None
        self._views: dict[int, np.ndarray] = {}
        self._patient_keys: tuple[str, ...] = ()
        self._patient_values: tuple[Any, ...] = ()
        self._history: list[dict[str, Any]] = []
        self._actions: list[Any] = []
        self._dashboard: Dashboard | None = None
        self._window: HumanWindow | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        _check_options(options, self._name)
        if seed is not None:
            seed = _seed(seed, self._name)
        super().reset(seed=seed)
        state = self._state = self.task.sample_patients([self.np_random])
        self._spare = np.empty_like(state.clinical)
        self._make_views()
        patient = {"patient": state.label.item(), **self.task.info_table.patient_values(state.patient)}
        self._patient_keys, self._patient_values = tuple(patient), tuple(patient.values())
        info = self._single(state.clinical)[3]
        self._history = [info] if self.render_mode else []
        self._actions = []
        if self.render_mode == "human":
            self.render()
        return self.task.observe(state)[0], info

    def step(self, action: Any):
        state = self._state
        if state is None:
            raise RuntimeError(f"{self._name}: call reset() before step()")
        new = self._spare
        if self._to_physical is not None:
            action = self._to_physical(action)
        obs = self.task.step_single(state.patient, state.clinical, new, action, self._name)
        self._spare = state.clinical
        self._state = State(state.patient, new, state.label)
        elapsed, reward, terminated, info = self._single(new)
        if self.render_mode:
            self._history.append(info)
            self._actions.append(np.array(action, copy=True))
            if self.render_mode == "human":
                self.render()
        # the task's horizon ends every episode (its random events are drawn for the horizon), whatever
        # ``max_episode_steps`` the registration's TimeLimit was given
        return obs, reward, terminated, not terminated and elapsed >= self.task.horizon, info

    def _make_views(self) -> None:
        """Single-patient views of both clinical records (numpy views do not survive pickling: rebuilt)."""
        self._views = {id(a): self.task.info_table.view_of(a) for a in (self._state.clinical, self._spare)}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_views"] = {}
        state["_dashboard"] = state["_window"] = None  # figures are rebuilt on the next render
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self._state is not None:
            self._make_views()

    def _single(self, clinical: np.ndarray) -> tuple[int, float, bool, dict[str, Any]]:
        """Elapsed decisions, reward, termination and the info of the patient, Python values."""
        return self.task.info_table.single(self._views[id(clinical)], self._patient_keys, self._patient_values)

    def render(self) -> np.ndarray | str | None:
        if self.render_mode is None:
            return None
        if not self._history:
            raise RuntimeError(f"{self._name}: call reset() before render()")
        if self.render_mode == "ansi":
            return render_text(self._history[-1], self.task.render_panels, len(self._history) - 1,
                               self.task.step_unit)
        if self._dashboard is None:
            self._dashboard = Dashboard(self.task.render_panels, self._name, self.task.step_unit, self.task.horizon)
        return _present(self, self._dashboard.frame(self._history, self._actions))

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
        self._dashboard = self._window = None
        super().close()

    @property
    def state(self) -> State | None:
        """A copy of the current episode's state (a batch of one): the env reuses its records."""
        s = self._state
        return None if s is None else State(s.patient.copy(), s.clinical.copy(), s.label.copy())

    @property
    def _name(self) -> str:
        return self.spec.id if self.spec is not None else self.task.env_id


class TaskVectorEnv(VectorEnv):
    """Native batched environment: one array program steps every patient.

    ``autoreset_mode`` (``gym.make_vec(ID, num_envs=n, vectorization_mode="vector_entry_point",
    autoreset_mode=...)``): ``"NextStep"`` (default; Gymnasium's, and what RLlib's env runners expect): the step
    after an episode ends starts the next patient and returns its first observation with zero reward.
    ``"SameStep"``: the step that ends an episode already returns the next patient's first observation, and the
    finished patient's last observation and info are in ``info["final_obs"]`` / ``info["final_info"]``
    (masked by ``info["_final_obs"]``), as Gymnasium's ``SyncVectorEnv`` does in that mode. ``"Disabled"``: the
    caller resets finished patients itself with ``reset(options={"reset_mask": mask})`` (a boolean array, one
    entry per patient: only those restart; the other entries of the returned observation are the current ones
    and their info entries are masked out; TorchRL's preferred mode); stepping a finished patient raises
    :class:`~clinsim.core.task.EpisodeOverError`. The mode is the ``autoreset_mode`` attribute and
    ``metadata["autoreset_mode"]``.

    ``normalize_actions=True``: ``Box(-1, 1)`` actions, as for the single env.

    ``render_mode="rgb_array"``: ``render()`` tiles the dashboards of the first ``render_patients`` patients
    (default 4) into one grid image; ``"human"`` shows that grid in a window after every reset and step.

    ``num_threads``: threads of a step of a large batch (>= 64 patients): ``"auto"`` (default) measures one
    thread against all and keeps the faster, again every 256 steps, so that competing processes never make the
    env slower than one thread (:mod:`clinsim.core.threads`); or a fixed count.
    """

    task_class: ClassVar[type[Task]]
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array", "human"], "render_fps": 4,
                                          "autoreset_mode": AutoresetMode.NEXT_STEP}
    AUTORESET_MODES: ClassVar[tuple[AutoresetMode, ...]] = tuple(AutoresetMode)

    def __init__(
        self,
        num_envs: int = 1,
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_patients: int = 4,
        num_threads: int | str | None = None,
        normalize_actions: bool = False,
        observation: str = "state",
        **task_kwargs: Any,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"{self.task_class.env_id}: render_mode {render_mode!r} not supported; valid: None, "
                             f"{', '.join(self.metadata['render_modes'])}")
        if int(render_patients) < 1:
            raise ValueError(f"{self.task_class.env_id}: render_patients must be >= 1, got {render_patients}")
        if int(num_envs) < 1:
            raise ValueError(f"{self.task_class.env_id}: num_envs must be >= 1, got {num_envs}")
        modes = {m.value: m for m in self.AUTORESET_MODES} | {m: m for m in self.AUTORESET_MODES}
        if autoreset_mode not in modes:
            raise ValueError(f"{self.task_class.env_id}: autoreset_mode {autoreset_mode!r} not supported; valid: "
                             f"{', '.join(repr(m.value) for m in self.AUTORESET_MODES)}")
        self.autoreset_mode = modes[autoreset_mode]
        try:
            self._threads = ThreadCount(num_threads)
        except ValueError as exc:
            raise ValueError(f"{self.task_class.env_id}: {exc}") from None
        self.metadata = {**self.metadata, "autoreset_mode": self.autoreset_mode}
        self.num_envs = int(num_envs)
        self.render_mode = render_mode
        self.observation = observation
        self.task = observed_task(self.task_class, observation, self.task_class.env_id)(**task_kwargs)
        self.max_episode_steps = int(max_episode_steps or self.task.horizon)
        self.single_observation_space = self.task.observation_space
        self.single_action_space, self._to_physical = _action_scaling(self.task.action_space, normalize_actions,
                                                                      self.task_class.env_id)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._rngs: list[np.random.Generator] | None = None
        self._state: State | None = None
        self._elapsed = np.zeros(self.num_envs, dtype=np.int64)
        self._autoreset = np.zeros(self.num_envs, dtype=bool)
        # the rendered patients' courses (infos and actions) and their dashboards
        shown = min(self.num_envs, int(render_patients)) if render_mode else 0
        self._histories: list[list[dict[str, Any]]] = [[] for _ in range(shown)]
        self._actions: list[list[Any]] = [[] for _ in range(shown)]
        self._grid: DashboardGrid | None = None
        self._window: HumanWindow | None = None

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        options = dict(options or {})
        mask = self._reset_mask(options.pop("reset_mask")) if "reset_mask" in options else None
        _check_options(options, self._name, vector=True)
        if seed is None:
            seeds: list[int | None] = [None] * self.num_envs
        elif isinstance(seed, int | np.integer) and not isinstance(seed, bool | np.bool_):
            seeds = [_seed(seed, self._name) + i for i in range(self.num_envs)]
        elif isinstance(seed, list | tuple | np.ndarray) and len(seed) == self.num_envs:
            seeds = [None if s is None else _seed(s, self._name) for s in seed]
        else:
            raise ValueError(f"{self._name}: seed must be None, a non-negative int (sub-env i gets seed + i) or a "
                             f"list of {self.num_envs} ints or None, got {seed!r}")
        if mask is not None:
            if self._state is None:
                raise RuntimeError(f"{self._name}: call reset() without reset_mask before resetting some patients")
            return self._partial_reset(mask, seeds)
        if seed is not None:
            self._np_random, self._np_random_seed = seeding.np_random(seeds[0])
        if self._rngs is None:
            self._rngs = [seeding.np_random(s)[0] for s in seeds]
        else:
            pairs = zip(seeds, self._rngs, strict=True)
            self._rngs = [seeding.np_random(s)[0] if s is not None else g for s, g in pairs]
        self._state = self.task.sample_patients(self._rngs)
        info = self._info()
        self._elapsed[:] = 0
        self._autoreset[:] = False
        self._record(info, None)
        if self.render_mode == "human":
            self.render()
        return self.task.observe(self._state), info

    def step(self, actions: Any):
        if self._state is None or self._rngs is None:
            raise RuntimeError(f"{self._name}: call reset() before step()")
        if self._to_physical is not None:
            actions = self._to_physical(actions)
        actions = self.task.check_actions(actions, self.num_envs, self._name)
        if self.autoreset_mode is AutoresetMode.DISABLED and self._autoreset.any():
            ended = np.flatnonzero(self._autoreset).tolist()
            raise EpisodeOverError(f"{self._name}: the episodes of sub-env(s) {ended} have ended and "
                                   f"autoreset_mode is Disabled; call reset(options={{'reset_mask': mask}}) first")
        if self._autoreset.any():
            # Next-step autoreset: finished patients are replaced by new ones, which this step leaves at
            # their start. Every patient is stepped (the new ones too, from a fresh state, which is
            # valid) and the new ones' results are overwritten: one pass instead of splitting the batch.
            restart = np.flatnonzero(self._autoreset)
            fresh = self.task.sample_patients([self._rngs[i] for i in restart])
            old = self._state
            # the patient record is updated in place (infos copy it); the clinical record and the labels
            # are handed out by the last step's infos, so they are copied first
            rows(old.patient)[restart] = rows(fresh.patient)
            clinical = rows(old.clinical).copy().view(old.clinical.dtype)
            clinical[restart] = fresh.clinical
            label = old.label.copy()
            label[restart] = fresh.label
            new, reward, terminated = self._step(State(old.patient, clinical, label), actions)
            reward[restart] = 0.0
            terminated[restart] = False
            rows(new.clinical)[restart] = rows(fresh.clinical)  # made by this step: nobody holds it yet
            self._state = new
            self._elapsed += 1
            self._elapsed[restart] = 0
        else:
            self._state, reward, terminated = self._step(self._state, actions)
            self._elapsed += 1
        # as Gymnasium's TimeLimit on the single env: the last step is truncated, also when it terminates
        truncated = self._elapsed >= min(self.max_episode_steps, self.task.horizon)
        self._autoreset = terminated | truncated
        if self.autoreset_mode is AutoresetMode.SAME_STEP and self._autoreset.any():
            out = self._same_step_reset(reward, terminated, truncated)
        else:
            out = self.task.observe(self._state), reward, terminated, truncated, self._info()
        self._record(out[4], actions)
        if self.render_mode == "human":
            self.render()
        return out

    def _record(self, info: dict[str, np.ndarray], actions: np.ndarray | None, mask: np.ndarray | None = None) -> None:
        """Append the rendered patients' infos and actions (a new patient starts a new course); ``mask``: only
        those patients (a partial reset)."""
        for i, (history, taken) in enumerate(zip(self._histories, self._actions, strict=True)):
            if mask is not None and not mask[i]:
                continue
            entry = {k: v[i] for k, v in info.items() if not k.startswith("_") and not k.startswith("final_")}
            if actions is None or self._elapsed[i] == 0:
                history[:], taken[:] = [entry], []
            else:
                history.append(entry)
                taken.append(np.array(actions[i], copy=True))

    def render(self) -> np.ndarray | None:
        """The first ``render_patients`` patients' dashboards tiled into one RGB image (``"human"``: shown)."""
        if self.render_mode is None:
            return None
        if self._state is None:
            raise RuntimeError(f"{self._name}: call reset() before render()")
        if self._grid is None:
            titles = [f"{self._name} [{i}]" for i in range(len(self._histories))]
            self._grid = DashboardGrid(self.task.render_panels, titles, self.task.step_unit, self.task.horizon)
        return _present(self, self._grid.frame(self._histories, self._actions))

    def close_extras(self, **kwargs: Any) -> None:
        if self._window is not None:
            self._window.close()
        self._grid = self._window = None

    def _step(self, state: State, actions: np.ndarray):
        if self.num_envs < PARALLEL_MIN_BATCH:  # runs on the calling thread anyway
            return self.task.step(state, actions, self._name)
        return self._threads.run(lambda: self.task.step(state, actions, self._name))

    def _same_step_reset(self, reward: np.ndarray, terminated: np.ndarray, truncated: np.ndarray):
        """Replace the finished patients now; their last observation and info go into ``final_*``."""
        done = self._autoreset.copy()
        last_obs = self.task.observe(self._state)
        final_obs = np.empty(self.num_envs, dtype=object)
        for i in np.flatnonzero(done):
            final_obs[i] = last_obs[i].copy()
        final_info = self._info(done)
        self._restart(done)
        info = self._info()
        info.update(final_obs=final_obs, _final_obs=done.copy(), final_info=final_info, _final_info=done.copy())
        return self.task.observe(self._state), reward, terminated, truncated, info

    def _partial_reset(self, mask: np.ndarray, seeds: list[int | None]):
        """``reset(options={"reset_mask": mask})``: new patients for the masked sub-envs only (Gymnasium's
        ``SyncVectorEnv`` semantics; the others keep their episodes and generators)."""
        for i in np.flatnonzero(mask):
            if seeds[i] is not None:
                self._rngs[i] = seeding.np_random(seeds[i])[0]
        self._restart(mask)
        info = self._info(mask)
        self._record(info, None, mask)
        return self.task.observe(self._state), info

    def _restart(self, mask: np.ndarray) -> None:
        """Replace the masked patients by new ones from their generators, at the start of an episode."""
        restart, state = np.flatnonzero(mask), self._state
        fresh = self.task.sample_patients([self._rngs[i] for i in restart])
        # the last step's infos hold views of this clinical record: the replacement goes into a copy
        clinical = rows(state.clinical).copy().view(state.clinical.dtype)
        clinical[restart] = fresh.clinical
        rows(state.patient)[restart] = rows(fresh.patient)
        label = state.label.copy()
        label[restart] = fresh.label
        self._state = State(state.patient, clinical, label)
        self._elapsed[restart] = 0
        self._autoreset[restart] = False

    def _reset_mask(self, mask: Any) -> np.ndarray:
        """``options["reset_mask"]`` checked as Gymnasium's vector envs check it."""
        if not (isinstance(mask, np.ndarray) and mask.dtype == np.bool_ and mask.shape == (self.num_envs,)
                and mask.any()):
            raise ValueError(f"{self._name}: options['reset_mask'] must be a numpy bool array of shape "
                             f"({self.num_envs},) with at least one True, got {mask!r}")
        return mask.copy()

    def _info(self, mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The patients' infos; ``mask``: which entries are valid (``info["_" + key]``), default all."""
        info: dict[str, np.ndarray] = {}
        mask = np.ones(self.num_envs, dtype=bool) if mask is None else mask.copy()
        for k, v in self.task.info(self._state).items():
            info[k] = v
            info["_" + k] = mask
        return info

    @property
    def state(self) -> State | None:
        """The batched clinical state of all patients."""
        return self._state

    @property
    def _name(self) -> str:
        return self.spec.id if self.spec is not None else self.task.env_id



def _action_scaling(space: spaces.Space, normalize: Any, name: str) -> tuple[spaces.Space, _ToPhysical | None]:
    """The action space an agent sees and the map of its actions onto the task's physical ones (None: the
    identity). ``normalize``: Box spaces become ``Box(-1, 1)``."""
    if not isinstance(normalize, bool | np.bool_):
        raise ValueError(f"{name}: normalize_actions must be True or False, got {normalize!r}")
    if not normalize or not isinstance(space, spaces.Box):
        return space, None
    to_physical = _ToPhysical(space)
    return to_physical.normalized, to_physical


class _ToPhysical:
    """Normalised ``[-1, 1]`` actions onto a physical Box: Gymnasium's ``rescale_box`` (the arithmetic of its
    ``RescaleAction`` wrapper), rebuilt after unpickling (its functions are closures)."""

    def __init__(self, physical: spaces.Box) -> None:
        self.physical = physical
        ones = np.ones(physical.shape, dtype=physical.dtype)  # in the space's dtype: no precision warning
        self.normalized, _, self._backward = rescale_box(physical, -ones, ones)

    def __call__(self, action: Any) -> Any:
        # anything that is not an array of numbers goes to the task's checks unchanged (their clear errors)
        try:
            arr = np.asarray(action)
        except Exception:  # noqa: BLE001 - the task's check reports it
            return action
        shape = self.physical.shape
        if arr.dtype.kind in "fiu" and arr.ndim >= len(shape) and arr.shape[arr.ndim - len(shape):] == shape:
            return self._backward(arr)
        return action

    def __getstate__(self) -> dict[str, Any]:
        return {"physical": self.physical}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["physical"])


def _present(env: TaskEnv | TaskVectorEnv, frame: np.ndarray) -> np.ndarray | None:
    """``rgb_array``: the frame; ``human``: the frame shown in the env's window (opened on first use)."""
    if env.render_mode == "rgb_array":
        return frame
    if env._window is None:
        env._window = HumanWindow(env._name, env.metadata["render_fps"])
    env._window.show(frame)
    return None


def _seed(seed: Any, name: str) -> int:
    """A seed as Gymnasium takes it: a non-negative int (numpy integers accepted), else a clear error."""
    if isinstance(seed, bool | np.bool_) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"{name}: a seed must be a non-negative int, got {seed!r}")
    return int(seed)


def _check_options(options: dict[str, Any] | None, name: str, vector: bool = False) -> None:
    """No reset options are defined (but a vector env's ``reset_mask``): any other key is a mistake (patient and
    parameters go to ``gym.make``)."""
    if options:
        valid = "'reset_mask'" if vector else "none"
        raise ValueError(f"{name}: unknown reset option(s) {', '.join(map(repr, options))}; valid: {valid} "
                         f"(choose patients and parameters with gym.make(..., patient=..., parameters=...))")
