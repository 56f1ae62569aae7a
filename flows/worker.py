"""What one worker process keeps between recordings: the database engine, the transcriber
(so the Whisper model is loaded once per process) and the rule-pack screeners.

A worker is the flow's own process (thread pool) or a Dask worker process; module globals
live once per process, which is exactly the sharing we want.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from callqa.config import Settings

_lock = threading.Lock()
_engines: dict[str, tuple[Engine, sessionmaker[Session]]] = {}
_transcribers: dict[str, Any] = {}
_screeners: dict[tuple[tuple[str, ...], str, str], Any] = {}
_slots: dict[int, threading.BoundedSemaphore] = {}
_initialised: set[str] = set()
# how many Transcriber objects (each loading its models once) this process built
stats = {"transcribers_built": 0}


def session_factory(settings: Settings) -> sessionmaker[Session]:
    """The process's session factory for the configured database, migrated on first use."""
    from review.store.db import init_db, make_engine

    url = settings.db_url
    with _lock:
        if url not in _engines:
            engine = make_engine(url)
            if url not in _initialised:
                init_db(engine)
                _initialised.add(url)
            _engines[url] = (engine, sessionmaker(engine, expire_on_commit=False))
        return _engines[url][1]


def transcriber(settings: Settings) -> Any:
    """The process's Transcriber for these settings (models load once per process).

    A recording's own channel layout travels in its metadata (``channels``), which the
    transcriber reads per call, so every layout shares this one.
    """
    from transcriber import Transcriber

    key = repr((settings.transcriber, str(settings.model_cache)))
    with _lock:
        if key not in _transcribers:
            _transcribers[key] = Transcriber(settings.transcriber, settings.model_cache)
            stats["transcribers_built"] += 1
        return _transcribers[key]


def screener(settings: Settings, language: str | None) -> Any:
    """A Screener over the packs for this language (configured packs win), cached per process."""
    from review.screening import Screener, load_packs

    names = tuple(settings.screening.packs)
    key = (names, language or "", settings.screening.packs_dir)
    with _lock:
        if key not in _screeners:
            _screeners[key] = Screener(load_packs(list(names) or None, language))
        return _screeners[key]


@contextmanager
def transcription_slot(settings: Settings) -> Iterator[None]:
    """Bound concurrent transcriptions in this process to flows.transcribe_concurrency."""
    limit = transcribe_concurrency(settings)
    with _lock:
        slot = _slots.setdefault(limit, threading.BoundedSemaphore(limit))
    with slot:
        yield


def transcribe_concurrency(settings: Settings) -> int:
    """Transcriptions at once in one process: the setting, or one per core the process may use
    (each decode runs on one core; see transcriber.backends.faster.thread_layout)."""
    from transcriber.backends.faster import cpu_cores

    return settings.flows.transcribe_concurrency if settings.flows.transcribe_concurrency > 0 else cpu_cores()


def identity() -> dict[str, Any]:
    """Which process did the work: goes into the audit payload and the outcome."""
    return {"pid": os.getpid(), "host": os.uname().nodename, "transcribers_built": stats["transcribers_built"]}


def reset() -> None:
    """Forget cached engines, transcribers and screeners (tests, and after a settings change)."""
    with _lock:
        for engine, _ in _engines.values():
            engine.dispose()
        _engines.clear()
        _transcribers.clear()
        _screeners.clear()
        _initialised.clear()
