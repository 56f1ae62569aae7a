"""Plain-text tables for the end of a run (no colours: they go to logs and CI output too)."""

from __future__ import annotations

from collections.abc import Sequence

from flows.nightly import NightSummary


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = "+".join("-" * (w + 2) for w in widths)
    out = [f"+{line}+"]
    for n, row in enumerate(cells):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if n == 0:
            out.append(f"+{line}+")
    out.append(f"+{line}+")
    return "\n".join(out)


def night_table(summary: NightSummary) -> str:
    rows = [
        ("recordings in the inbox", summary.discovered),
        ("already done before tonight", summary.already_done),
        ("resumed from an interrupted run", summary.resumed),
        ("calls ingested", summary.ingested),
        ("transcribed", summary.transcribed),
        ("flagged", summary.flagged),
        ("queued for review", summary.queued),
        ("sampled for QA", summary.sampled),
        ("failures", len(summary.failures)),
        ("audio hours", f"{summary.audio_s / 3600:.3f}"),
        ("wall time (s)", f"{summary.wall_s:.1f}"),
        ("task runner", summary.runner),
    ]
    text = table(rows, ("night", "count"))
    if summary.failures:
        text += "\n" + table([(f.name, f.reason[:100], f.quarantine_path or "-") for f in summary.failures],
                             ("failed recording", "reason", "quarantined at"))
    if summary.report_dir:
        text += f"\nreport: {summary.report_dir}"
    for note in summary.notes:
        text += f"\nnote: {note}"
    return text
