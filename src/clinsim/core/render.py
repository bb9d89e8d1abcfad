"""Rendering of a patient's course: an RGB dashboard (matplotlib) and a one-line text summary.

A :class:`Dashboard` builds its figure once per environment and then draws frames by blitting: the axes,
ticks, thresholds and legends are a cached background, and a frame only redraws the curves, through the Agg
renderer, and copies the pixels they can cover; the status line (the step, the action taken, the outcome) is
written into the frame by Pillow. The axes are rescaled only when a curve leaves them, and backgrounds are kept
by axis limits, so a frame after the first costs a few milliseconds (``benchmarks/render_speed.py``).
:class:`DashboardGrid` tiles several patients' dashboards for the vector env.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from PIL import ImageFont

FRAME_DPI = 80
PANEL_SIZE_INCHES = (3.2, 2.6)  # 256 x 208 pixels per panel at FRAME_DPI: readable at video size
MAX_COLUMNS = 3  # more panels wrap onto further rows (6 panels: 768 x 440 pixels)
STATUS_FONT_PT = 9  # the status line (step, action, outcome) above the panels, matplotlib's own font
STATUS_TOP_PX = 2
STATUS_BAND_INCHES = 0.3  # the blank band above the panels that holds the status line
STATUS_HEIGHT_PX = round(STATUS_BAND_INCHES * FRAME_DPI)
BACKGROUNDS_KEPT = 8  # drawn backgrounds kept per dashboard or grid (1.4 MB each at 6 panels)
_RGB_PIXEL = np.dtype([("rgb", "V3"), ("alpha", "V1")])  # one Agg RGBA pixel


@dataclass(frozen=True)
class Panel:
    """One dashboard panel: the ``info`` keys plotted against decision steps, with their unit.

    ``thresholds``: clinical lines drawn on the panel, ``(value, label)`` (MAP 65 mmHg, lactate 2 and 4
    mmol/L, RECIST -30 % / +20 %). ``floor``: lowest value shown on a log axis (e.g. 1 cell), so that an
    eliminated tumour or a zero concentration does not stretch the axis down to the numerical floor.
    ``span``: the range the panel usually covers (e.g. MAP 40-110 mmHg); the axes start there and only grow
    beyond it, so that frames rarely need a full redraw.
    """

    title: str
    keys: tuple[str, ...]
    unit: str
    log: bool = False
    thresholds: tuple[tuple[float, str], ...] = ()
    floor: float = 1e-3
    span: tuple[float, ...] = ()


def render_text(info: dict[str, Any], panels: Sequence[Panel], step: int, step_unit: str) -> str:
    """``step_unit step: key=value unit | ... | outcome``."""
    parts = [f"{step_unit} {step:3d}"]
    for panel in panels:
        for key in panel.keys:
            if key in info:
                parts.append(f"{key}={float(info[key]):.4g} {panel.unit}")
    parts.append(f"outcome={info.get('outcome', '?')}")
    return " | ".join(parts)


class Dashboard:
    """A reusable figure of every panel over the episode's ``horizon`` decision steps."""

    def __init__(self, panels: Sequence[Panel], title: str, step_unit: str, horizon: int,
                 backgrounds: OrderedDict[Any, np.ndarray] | None = None) -> None:
        """``backgrounds``: the drawn backgrounds (the figure without the curves) by axis limits, which
        dashboards may share (a grid's do): drawing one takes ~0.2 s (matplotlib's text), restoring it ~0.2 ms."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.panels, self.title, self.step_unit = tuple(panels), title, step_unit
        width, height = PANEL_SIZE_INCHES
        columns = min(len(self.panels), MAX_COLUMNS)
        rows = -(-len(self.panels) // columns)
        self.figure = Figure(figsize=(width * columns, height * rows + STATUS_BAND_INCHES), dpi=FRAME_DPI)
        self.canvas = FigureCanvasAgg(self.figure)
        grid = self.figure.subplots(rows, columns, squeeze=False).ravel()
        for ax in grid[len(self.panels):]:
            ax.set_visible(False)
        self.axes = grid[:len(self.panels)]
        self.lines: list[list[Any]] = []  # the curves' artists: their style and legend (drawn by _Curve)
        for ax, panel in zip(self.axes, self.panels, strict=True):
            ax.set_xlim(0, max(horizon, 1))
            if panel.log:
                ax.set_yscale("log")
            ax.set_ylim(*self._limits(panel, np.array([])))
            for value, label in panel.thresholds:
                ax.axhline(value, color="0.45", linestyle="--", linewidth=0.8)
                ax.annotate(label, (0.99, value), xycoords=("axes fraction", "data"), ha="right", va="bottom",
                            fontsize=6, color="0.35")
            # round joins: no miter spikes beyond the curve's reach (_prepare_blitting)
            self.lines.append([ax.plot([], [], marker=".", markersize=3, label=key, animated=True,
                                       solid_joinstyle="round")[0]
                               for key in panel.keys])
            ax.set_title(panel.title, fontsize=9)
            ax.set_xlabel(step_unit, fontsize=8)
            ax.set_ylabel(panel.unit, fontsize=8)
            ax.tick_params(labelsize=7)
            ax.legend(fontsize=6, loc="upper left")
        self.figure.tight_layout(rect=(0, 0, 1, 1.0 - STATUS_BAND_INCHES / (height * rows + STATUS_BAND_INCHES)))
        width_px, height_px = self.canvas.get_width_height()
        self.shape = (height_px, width_px, 3)  # of a frame
        self._background: np.ndarray | None = None
        self._backgrounds = OrderedDict() if backgrounds is None else backgrounds
        self._design = (self.panels, step_unit, horizon)  # with the axis limits: what a background shows
        self._curves: list[list[_Curve]] = []  # made on the first draw, which makes the renderer
        self._insides: list[tuple[int, int, int, int]] = []  # each panel's inside: top, bottom, left, right (px)
        self._drawn: list[tuple[slice, slice] | None] = []  # per panel, the pixels the last frame's curves can cover
        self._reach = 0  # pixels a curve's ink can reach beyond its points
        self._target: np.ndarray | None = None  # where the last frame was written
        self._pixels: np.ndarray | None = None
        self._font = _status_font()

    @staticmethod
    def _limits(panel: Panel, values: np.ndarray) -> tuple[float, float]:
        """Axis limits: a deterministic step function of the data's range and the thresholds (1-2-5 steps;
        whole decades up on log axes, and straight down to the floor once the data fall below the panel's
        span: a responding tumour would rescale them at every decade), so that a course rescales the axes (a
        new background) only a few times per episode and the same course always gives the same frame."""
        data = values[np.isfinite(values)]
        usual = np.array([*(t for t, _ in panel.thresholds), *panel.span], dtype=float)
        values = np.concatenate([data, usual])
        if panel.log:
            values, data, usual = values[values > 0], data[data > 0], usual[usual > 0]
            low = max(panel.floor, values.min()) if values.size else panel.floor
            if data.size and usual.size and data.min() < usual.min():
                low = panel.floor
            high = max(values.max(), low) if values.size else 1.0
            return 10.0 ** np.floor(np.log10(low)), 10.0 ** (np.floor(np.log10(high)) + 1.0)
        low, high = (min(values.min(), 0.0), values.max()) if values.size else (0.0, 1.0)
        return -_nice_ceiling(-low) if low < 0 else 0.0, _nice_ceiling(max(high, 1e-9) * 1.05)

    def frame(self, history: Sequence[dict[str, Any]], actions: Sequence[Any]) -> np.ndarray:
        """RGB array (H, W, 3) uint8 of the course in ``history`` (infos) under ``actions``, a new array."""
        if self._pixels is None:
            self._pixels = np.empty(self.shape, dtype=np.uint8)
        self.draw(history, actions, self._pixels)
        return self._pixels.copy()

    def draw(self, history: Sequence[dict[str, Any]], actions: Sequence[Any], out: np.ndarray) -> None:
        """Write the frame of the course into ``out`` (``shape``, uint8, pixels contiguous; e.g. a grid's tile).

        Only the pixels a blitted frame can change (around this frame's and the last frame's curves, and the
        status band) are copied from the canvas when ``out`` is the array of the previous call, which still
        holds the rest of the frame."""
        if out.shape != self.shape or out.dtype != np.uint8 or out.strides[1:] != (3, 1):
            raise ValueError(f"out must be a uint8 array of shape {self.shape} with contiguous pixels, got "
                             f"{out.dtype} {out.shape} strides {out.strides}")
        steps = np.arange(len(history), dtype=float)
        rescale = False
        courses = []  # per panel, per key: the values over the steps
        for ax, panel in zip(self.axes, self.panels, strict=True):
            shown = []
            for key in panel.keys:
                values = np.array([float(h[key]) for h in history]) if key in history[0] else np.array([])
                shown.append(np.maximum(values, panel.floor) if panel.log else values)
            courses.append(shown)
            limits = self._limits(panel, np.concatenate(shown) if shown else np.array([]))
            if limits != ax.get_ylim():
                ax.set_ylim(*limits)
                rescale = True
        whole = rescale or self._background is None or out is not self._target
        rgba = np.asarray(self.canvas.buffer_rgba())  # the canvas's own pixels, drawn on in place
        if rescale or self._background is None:
            key = (self._design, tuple(ax.get_ylim() for ax in self.axes))
            self._background = self._backgrounds.get(key)
            if self._background is None:
                self.canvas.draw()  # animated artists are left out of the background
                rgba = np.asarray(self.canvas.buffer_rgba())
                self._background = rgba.copy()
                self._background.setflags(write=False)
                self._backgrounds[key] = self._background
                while len(self._backgrounds) > BACKGROUNDS_KEPT:
                    self._backgrounds.popitem(last=False)
            else:
                self._backgrounds.move_to_end(key)
                rgba[:] = self._background
            if not self._curves:
                self._prepare_blitting()
            self._drawn = [None] * len(self.axes)
        else:  # the last frame's curves wiped
            for box in self._drawn:
                if box is not None:
                    rgba[box] = self._background[box]
        changed = [(slice(0, STATUS_HEIGHT_PX), slice(None))]
        for k, (ax, curves, shown) in enumerate(zip(self.axes, self._curves, courses, strict=True)):
            affine = ax.transData.get_affine().frozen()
            points = [curve.draw(steps[:len(v)], v, affine) for curve, v in zip(curves, shown, strict=True)]
            box = self._box(k, affine.transform(np.concatenate(points)) if points else np.empty((0, 2)))
            changed.append(_union(box, self._drawn[k]))
            self._drawn[k] = box
        # RGBA -> RGB: copying 3-byte records is about twice as fast as numpy's byte-strided rgba[..., :3]
        for box in ((slice(None), slice(None)),) if whole else changed:
            if box is not None:
                out[box].view("V3")[..., 0] = rgba[box].view(_RGB_PIXEL)[..., 0]["rgb"]
        self._target = out
        last = history[-1]
        action = (" | action ", _describe(actions[-1])) if actions else ()
        step = f"{self.step_unit} {len(history) - 1}"
        _draw_status(out, (self.title, " - ", str(last.get("patient", "")), " - ", step, *action, " - ",
                           str(last.get("outcome", ""))), self._font)

    def _prepare_blitting(self) -> None:
        """The curves' painters, and each panel's inside in pixels (rows and columns, top down; the curves are
        clipped to it), a pixel wider for anti-aliasing."""
        renderer = self.canvas.get_renderer()
        self._curves = [[_Curve(line, renderer) for line in lines] for lines in self.lines]
        # how far a curve's ink can reach beyond its points: a projecting cap's corner (0.71 line widths), a
        # marker's radius with its edge, and 2 pixels of anti-aliasing and snapping (a test checks it)
        self._reach = 2 + max(int(np.ceil(renderer.points_to_pixels(
            max(0.75 * line.get_linewidth(), (line.get_markersize() + line.get_markeredgewidth()) / 2))))
            for lines in self.lines for line in lines)
        height, width, _ = self.shape
        self._insides = []
        for ax in self.axes:
            (x0, y0), (x1, y1) = ax.bbox.get_points()
            self._insides.append((max(int(np.floor(height - y1)) - 1, 0), min(int(np.ceil(height - y0)) + 1, height),
                                  max(int(np.floor(x0)) - 1, 0), min(int(np.ceil(x1)) + 1, width)))

    def _box(self, panel: int, points: np.ndarray) -> tuple[slice, slice] | None:
        """The pixels (rows, columns) that the curves through ``points`` (display coordinates, y up) can have
        drawn on in panel ``panel``: their bounding box, the curves' reach wider, within the panel's inside;
        None when nothing was drawn."""
        points = points[np.isfinite(points).all(axis=1)]
        if not len(points):
            return None
        top, bottom, left, right = self._insides[panel]
        height, reach = self.shape[0], self._reach
        (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
        rows = max(int(np.floor(height - y1)) - reach, top), min(int(np.ceil(height - y0)) + reach, bottom)
        columns = max(int(np.floor(x0)) - reach, left), min(int(np.ceil(x1)) + reach, right)
        if rows[0] >= rows[1] or columns[0] >= columns[1]:
            return None
        return slice(*rows), slice(*columns)


def _union(a: tuple[slice, slice] | None, b: tuple[slice, slice] | None) -> tuple[slice, slice] | None:
    """The smallest box (rows, columns) that holds both boxes (None: empty)."""
    if a is None or b is None:
        return a or b
    return (slice(min(a[0].start, b[0].start), max(a[0].stop, b[0].stop)),
            slice(min(a[1].start, b[1].start), max(a[1].stop, b[1].stop)))


class _Curve:
    """One curve drawn through the Agg renderer directly, with ``Line2D.draw``'s settings for the dashboard's
    style (a solid line with filled markers): ``Line2D.draw``'s Python work per call (recaching, transform
    chains, two graphics contexts) was most of a grid frame (cProfile); tests check the pixels are the same."""

    def __init__(self, line: Any, renderer: Any) -> None:
        from matplotlib.colors import to_rgba
        from matplotlib.markers import MarkerStyle
        from matplotlib.path import Path

        self.transform, self.renderer, self._path = line.axes.transData, renderer, Path
        self.stroke = renderer.new_gc()
        self.stroke.set_clip_rectangle(line.get_clip_box())
        self.stroke.set_antialiased(line.get_antialiased())
        self.stroke.set_linewidth(line.get_linewidth())
        self.stroke.set_joinstyle(line.get_solid_joinstyle())
        self.stroke.set_capstyle(line.get_solid_capstyle())
        self.stroke.set_snap(line.get_snap())
        self.stroke.set_foreground(to_rgba(line.get_color(), line.get_alpha()), isRGBA=True)
        self.stroke.set_dashes(0, None)
        marker = MarkerStyle(line.get_marker())
        self.dots = renderer.new_gc()
        self.dots.set_clip_rectangle(line.get_clip_box())
        self.dots.set_linewidth(line.get_markeredgewidth())
        self.dots.set_antialiased(line.get_antialiased())
        self.dots.set_foreground(to_rgba(line.get_markeredgecolor(), line.get_alpha()), isRGBA=True)
        snap = marker.get_snap_threshold()
        size_px = renderer.points_to_pixels(line.get_markersize())
        self.dots.set_snap(size_px >= snap if snap is not None else None)
        self.dots.set_joinstyle(marker.get_joinstyle())
        self.dots.set_capstyle(marker.get_capstyle())
        self.marker_path, self.marker_transform = marker.get_path(), marker.get_transform().scale(size_px)
        self.face = to_rgba(line.get_markerfacecolor(), line.get_alpha())

    def draw(self, steps: np.ndarray, values: np.ndarray, affine: Any) -> np.ndarray:
        """The curve of ``values`` over ``steps`` under its axes' ``affine`` (the display part of ``transData``);
        its points before ``affine``."""
        points = self.transform.transform_non_affine(np.column_stack([steps, values]))
        if len(points):
            path = self._path(points)
            self.renderer.draw_path(self.stroke, path, affine)
            self.renderer.draw_markers(self.dots, self.marker_path, self.marker_transform, path, affine, self.face)
        return points


def _draw_status(frame: np.ndarray, parts: Sequence[str], font: ImageFont.FreeTypeFont) -> None:
    """Write the text of ``parts`` in black, centred, into the blank band at the top of ``frame`` (RGB, in place).

    The status line changes every frame: Pillow draws it in a fraction of a millisecond, where a matplotlib
    text artist renders it glyph by glyph (~10 ms for this line, most of a blitted frame). Each part is
    rasterized once and kept (:func:`_status_part`): most parts (the environment, the patient, the separators,
    the outcome, a repeated action) are the same in the next frame, and rasterizing the whole line was a fifth
    of a grid frame (cProfile). Parts are placed at whole pixels, their glyphs at Pillow's own positions."""
    band = frame[:STATUS_HEIGHT_PX]
    height, width, _ = band.shape
    glyphs = [_status_part(part, font) for part in parts]
    pen = (width - sum(g[3] for g in glyphs)) / 2
    baseline = STATUS_TOP_PX + font.getmetrics()[0]
    for ink, left, top, advance in glyphs:
        x, y = round(pen) + left, baseline + top
        pen += advance
        x0, x1, y0, y1 = max(x, 0), min(x + ink.shape[1], width), max(y, 0), min(y + ink.shape[0], height)
        if x0 < x1 and y0 < y1:
            region = band[y0:y1, x0:x1]
            # black over the background, by the glyphs' anti-aliased coverage
            region[:] = region * (255 - ink[y0 - y:y1 - y, x0 - x:x1 - x]) // 255


