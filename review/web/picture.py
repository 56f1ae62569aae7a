"""A picture of the call: both channels' waveform with the findings marked on the time axis.

The axes fill the whole image width so a click at x is the time x/width of the
call (the call page's script relies on that to seek).
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from callqa.errors import AudioDecodeError

PICTURE_RATE = 8000  # telephone band: enough for a waveform, quick to decode
COLUMNS = 1200
SEVERITY_COLOURS = {"critical": "#c0392b", "major": "#e67e22", "minor": "#d4ac0d"}


@dataclass(frozen=True)
class MarkedSpan:
    start: float
    end: float
    label: str
    severity: str


def decode_stereo(path: Path, rate: int = PICTURE_RATE) -> np.ndarray:
    """(2, samples) float32 in [-1, 1]; a mono recording is shown on both rows."""
    if shutil.which("ffmpeg") is None:
        raise AudioDecodeError("ffmpeg is not installed; install it (apt-get install ffmpeg) to draw calls")
    result = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "s16le", "-acodec", "pcm_s16le",
         "-ac", "2", "-ar", str(rate), "-"],
        capture_output=True, timeout=120, check=False)
    if result.returncode != 0:
        cause = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["unknown cause"]
        raise AudioDecodeError(f"{path}: ffmpeg cannot decode it ({cause[0]})")
    samples = np.frombuffer(result.stdout, dtype="<i2")
    if samples.size < 2:
        raise AudioDecodeError(f"{path}: no audio samples in the recording")
    return (samples[: samples.size // 2 * 2].reshape(-1, 2).T.astype(np.float32) / 32768.0)


def envelope(audio: np.ndarray, columns: int = COLUMNS) -> tuple[np.ndarray, np.ndarray]:
    """Per channel, the min and max of each of ``columns`` equal slices."""
    channels, n = audio.shape
    columns = max(1, min(columns, n))
    usable = n // columns * columns
    blocks = audio[:, :usable].reshape(channels, columns, -1)
    return blocks.min(axis=2), blocks.max(axis=2)


def label_places(spans: Sequence[MarkedSpan], duration_s: float, width_px: int = COLUMNS,
                 char_px: float = 6.0, rows: int = 2) -> list[tuple[float, int]]:
    """Where each span's label goes (time, row): labels that would overlap go to the next row, or
    are nudged right past the last one; none prints over another."""
    seconds_per_px = max(duration_s, 1e-6) / width_px
    ends = [-1e9] * rows  # where each row's last label ends, in seconds
    places = []
    for span in spans:
        width = (len(span.label) * char_px + 4) * seconds_per_px
        row = next((r for r in range(rows) if ends[r] <= span.start), None)
        if row is None:  # every row is taken here: after the row that frees first
            row = min(range(rows), key=lambda r: ends[r])
        x = max(span.start, ends[row])
        ends[row] = x + width
        places.append((x, row))
    return places


# matplotlib's own font has no Chinese; the Makefile installs WenQuanYi Zen Hei (fonts-wqy-zenhei),
# and a family missing on a machine is skipped with a warning, never an error
_FONTS = ["DejaVu Sans", "WenQuanYi Zen Hei", "sans-serif"]
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # "weight normal not found, using 500"


def render_png(audio: np.ndarray, duration_s: float, spans: Sequence[MarkedSpan],
               labels: Sequence[str] = ("agent (left)", "customer (right)")) -> bytes:
    from matplotlib.figure import Figure  # no pyplot: no global state, safe in server threads

    lows, highs = envelope(audio)
    x = np.linspace(0.0, duration_s, lows.shape[1])
    fig = Figure(figsize=(12, 2.6), dpi=100)
    fig.subplots_adjust(left=0.0, right=1.0, top=0.92, bottom=0.12, hspace=0.08)
    axes = fig.subplots(2, 1, sharex=True)
    for row, ax in enumerate(axes):
        ax.fill_between(x, lows[row], highs[row], color="#2c6e9b" if row == 0 else "#5a8f3c", linewidth=0)
        ax.set_xlim(0.0, duration_s)
        ax.set_ylim(-1.0, 1.0)
        ax.set_yticks([])
        ax.text(0.005, 0.88, labels[row], transform=ax.transAxes, fontsize=8, va="top", fontfamily=_FONTS)
        for span in spans:
            end = span.end if span.end > span.start else span.start + 0.3
            ax.axvspan(span.start, end, color=SEVERITY_COLOURS.get(span.severity, "#888888"), alpha=0.3)
    for span, (at, row) in zip(spans, label_places(spans, duration_s), strict=True):
        axes[0].text(at, 1.01 + 0.09 * row, span.label, fontsize=7, transform=axes[0].get_xaxis_transform(),
                     color=SEVERITY_COLOURS.get(span.severity, "#444444"), clip_on=False)
    axes[1].tick_params(axis="x", labelsize=7, pad=1)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
