"""Command line: ``clinsim list | params | calibrate | evaluate | train | import | benchmark | reproduce | dataset |
ground-truth | ope | sweep | tune | aggregate | plot``.

Every count, seed and path is checked where it is parsed; any error is one line on stderr and exit
code 2 (``clinsim --debug ...`` shows the traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import NoReturn

import clinsim

SEEDS_PAPER = (42, 43, 44, 45, 46)
EPISODES_HELP = "default: the environment's evaluation episodes (clinsim list)"
N_ENVS_HELP = ("PPO: patients per batch of the native vector env (must divide n_steps; the rollout size is kept: "
               "docs/benchmark.md); default 1, the papers' setting")
MAX_COUNT = 10**9  # far beyond any sensible budget; stops a typo from allocating or running for ever
MAX_SEED = 2**32 - 1  # a range that every seeded library here (numpy, torch, gymnasium) accepts


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (``prog: error: ...``), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")


def _integer(text: str, low: int, high: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"expected {what} ({low}..{high}), got {value}")
    return value


def positive_int(text: str) -> int:
    """A count: episodes, timesteps, checkpoint interval, number of seeds."""
    return _integer(text, 1, MAX_COUNT, "a positive integer")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value != value or abs(value) == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def grid_values(text: str) -> tuple[str, list[float]]:
    """``name=v1,v2``: a hyperparameter and the numbers a sweep tries for it."""
    from clinsim.training.runs import HYPERPARAMETERS

    name, _, values = text.partition("=")
    if name not in HYPERPARAMETERS - {"total_timesteps"}:
        raise argparse.ArgumentTypeError(f"unknown hyperparameter {name!r}; valid: "
                                         f"{', '.join(sorted(HYPERPARAMETERS - {'total_timesteps'}))}")
    try:
        numbers = [float(v) if any(c in v for c in ".eE") else int(v) for v in values.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {name}=number,number,..., got {text!r}") from None
    return name, numbers


def seed_int(text: str) -> int:
    """A training or patient seed (negative seeds are rejected by gymnasium deep inside a run)."""
    return _integer(text, 0, MAX_SEED, "a non-negative integer seed")


def non_empty_path(text: str) -> str:
    """A path that names something: '' would mean the current directory."""
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError(f"expected a non-empty path, got {text!r}")
    return text


def _paper_ids() -> list[str]:
    return list(clinsim.PAPER_IDS)


def _list(_: argparse.Namespace) -> None:
    import gymnasium as gym

    print(f"{'environment':45s} {'obs':>4s}  {'action space':34s} {'steps':>5s} {'episodes':>8s}")
    for env_id, spec in clinsim.SPECS.items():
        env = gym.make(env_id)
        print(f"{env_id:45s} {env.observation_space.shape[0]:4d}  {env.action_space!s:34.34s} "
              f"{env.spec.max_episode_steps:5d} {spec.episodes:8d}")


def _params(_: argparse.Namespace) -> None:
    from clinsim.core.parameters import ParameterSet

    seen: set[int] = set()
    for module in clinsim.PARAMETER_MODULES:
        for value in vars(module).values():
            if isinstance(value, ParameterSet) and id(value) not in seen:
                seen.add(id(value))
                print(value.markdown_table())


def _policy(env_id: str, name: str | None, run: str | None):
    import gymnasium as gym

    from clinsim.baselines import baselines
    from clinsim.training.planner import RolloutPlanner

    if run:
        from clinsim.offline.rl import CONFIG_FILE, offline_policy
        from clinsim.training.train import trained_policy

        if (Path(run) / CONFIG_FILE).exists():  # a run of clinsim train-offline
            return offline_policy(run, env_id)
        return trained_policy(run, env_id)
    policies = baselines(env_id)
    if name == "planner":
        return RolloutPlanner(gym.make(env_id).unwrapped.task, policies["protocol"])
    return policies[name]


def _evaluate(args: argparse.Namespace) -> None:
    from clinsim.training.evaluate import episode_summary, evaluate_policy
    from clinsim.training.runs import write_json

    policy = _policy(args.env, args.policy, args.run)
    observation = "state"
    if args.run:  # a run of clinsim train: the observation mode it trained on
        from clinsim.offline.rl import CONFIG_FILE
        from clinsim.training.runs import RunDir

        if not (Path(args.run) / CONFIG_FILE).exists():
            observation = RunDir(args.run).config.get("observation", "state")
    result = evaluate_policy(args.env, policy, args.episodes, args.seed, observation=observation)
    if args.output:
        write_json(Path(args.output), result)
    print(json.dumps(episode_summary(result), indent=2, allow_nan=False))


def _train(args: argparse.Namespace) -> None:
    from clinsim.training.train import train, train_config

    overrides = None
    if args.tuned:
        from clinsim.training.tuning import tuned_overrides

        overrides = tuned_overrides(args.env, args.algo)
    constraint = None if args.cost_budget is None else {"budget": args.cost_budget,
                                                        "multiplier_lr": args.multiplier_lr}
    config = train_config(args.env, args.algo, args.seed, args.timesteps, args.checkpoint_every, overrides,
                          n_envs=args.n_envs, constraint=constraint, reward_weights=args.reward_weights,
                          observation=args.observation)
    train(args.run_dir, config, progress=not args.quiet)
    print(f"trained {args.algo} on {args.env}: {args.run_dir}")


def _import(args: argparse.Namespace) -> None:
    from clinsim.training.train import import_sb3

    if not args.trust_checkpoint:
        raise ValueError(f"importing unpickles {args.zip} (it can run any code): pass --trust-checkpoint only for "
                         f"a file you trust")
    import_sb3(args.zip, args.run_dir, args.env, args.algo, args.vecnormalize, args.seed)
    print(f"imported {args.zip} as a {args.algo} run on {args.env}: {args.run_dir}")


def _figures(root: Path, env_ids: list[str], algos: list[str]) -> None:
    from clinsim.baselines import baselines
    from clinsim.training import plots
    from clinsim.training.benchmark import slug
    from clinsim.training.runs import read_json
    from clinsim.training.train import trained_policy

    figures = root / "figures"
    rows = read_json(root / "summary.json")
    plots.plot_comparison(rows, figures / "comparison.png")
    for algo in algos:
        plots.plot_training_curves(root, env_ids, algo, figures / f"training_{algo}.png")
    for env_id in env_ids:
        policies = dict(baselines(env_id))
        for algo in algos:
            runs = sorted((root / slug(env_id)).glob(f"{algo}_seed*"))
            if runs:
                policies[algo] = trained_policy(runs[0], env_id)
        plots.plot_trajectories(env_id, policies, seed=0, out=figures / f"trajectory_{slug(env_id)}.png")


def _benchmark(args: argparse.Namespace, timesteps: int | None, seeds: list[int]) -> None:
    from clinsim.training.benchmark import format_table, run_benchmark

    env_ids = list(dict.fromkeys(args.env or _paper_ids()))
    algos = [] if getattr(args, "baselines_only", False) else list(dict.fromkeys(args.algo or args.default_algos))
    root = Path(args.root)
    start = time.perf_counter()
    if getattr(args, "ray", False) or getattr(args, "address", None) or getattr(args, "grid", None):
        from clinsim.training.sweep import run_sweep

        rows = run_sweep(env_ids, root, algos, list(dict.fromkeys(seeds)), timesteps, args.episodes, args.n_envs,
                         grid=dict(args.grid or []), address=args.address, cpus_per_trial=args.cpus_per_trial)
    else:
        rows = run_benchmark(env_ids, root, algos, list(dict.fromkeys(seeds)), timesteps, args.episodes,
                             progress=not args.quiet, n_envs=args.n_envs)
    if not args.no_figures:
        _figures(root, env_ids, algos)
    print(format_table(rows))
    print(f"results: {root}/summary.md, summary.csv, summary.json, figures/ ({time.perf_counter() - start:.0f} s)")


def _calibrate(args: argparse.Namespace) -> None:
    import importlib

    module, function = clinsim.CALIBRATIONS[args.name].split(":")
    start = time.perf_counter()
    size = {} if args.plausible is None else {"plausible": args.plausible}
    out = None if args.out is None else Path(args.out)
    rows = getattr(importlib.import_module(module), function)(seed=args.seed, out=out, **size)
    print("| target | trial | simulated | tolerance | met | source |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['target']} | {r['trial']:.3f} | {r['simulated']:.3f} | {r['tolerance']:.3f} | "
              f"{'yes' if r['met'] else 'NO'} | {r['source']} |")
    print(f"calibrated {args.name} in {time.perf_counter() - start:.0f} s")


def _dataset(args: argparse.Namespace) -> None:
    from clinsim.offline.datasets import collect, collect_standard

    if args.standard:
        if args.env is not None:
            raise ValueError("--standard takes environments with --env, not the positional ENV")
        for name in collect_standard(args.standard_env, args.root, args.observation):
            print(f"wrote {name}")
        return
    if args.env is None:
        raise ValueError(f"name an environment (valid: {', '.join(clinsim.ENV_IDS)}) or use --standard")
    dataset = collect(args.env, args.behaviour, args.episodes, args.seed, args.root, observation=args.observation)
    print(f"wrote {dataset.spec.dataset_id}: {dataset.total_episodes} episodes, {dataset.total_steps} steps")


def _ground_truth(args: argparse.Namespace) -> None:
    from clinsim.offline.ground_truth import ground_truth, truth_path
    from clinsim.training.runs import write_json

    truth = ground_truth(args.env, args.episodes, args.planner_episodes, seed=args.seed, observation=args.observation)
    path = Path(args.output) if args.output else truth_path(args.env, args.observation)
    write_json(path, truth)
    print("| target | episodes | discounted value [95 % CI] | return | value - protocol [95 % CI] |")
    print("|---|---|---|---|---|")
    for name, t in truth["targets"].items():
        v, d = t["value"], t["value_minus_protocol"]
        print(f"| {name} | {t['episodes']} | {v['mean']:.2f} [{v['ci_low']:.2f}, {v['ci_high']:.2f}] | "
              f"{t['return']['mean']:.2f} | {d['mean']:+.2f} [{d['ci_low']:+.2f}, {d['ci_high']:+.2f}] |")
    print(f"wrote {path}")


def _quiet_d3rlpy() -> None:
    """d3rlpy logs every fit through structlog at info level: keep warnings only."""
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def _ope(args: argparse.Namespace) -> None:
    import minari

    from clinsim.offline.datasets import dataset_observation, minari_root
    from clinsim.offline.ground_truth import load_ground_truth
    from clinsim.offline.ope import evaluate_dataset, require_d3rlpy

    estimators = args.estimators
    if {"fqe", "dr"} & set(estimators):
        require_d3rlpy()
        _quiet_d3rlpy()
    with minari_root(args.root):
        dataset = minari.load_dataset(args.dataset)
    env_id, observation = dataset.spec.env_spec.id, dataset_observation(dataset)
    truth = load_ground_truth(env_id, args.truth, observation)
    rows = evaluate_dataset(dataset, truth, estimators, args.targets, args.fqe_steps, args.seed)
    print(f"{args.dataset} ({dataset.total_episodes} episodes) on {env_id}, {observation} observations; "
          f"ground truth: {truth['command']}; "
          f"FQE: {args.fqe_steps} steps\n")
    print("| target | true value [95 % CI] | " + " | ".join(f"{e} (error)" for e in estimators) + " |")
    print("|---" * (2 + len(estimators)) + "|")
    for r in rows:
        print(f"| {r['target']} | {r['value']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}] | "
              + " | ".join("n/a" if r[e] is None else f"{r[e]:.2f} ({r[e + '_error']:+.2f})" for e in estimators)
              + " |")
    if args.output:
        from clinsim.training.runs import write_json

        write_json(Path(args.output), {"dataset": args.dataset, "episodes": dataset.total_episodes,
                                       "fqe_steps": args.fqe_steps, "seed": args.seed,
                                       "ground_truth": truth["command"], "rows": rows})


def _choices(valid: tuple[str, ...], what: str):
    """A comma-separated list of names from ``valid`` (an error naming them otherwise)."""

    def parse(text: str) -> list[str]:
        names = [t.strip() for t in text.split(",") if t.strip()]
        unknown = [n for n in names if n not in valid]
        if not names or unknown:
            raise argparse.ArgumentTypeError(f"unknown {what} {', '.join(unknown) or repr(text)}; valid: "
                                             f"{', '.join(valid)}")
        return names

    return parse


def _train_offline(args: argparse.Namespace) -> None:
    import logging

    import minari

    from clinsim.offline.datasets import minari_root
    from clinsim.offline.rl import evaluate_offline, load_d3rlpy, train_offline
    from clinsim.training.evaluate import episode_summary

    load_d3rlpy()  # before structlog, which comes with it: the error says how to install both
    import structlog

    # d3rlpy logs every stage through structlog at info level: warnings and errors only on the command line
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with minari_root(args.root):
        dataset = minari.load_dataset(args.dataset)
    start = time.perf_counter()
    _, config = train_offline(dataset, args.run_dir, args.algo, args.steps, args.seed, progress=not args.quiet)
    seconds = time.perf_counter() - start
    summary = episode_summary(evaluate_offline(args.run_dir, args.episodes))
    print(json.dumps(summary, indent=2, allow_nan=False))
    print(f"trained {args.algo} ({config['d3rlpy_config']}, {args.steps} steps, {seconds:.0f} s) on {args.dataset}, "
          f"evaluated on {config['env_id']}: {args.run_dir}")


def _tune(args: argparse.Namespace) -> None:
    from clinsim.training.tuning import run_tuning, tuned_path

    record = run_tuning(args.env, args.algo, args.trials, args.timesteps, args.root, args.episodes, args.seed,
                        args.address, args.cpus_per_trial)
    print(json.dumps(record["overrides"], indent=1))
    print(f"best validation return {record['validation_return']:.2f} of {args.trials} trials; written to "
          f"{tuned_path(args.env, args.algo)}")


def _aggregate(args: argparse.Namespace) -> None:
    from clinsim.training.aggregate import format_aggregate, write_aggregate

    print(format_aggregate(write_aggregate(args.root, args.seed)))
    print(f"written: {args.root}/aggregate.json, aggregate.md, figures/aggregate_profiles.png")


def _plot(args: argparse.Namespace) -> None:
    from clinsim.training.runs import check_env_id, read_json

    root = Path(args.root)
    source = root / "summary.json"
    rows = read_json(source)
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"{source} is not a benchmark summary (a list of rows)")
    env_ids = list(dict.fromkeys(check_env_id(r.get("env_id"), source) for r in rows))
    algos = [a for a in ("ppo", "dqn", "sac") if any(r.get("agent") == a for r in rows)]
    _figures(root, env_ids, algos)
    print(f"figures written to {root / 'figures'}")


def parser() -> argparse.ArgumentParser:
    """The command line; every argument is validated by its ``type`` (exit code 2 on a bad value)."""
    from clinsim.core.measurement import OBSERVATION_MODES
    from clinsim.training.hyperparameters import ALGORITHMS

    top = _Parser(prog="clinsim", description=__doc__)
    top.add_argument("--debug", action="store_true", help="show the traceback of an error")
    top.add_argument("--version", action="version", version=f"clinsim {clinsim.__version__}")
    sub = top.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="registered environments").set_defaults(func=_list)
    sub.add_parser("params", help="parameter tables (markdown) of every model").set_defaults(func=_params)

    cal = sub.add_parser("calibrate", help="rebuild a virtual population from its trial targets (fixed seed)")
    cal.add_argument("name", choices=sorted(clinsim.CALIBRATIONS))
    cal.add_argument("--seed", type=seed_int, default=0, help="seed of the plausible patients")
    cal.add_argument("--plausible", type=positive_int, default=None, help="plausible patients (default: the "
                     "calibration's own)")
    cal.add_argument("--out", type=non_empty_path, default=None, help="path stem of the population (default: the "
                     "package's cohort, which the environments load)")
    cal.set_defaults(func=_calibrate)

    ev = sub.add_parser("evaluate", help="evaluate a baseline or a trained run (papers' protocol)")
    ev.add_argument("env", choices=clinsim.ENV_IDS)
    group = ev.add_mutually_exclusive_group(required=True)
    group.add_argument("--policy", choices=("random", "none", "protocol", "planner"))
    group.add_argument("--run", type=non_empty_path, help="run directory of an agent trained on ENV")
    ev.add_argument("--episodes", type=positive_int, default=None, help=EPISODES_HELP)
    ev.add_argument("--seed", type=seed_int, default=0, help="first patient seed")
    ev.add_argument("--output", type=non_empty_path, help="write the per-episode results (JSON) here")
    ev.set_defaults(func=_evaluate)

    tr = sub.add_parser("train", help="train an agent (resumes from the run directory's last checkpoint)")
    tr.add_argument("env", choices=clinsim.ENV_IDS)
    tr.add_argument("--algo", default="ppo", choices=ALGORITHMS)
    tr.add_argument("--seed", type=seed_int, default=42)
    tr.add_argument("--timesteps", type=positive_int, default=None, help="default: the paper's (Table 2)")
    tr.add_argument("--checkpoint-every", type=positive_int, default=10_000)
    tr.add_argument("--n-envs", type=positive_int, default=1, help=N_ENVS_HELP)
    tr.add_argument("--tuned", action="store_true", help="the hyperparameters found by clinsim tune")
    tr.add_argument("--cost-budget", type=non_negative_float, default=None,
                    help="train under E[episode cost] <= BUDGET with a Lagrange multiplier (docs/safety.md)")
    tr.add_argument("--multiplier-lr", type=positive_float, default=0.05, help="dual ascent step of the multiplier")
    tr.add_argument("--reward-weights", type=finite_float, nargs=3, default=None,
                    metavar=("EFFICACY", "SAFETY", "BURDEN"),
                    help="learn from w . (efficacy, safety, burden), not their sum (docs/safety.md)")
    tr.add_argument("--observation", default="state", choices=OBSERVATION_MODES,
                    help="what the agent sees: the model state (default) or the clinical observation mode; "
                         "recorded in the run (evaluate and resume use it)")
    tr.add_argument("--run-dir", type=non_empty_path, required=True)
    tr.add_argument("--quiet", action="store_true")
    tr.set_defaults(func=_train)

    im = sub.add_parser("import", help="convert a foreign Stable-Baselines3 zip into a run directory (unpickles it)")
    im.add_argument("zip", type=non_empty_path, help="model saved by Stable-Baselines3 (model.save)")
    im.add_argument("--env", choices=clinsim.ENV_IDS, required=True)
    im.add_argument("--algo", default="ppo", choices=ALGORITHMS)
    im.add_argument("--vecnormalize", type=non_empty_path, help="its VecNormalize pickle (required for PPO)")
    im.add_argument("--seed", type=seed_int, default=0, help="recorded in the configuration")
    im.add_argument("--run-dir", type=non_empty_path, required=True)
    im.add_argument("--trust-checkpoint", action="store_true",
                    help="required: the zip and the VecNormalize file are pickles that can run any code")
    im.set_defaults(func=_import)

    def ray_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray instance)")
        p.add_argument("--cpus-per-trial", type=positive_float, default=1.0)

    def bench_args(p: argparse.ArgumentParser, root: str, algos: list[str]) -> None:
        p.add_argument("--env", action="append", choices=clinsim.ENV_IDS, help="default: the papers' environments")
        p.add_argument("--algo", action="append", choices=ALGORITHMS, default=None)
        p.add_argument("--episodes", type=positive_int, default=None, help=EPISODES_HELP)
        p.add_argument("--root", type=non_empty_path, default=root)
        p.add_argument("--no-figures", action="store_true")
        p.add_argument("--n-envs", type=positive_int, default=1, help=N_ENVS_HELP)
        p.add_argument("--quiet", action="store_true")
        p.set_defaults(default_algos=algos)

    bench = sub.add_parser("benchmark", help="quick benchmark: baselines, planner and a short PPO run, every env")
    bench_args(bench, "runs/benchmark", ["ppo"])
    bench.add_argument("--timesteps", type=positive_int, default=10_000, help="PPO training steps (quick default)")
    bench.add_argument("--seed", type=seed_int, action="append", default=None, help="training seed(s), default 42")
    bench.add_argument("--baselines-only", action="store_true", help="random, none, protocol and planner only")
    bench.set_defaults(func=lambda a: _benchmark(a, a.timesteps, a.seed or [42]))

    rep = sub.add_parser("reproduce", help="the papers' protocol: Table 2 timesteps, 5 training seeds")
    bench_args(rep, "results/reproduction", ["ppo"])
    rep.add_argument("--seeds", type=positive_int, default=len(SEEDS_PAPER),
                     help="number of training seeds (42, 43, ...)")
    rep.add_argument("--ray", action="store_true", help="run the trials on Ray (as clinsim sweep)")
    ray_args(rep)
    rep.set_defaults(func=lambda a: _benchmark(a, None, list(range(42, 42 + a.seeds))))

    from clinsim.offline.datasets import BEHAVIOURS, OBSERVATIONS
    from clinsim.offline.ope import ESTIMATORS, FQE_STEPS
    from clinsim.offline.targets import ESTIMABLE

    ds = sub.add_parser("dataset", help="log a Minari dataset under a behaviour policy (action probabilities kept)")
    ds.add_argument("env", nargs="?", choices=clinsim.ENV_IDS, help="the environment (or --standard)")
    ds.add_argument("--standard", action="store_true", help="(re)write the standard datasets (docs/offline.md)")
    ds.add_argument("--env", dest="standard_env", action="append", choices=clinsim.PAPER_IDS, default=None,
                    help="with --standard: only this environment (repeatable; default: every paper environment)")
    ds.add_argument("--behaviour", "--policy", dest="behaviour", default="clinician", choices=BEHAVIOURS,
                    help="the behaviour policy that logs the data (--policy: the same)")
    ds.add_argument("--episodes", type=positive_int, default=1000)
    ds.add_argument("--seed", type=seed_int, default=0, help="first patient seed")
    ds.add_argument("--observation", default="state", choices=OBSERVATIONS,
                    help="what the dataset logs: the model state (default) or the clinical observation mode")
    ds.add_argument("--root", type=non_empty_path, default=None, help="Minari dataset directory (default: "
                    "MINARI_DATASETS_PATH or ~/.minari/datasets)")
    ds.set_defaults(func=_dataset)

    gt = sub.add_parser("ground-truth", help="true values of the OPE target policies by paired simulation")
    gt.add_argument("env", choices=clinsim.PAPER_IDS)
    gt.add_argument("--episodes", type=positive_int, default=None, help="patients per target (default 5000)")
    gt.add_argument("--planner-episodes", type=positive_int, default=None,
                    help="patients for the (slow) planner: the first of the same ones (default: the environment's "
                         "evaluation episodes)")
    gt.add_argument("--seed", type=seed_int, default=0, help="seed of the stochastic targets' draws")
    gt.add_argument("--observation", default="state", choices=OBSERVATIONS,
                    help="what the targets act on: the model state (default) or the clinical observation mode (the "
                         "planner's entry is then the state-mode file's: it reads the true state)")
    gt.add_argument("--output", type=non_empty_path, default=None, help="default: the shipped file")
    gt.set_defaults(func=_ground_truth)

    ope = sub.add_parser("ope", help="off-policy estimates on a dataset against the targets' true values")
    ope.add_argument("dataset", type=non_empty_path, help="Minari dataset ID (clinsim dataset prints it)")
    ope.add_argument("--root", type=non_empty_path, default=None, help="Minari dataset directory")
    ope.add_argument("--truth", type=non_empty_path, default=None,
                     help="ground-truth JSON (default: the one shipped for the dataset's environment and "
                          "observation mode)")
    ope.add_argument("--estimators", type=_choices(ESTIMATORS, "estimators"), default=list(ESTIMATORS),
                     help=f"comma-separated, of {','.join(ESTIMATORS)} (default: all)")
    ope.add_argument("--targets", type=_choices(ESTIMABLE, "targets"), default=None,
                     help=f"comma-separated, of {','.join(ESTIMABLE)} (default: all)")
    ope.add_argument("--fqe-steps", type=positive_int, default=FQE_STEPS, help="FQE gradient steps")
    ope.add_argument("--seed", type=seed_int, default=0, help="seed of FQE and of the targets' draws")
    ope.add_argument("--output", type=non_empty_path, default=None, help="write the table (JSON) here")
    ope.set_defaults(func=_ope)

    from clinsim.offline.rl import ALGORITHMS as OFFLINE_ALGORITHMS

    off = sub.add_parser("train-offline", help="offline RL (d3rlpy) on a logged dataset, evaluated online "
                         "(docs/offline.md)")
    off.add_argument("dataset", type=non_empty_path, help="Minari dataset ID (clinsim dataset prints it)")
    off.add_argument("--algo", required=True, choices=list(OFFLINE_ALGORITHMS),
                     help="bc, cql, bcq: any action space; iql, td3bc: continuous actions only")
    off.add_argument("--steps", type=positive_int, default=10_000, help="gradient updates")
    off.add_argument("--seed", type=seed_int, default=0, help="training seed")
    off.add_argument("--root", type=non_empty_path, default=None, help="Minari dataset directory")
    off.add_argument("--episodes", type=positive_int, default=None, help=EPISODES_HELP)
    off.add_argument("--run-dir", type=non_empty_path, required=True)
    off.add_argument("--quiet", action="store_true")
    off.set_defaults(func=_train_offline)

    sw = sub.add_parser("sweep", help="environments x algorithms x hyperparameters x seeds on Ray (resumable)")
    bench_args(sw, "runs/sweep", ["ppo"])
    sw.add_argument("--seeds", type=positive_int, default=len(SEEDS_PAPER), help="training seeds (42, 43, ...)")
    sw.add_argument("--timesteps", type=positive_int, default=None, help="default: the papers' (Table 2)")
    sw.add_argument("--set", dest="grid", action="append", type=grid_values, default=None, metavar="NAME=V1,V2",
                    help="a hyperparameter grid axis (repeatable), e.g. learning_rate=1e-4,3e-4")
    ray_args(sw)
    sw.set_defaults(func=lambda a: _benchmark(a, a.timesteps, list(range(42, 42 + a.seeds))), ray=True)

    tu = sub.add_parser("tune", help="Optuna search of an algorithm's hyperparameters on validation patients (Ray)")
    tu.add_argument("env", choices=clinsim.ENV_IDS)
    tu.add_argument("--algo", default="ppo", choices=ALGORITHMS)
    tu.add_argument("--trials", type=positive_int, default=50)
    tu.add_argument("--timesteps", type=positive_int, default=100_000, help="training steps per trial")
    tu.add_argument("--episodes", type=positive_int, default=50, help="validation patients per trial")
    tu.add_argument("--seed", type=seed_int, default=0, help="sampler and training seed")
    tu.add_argument("--root", type=non_empty_path, default="runs/tune")
    ray_args(tu)
    tu.set_defaults(func=_tune)

    agg = sub.add_parser("aggregate", help="rliable statistics over the environments of a benchmark directory")
    agg.add_argument("root", type=non_empty_path)
    agg.add_argument("--seed", type=seed_int, default=0, help="seed of the bootstrap")
    agg.set_defaults(func=_aggregate)

    plot = sub.add_parser("plot", help="redraw the figures of a benchmark directory")
    plot.add_argument("root", type=non_empty_path)
    plot.set_defaults(func=_plot)
    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except Exception as exc:
        if args.debug:
            raise
        text = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        message = " ".join(str(text).split()) or type(exc).__name__
        if not isinstance(exc, ValueError | OSError | KeyError | RuntimeError):
            message = f"{type(exc).__name__}: {message}"
        sys.stderr.write(f"clinsim: error: {message}\n")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
