"""``numba.njit`` with an on-disk cache that is safe for this package's compiled code.

Start-up matters (every training or evaluation process compiles the environments), so every compiled
function is cached on disk. numba's own cache has two gaps for code like ours:

* a compiled function that calls compiled functions of *other* files keeps its cached machine code
  when those files change (numba only checks the function's own file), so an edited model kernel
  could silently run stale inside a cached environment step;
* a closure (an integrator built for one model's kernel, a batch loop for one transition) is keyed by
  pickling its free variables, and a pickled dispatcher carries a fresh UUID in every process, so
  closures miss the cache in every new process.

:func:`jit` keys every cache entry by the function, a stable description of what a closure captures,
and a hash of the whole package's source: any edit to any file recompiles, and a second process with
unchanged sources loads everything from disk.
"""

from __future__ import annotations

import hashlib
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba as nb
from numba.core.caching import FunctionCache, IndexDataCacheFile

PACKAGE = Path(__file__).resolve().parents[1]
SOURCE_HASH = hashlib.sha256(
    b"".join(str(path.relative_to(PACKAGE)).encode() + path.read_bytes() for path in sorted(PACKAGE.rglob("*.py")))
).hexdigest()


class _PackageCache(FunctionCache):
    """numba's function cache, keyed by (function, captured description, package source hash).

    Each (function, description) gets index and data files of its own: processes compiling different
    closures of one function at the same time (parallel training runs on a fresh checkout) would
    otherwise race on one index and could pair a key with another closure's machine code.
    """

    def __init__(self, py_func: Callable, key: str) -> None:
        super().__init__(py_func)
        self._key = key
        suffix = hashlib.sha256(key.encode()).hexdigest()[:16]
        self._cache_file = IndexDataCacheFile(cache_path=self._cache_path,
                                              filename_base=f"{self._impl.filename_base}-{suffix}",
                                              source_stamp=self._impl.locator.get_source_stamp())

    def _index_key(self, sig: Any, codegen: Any) -> tuple:
        return sig, codegen.magic_tuple(), (SOURCE_HASH, self._key)


def jit(fn: Callable | None = None, *, key: str = "", **options: Any):
    """``numba.njit(error_model="numpy", **options)`` cached on disk; ``key`` describes what a closure captures.

    Division by zero gives IEEE infinities and NaNs, as in numpy, rather than raising: numba's default
    check raises from inside every division, and the branches it adds keep numba from pruning the
    reference counting of the arrays passed to inlined helpers (two atomic operations per call: model
    kernels ran at half speed). The compiled function gets a ``clinsim_key`` attribute (its cache
    identity) that closures built around it include in their own ``key``.
    """
    options = {"error_model": "numpy", **options}

    def compile_(f: Callable):
        identity = f"{f.__module__}.{f.__qualname__}[{key}]{sorted(options.items())}"
        f = _renamed(f, f"{f.__qualname__}__{hashlib.sha256(identity.encode()).hexdigest()[:16]}")
        dispatcher = nb.njit(**options)(f)
        dispatcher._cache = _PackageCache(f, identity)
        dispatcher.clinsim_key = identity
        return dispatcher

    return compile_(fn) if fn is not None else compile_


def _renamed(f: Callable, qualname: str) -> Callable:
    """A copy of ``f`` under another ``__qualname__``.

    numba names machine code after the function's qualified name plus a per-process counter (numba
    issue 10486). Closures of one function share the qualified name, so two of them compiled in
    different processes can get the same symbol and, loaded from the cache into one process, be linked
    to each other's code. A name per identity makes every symbol distinct.
    """
    copy = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, f.__closure__)
    copy.__kwdefaults__ = f.__kwdefaults__
    copy.__doc__ = f.__doc__
    copy.__qualname__ = qualname
    return copy
