"""``numba.njit`` with an on-disk cache that is safe for this package's compiled code.

Start-up matters (every training or evaluation process compiles the environments), so every compiled
function is cached on disk. numba's own cache has gaps for code like ours:

* a compiled function that calls compiled functions of *other* files keeps its cached machine code
  when those files change (numba only checks the function's own file), so an edited model kernel
  could silently run stale inside a cached environment step;
* a closure (an integrator built for one model's kernel, a batch loop for one transition) is keyed by
  pickling its free variables, and a pickled dispatcher carries a fresh UUID in every process, so
  closures miss the cache in every new process;
* one damaged cache file (truncated, overwritten) makes every later process crash when it loads it,
  and a full or unwritable cache location raises from inside a compilation.

:func:`jit` keys every cache entry by the function, a stable description of what a closure captures,
and a hash of the sources the machine code depends on: the function's module and, transitively, every
module of the package it imports (plus, for a closure, the keys of the compiled functions it captures).
An edit recompiles exactly the functions whose machine code it can change; a docstring in ``cli.py``
recompiles nothing. Damaged entries are discarded and recompiled, an unusable location falls back to
compiling in memory (each with one :class:`CompileCacheWarning` per process), and entries unused for
:data:`MAX_AGE_DAYS` days or beyond :data:`MAX_BYTES` are pruned. Location: :func:`cache_dir`.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import hashlib
import inspect
import marshal
import os
import pickle
import re
import time
import types
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba as nb
from numba.core.caching import (
    CompileResultCacheImpl,
    FunctionCache,
    IndexDataCacheFile,
    _CacheLocator,
    _SourceFileBackedLocatorMixin,
)
from numba.misc.appdirs import AppDirs
from numba.np.ufunc.decorators import GUVectorize, Vectorize

PACKAGE = Path(__file__).resolve().parents[1]
# Pruning (once per process, after the first entry it writes): entries unused this long are deleted, then
# the least recently used ones while the directory holds more than MAX_BYTES (a full set of kernels is
# ~5 MB, so this keeps about a hundred source versions).
MAX_AGE_DAYS = 30
MAX_BYTES = 512 * 2**20
# A cache file of ours: "<function>-<16 hex digits>.nbi", "....<n>.nbc", or a write in progress of either.
_CACHE_FILE = re.compile(r"(?P<entry>.+-[0-9a-f]{16})\.(?:nbi|\d+\.nbc)(?:\.tmp\.[0-9a-f]+)?")


class CompileCacheWarning(RuntimeWarning):
    """A compile-cache problem that was worked around (an entry recompiled, or code kept in memory only)."""


def cache_dir() -> Path:
    """Where compiled code is cached: ``$CLINSIM_CACHE_DIR``, else ``$NUMBA_CACHE_DIR/clinsim``, else the
    platform's user cache directory (``$XDG_CACHE_HOME`` or ``~/.cache`` + ``/clinsim`` on Linux,
    ``~/Library/Caches/clinsim`` on macOS, ``%LOCALAPPDATA%\\clinsim\\Cache`` on Windows).

    Read at every compilation, not at import, so tests and tools can point it elsewhere. Never the source
    tree: a read-only install or a shared checkout must not need write access to ``__pycache__``.
    """
    if os.environ.get("CLINSIM_CACHE_DIR"):
        return Path(os.environ["CLINSIM_CACHE_DIR"]).expanduser()
    if os.environ.get("NUMBA_CACHE_DIR"):
        return Path(os.environ["NUMBA_CACHE_DIR"]).expanduser() / "clinsim"
    return Path(AppDirs(appname="clinsim", appauthor=False).user_cache_dir)  # numba's copy of appdirs


# ----------------------------------------------------------------------------------------------- source keys


@functools.cache
def package_modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Module name -> source file, for the package's real modules only.

    Names Python cannot import are skipped: an editor's lock file (``.#models.py``, a dangling symlink)
    or another hidden file is no code of the package, and reading it used to break ``import clinsim``.
    """
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if all(part.isidentifier() for part in parts) and path.is_file():
            name = ".".join((root.name, *parts))
            modules[name.removesuffix(".__init__")] = path
    return modules


# An import statement: at a line start (any indentation) or after ";" / ":"; "from" with its (possibly
# parenthesized, multi-line) names, or "import" with its modules.
_IMPORT = re.compile(r"(?:^|[;:])[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]*(\([^)]*\)|[^\n;]*)"
                     r"|import[ \t]+([^\n;]*))", re.MULTILINE)


