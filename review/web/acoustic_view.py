"""The call page's silence and overtalk: the track under the waveform and the stretches "skip silence" jumps.

The track draws what the transcriber stored in ``transcript["metadata"]["acoustic"]`` (``long_silences``,
both channels quiet at least 8 s; ``overtalk``, both speaking at least 1.5 s; see transcriber.acoustic)
plus the shorter pauses skip silence jumps over. A call without those features (a mono recording, or one
transcribed before they were computed) gets no track, never an error.

Skip silence needs pauses far shorter than 8 s, which the stored features do not keep; the gaps between
the transcript's lines (both channels together) are where nobody said anything the recogniser heard, so
those gaps joined with the stored long silences are the quiet stretches. Each keeps ``KEEP_S`` at both
edges so the first and last syllables around it are not clipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from callqa.intervals import Interval, union

SKIP_MIN_S = 1.5  # quiet stretches shorter than this are part of the conversation's rhythm: played
KEEP_S = 0.3  # kept at each edge of a skipped stretch so words around it are not clipped
TRACK_WIDTH = 1000.0  # the track's SVG viewBox width: x = TRACK_WIDTH * seconds / duration
MIN_MARK = 1.5  # a stretch is drawn at least this wide (viewBox units) so a short one stays clickable


@dataclass(frozen=True)
class Stretch:
    kind: str  # overtalk | silence | pause
    start: float
    end: float
    x: float  # where it starts on the track, in viewBox units (proportional to time)
    width: float


@dataclass(frozen=True)
class AcousticTrack:
    stretches: list[Stretch]
    width: float = TRACK_WIDTH

    def count(self, kind: str) -> int:
        return sum(1 for s in self.stretches if s.kind == kind)


def _spans(raw: Any) -> list[Interval]:
    """[{start, end}] as stored; anything malformed is left out (a page must not fail on old data)."""
    out: list[Interval] = []
    for span in raw if isinstance(raw, list) else []:
        try:
            start, end = float(span["start"]), float(span["end"])
        except (TypeError, KeyError, ValueError):
            continue
        if end > start:
            out.append((start, end))
    return out


def features(document: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The stored acoustic features, or None when the transcriber computed none for this call."""
    metadata = document.get("metadata")
    acoustic = metadata.get("acoustic") if isinstance(metadata, Mapping) else None
    return acoustic if isinstance(acoustic, Mapping) else None


def quiet_stretches(document: Mapping[str, Any], duration_s: float, minimum: float = SKIP_MIN_S) -> list[Interval]:
    """Where neither channel speaks for at least ``minimum`` seconds, in time order."""
    spoken: list[Interval] = []
    for segment in document.get("segments") or []:
        try:
            spoken.append((float(segment["start"]), float(segment["end"])))
        except (TypeError, KeyError, ValueError):
            continue
    if not spoken:
        return []  # no transcript: nothing says where the speech is, so nothing is skipped
    gaps: list[Interval] = []
    cursor = 0.0
    for start, end in union(spoken):
        if start > cursor:
            gaps.append((cursor, start))
        cursor = max(cursor, end)
    if duration_s > cursor:
        gaps.append((cursor, duration_s))
    acoustic = features(document)
    long_silences = _spans(acoustic.get("long_silences")) if acoustic is not None else []
    return [(s, e) for s, e in union(gaps + long_silences) if e - s >= minimum]


def skip_ranges(quiet: Sequence[Interval], keep: float = KEEP_S) -> list[list[float]]:
    """[from, to] pairs: playback reaching ``from`` jumps to ``to`` (each quiet stretch less its edges)."""
    return [[round(s + keep, 2), round(e - keep, 2)] for s, e in quiet if e - s > 2 * keep]


def acoustic_track(document: Mapping[str, Any], duration_s: float) -> AcousticTrack | None:
    """The track's stretches placed on its time axis; None for a call without acoustic features."""
    acoustic = features(document)
    if acoustic is None or duration_s <= 0:
        return None
    scale = TRACK_WIDTH / duration_s

    def place(kind: str, spans: Iterable[Interval]) -> list[Stretch]:
        out = []
        for start, end in spans:
            start, end = max(0.0, start), min(duration_s, end)
            if end > start:
                x = round(start * scale, 2)
                out.append(Stretch(kind, round(start, 2), round(end, 2), x,
                                   round(min(max((end - start) * scale, MIN_MARK), TRACK_WIDTH - x), 2)))
        return out

    # pauses first: a long silence is drawn over its own pause
    return AcousticTrack(place("pause", quiet_stretches(document, duration_s))
                         + place("silence", _spans(acoustic.get("long_silences")))
                         + place("overtalk", _spans(acoustic.get("overtalk"))))
