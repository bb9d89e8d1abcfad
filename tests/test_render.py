"""The dashboard's frame: the canvas's pixels, with the status line written into the band above the panels."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from clinsim.core.render import STATUS_HEIGHT_PX, Dashboard, DashboardGrid, Panel

PANELS = (Panel("Mean arterial pressure", ("map_mmhg",), "mmHg", thresholds=((65.0, "MAP 65"),), span=(40, 110)),)


def test_frame_is_the_canvas_with_the_status_line() -> None:
    board = Dashboard(PANELS, "test", "hour", horizon=10)
    history = [{"map_mmhg": 60.0, "outcome": "in_progress"}, {"map_mmhg": 66.0, "outcome": "in_progress"}]
    frame = board.frame(history, [np.array([1, 0])])
    canvas = np.asarray(board.canvas.buffer_rgba())[..., :3]
    assert frame.dtype == np.uint8 and frame.flags.writeable and frame.shape == canvas.shape
    assert np.array_equal(frame[STATUS_HEIGHT_PX:], canvas[STATUS_HEIGHT_PX:])  # the panels as drawn
    band = frame[:STATUS_HEIGHT_PX]
    assert (canvas[:STATUS_HEIGHT_PX] == 255).all() and band.min() < 80  # black text on the white band
    later = board.frame([*history, {"map_mmhg": 70.0, "outcome": "in_progress"}], [np.array([1, 0])] * 2)
    assert not np.array_equal(later[:STATUS_HEIGHT_PX], band)  # the step count moved on
    assert np.array_equal(board.frame(history, [np.array([1, 0])]), frame)  # the same course, the same frame


@pytest.mark.parametrize("style", [{}, {"lines.linewidth": 5.0, "lines.markeredgewidth": 3.0}])
def test_blitted_frames_are_full_redraws(style: dict[str, float]) -> None:
    """A frame drawn over the last one (only the pixels its curves and the last frame's can cover are restored
    and copied, on a kept background) is the frame a fresh figure draws, through rescales, a gap, a log floor
    and new courses; so is a grid's tile (its dashboards share their backgrounds)."""
    panels = (*PANELS, Panel("Cells", ("cells", "other"), "cells", log=True, floor=1.0, span=(1e2, 1e6)))
    rng = np.random.default_rng(0)
    maps = [60.0, 66.0, 140.0, 20.0, float("nan"), 95.0, 70.0, 300.0, 65.0, 80.0]  # 140 and 300: rescales
    course = [{"map_mmhg": m, "cells": c, "other": o, "outcome": "in_progress"}
              for m, c, o in zip(maps, 10.0 ** rng.uniform(-1, 7, 10), 10.0 ** rng.uniform(2, 5, 10), strict=True)]
    courses = [course[:k] for k in range(1, 11)] + [course[:1], course[:3], course[5:9]]  # new courses
    with matplotlib.rc_context(style):  # thicker curves reach further: the restored pixels follow
        board, reference = Dashboard(panels, "test", "hour", horizon=10), Dashboard(panels, "test", "hour", horizon=10)
        grid = DashboardGrid(panels, ["a", "test"], "hour", horizon=10)
    for history in courses:
        actions = [np.array([k, 0]) for k in range(len(history) - 1)]
        reference._background = None  # a full redraw, copied whole
        reference._backgrounds.clear()
        expected = reference.frame(history, actions)
        assert np.array_equal(board.frame(history, actions), expected)
        tiled = grid.frame([course[:2], history], [[np.array([0, 0])], actions])
        assert np.array_equal(tiled[:, expected.shape[1]:], expected)


def test_log_axis_drops_to_its_floor_below_its_span() -> None:
    """A falling curve rescales a log axis once (to the floor), not at every decade below the span."""
    panel = Panel("Cells", ("cells",), "cells", log=True, floor=1.0, span=(1e4, 1e9))
    assert Dashboard._limits(panel, np.array([2e4, 3e8])) == (1e4, 1e10)
    assert Dashboard._limits(panel, np.array([2e4, 9e3])) == (1.0, 1e10)
    assert Dashboard._limits(panel, np.array([2e4, 0.5])) == (1.0, 1e10)
    assert Dashboard._limits(panel, np.array([2e4, 3e11])) == (1e4, 1e12)  # up: whole decades