@functools.cache
def _imports(name: str, path: Path, root: Path) -> frozenset[str]:
    """The package modules that module ``name`` (source ``path``) imports anywhere in its code.

    ``from clinsim.x import y`` means module ``clinsim.x.y`` when that is a module, else ``clinsim.x``
    (its ``__init__.py`` for a package); relative imports are resolved against ``name``'s package. A
    regular expression, not ``ast``: parsing every module cost ~0.2 s of each start-up. It errs only
    towards more imports (an import statement quoted in a docstring counts), which costs a recompile at
    worst; ``tests/test_jit.py`` checks it finds everything ``ast`` finds in the package.
    """
    modules = package_modules(root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    text = path.read_text(encoding="utf-8", errors="replace").replace("\\\n", " ")
    for source, names, plain in _IMPORT.findall(text):
        items = [item.split()[0] for item in re.sub(r"#.*", "", names or plain).strip("()").split(",")
                 if item.strip()]
        if plain:
            found.update(items)
            continue
        level = len(source) - len(source.lstrip("."))
        base = ".".join(part for part in (package.rsplit(".", level - 1)[0] if level else "", source.lstrip("."))
                        if part)
        found.update(f"{base}.{item}" if f"{base}.{item}" in modules else base for item in items)
    return frozenset(found & modules.keys())


@functools.cache
def module_hash(name: str, path: Path, root: Path = PACKAGE) -> str:
    """SHA-256 of module ``name``'s source and of every package module it imports, transitively.

    Everything a compiled function's machine code can depend on (the functions it calls and inlines, the
    globals numba freezes into it) is reached through these imports; nothing else changes its key.
    """
    files = {name: path}
    todo = [name]
    while todo:
        current = todo.pop()
        for dep in _imports(current, files[current], root) - files.keys():
            files[dep] = package_modules(root)[dep]
            todo.append(dep)
    digest = hashlib.sha256()
    for module in sorted(files):
        digest.update(module.encode() + b"\0" + files[module].read_bytes() + b"\0")
    return digest.hexdigest()


def _sources_key(f: Callable) -> str:
    """A hash of what ``f``'s machine code depends on besides its own code object and options.

    Its module's :func:`module_hash`; for a closure, also the ``clinsim_key`` of every compiled function
    it captures (which carries that function's own sources, so an edited model reaches the integrators
    and batch loops built around it even if a caller forgot to put it in ``key``) and the module hash of
    every plain function it captures. A function without a source file is keyed by its bytecode.
    """
    def source_of(g: types.FunctionType) -> str:
        path = Path(inspect.getfile(g))
        if path.is_file():
            return module_hash(g.__module__ or "__main__", path)
        return hashlib.sha256(marshal.dumps(g.__code__)).hexdigest()

    parts = [source_of(f)]
    for cell in f.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell (a name assigned later)
            continue
        captured_key = getattr(value, "clinsim_key", None)
        py_func = getattr(value, "py_func", value)
        if isinstance(captured_key, str):
            parts.append(captured_key)
        elif isinstance(py_func, types.FunctionType):
            parts.append(source_of(py_func))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------------------------- the cache

_warned: set[str] = set()
_pruned: set[str] = set()


def _warn_once(kind: str, message: str) -> None:
    """One warning per kind of problem and process: a damaged or full cache affects every function."""
    if kind not in _warned:
        _warned.add(kind)
        warnings.warn(f"{message} (further such problems in this process are handled silently)",
                      CompileCacheWarning, stacklevel=3)


class _Locator(_SourceFileBackedLocatorMixin, _CacheLocator):
    """All the package's functions in one directory, :func:`cache_dir` (numba's locators would use the
    source tree's ``__pycache__``)."""

    def __init__(self, py_func: Callable, py_file: str) -> None:
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = str(cache_dir())

    def get_cache_path(self) -> str:
        return self._cache_path

    @classmethod
    def from_function(cls, py_func: Callable, py_file: str) -> _Locator:
        """Raises ``OSError`` (numba's locators return None) so the caller can say why it has no cache."""
        locator = cls(py_func, py_file)
        locator.ensure_cache_path()
        return locator


class _Impl(CompileResultCacheImpl):
    _locator_classes = [_Locator]


class _CheckedFile(IndexDataCacheFile):
    """numba's index and data files, each data file prefixed by the SHA-256 of its pickle: a damaged file
    fails the check and is recompiled, rather than unpickled into machine code that could crash."""

    def _save_data(self, name: str, data: Any) -> None:
        payload = self._dump(data)
        with self._open_for_write(self._data_path(name)) as f:
            f.write(hashlib.sha256(payload).digest() + payload)

    def _load_data(self, name: str) -> Any:
        raw = Path(self._data_path(name)).read_bytes()
        if hashlib.sha256(raw[32:]).digest() != raw[:32]:
            raise ValueError(f"checksum mismatch in {name}")
        return pickle.loads(raw[32:])


class _PackageCache(FunctionCache):
    """numba's function cache, keyed by the function's identity (:func:`jit`), and self-healing.

    Each identity gets index and data files of its own: processes compiling different closures of one
    function at the same time (parallel training runs on a fresh checkout) would otherwise race on one
    index and could pair a key with another closure's machine code. Loading never raises (a damaged entry
    is deleted and the function recompiled) and neither does saving (the code stays in memory).
    """

    _impl_class = _Impl

    def __init__(self, py_func: Callable, key: str) -> None:
        super().__init__(py_func)
        self._key = key
        suffix = hashlib.sha256(f"{key}|{nb.__version__}|checked".encode()).hexdigest()[:16]
        self._cache_file = _CheckedFile(cache_path=self._cache_path,
                                        filename_base=f"{self._impl.filename_base}-{suffix}",
                                        source_stamp=self._impl.locator.get_source_stamp())

    def _index_key(self, sig: Any, codegen: Any) -> tuple:
        return sig, codegen.magic_tuple(), self._key

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        try:
            data = super().load_overload(sig, target_context)
        except Exception as exc:  # unpickling, decoding, checksum, LLVM errors: whatever a damaged file raises
            _warn_once("load", f"discarded an unreadable compile-cache entry ({type(exc).__name__}: {exc}) in "
                               f"{self._cache_path}; recompiling")
            self._discard()
            return None
        if data is not None:  # a use: pruning deletes the least recently used entries first
            with contextlib.suppress(OSError):
                os.utime(self._cache_file._index_path)
        return data

    def save_overload(self, sig: Any, data: Any) -> None:
        try:
            super().save_overload(sig, data)
        except Exception as exc:  # a full disk, a location that became read-only or vanished
            _warn_once("save", f"could not write the compile cache in {self._cache_path} ({exc}); "
                               "compiled code is kept in memory only")
            return
        if self._cache_path not in _pruned:
            _pruned.add(self._cache_path)
            prune(Path(self._cache_path))

    def _discard(self) -> None:
        """Delete this function's index and data files."""
        index = Path(self._cache_file._index_path)
        for path in [index, *index.parent.glob(f"{glob.escape(index.stem)}.*.nbc")]:
            with contextlib.suppress(OSError):
                path.unlink()


def prune(directory: Path, max_age_days: float = MAX_AGE_DAYS, max_bytes: int = MAX_BYTES) -> list[Path]:
    """Delete cache entries of ours unused for ``max_age_days`` days, then the least recently used ones
    while the entries kept hold more than ``max_bytes``; returns the deleted files.

    An entry's last use is its newest file's modification time (written when saved, touched when
    loaded). Files that are not ours (another tool's, in a shared ``NUMBA_CACHE_DIR``) are never touched.
    A file another process is about to load may go: that process recompiles (numba treats a missing file
    as a miss).
    """
    entries: dict[str, list[tuple[Path, os.stat_result]]] = {}
    with contextlib.suppress(OSError):
        for path in directory.iterdir():
            if match := _CACHE_FILE.fullmatch(path.name):
                with contextlib.suppress(OSError):
                    entries.setdefault(match["entry"], []).append((path, path.stat()))
    now, kept, deleted = time.time(), 0, []
    for files in sorted(entries.values(), key=lambda fs: -max(st.st_mtime for _, st in fs)):
        kept += sum(st.st_size for _, st in files)
        if now - max(st.st_mtime for _, st in files) > max_age_days * 86400 or kept > max_bytes:
            kept -= sum(st.st_size for _, st in files)
            for path, _ in files:
                with contextlib.suppress(OSError):
                    path.unlink()
                    deleted.append(path)
    return deleted


def _cache_for(f: Callable, identity: str) -> _PackageCache | None:
    """``f``'s disk cache, or None (compile in memory) where the location cannot be created or written."""
    if not Path(inspect.getfile(f)).is_file():  # defined in a string or a notebook cell: nothing to key on
        return None
    try:
        return _PackageCache(f, identity)
    except (OSError, RuntimeError) as exc:  # RuntimeError: no locator (NUMBA_CACHE_LOCATOR_CLASSES overrides ours)
        _warn_once("location", f"no usable compile cache at {cache_dir()} ({exc}); compiling in memory "
                               "(set CLINSIM_CACHE_DIR to a writable directory)")
        return None


def jit(fn: Callable | None = None, *, key: str = "", **options: Any):
    """``numba.njit(error_model="numpy", **options)`` cached on disk; ``key`` describes what a closure captures.

    Division by zero gives IEEE infinities and NaNs, as in numpy, rather than raising: numba's default
    check raises from inside every division, and the branches it adds keep numba from pruning the
    reference counting of the arrays passed to inlined helpers (two atomic operations per call: model
    kernels ran at half speed). The compiled function gets a ``clinsim_key`` attribute (its cache
    identity, ending in the hash of the sources it depends on) that closures built around it include in
    their own ``key``.
    """
    options = {"error_model": "numpy", **options}

    def compile_(f: Callable):
        identity = _identity(f, key, options)
        f = _renamed(f, identity)
        dispatcher = nb.njit(**options)(f)
        cache = _cache_for(f, identity)
        if cache is not None:
            dispatcher._cache = cache
        dispatcher.clinsim_key = identity
        return dispatcher

    return compile_(fn) if fn is not None else compile_


def vectorize(signatures: list[str], **options: Any) -> Callable[[Callable], Any]:
    """``numba.vectorize(signatures, cache=True, **options)`` on :func:`jit`'s cache (location, keys, healing).

    numba's own cache for ufuncs lives in the source tree's ``__pycache__``, and one damaged entry there
    made every later ``import clinsim`` crash. Built on first use (:class:`_LazyUfunc`).
    """
    return lambda f: _LazyUfunc(f, lambda: _ufunc(lambda g: Vectorize(g, **options), f, f"vectorize{signatures}",
                                                  signatures, options))


def guvectorize(signatures: list[str], layout: str, **options: Any) -> Callable[[Callable], Any]:
    """``numba.guvectorize(signatures, layout, cache=True, **options)`` on :func:`jit`'s cache.

    Only the kernel is cached: numba caches the gufunc's loop wrapper in ``__pycache__`` only, so that
    (~40 ms a gufunc) is compiled in every process that uses it. Built on first use (:class:`_LazyUfunc`).
    """
    return lambda f: _LazyUfunc(f, lambda: _ufunc(lambda g: GUVectorize(g, layout, **options), f,
                                                  f"guvectorize{signatures}{layout}", signatures, options))


class _LazyUfunc:
    """A compiled ufunc built (compiled, or loaded from the cache) on its first use, not at import.

    numba compiles a ufunc given signatures when it is defined; built eagerly, the SepsiSim ufuncs that only
    calibration and analysis code call cost every ``import clinsim`` a compile (cold cache) or a cache load
    plus the uncacheable gufunc wrappers (warm): ``benchmarks/startup.py``.
    """

    def __init__(self, f: Callable, build: Callable[[], Any]) -> None:
        functools.update_wrapper(self, f)
        self._build = build

    @functools.cached_property
    def ufunc(self) -> Any:
        """The numba ufunc (``np.ufunc`` or gufunc), built now if not yet."""
        return self._build()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.ufunc(*args, **kwargs)

    def __reduce_ex__(self, protocol: Any) -> Any:  # pickled as the ufunc itself (as before it was lazy)
        return self.ufunc.__reduce_ex__(protocol)

    def __getattr__(self, name: str) -> Any:  # ufunc attributes (nin, types, reduce, ...)
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.ufunc, name)


