"""Compiled code is cached on disk, keyed by the sources it depends on, and the cache heals itself."""

import ast
import errno
import json
import os
import pickle
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from numba.core.caching import IndexDataCacheFile

from clinsim.core import jit as jit_module
from clinsim.core.jit import (
    CompileCacheWarning,
    cache_dir,
    guvectorize,
    jit,
    module_hash,
    package_modules,
    prune,
    vectorize,
)

SRC = Path(jit_module.__file__).resolve().parents[2]

STEP_AND_REPORT = """
import json, gymnasium as gym, clinsim
from clinsim.core import task
from clinsim.immunosim import models
env = gym.make("immunosim/CheckpointInhibitor-v1"); env.reset(seed=0); obs = env.step(1)[0]
# the single env's fused step (engine closure over the task's pieces and the model's integrator)
kernels = {"step": env.unwrapped.task._single, "integrator": models.CheckpointModel.integrate_patient,
           "rhs": models.checkpoint_rhs, "unrelated": task._integers_within}
print(json.dumps({"file": clinsim.__file__, "obs": obs.tolist(),
                  "keys": {name: k.clinsim_key for name, k in kernels.items()},
                  "hits": {name: sum(k.stats.cache_hits.values()) for name, k in kernels.items()},
                  "misses": {name: sum(k.stats.cache_misses.values()) for name, k in kernels.items()}}))
"""


def _run(env: dict, script: str = STEP_AND_REPORT) -> dict:
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch) -> None:
    """Each test sees the once-per-process warnings and pruning afresh."""
    monkeypatch.setattr(jit_module, "_warned", set())
    monkeypatch.setattr(jit_module, "_pruned", set())


def test_second_process_loads_every_kernel_from_the_cache(tmp_path) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    env.pop("CLINSIM_CACHE_DIR", None)
    runs = [_run(env) for _ in range(2)]
    assert (runs[0]["misses"]["step"], runs[0]["misses"]["integrator"]) == (1, 1)  # compiled and saved
    # loaded, not recompiled (the integrator's machine code comes inside the step kernel's)
    assert runs[1]["hits"]["step"] == 1 and not any(runs[1]["misses"].values())
    assert any((tmp_path / "clinsim").glob("*.nbi"))  # under NUMBA_CACHE_DIR/clinsim


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_an_edit_recompiles_exactly_the_kernels_that_depend_on_it(tmp_path) -> None:
    """A docstring in cli.py recompiles nothing; a model edit recompiles the model's kernels and every
    closure and kernel built on them, so stale machine code never runs (a copy of the package is edited)."""
    tree = tmp_path / "src"
    shutil.copytree(SRC / "clinsim", tree / "clinsim", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(tree), "CLINSIM_CACHE_DIR": str(tmp_path / "cache"),
           "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    first = _run(env)
    assert first["file"] == str(tree / "clinsim" / "__init__.py")

    _edit(tree / "clinsim" / "cli.py", '"""Command line:', '"""The command line:')
    second = _run(env)
    assert second["keys"] == first["keys"] and second["obs"] == first["obs"]
    assert second["hits"]["step"] == 1 and not any(second["misses"].values())

    _edit(tree / "clinsim" / "immunosim" / "models.py", "dy[1] = p[A] * t", "dy[1] = 1.5 * p[A] * t")
    third = _run(env)
    for name in ("step", "integrator", "rhs"):  # the model, the integrator closure, the step using both
        assert third["keys"][name] != first["keys"][name]
    assert third["keys"]["unrelated"] == first["keys"]["unrelated"]
    assert (third["misses"]["step"], third["misses"]["integrator"]) == (1, 1)  # recompiled, not loaded
    assert third["obs"] != first["obs"]
    fresh = _run({**env, "CLINSIM_CACHE_DIR": str(tmp_path / "empty")})
    assert third["obs"] == fresh["obs"]  # the same machine code as a compilation from scratch


def test_closures_over_different_functions_are_cached_apart() -> None:
    @jit
    def double(x):  # pragma: no cover - compiled
        return 2.0 * x

    @jit
    def triple(x):  # pragma: no cover - compiled
        return 3.0 * x

    def apply(f):
        return jit(lambda x: f(x) + 1.0, key=f.clinsim_key)

    assert apply(double)(1.0) == 3.0 and apply(triple)(1.0) == 4.0
    assert apply(double).clinsim_key != apply(triple).clinsim_key
    # a closure's key carries what it captures even when the caller's ``key`` does not
    assert jit(lambda x: double(x))(1.0) == 2.0
    assert jit(lambda x: double(x)).clinsim_key != jit(lambda x: triple(x)).clinsim_key


def test_source_hash_follows_imports_only(tmp_path) -> None:
    """Module hashes cover the module and what it imports (absolute, relative, ``as``), nothing else; editor
    lock files and other hidden files are not modules (a dangling ``.#models.py`` used to break import)."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {"__init__.py": "", "sub/__init__.py": "", "sub/models.py": "X = 1\n",
             "sub/env.py": "from pkg.sub import models as mdl\nfrom . import helpers\n", "sub/helpers.py": "",
             "cli.py": '"""Docs."""\nimport pkg\n'}
    for name, text in files.items():
        (pkg / name).write_text(text)
    (pkg / "sub" / ".#models.py").symlink_to(tmp_path / "nowhere")
    (pkg / "sub" / ".hidden.py").write_text("")
    assert set(package_modules(pkg)) == {"pkg", "pkg.sub", "pkg.sub.models", "pkg.sub.env", "pkg.sub.helpers",
                                         "pkg.cli"}

    def env_hash() -> str:
        for cached in (package_modules, jit_module._imports, module_hash):
            cached.cache_clear()
        return module_hash("pkg.sub.env", pkg / "sub" / "env.py", pkg)

    before = env_hash()
    (pkg / "cli.py").write_text('"""Other docs."""\nimport pkg\n')
    assert env_hash() == before
    (pkg / "sub" / "helpers.py").write_text("Y = 2\n")
    after_helpers = env_hash()
    assert after_helpers != before
    (pkg / "sub" / "models.py").write_text("X = 2\n")
    assert env_hash() != after_helpers
    for cached in (package_modules, jit_module._imports, module_hash):
        cached.cache_clear()


def _ast_imports(name: str, path: Path, modules: dict) -> set:
    """The reference for ``jit._imports``: the same rules on ``ast``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            base = ".".join(part for part in (base, node.module) if part)
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names)
    return found & modules.keys()


