"""`callqa serve` starts the app on the configured database and answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from callqa.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_callqa_serve_answers(settings: Settings) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CALLQA_HOME": str(settings.home)}
    proc = subprocess.Popen([sys.executable, "-m", "flows.cli", "serve", "--port", str(port), "--log-level",
                             "warning"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2, headers={"accept-language": "en"})
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "serve exited"
                assert time.monotonic() < deadline, "callqa serve did not answer within 60 s"
                time.sleep(0.3)
        assert response.status_code == 200 and "Sign in" in response.text
        assert httpx.get(f"http://127.0.0.1:{port}/api/queue").status_code == 401
        # it made the database and kept a generated secret key, readable by its owner only
        assert (settings.home / "callqa.db").exists()
        assert oct((settings.home / "secret_key").stat().st_mode & 0o777) == "0o600"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
