"""Which Prefect task runner carries the per-recording tasks.

- ``flows.dask_address`` (``CALLQA_DASK_ADDRESS``) = ``tcp://scheduler:8786``: an existing Dask
  cluster; each Dask worker process keeps one transcriber (the model loads once per worker).
- ``local`` or ``local:N``: a Dask LocalCluster of N single-threaded worker processes on this
  machine (default 2), i.e. a local process pool.
- empty (the default): a bounded thread pool in the flow's process sharing one loaded model
  (CTranslate2 releases the GIL while it decodes).

Each process runs one task more than ``flows.transcribe_concurrency`` at a time while a
semaphore lets only ``transcribe_concurrency`` of them transcribe: the extra task does its
Prefect bookkeeping, staging, registration and screening while the others transcribe, so
orchestration overlaps the work instead of adding to it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from prefect.task_runners import ThreadPoolTaskRunner

from callqa.config import Settings
from callqa.errors import ConfigError
from flows.worker import transcribe_concurrency


def _is_local(address: str) -> bool:
    """``local`` or ``local:N``: Dask worker processes on this machine."""
    return address == "local" or address.startswith("local:")


def _local_workers(address: str) -> int:
    _, _, count = address.partition(":")
    try:
        workers = int(count) if count else 2
    except ValueError as exc:
        raise ConfigError(f"flows.dask_address {address!r}: write 'local' or 'local:N' with N a number") from exc
    if workers < 1:
        raise ConfigError(f"flows.dask_address {address!r}: needs at least one worker")
    return workers


def fit_to_runner(settings: Settings) -> Settings:
    """Settings whose automatic concurrency (0) suits the runner: with ``local:N`` worker
    processes on one machine, each gets cores / N transcriptions and decodes at once, so the
    machine is not asked for N times its cores."""
    address = settings.flows.dask_address.strip()
    if not _is_local(address):
        return settings
    share = max(1, transcribe_concurrency(settings) // _local_workers(address))
    flows, transcriber = settings.flows, settings.transcriber
    if flows.transcribe_concurrency == 0:
        flows = dataclasses.replace(flows, transcribe_concurrency=share)
    if transcriber.decode_workers == 0:
        transcriber = dataclasses.replace(transcriber, decode_workers=share)
    return dataclasses.replace(settings, flows=flows, transcriber=transcriber)


def slots(settings: Settings) -> int:
    """Tasks one process runs at once: the transcriptions plus one doing everything else."""
    return transcribe_concurrency(settings) + 1


def task_runner(settings: Settings) -> Any:
    address = settings.flows.dask_address.strip()
    if not address:
        return ThreadPoolTaskRunner(max_workers=slots(settings))
    from prefect.settings import PREFECT_API_URL
    from prefect_dask import DaskTaskRunner

    if not PREFECT_API_URL.value():
        # Dask worker processes would each start a private temporary server and report nowhere useful
        raise ConfigError(f"flows.dask_address is {address!r} but no Prefect server is configured: start one "
                          "with `prefect server start` and export PREFECT_API_URL=http://127.0.0.1:4200/api")
    if _is_local(address):
        return DaskTaskRunner(cluster_kwargs={"n_workers": _local_workers(address), "threads_per_worker": slots(settings),
                                              "processes": True, "dashboard_address": None})
    return DaskTaskRunner(address=address)


def describe_runner(settings: Settings) -> str:
    address = settings.flows.dask_address.strip()
    if not address:
        return f"threads x{slots(settings)} ({transcribe_concurrency(settings)} transcribing)"
    if _is_local(address):
        return f"dask local x{_local_workers(address)}"
    return f"dask {address}"
