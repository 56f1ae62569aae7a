"""Recording in, Transcript out: decode -> split channels -> VAD -> route -> decode -> normalise.

Voice activity detection cuts each channel of a call into speech chunks (turns). The chunks of
both channels are packed in time order into windows of at most 28 s of speech, so Whisper never
spends time on silence or hold music and hears the conversation as it went; every word is
mapped back to the chunk, and so the channel (role), it came from. A segment never spans two
turns and keeps its true time; segments are merged in time order. Turns Whisper skipped (it
sometimes ends a window early) are decoded once more on their own.

Language identification looks at the call's first window exactly as it will be decoded, so the
backend's one encoder pass over it serves both. The windows of a piece are independent and are
decoded side by side when the backend runs several decodes at once (faster-whisper: one per core).

Recordings are read in pieces of a few minutes, cut at the quietest moment, so memory stays
bounded for calls of many hours.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from callqa.config import TranscriberSettings
from callqa.errors import CallQAError, TranscriptionError
from transcriber import audio as audio_io
from transcriber.acoustic import AcousticCollector
from transcriber.backends import Backend, DecodeOptions, RawSegment, create_backend
from transcriber.backends.faster import choose_compute_type
from transcriber.dialects import DialectRegistry, Route, route
from transcriber.models import model_available, resolve_model
from transcriber.normalize import clean_text, is_chinese, is_hallucination, low_confidence, to_simplified
from transcriber.schema import Segment, Transcript, Word, validate
from transcriber.vad import SpeechChunk, VadSettings, pack_windows, speech_chunks

SR = audio_io.SAMPLE_RATE
PIECE_S = 300.0  # process long recordings this many seconds at a time
READ_S = 60.0
LISTED_MIN_MASS = 0.01  # below this, none of the registry's languages is a plausible guess (Minnan: 0.014)
CUT_SEARCH_S = 30.0  # look this far back from a piece's end for the quietest place to cut
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")


@dataclass
class _Piece:
    offset: int  # first sample of the piece in the recording
    channels: dict[str, np.ndarray]  # role -> mono samples


def _quiet_cut(buf: np.ndarray, target: int) -> int:
    """The sample near ``target`` where all channels are quietest (a 100 ms frame)."""
    frame = SR // 10
    lo = max(target // 2, target - int(CUT_SEARCH_S * SR))
    region = np.abs(buf[:, lo:target]).max(axis=0)
    frames = region[: (region.size // frame) * frame].reshape(-1, frame).mean(axis=1)
    if frames.size == 0:
        return target
    latest = frames.size - 1 - int(np.argmin(frames[::-1]))  # of equally quiet places, the last
    return lo + latest * frame + frame // 2


def _pieces(path: Path, roles: Callable[[np.ndarray], dict[str, np.ndarray]]) -> Iterator[_Piece]:
    piece = int(PIECE_S * SR)
    buf: np.ndarray | None = None
    offset = 0
    for block in audio_io.iter_blocks(path, SR, READ_S):
        buf = block if buf is None else np.concatenate([buf, block], axis=1)
        if buf.shape[1] >= piece + int(READ_S * SR) // 2:
            cut = _quiet_cut(buf, piece)
            yield _Piece(offset, roles(buf[:, :cut]))
            offset += cut
            buf = buf[:, cut:]
    if buf is not None and buf.shape[1]:
        yield _Piece(offset, roles(buf))


def _channel_layout(given: Any, agent: int, customer: int, path: Path) -> tuple[int, int]:
    """(agent, customer) channel numbers: the call's ``metadata["channels"]`` when it names both
    (a site whose recorder puts the agent on the right), else the configured ones."""
    if given is None:
        return agent, customer
    try:
        pair = (int(given["agent"]), int(given["customer"]))
    except (TypeError, KeyError, ValueError) as exc:
        raise TranscriptionError(
            f'{path}: metadata "channels" must look like {{"agent": 0, "customer": 1}}, not {given!r}'
        ) from exc
    if pair[0] == pair[1] or min(pair) < 0:
        raise TranscriptionError(f'{path}: metadata "channels" {given!r} must name two different channels')
    return pair


class Transcriber:
    """Loads models lazily, once per process, and reuses them for every call."""

    def __init__(
        self, settings: TranscriberSettings, model_cache: Path, registry: DialectRegistry | None = None
    ) -> None:
        self.settings = settings
        self.model_cache = Path(model_cache)
        self.registry = registry or DialectRegistry.load(settings.dialects_file or None)
        self.vad = VadSettings()
        self._retry_min = int((1.0 + 2 * self.vad.pad_s) * SR)  # a second of voice besides the padding
        self._backends: dict[str, Backend] = {}
        self._pool: ThreadPoolExecutor | None = None  # decodes windows side by side (faster-whisper)
        self._pool_lock = threading.Lock()

    # -- models -----------------------------------------------------------------------------
    def _available(self, model: str) -> bool:
        return model_available(model, self.settings, self.model_cache)

    def backend(self, model: str) -> Backend:
        if model not in self._backends:
            path = resolve_model(model, self.settings, self.model_cache)
            s = self.settings
            self._backends[model] = create_backend(
                s.backend, path, model, s.compute_type, s.threads, s.decode_workers, s.cpu_isa
            )
        return self._backends[model]

    def model_for(self, dialect: str | None = None) -> str:
        if dialect is None or dialect not in self.registry.dialects:
            return self.settings.model
        return self.registry.pick_model(self.registry.dialects[dialect], self._available, self.settings.model)[0]

    def model_key(self, dialect: str | None = None) -> str:
        """``backend:model:compute_type`` of what transcribes calls of ``dialect`` (None: the default)."""
        # openai-whisper computes in float32 on CPU whatever transcriber.compute_type says
        s = self.settings
        compute = "float32" if s.backend == "openai-whisper" else choose_compute_type(s.compute_type, s.cpu_isa)
        return f"{self.settings.backend}:{self.model_for(dialect)}:{compute}"

    # -- one call ---------------------------------------------------------------------------
    def transcribe(self, path: str | Path, call_id: str, metadata: Mapping[str, Any] | None = None) -> Transcript:
        """Transcribe one recording. Raises AudioDecodeError (bad file) or TranscriptionError."""
        path = Path(path)
        meta: dict[str, Any] = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in (metadata or {}).items()}
        info = audio_io.probe(path)
        s = self.settings
        agent, customer = _channel_layout(meta.get("channels"), s.agent_channel, s.customer_channel, path)
        stereo = info.channels >= 2 and max(agent, customer) < info.channels
        layout: dict[str, bool] = {"stereo": stereo}

        def roles(block: np.ndarray) -> dict[str, np.ndarray]:
            if layout["stereo"]:
                split = audio_io.split_channels(block, agent, customer)
                if split is not None:
                    return split
                layout["stereo"] = False  # the same signal on both sides: one voice track
            return {"unknown": block.mean(axis=0) if block.shape[0] > 1 else block[0]}

        acoustic = AcousticCollector()
        segments: list[Segment] = []
        chosen: Route | None = None
        samples = 0
        capped = 0
        for piece in _pieces(path, roles):
            samples = piece.offset + next(iter(piece.channels.values())).size
            chunks = {role: speech_chunks(x, self.vad, role) for role, x in piece.channels.items()}
            merged = sorted((c for found in chunks.values() for c in found), key=lambda c: (c.start, c.end))
            windows = pack_windows(merged, self.vad.window_s)  # both channels' turns, in time order
            if chosen is None:
                chosen = self._route(meta, piece, windows)
            found, n_capped = self._transcribe_piece(piece, windows, chosen)
            capped += n_capped
            segments.extend(found)
            for role in ("agent", "customer"):
                if role in chunks:
                    acoustic.add_speech(role, [c.trimmed(self.vad.pad_s, piece.offset) for c in chunks[role]])
            for seg in found:
                if seg.role == "agent":
                    a, b = int(seg.start * SR) - piece.offset, int(seg.end * SR) - piece.offset
                    level = audio_io.rms_dbfs(piece.channels["agent"][max(a, 0) : b])
                    acoustic.add_agent_level(seg.start, seg.end, level)
        assert chosen is not None  # iter_blocks yields at least one block or raises
        segments.sort(key=lambda seg: (seg.start, seg.end))
        duration = samples / SR
        meta = json.loads(json.dumps(meta, default=str))  # whatever a sidecar held, as JSON
        started_at = meta.get("started_at")
        stereo_final = layout["stereo"]
        meta["routing"] = chosen.as_metadata()
        meta["acoustic"] = acoustic.result(duration) if stereo_final else None
        if capped:
            meta["decode_capped_windows"] = capped
        transcript = Transcript(
            call_id=call_id,
            started_at=started_at if isinstance(started_at, str) and _ISO.match(started_at) else None,
            duration_s=round(duration, 3),
            language=chosen.language or "unknown",
            dialect=chosen.dialect,
            backend=s.backend,
            model=chosen.model,
            channels={"agent": agent, "customer": customer} if stereo_final else None,
            segments=segments,
            metadata=meta,
        )
        validate(transcript.to_dict(), f"transcript of {path}")
        return transcript

    def transcribe_many(
        self, jobs: Iterable[tuple[str | Path, str, Mapping[str, Any] | None]], at_once: int = 0
    ) -> Iterator[tuple[int, Transcript | CallQAError]]:
        """Transcribe ``(path, call_id, metadata)`` jobs, ``at_once`` side by side (0: as many as the
        default model decodes at once); yields ``(index, transcript or the error)`` as each ends.

        One call alone leaves a core idle while it waits on its own windows in turn; two at once
        keep both busy. A bad recording yields its error and the others go on.
        """
        pending = list(jobs)
        if at_once <= 0:
            try:
                at_once = self.backend(self.settings.model).concurrency
            except CallQAError:
                at_once = 1  # no model: each job reports the error on its own
        if at_once <= 1 or len(pending) <= 1:
            for index, (path, call_id, metadata) in enumerate(pending):
                try:
                    yield index, self.transcribe(path, call_id, metadata)
                except CallQAError as exc:
                    yield index, exc
            return
        with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="callqa-call") as pool:
            futures = {pool.submit(self.transcribe, *job): index for index, job in enumerate(pending)}
            for future in as_completed(futures):
                try:
                    yield futures[future], future.result()
                except CallQAError as exc:
                    yield futures[future], exc

    def _route(self, metadata: dict[str, Any], piece: _Piece, windows: list[list[SpeechChunk]]) -> Route:
        def detect() -> tuple[str, float] | None:
            # the call's first window, exactly as it will be decoded, so the backend's encoder pass
            # over it serves both the language decision and the transcription
            return self._detect(self._packed(piece, windows[0])) if windows else None

        return route(
            self.registry, metadata, self._available, detect, self.settings.default_language, self.settings.model
        )

    def _detect(self, speech: np.ndarray) -> tuple[str, float]:
        """Whisper's language identification, restricted to the languages the registry routes.

        Dialects without a Whisper code are often heard as some unrelated language (base hears
        the Minnan clip as Vietnamese at 0.8), so the choice is made among the site's languages,
        with the probability renormalised over them. When none of them is plausible at all, the
        plain answer goes to routing, which trusts an unlisted language only when it is sure.
        """
        backend = self.backend(self.settings.model)
        probabilities = getattr(backend, "language_probabilities", None)
        if probabilities is None:
            return backend.detect_language(speech)
        probs: dict[str, float] = probabilities(speech)
        listed = {code: p for code, p in probs.items() if code in self.registry.languages()}
        mass = sum(listed.values())
        if mass < LISTED_MIN_MASS:
            top = max(probs, key=lambda code: probs[code])
            return top, probs[top]
        best = max(listed, key=lambda code: listed[code])
        return best, listed[best] / mass

    def _language_for(self, backend: Backend, chosen: Route) -> str | None:
        languages = getattr(backend, "languages", None)
        if chosen.language and languages and chosen.language not in languages:
            return chosen.fallback_language or ("en" if languages == ["en"] else chosen.language)
        return chosen.language

    def _decode_window(self, backend: Backend, window: np.ndarray, language: str | None, prompt: str | None) -> tuple[list[RawSegment], bool]:
        """Decode one window with temperature fallback, giving up on further temperatures after
        ``max_decode_seconds_per_segment`` (a Minnan clip forced to zh once looped for 34 s)."""
        s = self.settings
        seconds = window.size / SR
        started = time.monotonic()
        best: list[RawSegment] | None = None
        best_score = -np.inf
        temperatures = DecodeOptions().temperature
        for i, temperature in enumerate(temperatures):
            if i and time.monotonic() - started > s.max_decode_seconds_per_segment:
                return best or [], True
            options = DecodeOptions(
                language=language, beam_size=s.beam_size, patience=s.patience, initial_prompt=prompt, temperature=(temperature,),
                word_timestamps=True, max_new_tokens=min(224, int(12 * seconds) + 48),
            )  # fmt: skip
            try:
                result = backend.transcribe(window, options).segments
            except (RuntimeError, ValueError) as exc:
                raise TranscriptionError(f"{backend.name} failed on a {seconds:.1f} s window ({exc})") from exc
            failed = [
                r for r in result
                if r.compression_ratio > options.compression_ratio_threshold
                or (r.avg_logprob < options.log_prob_threshold and r.no_speech_prob < options.no_speech_threshold)
            ]  # fmt: skip
            score = min((r.avg_logprob for r in result), default=0.0) - (10.0 if failed else 0.0)
            if best is None or score > best_score:
                best, best_score = result, score
            if not failed:
                break
        return best or [], False

    def _transcribe_piece(
        self, piece: _Piece, windows: list[list[SpeechChunk]], chosen: Route
    ) -> tuple[list[Segment], int]:
        if not windows:
            return [], 0
        backend = self.backend(chosen.model)
        language = self._language_for(backend, chosen)
        if backend.concurrency > 1 and len(windows) > 1:
            # the windows of a piece are independent: decode them side by side, in order of results
            results = list(self._executor(backend.concurrency).map(
                lambda window: self._decode_with_retry(backend, piece, window, language, chosen), windows
            ))  # fmt: skip
        else:
            results = [self._decode_with_retry(backend, piece, window, language, chosen) for window in windows]
        return [seg for found, _ in results for seg in found], sum(capped for _, capped in results)

    def _executor(self, workers: int) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="callqa-decode")
            return self._pool

    def _decode_with_retry(
        self, backend: Backend, piece: _Piece, window: list[SpeechChunk], language: str | None, chosen: Route
    ) -> tuple[list[Segment], int]:
        found, missed, capped = self._decode_chunks(backend, piece, window, language, chosen)
        if missed and len(missed) < len(window):
            # Whisper sometimes ends a window early (a turn in another language or voice, a long
            # pause) and the turns after it are silently lost: hear those turns once more alone,
            # in the language they sound like among the site's (forced zh, English came out translated)
            heard_as = self._detect(self._packed(piece, missed))[0] if language else None
            retry_language = heard_as if heard_as in getattr(backend, "languages", [heard_as]) else language
            again, _, was_capped = self._decode_chunks(backend, piece, missed, retry_language, chosen)
            capped += was_capped
            found.extend(again)
        return found, capped

    @staticmethod
    def _packed(piece: _Piece, chunks: list[SpeechChunk]) -> np.ndarray:
        return np.concatenate([piece.channels[c.role][c.start : c.end] for c in chunks])

    def _decode_chunks(
        self, backend: Backend, piece: _Piece, window: list[SpeechChunk], language: str | None, chosen: Route
    ) -> tuple[list[Segment], list[SpeechChunk], int]:
        """Segments of one packed window, and the chunks of it Whisper said nothing about."""
        raw, was_capped = self._decode_window(backend, self._packed(piece, window), language, chosen.initial_prompt)
        found, heard = self._to_segments(raw, window, language, piece.offset)
        # a chunk shorter than a second is often a cough or a click: not worth a second pass
        missed = [c for i, c in enumerate(window) if i not in heard and c.end - c.start >= self._retry_min]
        return found, missed, int(was_capped)

    def _to_segments(
        self, raw: list[RawSegment], window: list[SpeechChunk], language: str | None, offset: int
    ) -> tuple[list[Segment], set[int]]:
        """Map packed-window times back to the recording, splitting segments at turn boundaries."""
        starts = np.cumsum([0] + [c.end - c.start for c in window]) / SR

        def chunk_of(t: float) -> int:
            index = int(np.searchsorted(starts, t, side="right")) - 1
            return min(max(index, 0), len(window) - 1)

        def real(t: float, k: int) -> float:
            c = window[k]
            t = min(max(t, starts[k]), starts[k + 1])
            return round(float((offset + c.start) / SR + t - starts[k]), 3)

        out: list[Segment] = []
        heard: set[int] = set()
        for r in raw:
            groups: list[tuple[int, list[Word]]] = []
            if r.words:
                for raw_word in r.words:
                    k = chunk_of((raw_word.start + raw_word.end) / 2)
                    word = Word(real(raw_word.start, k), real(raw_word.end, k), raw_word.word,
                                round(float(raw_word.probability), 3))  # fmt: skip
                    if groups and groups[-1][0] == k:
                        groups[-1][1].append(word)
                    else:
                        groups.append((k, [word]))
            for k, words in groups or [(chunk_of((r.start + r.end) / 2), [])]:
                heard.add(k)
                text = "".join(w.word for w in words) if words else r.text
                cleaned = clean_text(text, language)
                if not cleaned or is_hallucination(cleaned):
                    continue
                start = words[0].start if words else real(r.start, k)
                end = words[-1].end if words else real(r.end, k)
                probs = [w.probability for w in words] or None
                if words:
                    for w in words:
                        w.word = to_simplified(w.word) if is_chinese(language) else w.word
                out.append(
                    Segment(
                        role=window[k].role,  # type: ignore[arg-type]
                        start=start,
                        end=max(end, start),
                        text=cleaned,
                        avg_logprob=round(r.avg_logprob, 4),
                        no_speech_prob=round(r.no_speech_prob, 4),
                        words=words if words and "".join(w.word for w in words).strip() == cleaned else None,
                        low_confidence=low_confidence(r.avg_logprob, r.no_speech_prob, r.compression_ratio, probs),
                    )
                )
        return out, heard