@functools.lru_cache(maxsize=4096)
def _status_part(text: str, font: ImageFont.FreeTypeFont) -> tuple[np.ndarray, int, int, float]:
    """The glyphs of ``text``: their coverage (H, W, 1, uint16, read-only), its offset from the pen on the
    baseline (pixels, y down) and the pen's advance (pixels)."""
    from PIL import Image, ImageDraw  # imported with matplotlib, on the first frame

    left, top, right, bottom = font.getbbox(text, anchor="ls")
    coverage = Image.new("L", (max(right - left, 0), max(bottom - top, 0)))
    if coverage.width and coverage.height:
        ImageDraw.Draw(coverage).text((-left, -top), text, fill=255, font=font, anchor="ls")
    ink = np.asarray(coverage, dtype=np.uint16).reshape(coverage.height, coverage.width, 1)
    ink.setflags(write=False)
    return ink, left, top, font.getlength(text)


@functools.cache
def _status_font() -> ImageFont.FreeTypeFont:
    """matplotlib's default sans-serif font (DejaVu Sans) at the status line's size in pixels."""
    from matplotlib import font_manager
    from PIL import ImageFont

    path = font_manager.findfont(font_manager.FontProperties(size=STATUS_FONT_PT))
    return ImageFont.truetype(path, size=round(STATUS_FONT_PT * FRAME_DPI / 72))


