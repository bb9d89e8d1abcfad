"""Command line: ``clinsim list | benchmark | params``."""

from __future__ import annotations

import argparse
import time
from collections import Counter

import numpy as np

import clinsim
from clinsim.baselines import baselines
from clinsim.core.evaluation import evaluate_cohort


def _list(_: argparse.Namespace) -> None:
    import gymnasium as gym

    print(f"{'environment':45s} {'obs':>5s} {'action space':28s} {'steps':>5s}")
    for env_id in clinsim.ENV_IDS:
        env = gym.make(env_id)
        print(f"{env_id:45s} {env.observation_space.shape[0]:5d} {env.action_space!s:28.28s} "
              f"{env.spec.max_episode_steps:5d}")


def _benchmark(args: argparse.Namespace) -> None:
    env_ids = args.env or list(clinsim.ENV_IDS)
    print(f"clinsim {clinsim.__version__}: baselines, {args.patients} patients per cell "
          f"(patient i = reset(seed={args.seed} + i))\n")
    print(f"{'environment':42s} {'policy':9s} {'return':>16s}  outcomes")
    start = time.perf_counter()
    for env_id in env_ids:
        for name, policy in baselines(env_id, seed=args.seed).items():
            res = evaluate_cohort(env_id, policy, args.patients, seed=args.seed)
            counts = Counter(res.final_info["outcome"].tolist())
            outcomes = ", ".join(f"{k} {v / args.patients:.0%}" for k, v in sorted(counts.items()))
            ci = 1.96 * res.returns.std(ddof=1) / np.sqrt(len(res.returns))
            print(f"{env_id:42s} {name:9s} {res.returns.mean():8.1f} +- {ci:5.1f}  {outcomes}")
    print(f"\n(+- is the 95 % confidence half-width of the mean; {time.perf_counter() - start:.1f} s)")


def _params(_: argparse.Namespace) -> None:
    from clinsim.core.parameters import ParameterSet

    seen: set[int] = set()
    for module in clinsim.PARAMETER_MODULES:
        for value in vars(module).values():
            if isinstance(value, ParameterSet) and id(value) not in seen:
                seen.add(id(value))
                print(value.markdown_table())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="clinsim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="registered environments").set_defaults(func=_list)
    bench = sub.add_parser("benchmark", help="random / no-treatment / protocol baselines on every environment")
    bench.add_argument("--patients", type=int, default=200, help="patients (episodes) per environment and policy")
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument("--env", action="append", choices=clinsim.ENV_IDS, help="restrict to these IDs")
    bench.set_defaults(func=_benchmark)
    sub.add_parser("params", help="parameter tables (markdown) of every model").set_defaults(func=_params)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
