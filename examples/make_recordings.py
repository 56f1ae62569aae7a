"""Regenerate examples/recordings: call-like recordings for the demo.

Mandarin calls mix real speech clips from ../shared/audio (only clips whose
upstream terms allow redistribution: AISHELL-1, Apache-2.0, MIT) into
two-channel recordings, agent on the left and customer on the right. English
calls are synthesized with espeak-ng: one where the agent threatens arrest,
one where the agent threatens to tell the debtor's employer, and one
compliant call. The results are committed, so the demo needs no synthesizer;
run this only to change them:

    .venv/bin/python examples/make_recordings.py [--shared ../shared/audio]

Needs ffmpeg and espeak-ng on PATH.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from transcriber.audio import write_wav  # noqa: E402

SR = 16000
GAP_S = 0.5
HERE = Path(__file__).resolve().parent
OUT = HERE / "recordings"
AGENT_VOICE = "en-us"
CUSTOMER_VOICE = "en-us+f3"


@dataclass(frozen=True)
class Turn:
    role: str  # agent | customer
    clip: str = ""  # a file in the shared audio folder
    say: str = ""  # English text for espeak-ng


@dataclass(frozen=True)
class Call:
    file: str
    call_id: str
    agent_id: str
    debtor_id: str
    started_at: str
    direction: str
    channel_layout: str  # agent_left | agent_right | mono
    language: str
    turns: tuple[Turn, ...]
    note: str


CALLS: tuple[Call, ...] = (
    Call("zh_call_01.wav", "ZH-0001", "A101", "D5001", "2026-11-27T09:12:00+08:00", "outbound", "agent_left", "zh",
         (Turn("agent", "zh_aishell1-S0764W0121.wav"), Turn("customer", "zh_sensevoice-sample.wav"),
          Turn("agent", "zh_aishell1-S0764W0122.wav"), Turn("customer", "zh_fireredasr2s-hello.wav")),
         "AISHELL-1 agent lines, customer asks about a flat"),
    Call("zh_call_02.mp3", "ZH-0002", "A102", "D5002", "2026-11-27T10:30:00+08:00", "outbound", "agent_left", "zh",
         (Turn("agent", "zh_fireredtts2-S2.wav"), Turn("customer", "zh_fireredtts2-S1.wav")),
         "spontaneous dialogue"),
    Call("zh_call_03.wav", "ZH-0003", "A101", "D5003", "2026-11-27T11:05:00+08:00", "inbound", "agent_right", "zh",
         (Turn("customer", "zh_editx-fear-female.wav"), Turn("agent", "zh_editx-paralinguistic.wav"),
          Turn("customer", "zh_editx-speed.wav"), Turn("agent", "zh_aishell1-S0724W0121.wav")),
         "inbound call recorded with the agent on the RIGHT channel"),
    Call("zh_call_04.mp3", "ZH-0004", "A103", "D5004", "2026-11-27T14:40:00+08:00", "outbound", "agent_left", "zh",
         (Turn("agent", "zh_soulx-male.wav"), Turn("customer", "zh_kimi-asr-example.wav")),
         "longer podcast-style turns"),
    Call("zh_call_05.wav", "ZH-0005", "A102", "D5005", "2026-11-27T15:20:00+08:00", "outbound", "mono", "zh",
         (Turn("agent", "zh_cosyvoice-zero-shot-prompt.wav"), Turn("customer", "zh_editx-vad.wav")),
         "a single-channel (mono) recording: roles unknown"),
    Call("en_call_arrest_threat.wav", "EN-0001", "A201", "D6001", "2026-11-27T09:45:00-05:00", "outbound",
         "agent_left", "en",
         (Turn("agent", say="Hello, this is Mark from Apex Recovery. Please note, this call is recorded. I am "
                            "calling about your overdue credit card balance of two thousand dollars."),
          Turn("customer", say="I lost my job last month. I cannot pay it right now."),
          Turn("agent", say="If you don't pay today, you will be arrested and go to jail. "
                            "The police will come to your house tonight."),
          Turn("customer", say="Please, I will try to find the money.")),
         "agent threatens arrest and jail: must be flagged"),
    Call("en_call_employer_threat.mp3", "EN-0002", "A202", "D6002", "2026-11-27T13:10:00-05:00", "outbound",
         "agent_left", "en",
         (Turn("agent", say="Hello, this is Sarah from Apex Recovery. Please note, this call is recorded. "
                            "I am calling about your car loan payment."),
          Turn("customer", say="I already told you, I will pay next week."),
          Turn("agent", say="If you don't pay now, I will call your employer and tell your boss "
                            "and your coworkers that you don't pay your debts."),
          Turn("customer", say="You can't do that.")),
         "agent threatens to tell the employer (third-party disclosure): should be flagged"),
    Call("en_call_compliant.wav", "EN-0003", "A201", "D6003", "2026-11-27T16:00:00-05:00", "outbound", "agent_left",
         "en",
         (Turn("agent", say="Hello, this is Mark from Apex Recovery. Please note, this call is recorded. "
                            "I am a debt collector. This is an attempt to collect a debt, and any information "
                            "obtained will be used for that purpose. Am I speaking with John Miller?"),
          Turn("customer", say="Yes, this is John."),
          Turn("agent", say="Your balance is five hundred dollars. Would a payment plan of fifty dollars a month "
                            "work for you?"),
          Turn("customer", say="Yes, that works. Thank you.")),
         ("compliant script: recording notice, self-identification, mini-Miranda, payment plan. Whisper base "
         "hears the synthetic word 'debt' as 'net', so the disclosure rule fires: a false positive to clear")),
)


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getframerate() != SR:
            raise SystemExit(f"{path}: expected 16-bit {SR} Hz WAV; convert it with ffmpeg first")
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0
        return frames.reshape(-1, w.getnchannels()).mean(axis=1)


def synthesize(text: str, voice: str, tmp: Path) -> np.ndarray:
    raw, wav16 = tmp / "tts.wav", tmp / "tts16.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "145", "-w", str(raw), text], check=True)
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(raw), "-ar", str(SR), "-ac", "1",
                    "-c:a", "pcm_s16le", str(wav16)], check=True)
    return read_wav(wav16)


def build(call: Call, shared: Path, tmp: Path) -> np.ndarray:
    """Place the turns one after another; each speaker on its own channel."""
    rng = np.random.default_rng(int.from_bytes(call.call_id.encode(), "big") % 2**32)
    pieces: list[tuple[str, np.ndarray]] = []
    for turn in call.turns:
        if turn.clip:
            audio = read_wav(shared / turn.clip)
        else:
            audio = synthesize(turn.say, AGENT_VOICE if turn.role == "agent" else CUSTOMER_VOICE, tmp)
        pieces.append((turn.role, audio / max(1e-6, float(np.abs(audio).max())) * 0.6))
    total = int(SR * (0.3 + sum(len(a) / SR + GAP_S for _, a in pieces)))
    left, right = np.zeros(total, np.float32), np.zeros(total, np.float32)
    agent_ch, customer_ch = (left, right) if call.channel_layout != "agent_right" else (right, left)
    pos = int(0.3 * SR)
    for role, audio in pieces:
        target = agent_ch if role == "agent" else customer_ch
        target[pos:pos + len(audio)] += audio
        pos += len(audio) + int(GAP_S * SR)
    # a faint line hiss on both channels, as on a real phone line
    left += rng.normal(0, 0.002, total).astype(np.float32)
    right += rng.normal(0, 0.002, total).astype(np.float32)
    if call.channel_layout == "mono":
        return np.clip((left + right) / 2, -1, 1)[None, :]
    return np.clip(np.stack([left, right]), -1, 1)


def write(audio: np.ndarray, path: Path, tmp: Path) -> None:
    wav = write_wav(path if path.suffix == ".wav" else tmp / "mix.wav", audio, SR)
    if path.suffix == ".mp3":
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), "-c:a", "libmp3lame", "-b:a", "64k",
                        str(path)], check=True)


def sources_md(shared: Path) -> str:
    manifest = {
        json.loads(line)["file"]: json.loads(line)
        for line in (shared / "manifest.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()
    }
    lines = [
        "# Example recordings: sources and licences", "",
        "Regenerate with `.venv/bin/python examples/make_recordings.py` (needs ffmpeg and espeak-ng).",
        "All files are 16 kHz; stereo files carry the agent on one channel and the customer on the other",
        "(`channel_layout` in `metadata.csv`). A faint synthetic hiss is added to every file.", "",
        "The Mandarin speech is real but was not recorded in collection calls: the agent side never states",
        "its company, staff number or the recording notice, so the cn-collection pack rightly flags those",
        "calls for missing self-identification and recording notice. The English calls are scripted:",
        "two break a rule outright (arrest threat, employer threat), one is compliant.", "",
        "| Recording | Call id | What it shows | Speech used |", "|---|---|---|---|",
    ]
    for call in CALLS:
        used = ", ".join(t.clip for t in call.turns if t.clip) or "espeak-ng synthesis (voices en-us, en-us+f3)"
        lines.append(f"| `{call.file}` | {call.call_id} | {call.note} | {used} |")
    lines += ["", "## Mandarin clips (from the project's shared evaluation set)", "",
              "| Clip | Upstream repo (commit) | Path there | Licence | Reference text |", "|---|---|---|---|---|"]
    for clip in sorted({t.clip for c in CALLS for t in c.turns if t.clip}):
        m = manifest[clip]
        lines.append(f"| `{clip}` | {m['source_repo']} ({m['source_commit'][:7]}) | `{m['source_path']}` | "
                     f"{m['licence']} | {m['text']} |")
    lines += ["", "English speech is synthesized by espeak-ng (GPL-3.0 program; its output carries no licence",
              "restriction) from the texts in `examples/make_recordings.py`.",
              "No AISHELL-2 or WenetSpeech audio is used: their upstream terms do not allow redistribution.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=HERE.parent.parent / "shared" / "audio")
    args = parser.parse_args()
    if not (args.shared / "manifest.jsonl").exists():
        raise SystemExit(f"{args.shared}: no manifest.jsonl; pass --shared with the shared audio folder")
    for tool in ("ffmpeg", "espeak-ng"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed; install it with: sudo apt-get install {tool}")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for call in CALLS:
            audio = build(call, args.shared, tmp)
            write(audio, OUT / call.file, tmp)
            print(f"{call.file}: {audio.shape[1] / SR:.1f} s, {audio.shape[0]} channel(s)")
    with (OUT / "metadata.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "call_id", "agent_id", "debtor_id", "started_at", "direction", "channel_layout",
                         "language"])
        for call in CALLS:
            writer.writerow([call.file, call.call_id, call.agent_id, call.debtor_id, call.started_at,
                             call.direction, call.channel_layout, call.language])
    (OUT / "SOURCES.md").write_text(sources_md(args.shared), encoding="utf-8")


if __name__ == "__main__":
    main()
