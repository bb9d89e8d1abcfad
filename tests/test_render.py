"""The dashboard's frame: the canvas's pixels, with the status line written into the band above the panels."""

from __future__ import annotations

import numpy as np

from clinsim.core.render import STATUS_HEIGHT_PX, Dashboard, Panel

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
