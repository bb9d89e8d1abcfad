"""Command-line validation: bad counts, seeds and paths stop at parsing with one line on stderr and exit code 2."""

import contextlib
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinsim.cli import MAX_COUNT, MAX_SEED, main, parser

ENV = "immunosim/CheckpointInhibitor-v1"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv", [
    ["evaluate", ENV, "--policy", "none", "--episodes", "0"],
    ["evaluate", ENV, "--policy", "none", "--episodes", "1.5"],
    ["evaluate", ENV, "--policy", "none", "--seed", "-1"],
    ["evaluate", ENV, "--policy", "none", "--output", ""],
    ["evaluate", ENV, "--run", ""],
    ["train", ENV, "--timesteps", "-5", "--run-dir", "r"],
    ["train", ENV, "--checkpoint-every", "0", "--run-dir", "r"],
    ["train", ENV, "--run-dir", ""],
    ["train", ENV, "--run-dir", " "],
    ["train", "this:CheckpointInhibitor-v1", "--run-dir", "r"],
    ["train", ENV, "--reward-weights", "1", "nan", "1", "--run-dir", "r"],
    ["train", ENV, "--reward-weights", "1", "1", "--run-dir", "r"],
    ["train", ENV, "--reward-weights", "0", "0", "0", "--run-dir", "r"],
    ["reproduce", "--seeds", "0"],
    ["benchmark", "--timesteps", "0"],
    ["benchmark", "--root", ""],
    ["benchmark", "--seed", str(MAX_SEED + 1)],
    ["plot", ""],
    ["import", "model.zip", "--env", ENV, "--run-dir", "r"],  # without --trust-checkpoint
    ["evaluate", ENV, "--run", "no-such-run"],
    ["calibrate", "no-such-population"],
    ["train-offline", "clinsim/x/y-v0", "--algo", "bc", "--steps", "0", "--run-dir", "r"],
    ["train-offline", "clinsim/x/y-v0", "--algo", "dqn", "--run-dir", "r"],
    ["train-offline", "clinsim/x/y-v0", "--algo", "bc", "--run-dir", ""],
    ["train-offline", "clinsim/no-such/dataset-v0", "--algo", "bc", "--run-dir", "r"],
])
def test_bad_input_is_one_line_and_exit_code_2(argv: list[str], tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2 and err.startswith("clinsim") and err.count("\n") == 1 and "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a config


def test_version_and_module_entry_point(capsys) -> None:
    import subprocess
    import sys

    import clinsim

    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"clinsim {clinsim.__version__}"
    done = subprocess.run([sys.executable, "-m", "clinsim", "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"clinsim {clinsim.__version__}"


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        main(["--debug", "evaluate", ENV, "--run", str(tmp_path / "missing")])


def test_one_episode_gives_strict_json(tmp_path: Path, capsys) -> None:
    """The SD of one return is undefined: null, never NaN (which strict JSON readers reject)."""
    out_path = tmp_path / "out.json"
    code, out, err = run(capsys, "evaluate", ENV, "--policy", "none", "--episodes", "1", "--output", str(out_path))
    assert code == 0, err

    def strict(text: str):
        return json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))

    assert strict(out)["return_std"] is None and strict(out_path.read_text())["episodes"] == 1


COUNTS = {"--episodes", "--timesteps", "--checkpoint-every", "--seeds"}
SEEDS = {"--seed"}
PATHS = {"--run-dir", "--root", "--output", "--run"}
COMMANDS = {
    "evaluate": (["evaluate", ENV], ["--episodes", "--seed", "--output", "--run"]),
    "train": (["train", ENV], ["--timesteps", "--checkpoint-every", "--seed", "--run-dir"]),
    "benchmark": (["benchmark"], ["--episodes", "--timesteps", "--seed", "--root"]),
    "reproduce": (["reproduce"], ["--episodes", "--seeds", "--root"]),
}
VALUES = st.one_of(st.integers(-10**12, 10**12).map(str), st.text(max_size=12),
                   st.sampled_from(["", " ", "0", "-0", "+3", "1e3", "0x10", "1_000", "\x00", "nan", "9" * 5000]))


@settings(max_examples=300, deadline=None)
@given(command=st.sampled_from(sorted(COMMANDS)), data=st.data())
def test_fuzz_argument_validation(command: str, data) -> None:
    """Any value for any count, seed or path option: either a clean usage error or a valid value."""
    head, options = COMMANDS[command]
    chosen = data.draw(st.lists(st.sampled_from(options), min_size=1, max_size=3, unique=True))
    argv = list(head)
    for option in chosen:
        argv += [option, data.draw(VALUES)]
    if command == "evaluate" and "--run" not in chosen:
        argv += ["--policy", "none"]
    if command == "train" and "--run-dir" not in chosen:
        argv += ["--run-dir", "r"]
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args = vars(parser().parse_args(argv))
    except SystemExit as exc:
        assert exc.code == 2 and err.getvalue().count("\n") == 1 and ": error: " in err.getvalue()
        return
    for option in chosen:
        value = args[option.lstrip("-").replace("-", "_")]
        value = value[-1] if isinstance(value, list) else value
        if option in COUNTS:
            assert isinstance(value, int) and 1 <= value <= MAX_COUNT
        elif option in SEEDS:
            assert isinstance(value, int) and 0 <= value <= MAX_SEED
        else:
            assert value.strip() and "\x00" not in value


def test_dataset_policy_is_the_behaviour_option() -> None:
    """The issue's spelling (``--policy``) and the documented one (``--behaviour``) set the same choice."""
    assert parser().parse_args(["dataset", ENV, "--policy", "random"]).behaviour == "random"
    assert parser().parse_args(["dataset", ENV, "--behaviour", "mixed"]).behaviour == "mixed"
