"""Command line: ``clinsim list | params | evaluate | train | benchmark | reproduce | plot``."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import clinsim

SEEDS_PAPER = (42, 43, 44, 45, 46)
EPISODES_HELP = "default: the environment's evaluation episodes (clinsim list)"


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


def _policy(env_id: str, name: str | None, run: str | None, trust: bool = False):
    import gymnasium as gym

    from clinsim.baselines import baselines
    from clinsim.training.planner import RolloutPlanner

    if run:
        from clinsim.training.train import trained_policy

        return trained_policy(run, trust=trust)
    policies = baselines(env_id)
    if name == "planner":
        return RolloutPlanner(gym.make(env_id).unwrapped.task, policies["protocol"])
    return policies[name]


def _evaluate(args: argparse.Namespace) -> None:
    from clinsim.training.evaluate import episode_summary, evaluate_policy
    from clinsim.training.runs import write_json

    policy = _policy(args.env, args.policy, args.run, args.trust_checkpoint)
    result = evaluate_policy(args.env, policy, args.episodes, args.seed)
    if args.output:
        write_json(Path(args.output), result)
    print(json.dumps(episode_summary(result), indent=2))


def _train(args: argparse.Namespace) -> None:
    from clinsim.training.train import train, train_config

    config = train_config(args.env, args.algo, args.seed, args.timesteps, args.checkpoint_every)
    train(args.run_dir, config, progress=not args.quiet, trust=args.trust_checkpoint)
    print(f"trained {args.algo} on {args.env}: {args.run_dir}")


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
            if runs and (runs[0] / "DONE").exists():
                policies[algo] = trained_policy(runs[0])
        plots.plot_trajectories(env_id, policies, seed=0, out=figures / f"trajectory_{slug(env_id)}.png")


def _benchmark(args: argparse.Namespace, timesteps: int | None, seeds: list[int]) -> None:
    from clinsim.training.benchmark import format_table, run_benchmark

    env_ids = args.env or _paper_ids()
    root = Path(args.root)
    start = time.perf_counter()
    if getattr(args, "baselines_only", False):
        args.algo = []
    rows = run_benchmark(env_ids, root, args.algo, seeds, timesteps, args.episodes, progress=not args.quiet)
    if not args.no_figures:
        _figures(root, env_ids, args.algo)
    print(format_table(rows))
    print(f"results: {root}/summary.md, summary.csv, summary.json, figures/ ({time.perf_counter() - start:.0f} s)")


def _plot(args: argparse.Namespace) -> None:
    from clinsim.training.runs import read_json

    root = Path(args.root)
    rows = read_json(root / "summary.json")
    env_ids = list(dict.fromkeys(r["env_id"] for r in rows))
    algos = [a for a in ("ppo", "dqn", "sac") if any(r["agent"] == a for r in rows)]
    _figures(root, env_ids, algos)
    print(f"figures written to {root / 'figures'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="clinsim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="registered environments").set_defaults(func=_list)
    sub.add_parser("params", help="parameter tables (markdown) of every model").set_defaults(func=_params)

    ev = sub.add_parser("evaluate", help="evaluate a baseline or a trained run (papers' protocol)")
    ev.add_argument("env", choices=clinsim.ENV_IDS)
    group = ev.add_mutually_exclusive_group(required=True)
    group.add_argument("--policy", choices=("random", "none", "protocol", "planner"))
    group.add_argument("--run", help="run directory of a trained agent")
    ev.add_argument("--episodes", type=int, default=None, help=EPISODES_HELP)
    ev.add_argument("--seed", type=int, default=0, help="first patient seed")
    ev.add_argument("--output", help="write the per-episode results (JSON) here")
    ev.add_argument("--trust-checkpoint", action="store_true",
                    help="load a checkpoint the run's manifest does not vouch for (it runs pickled code)")
    ev.set_defaults(func=_evaluate)

    tr = sub.add_parser("train", help="train an agent (resumes from the run directory's last checkpoint)")
    tr.add_argument("env", choices=clinsim.ENV_IDS)
    tr.add_argument("--algo", default="ppo", choices=("ppo", "dqn", "sac"))
    tr.add_argument("--seed", type=int, default=42)
    tr.add_argument("--timesteps", type=int, default=None, help="default: the paper's (Table 2)")
    tr.add_argument("--checkpoint-every", type=int, default=10_000)
    tr.add_argument("--run-dir", required=True)
    tr.add_argument("--quiet", action="store_true")
    tr.add_argument("--trust-checkpoint", action="store_true",
                    help="resume from a checkpoint the run's manifest does not vouch for (it runs pickled code)")
    tr.set_defaults(func=_train)

    def bench_args(p: argparse.ArgumentParser, root: str, algos: list[str]) -> None:
        p.add_argument("--env", action="append", choices=clinsim.ENV_IDS, help="default: the papers' environments")
        p.add_argument("--algo", action="append", choices=("ppo", "dqn", "sac"), default=None)
        p.add_argument("--episodes", type=int, default=None, help=EPISODES_HELP)
        p.add_argument("--root", default=root)
        p.add_argument("--no-figures", action="store_true")
        p.add_argument("--quiet", action="store_true")
        p.set_defaults(default_algos=algos)

    bench = sub.add_parser("benchmark", help="quick benchmark: baselines, planner and a short PPO run, every env")
    bench_args(bench, "runs/benchmark", ["ppo"])
    bench.add_argument("--timesteps", type=int, default=10_000, help="PPO training steps (quick default)")
    bench.add_argument("--seed", type=int, action="append", default=None, help="training seed(s), default 42")
    bench.add_argument("--baselines-only", action="store_true", help="random, none, protocol and planner only")
    bench.set_defaults(func=lambda a: _benchmark(a, a.timesteps, a.seed or [42]))

    rep = sub.add_parser("reproduce", help="the papers' protocol: Table 2 timesteps, 5 training seeds")
    bench_args(rep, "results/reproduction", ["ppo"])
    rep.add_argument("--seeds", type=int, default=len(SEEDS_PAPER), help="number of training seeds (42, 43, ...)")
    rep.set_defaults(func=lambda a: _benchmark(a, None, list(range(42, 42 + a.seeds))))

    plot = sub.add_parser("plot", help="redraw the figures of a benchmark directory")
    plot.add_argument("root")
    plot.set_defaults(func=_plot)

    args = parser.parse_args(argv)
    if getattr(args, "default_algos", None) is not None and args.algo is None:
        args.algo = args.default_algos
    args.func(args)


if __name__ == "__main__":
    main()