def _ufunc(make: Callable, f: Callable, key: str, signatures: list[str], options: dict) -> Any:
    """What ``numba.(gu)vectorize`` does with a signature list, with the kernel's cache replaced by ours."""
    identity = _identity(f, key, options)
    f = _renamed(f, identity)
    builder = make(f)
    cache = _cache_for(f, identity)
    if cache is not None:
        builder._dispatcher.cache = cache
    for signature in signatures:
        builder.add(signature)
    builder.disable_compile()
    return builder.build_ufunc()


def _identity(f: Callable, key: str, options: dict) -> str:
    """A compiled function's cache identity: function, captured description, options, sources' hash."""
    return f"{f.__module__}.{f.__qualname__}[{key}]{sorted(options.items())}@{_sources_key(f)}"


def _renamed(f: Callable, identity: str) -> Callable:
    """A copy of ``f`` under a ``__qualname__`` of its own: the old one plus a hash of ``identity``.

    numba names machine code after the function's qualified name plus a per-process counter (numba
    issue 10486). Closures of one function share the qualified name, so two of them compiled in
    different processes can get the same symbol and, loaded from the cache into one process, be linked
    to each other's code. A name per identity makes every symbol distinct.
    """
    copy = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, f.__closure__)
    copy.__kwdefaults__ = f.__kwdefaults__
    copy.__doc__ = f.__doc__
    copy.__qualname__ = f"{f.__qualname__}__{hashlib.sha256(identity.encode()).hexdigest()[:16]}"
    return copy
