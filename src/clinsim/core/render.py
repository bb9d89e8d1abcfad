"""Rendering of a patient's course: an RGB dashboard (matplotlib) and a one-line text summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Panel:
    """One dashboard panel: the ``info`` keys plotted against decision steps, with their unit."""

    title: str
    keys: tuple[str, ...]
    unit: str
    log: bool = False


def render_text(info: dict[str, Any], panels: Sequence[Panel], step: int, step_unit: str) -> str:
    """``step_unit step: key=value unit | ... | outcome``."""
    parts = [f"{step_unit} {step:3d}"]
    for panel in panels:
        for key in panel.keys:
            if key in info:
                parts.append(f"{key}={float(info[key]):.4g} {panel.unit}")
    parts.append(f"outcome={info.get('outcome', '?')}")
    return " | ".join(parts)


def render_dashboard(history: Sequence[dict[str, Any]], panels: Sequence[Panel], title: str,
                     step_unit: str) -> np.ndarray:
    """RGB array (H, W, 3) uint8 of every panel's keys over the steps so far."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.0 * len(panels), 3.2), dpi=80)
    canvas = FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    steps = np.arange(len(history))
    for ax, panel in zip(axes, panels, strict=True):
        for key in panel.keys:
            if key in history[0]:
                values = np.array([float(h[key]) for h in history])
                ax.plot(steps, np.maximum(values, 1e-12) if panel.log else values, marker=".", label=key)
        if panel.log:
            ax.set_yscale("log")
        ax.set_title(panel.title, fontsize=9)
        ax.set_xlabel(step_unit, fontsize=8)
        ax.set_ylabel(panel.unit, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6, loc="best")
    fig.suptitle(f"{title} - {history[-1].get('patient', '')} - {history[-1].get('outcome', '')}", fontsize=9)
    fig.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
