"""The nightly flow: discover, then per recording (one Prefect task) register, transcribe, screen and
queue; then the compliance sample and the report.

One task per recording keeps Prefect's bookkeeping small next to the transcription. A task is
retried only for transient storage or database errors (steps.process lets nothing else
escape), and since every step is idempotent a retry or a re-run redoes nothing finished.
"""

from __future__ import annotations

# isort: off
import flows.prefect_env  # noqa: F401  - sets Prefect's offline defaults before Prefect reads them
# isort: on

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NONE
from prefect.futures import as_completed

from callqa.config import Settings, load_settings
from flows import worker
from flows.closing import NightClose, close_night
from flows.plan import QUARANTINED, ledger_for, plan_night
from flows.progress import Progress
from flows.quarantine import quarantine
from flows.runners import describe_runner, fit_to_runner, task_runner
from flows.steps import CallOutcome, WorkItem, process

TRANSCRIBE_TAG = "callqa-transcribe"  # `prefect concurrency-limit create callqa-transcribe N` caps it site-wide


@dataclass
class Failure:
    name: str
    reason: str
    quarantine_path: str | None


@dataclass
class NightSummary:
    inbox: str
    runner: str
    discovered: int = 0
    to_process: int = 0
    already_done: int = 0
    previously_quarantined: int = 0
    resumed: int = 0
    ingested: int = 0  # new calls registered tonight
    transcribed: int = 0  # transcripts made tonight
    screened: int = 0
    flagged: int = 0
    queued: int = 0  # flagged review items created tonight
    sampled: int = 0
    failures: list[Failure] = field(default_factory=list)
    audio_s: float = 0.0
    wall_s: float = 0.0
    work_s: float = 0.0  # time inside the per-recording work, summed over recordings
    transcribe_s: float = 0.0
    close_s: float = 0.0
    workers: list[dict[str, Any]] = field(default_factory=list)
    transcriptions_per_worker: int = 1  # at once, in each worker process (as this process reckons it)
    report_dir: str | None = None
    notes: list[str] = field(default_factory=list)
    outcomes: list[CallOutcome] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@task(name="process-recording", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE,
      persist_result=False, tags=[TRANSCRIBE_TAG])
def process_recording(settings: Settings, item: WorkItem) -> CallOutcome:
    return process(settings, item)


@task(name="sample-and-report", retries=2, retry_delay_seconds=[5, 30], cache_policy=NONE, persist_result=False)
def sample_and_report(settings: Settings, call_ids: list[str]) -> NightClose:
    return close_night(settings, worker.session_factory(settings), call_ids)


def _failed(settings: Settings, item: WorkItem, error: BaseException) -> CallOutcome:
    """A recording whose task failed even after its retries (storage or database kept failing)."""
    reason = f"gave up after retries: {type(error).__name__}: {error}"
    try:
        factory = worker.session_factory(settings)
    except Exception:  # noqa: BLE001 - the database may be what is failing
        factory = None
    where = quarantine(settings, factory, name=item.name, reason=reason,
                       source_url=item.source.url if item.source else None, call_id=item.call_id)
    return CallOutcome(name=item.name, call_id=item.call_id, ok=False, error=reason,
                       quarantine_path=str(where.recording or where.reason_file))


def _tally(summary: NightSummary, outcome: CallOutcome) -> None:
    summary.outcomes.append(outcome)
    summary.audio_s += outcome.duration_s
    summary.work_s += outcome.work_s
    summary.transcribe_s += outcome.transcribe_s
    summary.ingested += outcome.new_call
    summary.transcribed += outcome.transcribed
    summary.screened += outcome.screened
    summary.flagged += outcome.ok and outcome.flagged
    summary.queued += outcome.queued
    if not outcome.ok:
        summary.failures.append(Failure(outcome.name, outcome.error or "", outcome.quarantine_path))
    if outcome.worker and outcome.worker not in summary.workers:
        summary.workers = [w for w in summary.workers if w.get("pid") != outcome.worker.get("pid")]
        summary.workers.append(outcome.worker)


def process_all(settings: Settings, items: list[WorkItem], summary: NightSummary, progress: Progress, *,
                show_progress: bool, on_outcome: Callable[[WorkItem, CallOutcome], None] | None = None) -> None:
    """Run every item through ``process_recording`` and tally it as it finishes; a task that still
    fails after its retries becomes a quarantined failure, so one recording never stops the run."""
    futures = {process_recording.submit(settings, item): item for item in items}
    for future in as_completed(list(futures)):
        item = futures[future]
        try:
            outcome = future.result()
        except Exception as error:  # noqa: BLE001 - one recording never stops the run
            outcome = _failed(settings, item, error)
        _tally(summary, outcome)
        if on_outcome is not None:
            on_outcome(item, outcome)
        if show_progress:
            progress.report(outcome)


def run_night(settings: Settings, inbox: str | None = None, *, show_progress: bool = True) -> NightSummary:
    """The body of the nightly flow; call it inside a flow run (the tasks need one)."""
    started = time.perf_counter()
    settings = fit_to_runner(settings)  # a deployment's flow run loads its settings itself
    inbox = inbox or settings.inbox
    factory = worker.session_factory(settings)
    plan = plan_night(settings, factory, inbox)
    summary = NightSummary(inbox=inbox, runner=describe_runner(settings), discovered=plan.discovered,
                           to_process=len(plan.items), already_done=plan.already_done,
                           previously_quarantined=plan.previously_quarantined, resumed=plan.resumed,
                           transcriptions_per_worker=worker.transcribe_concurrency(settings))
    progress = Progress(total=len(plan.items))
    if show_progress:
        progress.start(plan.discovered, plan.already_done, plan.resumed)
    ledger = ledger_for(settings)

    def remember(item: WorkItem, outcome: CallOutcome) -> None:
        if item.source is not None and outcome.sha256 is not None:
            ledger.add(item.source, outcome.sha256 if outcome.ok else QUARANTINED + outcome.sha256)

    process_all(settings, plan.items, summary, progress, show_progress=show_progress, on_outcome=remember)
    finished = [o.call_id for o in summary.outcomes if o.ok and o.call_id]
    close_started = time.perf_counter()
    closing = sample_and_report.submit(settings, finished).result()
    summary.close_s = time.perf_counter() - close_started
    summary.sampled, summary.report_dir = closing.sampled, closing.report_dir
    summary.notes.extend(closing.notes)
    summary.wall_s = time.perf_counter() - started
    return summary


@flow(name="callqa-nightly", description="Ingest, transcribe, screen and queue one night of call recordings.",
      validate_parameters=False, persist_result=False)
def nightly(inbox: str | None = None, show_progress: bool = True, settings: Settings | None = None) -> NightSummary:
    """Run one night on ``inbox`` (default: the configured inbox); settings default to CALLQA_* and the TOML."""
    return run_night(settings or load_settings(), inbox, show_progress=show_progress)


def run_nightly(settings: Settings, inbox: str | None = None, *, show_progress: bool = True) -> NightSummary:
    """Run the nightly flow now, through Prefect, with the task runner the settings ask for."""
    settings = fit_to_runner(settings)
    configured = nightly.with_options(task_runner=task_runner(settings))
    return configured(inbox=inbox, show_progress=show_progress, settings=settings)