def _nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is >= ``x`` (> 0)."""
    decade = 10.0 ** np.floor(np.log10(x))
    return float(next(m * decade for m in (1.0, 2.0, 5.0, 10.0) if m * decade >= x))


def _describe(action: Any) -> str:
    """A short text of an action: integers as they are, reals to 3 significant digits."""
    values = np.atleast_1d(np.asarray(action)).ravel()
    text = ", ".join(f"{v:.3g}" if np.issubdtype(values.dtype, np.floating) else str(v) for v in values)
    return text if values.size == 1 else f"[{text}]"


class DashboardGrid:
    """The dashboards of several patients tiled into one image (row-major, about square; blank cells white),
    each drawn straight into its tile of one array that is kept between frames, their backgrounds shared."""

    def __init__(self, panels: Sequence[Panel], titles: Sequence[str], step_unit: str, horizon: int) -> None:
        backgrounds: OrderedDict[Any, np.ndarray] = OrderedDict()  # the same figure: drawn once for all
        self.dashboards = [Dashboard(panels, title, step_unit, horizon, backgrounds) for title in titles]
        columns = int(np.ceil(np.sqrt(len(self.dashboards))))
        rows = -(-len(self.dashboards) // columns)
        h, w, _ = self.dashboards[0].shape
        self.pixels = np.full((rows * h, columns * w, 3), 255, dtype=np.uint8)
        self._tiles = [self.pixels[r * h:(r + 1) * h, c * w:(c + 1) * w]
                       for r, c in (divmod(k, columns) for k in range(len(self.dashboards)))]

    def frame(self, histories: Sequence[Sequence[dict[str, Any]]], actions: Sequence[Sequence[Any]]) -> np.ndarray:
        """RGB array of every patient's course (``Dashboard.frame``'s arguments, one per patient), a new array."""
        for board, tile, history, taken in zip(self.dashboards, self._tiles, histories, actions, strict=True):
            board.draw(history, taken, tile)
        return self.pixels.copy()


class HumanWindow:
    """``render_mode="human"``: frames shown in a matplotlib window at the environment's frame rate."""

    def __init__(self, title: str, fps: float) -> None:
        self.title, self.pause_s = title, 1.0 / fps
        self._image = None

    def show(self, frame: np.ndarray) -> None:
        import matplotlib.pyplot as plt

        if self._image is None:
            fig = plt.figure(self.title, figsize=(frame.shape[1] / FRAME_DPI, frame.shape[0] / FRAME_DPI))
            ax = fig.add_axes((0, 0, 1, 1))
            ax.set_axis_off()
            self._image = ax.imshow(frame)
        else:
            self._image.set_data(frame)
        plt.pause(self.pause_s)

    def close(self) -> None:
        if self._image is not None:
            import matplotlib.pyplot as plt

            plt.close(self._image.figure)
            self._image = None
