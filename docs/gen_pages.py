"""Generated pages of the documentation site (run by mkdocs-gen-files at ``mkdocs build``).

- ``index.md``: the README, its ``docs/`` links made site-relative;
- ``environments/<suite>/<Task>.md``: one page per environment family, from the environment's docstring
  (Gymnasium's template: description, spaces with units, rewards, episode end) and its model's parameter table
  (value, unit, range, cohort CV, source), so the site cannot drift from the code;
- files the hand-written pages link outside ``docs/`` (``../results/...`` figures, ``../src/...``) are copied
  under ``repo/`` and the links rewritten to them.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import gymnasium as gym
import mkdocs_gen_files

import clinsim

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
OUTSIDE_LINK = re.compile(r"\[([^\]]*)\]\(\.\./([^)#\s]+)(#[^)\s]*)?\)")


def environment_page(env_id: str) -> str:
    """The page of one environment family: summary table, docstring, parameter table."""
    spec = clinsim.SPECS[env_id]
    env = gym.make(env_id)
    tiers = [e for e in clinsim.SPECS if clinsim.SPECS[e].family == spec.family and e != env_id]
    lines = [f"# `{env_id}`", "", "| | |", "|---|---|",
             f"| observation space | `{env.observation_space}` |", f"| action space | `{env.action_space}` |",
             f"| horizon | {spec.horizon} decisions |", f"| evaluation episodes | {spec.episodes} |",
             f"| clinical protocol | `{spec.protocol.__name__}` (`clinsim.baselines.HEURISTICS`) |",
             f"| vector env | `{spec.vector.__name__}` (`vectorization_mode=\"vector_entry_point\"`) |"]
    if tiers:
        lines.append(f"| tiers | {', '.join(f'`{t}`' for t in tiers)} |")
    doc = inspect.cleandoc(spec.env.__doc__ or "")
    lines += ["", doc, "", "## Model parameters", "",
              "Literature values, ranges and sources (`clinsim params`; `gym.make(ID, parameters={...})` fixes them).",
              "", spec.env.task_class.parameter_set.markdown_table().replace("### ", "### Table: ", 1)]
    return "\n".join(lines) + "\n"


def rewrite_outside_links(text: str) -> str:
    """Links to files outside docs/ point at copies under repo/ (directories become plain code)."""

    def replace(match: re.Match) -> str:
        label, target, anchor = match.group(1), match.group(2).rstrip("/"), match.group(3) or ""
        source = ROOT / target
        if not source.is_file():
            return label
        with mkdocs_gen_files.open(f"repo/{target}", "wb") as out:
            out.write(source.read_bytes())
        return f"[{label}](repo/{target}{anchor})"

    return OUTSIDE_LINK.sub(replace, text)


with mkdocs_gen_files.open("index.md", "w") as f:
    f.write((ROOT / "README.md").read_text().replace("](docs/", "]("))

for page in sorted(DOCS.glob("*.md")):
    text = page.read_text()
    if OUTSIDE_LINK.search(text):
        with mkdocs_gen_files.open(page.name, "w") as f:
            f.write(rewrite_outside_links(text))

with mkdocs_gen_files.open("environments/index.md", "w") as f:
    f.write("# Environments\n\nOne page per environment, generated from its docstring and parameter table.\n\n")
    f.writelines(f"- [`{env_id}`]({env_id}.md)\n" for env_id in clinsim.FAMILY_IDS)

for env_id in clinsim.FAMILY_IDS:
    suite, name = env_id.split("/")
    path = f"environments/{suite}/{name}.md"
    with mkdocs_gen_files.open(path, "w") as f:
        f.write(environment_page(env_id))
