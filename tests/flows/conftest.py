"""Fixtures for the flow tests: one Prefect test server per session, one assembled Whisper model
per session, and small call-like recordings built from the shared clips."""

from __future__ import annotations

import os
import tempfile
import wave
from collections.abc import Iterator
from pathlib import Path

# Prefect reads these when it is first imported: set them before anything imports it.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="callqa-prefect-home-"))
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from callqa.config import Settings, load_settings  # noqa: E402
from transcriber.audio import write_wav  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "recordings"
SHARED = Path(os.environ.get("CALLQA_SHARED_AUDIO", REPO.parent / "shared" / "audio"))
if not (SHARED / "manifest.jsonl").exists():
    SHARED = Path("/work/shared/audio")
SR = 16000


def read_clip(name: str) -> np.ndarray:
    with wave.open(str(SHARED / name), "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0


def write_call(path: Path, agent: str, customer: str, *, gap_s: float = 0.3, tone: float = 0.0,
               max_s: float = 60.0) -> Path:
    """A stereo recording: the agent clip on the left, then the customer clip on the right.

    ``tone`` adds a faint, inaudible-to-ASR offset so two calls built from the same clips differ
    in their bytes (and so in their SHA-256)."""
    a, c = read_clip(agent)[: int(max_s * SR)], read_clip(customer)[: int(max_s * SR)]
    gap = int(gap_s * SR)
    total = len(a) + gap + len(c)
    stereo = np.zeros((2, total), np.float32)
    stereo[0, : len(a)] = a
    stereo[1, len(a) + gap:] = c
    stereo += tone
    return write_wav(path, stereo)


SHORT_CLIPS = ("zh_aishell1-S0764W0121.wav", "zh_aishell1-S0764W0122.wav", "zh_aishell1-S0724W0121.wav",
               "zh_fireredasr2s-hello.wav")


def short_calls(folder: Path, count: int) -> list[Path]:
    """``count`` distinct short Mandarin calls (about 5 s each) with a sidecar."""
    paths, rows = [], ["file,call_id,agent_id,debtor_id,started_at,direction,channel_layout"]
    for n in range(count):
        agent, customer = SHORT_CLIPS[n % 3], SHORT_CLIPS[3 - n % 3]
        path = write_call(folder / f"call_{n:02d}.wav", agent, customer, tone=0.0001 * (n + 1), max_s=2.5)
        paths.append(path)
        rows.append(f"{path.name},T-{n:03d},A{n % 2},D{n},2026-11-27T10:{n:02d}:00+08:00,outbound,agent_left")
    (folder / "metadata.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return paths


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The offline Whisper base model, assembled once for the whole session."""
    from transcriber.models import resolve_model

    cache = tmp_path_factory.mktemp("models")
    resolve_model("base", Settings().transcriber, cache)
    return cache


@pytest.fixture
def flow_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_cache: Path) -> Settings:
    """Settings under a fresh CALLQA_HOME (SQLite there) that reuse the session's model."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "models").symlink_to(model_cache, target_is_directory=True)
    monkeypatch.setenv("CALLQA_HOME", str(home))
    monkeypatch.setenv("CALLQA_TRANSCRIBER__BEAM_SIZE", "1")  # tests check wiring, not accuracy
    monkeypatch.delenv("CALLQA_DATABASE_URL", raising=False)
    monkeypatch.delenv("CALLQA_CONFIG", raising=False)
    monkeypatch.delenv("CALLQA_DASK_ADDRESS", raising=False)
    from flows import worker

    worker.reset()
    return load_settings()


@pytest.fixture
def plain_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings under a fresh CALLQA_HOME for tests that need no model."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("CALLQA_HOME", str(home))
    monkeypatch.delenv("CALLQA_DATABASE_URL", raising=False)
    monkeypatch.delenv("CALLQA_CONFIG", raising=False)
    from flows import worker

    worker.reset()
    yield load_settings()
    worker.reset()


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """One temporary Prefect server for the session; its URL is exported for subprocesses and Dask workers."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        url = str(PREFECT_API_URL.value())
        previous = os.environ.get("PREFECT_API_URL")
        os.environ["PREFECT_API_URL"] = url
        try:
            yield url
        finally:
            if previous is None:
                os.environ.pop("PREFECT_API_URL", None)
            else:
                os.environ["PREFECT_API_URL"] = previous
