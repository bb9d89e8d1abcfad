"""Command line: ``clinsim list | params | calibrate | evaluate | train | import | benchmark | reproduce | plot``.

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
        from clinsim.training.train import trained_policy

        return trained_policy(run, env_id)
    policies = baselines(env_id)
    if name == "planner":
        return RolloutPlanner(gym.make(env_id).unwrapped.task, policies["protocol"])
    return policies[name]


def _evaluate(args: argparse.Namespace) -> None:
    from clinsim.training.evaluate import episode_summary, evaluate_policy
    from clinsim.training.runs import write_json

    policy = _policy(args.env, args.policy, args.run)
    result = evaluate_policy(args.env, policy, args.episodes, args.seed)
    if args.output:
        write_json(Path(args.output), result)
    print(json.dumps(episode_summary(result), indent=2, allow_nan=False))


def _train(args: argparse.Namespace) -> None:
    from clinsim.training.train import train, train_config

    config = train_config(args.env, args.algo, args.seed, args.timesteps, args.checkpoint_every, n_envs=args.n_envs)
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
    rep.set_defaults(func=lambda a: _benchmark(a, None, list(range(42, 42 + a.seeds))))

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
