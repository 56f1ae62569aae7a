"""Prefect defaults for an offline, private pipeline; imported before Prefect itself.

Only defaults: a value the operator set in the environment wins.
"""

from __future__ import annotations

import os

DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # no usage telemetry from the server
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",  # the temporary server is slow on 2 cores
    "PREFECT_UI_ENABLED": "false",  # the temporary server needs no UI; `prefect server start` has its own
    "PREFECT_LOGGING_LEVEL": "WARNING",  # our progress lines, not Prefect's chatter
    "HF_HUB_OFFLINE": "1",  # nothing is fetched from the Hugging Face hub unless asked for
}


def apply() -> None:
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)


apply()
