"""A call's recording (with HTTP range requests, so the player can seek) and its picture.

Both are found by call id only: the file path comes from the database row,
never from the request.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy.orm import Session

from callqa.config import Settings
from callqa.errors import AudioDecodeError, NotFoundError
from review.calls.repo import current_findings
from review.store.files import audio_cache, picture_cache
from review.store.models import Call, User
from review.web.call_view import load_call, moments
from review.web.deps import current_user, db, language_of, state_of
from review.web.i18n import translations
from review.web.picture import PICTURE_RATE, MarkedSpan, decode_stereo, render_png

router = APIRouter(tags=["media"])
log = logging.getLogger("callqa.web")
NO_STORE = "no-store"
PLAYABLE = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".opus": "audio/ogg",
            ".flac": "audio/flac", ".webm": "audio/webm", ".m4a": "audio/mp4"}


def recording_file(call: Call, settings: Settings) -> Path:
    """The call's recording, named in the database relative to CALLQA_HOME (never the working folder)."""
    if call.status == "deleted":
        raise NotFoundError(f"the recording of call {call.id!r} was deleted under the retention policy")
    path = settings.resolve_stored(call.recording_path)
    if not path.is_file():
        # the path stays in the server log: error pages never show where files live
        log.warning("call %s: recording not found at %s", call.id, path)
        raise NotFoundError(f"the recording of call {call.id!r} is not in the recording store; "
                            "restore it from the archive (`callqa audit verify --files` lists missing files)")
    return path


def playable_file(call: Call, settings: Settings) -> tuple[Path, str]:
    """The recording itself if browsers play it, else a WAV copy made once with ffmpeg."""
    source = recording_file(call, settings)
    media_type = PLAYABLE.get(source.suffix.lower())
    if media_type:
        return source, media_type
    cached = audio_cache(settings, call.recording_sha256)
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.part.wav")
        result = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(source), "-ac", "2",
                                 "-ar", "16000", str(partial)], capture_output=True, timeout=300, check=False)
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            log.warning("call %s: ffmpeg cannot convert %s: %s", call.id, source,
                        result.stderr.decode("utf-8", "replace").strip()[-200:])
            raise AudioDecodeError(f"the recording of call {call.id!r} cannot be converted for the browser")
        partial.replace(cached)
    return cached, "audio/wav"


@router.get("/calls/{call_id}/audio", summary="The call's recording; supports Range requests")
def audio(call_id: str, request: Request, user: User = Depends(current_user),
          session: Session = Depends(db, scope="function")) -> Response:
    call, _ = load_call(session, user, call_id)
    path, media_type = playable_file(call, state_of(request).settings)
    return FileResponse(path, media_type=media_type, headers={"cache-control": NO_STORE})


@router.get("/calls/{call_id}/picture.png", summary="Both channels' waveform with the findings marked")
def picture(call_id: str, request: Request, user: User = Depends(current_user),
            session: Session = Depends(db, scope="function")) -> Response:
    call, _ = load_call(session, user, call_id)
    settings = state_of(request).settings
    findings = current_findings(session, call_id)
    # moments only, numbered as on the page; call-level findings are notes, not a span from 0:00
    spans = [MarkedSpan(f.start or 0.0, f.end if f.end is not None else f.start or 0.0, str(n), f.severity)
             for n, f in enumerate(moments(list(findings)), start=1)]
    # the channel labels are drawn into the picture, so they come in the reader's language
    gettext = translations(language_of(request)).gettext
    labels = (gettext("agent (left)"), gettext("customer (right)"))
    key = hashlib.sha256(repr((call.recording_sha256, [(s.start, s.end, s.label, s.severity) for s in spans],
                               labels)).encode()).hexdigest()[:32]
    cached = picture_cache(settings, call.recording_sha256, key)
    if not cached.exists():
        audio_data = decode_stereo(recording_file(call, settings))
        duration = audio_data.shape[1] / PICTURE_RATE  # the player's time axis, whatever the metadata says
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(render_png(audio_data, duration, spans, labels))
        partial.replace(cached)
    return FileResponse(cached, media_type="image/png", headers={"cache-control": NO_STORE})