def test_import_scan_finds_what_ast_finds(tmp_path) -> None:
    """The fast import scan agrees with ``ast`` on every module of the package and on odd but legal forms."""
    modules = package_modules(jit_module.PACKAGE)
    for name, path in modules.items():
        assert jit_module._imports(name, path, jit_module.PACKAGE) == _ast_imports(name, path, modules), name
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    for name in ("__init__", "a", "b", "c", "d", "e", "f"):
        (pkg / f"{name}.py").write_text("")
    (pkg / "odd.py").write_text(
        "from pkg import (a,  # comment\n    b as bee)\nfrom . import \\\n    c\n"
        "def f():\n    import pkg.d as dee, os\n\nif True: from .e import X\nx = 1; from pkg.f import Y\n")
    modules = package_modules(pkg)
    found = jit_module._imports("pkg.odd", pkg / "odd.py", pkg)
    assert found == _ast_imports("pkg.odd", pkg / "odd.py", modules) == {f"pkg.{m}" for m in "abcdef"}


def test_cache_location_rules(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("CLINSIM_CACHE_DIR", raising=False)
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert cache_dir() == tmp_path / "xdg" / "clinsim"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    assert cache_dir() == tmp_path / "numba" / "clinsim"
    monkeypatch.setenv("CLINSIM_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


def _square():
    @jit
    def square(x):  # pragma: no cover - compiled
        return x * x

    return square


def _damage(kind: str, path: Path) -> None:
    if kind == "garbage":
        path.write_bytes(os.urandom(200))
    elif kind == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "bit flip":  # a valid pickle with damaged machine code: caught by the checksum
        data = bytearray(path.read_bytes())
        data[len(data) * 2 // 3] ^= 0x10
        path.write_bytes(bytes(data))


@pytest.mark.parametrize("suffix", [".nbi", ".nbc"])
@pytest.mark.parametrize("kind", ["garbage", "truncated", "empty", "bit flip"])
def test_damaged_entry_is_discarded_and_recompiled(monkeypatch, tmp_path, kind, suffix) -> None:
    monkeypatch.setenv("CLINSIM_CACHE_DIR", str(tmp_path))
    assert _square()(3.0) == 9.0
    (entry,) = tmp_path.glob(f"*{suffix}")
    _damage(kind, entry)
    healed = _square()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert healed(3.0) == 9.0
    assert sum(healed.stats.cache_misses.values()) == 1  # recompiled ...
    if kind != "bit flip" or suffix == ".nbc":  # (a flipped bit may leave a loadable index: a plain miss)
        assert [w.category for w in caught] == [CompileCacheWarning]
        assert "unreadable compile-cache entry" in str(caught[0].message)
    loaded = _square()
    assert loaded(3.0) == 9.0 and sum(loaded.stats.cache_hits.values()) == 1  # ... and saved again


def _ufuncs():
    @vectorize(["float64(float64)"])
    def increment(x):  # pragma: no cover - compiled
        return x + 1.0

    @guvectorize(["void(float64[:], float64[:])"], "(n)->()")
    def total(x, out):  # pragma: no cover - compiled
        out[0] = x.sum()

    return increment, total


def test_ufuncs_share_the_self_healing_cache(monkeypatch, tmp_path) -> None:
    """numba's own ufunc cache (in __pycache__) made ``import clinsim`` crash on one damaged file."""
    monkeypatch.setenv("CLINSIM_CACHE_DIR", str(tmp_path))
    increment, total = _ufuncs()
    assert increment(np.array([1.0]))[0] == 2.0 and total(np.array([[1.0, 2.0]]))[0] == 3.0
    files = sorted(tmp_path.iterdir())
    assert len(files) == 4  # an index and a data file each
    for path in files:
        path.write_bytes(b"garbage")
    increment, total = _ufuncs()
    assert all(path.read_bytes() == b"garbage" for path in files)  # built on first use: nothing read yet
    with pytest.warns(CompileCacheWarning, match="unreadable compile-cache entry"):
        assert increment(np.array([1.0]))[0] == 2.0 and total(np.array([[1.0, 2.0]]))[0] == 3.0
    assert pickle.loads(pickle.dumps(increment))(np.array([1.0]))[0] == 2.0  # pickled as the ufunc


def test_damaged_entry_in_a_new_process_is_recompiled_with_a_warning(tmp_path) -> None:
    env = {**os.environ, "CLINSIM_CACHE_DIR": str(tmp_path)}
    _run(env)
    for path in tmp_path.glob("*"):  # every entry damaged: the first step crashed every later process
        path.write_bytes(b"\x80\x05garbage" if path.suffix == ".nbi" else b"\xff" * 50)
    script = "import warnings; warnings.simplefilter('always')\n" + STEP_AND_REPORT
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "CompileCacheWarning" in done.stderr and "recompiling" in done.stderr


def test_full_disk_keeps_compiled_code_in_memory(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CLINSIM_CACHE_DIR", str(tmp_path))

    def no_space(self, filepath):
        raise OSError(errno.ENOSPC, "No space left on device", filepath)

    monkeypatch.setattr(IndexDataCacheFile, "_open_for_write", no_space)
    with pytest.warns(CompileCacheWarning, match="No space left on device"):
        assert _square()(4.0) == 16.0
    assert _square()(5.0) == 25.0  # later saves fail silently


def test_unusable_location_compiles_in_memory(monkeypatch, tmp_path) -> None:
    """A cache directory that cannot be created (here under a regular file; read-only alike, but tests run
    as root where permissions do not stop writes)."""
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("CLINSIM_CACHE_DIR", str(tmp_path / "file" / "cache"))
    with pytest.warns(CompileCacheWarning, match="compiling in memory"):
        square = _square()
    assert square(6.0) == 36.0 and square.stats.cache_path is None


def test_prune_deletes_old_and_least_recently_used_entries_of_ours_only(tmp_path) -> None:
    def entry(name: str, days_old: float, size: int) -> list[Path]:
        paths = [tmp_path / f"models.rhs-12.py311-{name:0>16}.nbi", tmp_path / f"models.rhs-12.py311-{name:0>16}.1.nbc"]
        for path in paths:
            path.write_bytes(b"x" * size)
            os.utime(path, (time.time() - days_old * 86400,) * 2)
        return paths

    old = entry("a", 40, 10)
    recent = entry("b", 1, 100)
    newest = entry("c", 0, 100)
    foreign = tmp_path / "other-tool.nbi"
    foreign.write_bytes(b"")
    os.utime(foreign, (0, 0))
    assert sorted(prune(tmp_path, max_age_days=30, max_bytes=300)) == sorted(old + recent)
    assert all(p.exists() for p in newest) and foreign.exists()


def test_a_write_prunes_the_cache_once_per_process(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CLINSIM_CACHE_DIR", str(tmp_path))
    stale = tmp_path / "old.fn-1.py311-0123456789abcdef.nbi"
    stale.write_bytes(b"")
    os.utime(stale, (0, 0))
    assert _square()(2.0) == 4.0
    assert not stale.exists()
