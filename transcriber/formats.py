"""Write a transcript as JSON, SubRip (srt), WebVTT (vtt) or plain text."""

from __future__ import annotations

from collections.abc import Callable

from transcriber.schema import Segment, Transcript

FORMATS = ("json", "srt", "vtt", "txt")


def _stamp(seconds: float, sep: str) -> str:
    ms = int(round(seconds * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _label(segment: Segment) -> str:
    flag = " (?)" if segment.low_confidence else ""
    return f"[{segment.role}]{flag} " if segment.role != "unknown" else ("(?) " if flag else "")


def to_srt(t: Transcript) -> str:
    blocks = [
        f"{i}\n{_stamp(s.start, ',')} --> {_stamp(s.end, ',')}\n{_label(s)}{s.text}\n"
        for i, s in enumerate(t.segments, 1)
    ]
    return "\n".join(blocks)


def to_vtt(t: Transcript) -> str:
    blocks = [f"{_stamp(s.start, '.')} --> {_stamp(s.end, '.')}\n{_label(s)}{s.text}\n" for s in t.segments]
    return "WEBVTT\n\n" + "\n".join(blocks)


def to_txt(t: Transcript) -> str:
    return "".join(f"{_label(s)}{s.text}\n" for s in t.segments)


def render(t: Transcript, fmt: str) -> str:
    writers: dict[str, Callable[[Transcript], str]] = {
        "json": lambda x: x.to_json() + "\n", "srt": to_srt, "vtt": to_vtt, "txt": to_txt,
    }  # fmt: skip
    if fmt not in writers:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return writers[fmt](t)
