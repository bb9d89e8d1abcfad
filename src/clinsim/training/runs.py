"""Run directories: configuration, seeds, package versions, logs, checkpoints and results on disk.

Every file is written atomically (temporary file + ``os.replace``), so a run killed at any point
leaves either the old or the new version of a file, never a torn one.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("clinsim", "numpy", "scipy", "gymnasium", "numba", "stable-baselines3", "torch", "matplotlib")


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, default=_jsonable) + "\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON (corrupt or foreign file): {exc}") from exc


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def versions() -> dict[str, str]:
    """Python, platform and package versions for the record."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


class UntrustedCheckpointError(ValueError):
    """A checkpoint this run did not record (corrupt, edited or foreign): loading it would unpickle code."""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class RunDir:
    """``root/config.json``, ``versions.json``, ``tb/``, ``checkpoints/`` (with ``manifest.json``), ``results/``.

    Every checkpoint file is recorded with its SHA-256 in ``checkpoints/manifest.json`` after it is
    written; a checkpoint counts only once recorded, and loading verifies the hash, because SB3
    checkpoints hold pickled Python objects that run code when loaded.
    """

    CHECKPOINT = re.compile(r"model_(\d+)_steps\.zip$")

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.checkpoints = self.root / "checkpoints"
        self.results = self.root / "results"
        self.tensorboard = self.root / "tb"

    def create(self, config: dict[str, Any]) -> None:
        """Create the directory, or check that an existing one was made with the same configuration."""
        config_path = self.root / "config.json"
        if config_path.exists():
            old = read_json(config_path)
            if old != json.loads(json.dumps(config, default=_jsonable)):
                raise ValueError(f"{self.root} holds a run with a different configuration; "
                                 f"choose another run directory or delete it")
            return
        write_json(config_path, config)
        write_json(self.root / "versions.json", versions())

    @property
    def config(self) -> dict[str, Any]:
        return read_json(self.root / "config.json")

    @property
    def manifest_path(self) -> Path:
        return self.checkpoints / "manifest.json"

    def manifest(self) -> dict[str, str]:
        return read_json(self.manifest_path) if self.manifest_path.exists() else {}

    def record(self, *paths: Path) -> None:
        """Add files (already written) to the manifest, atomically."""
        manifest = self.manifest()
        manifest.update({p.name: sha256(p) for p in paths})
        write_json(self.manifest_path, manifest)

    def verify(self, path: Path, trust: bool = False) -> None:
        """Raise :class:`UntrustedCheckpointError` unless ``path`` is recorded with its current hash."""
        if trust:
            return
        if not path.exists():
            raise FileNotFoundError(f"checkpoint file {path} is missing")
        if self.manifest().get(path.name) != sha256(path):
            raise UntrustedCheckpointError(
                f"{path} was not recorded by this run or has changed since (corrupt or foreign file); "
                f"loading it would execute pickled code: pass trust=True (--trust-checkpoint) only for a "
                f"file you trust")

    def latest_checkpoint(self) -> tuple[int, Path] | None:
        """(timesteps, path) of the newest recorded (complete) checkpoint, if any."""
        found = []
        for name in self.manifest():
            match = self.CHECKPOINT.search(name)
            if match and (self.checkpoints / name).exists():
                found.append((int(match.group(1)), self.checkpoints / name))
        return max(found) if found else None

    def result_path(self, name: str) -> Path:
        return self.results / f"{name}.json"
