"""Files the store names: where they lie under CALLQA_HOME, what derives from a recording,
deleting them for real, and the check that rows and files agree (``callqa audit verify --files``).

The database names every file relative to CALLQA_HOME (``recordings/ab/<sha>.wav``,
``transcripts/<call>/<model>.json``); ``Settings.resolve_stored`` turns that into the file,
so no command depends on the folder it runs from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from callqa.config import Settings
from review.store.models import Call, Transcript


def audio_cache(settings: Settings, sha256: str) -> Path:
    """The browser-playable WAV copy the web UI makes of a recording browsers cannot play."""
    return settings.cache_dir / "audio" / f"{sha256}.wav"


def picture_cache(settings: Settings, sha256: str, key: str) -> Path:
    # named by the recording's SHA-256 first, so retention finds every picture of a recording
    return settings.cache_dir / "pictures" / f"{sha256}-{key}.png"


def derived_files(settings: Settings, sha256: str) -> list[Path]:
    """Files made from a recording that exist now: its cached WAV and its pictures."""
    found = [p for p in (audio_cache(settings, sha256),) if p.exists()]
    pictures = settings.cache_dir / "pictures"
    if pictures.is_dir():
        found += sorted(pictures.glob(f"{sha256}-*.png"))
    return found


def delete_file(path: Path) -> str | None:
    """Delete one file and check it is gone; None when it is, else why not."""
    try:
        path.unlink()
    except FileNotFoundError:
        return f"{path}: not found, nothing deleted"
    except OSError as exc:
        return f"{path}: cannot delete ({exc.strerror or exc})"
    if path.exists() or path.is_symlink():
        return f"{path}: still there after deletion"
    return None


@dataclass
class FilesReport:
    missing: list[str] = field(default_factory=list)  # "call X recording: <stored path>"
    orphans: list[Path] = field(default_factory=list)  # files under the store no row names
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.missing and not self.orphans


def check_files(session: Session, settings: Settings) -> FilesReport:
    """Rows whose files are missing, and recordings, transcripts and cached copies no row names."""
    report = FilesReport()
    named: set[Path] = set()
    live_shas: set[str] = set()
    calls = session.execute(select(Call.id, Call.recording_path, Call.recording_sha256, Call.status)).all()
    for call_id, stored, sha, status in calls:
        if status == "deleted":
            continue
        live_shas.add(sha)
        path = settings.resolve_stored(stored).resolve()
        named.add(path)
        report.checked += 1
        if not path.is_file():
            report.missing.append(f"call {call_id} recording: {stored}")
    for transcript_id, owner, transcript_path in session.execute(
            select(Transcript.id, Transcript.call_id, Transcript.path).where(Transcript.path.is_not(None))).all():
        path = settings.resolve_stored(str(transcript_path)).resolve()
        named.add(path)
        report.checked += 1
        if not path.is_file():
            report.missing.append(f"call {owner} transcript {transcript_id}: {transcript_path}")
    for folder in (settings.recordings_dir, settings.transcripts_dir):
        if folder.is_dir():
            report.orphans += [p for p in sorted(folder.rglob("*"))
                               if p.is_file() and not p.name.endswith((".part", ".tmp")) and p.resolve() not in named]
    cache = settings.cache_dir
    for path in sorted((cache / "audio").glob("*.wav")) + sorted((cache / "pictures").glob("*.png")):
        if path.name[:64] not in live_shas:
            report.orphans.append(path)
    return report
