"""Sentence-level held-out check: hand-written collector utterances, one per call, screened.

    python bench/screen_sentences.py [--sentences bench/screen_sentences/sentences_zh.jsonl]
                                     [--out bench/results/screen_sentences.json]

Each line of the sentence file is one agent utterance with the category it
violates (or ``compliant``); see ``bench/screen_sentences/README.md`` for where
the sentences come from. Every sentence is put into a short, otherwise compliant
call: an opening that names the agency and the creditor from the metadata, the
agent's name and staff number and the recording notice; the customer confirms;
a neutral reminder of the overdue amount; a short customer reply; THEN the
sentence as an agent turn; then a short customer turn.

Systems (as in ``bench/screen_quality.py``): ``combined`` is the pack as
shipped, ``keyword`` every rule but the semantic ones, ``semantic`` the
semantic rules plus the rules about the call as a whole.

Per label: ``caught_right_category`` is the share of sentences with a finding of
the labelled category citing the sentence's turn; ``caught_any`` the share with
any content finding (one citing a turn) on that turn. For ``compliant`` the
same ``caught_any`` is the share wrongly flagged on the sentence's turn, and
``call_flagged`` the share of whole calls with any finding at all (call-level
ones included), which shows whether the scaffold itself is clean.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import vector_flags  # noqa: E402
from bench.screen_quality import pack_variant, with_heads  # noqa: E402
from review.screening import CallHistory, Screener, load_pack  # noqa: E402
from review.screening.rules import RulePack  # noqa: E402
from transcriber.schema import validate  # noqa: E402

SYSTEMS = ("keyword", "semantic", "combined")
COMPLIANT = "compliant"
SENTENCE_TURN = 4  # index of the sentence's segment in every scaffold call

# Scaffold variety: agency, creditor, agent name, staff number, amount, customer turns.
AGENCIES = ("安和信息咨询有限公司", "诚达商务服务有限公司", "汇通信用管理有限公司")
CREDITORS = ("华信消费金融", "中银信用卡中心", "易借网络小贷")
AGENTS = ("李娜", "王磊", "陈静", "赵刚", "刘洋")
AMOUNTS = ("五千二百元", "三千八百六十元", "一万一千四百元", "两千七百元")
REPLIES = ("我知道 这两天手头有点紧", "嗯 我知道欠着呢", "哦 这个事啊 我最近在想办法", "知道了 你说吧")
AFTER = ("嗯 我知道了", "你这说的什么话", "行吧 我再想想", "哦")


def load_sentences(path: Path) -> list[dict[str, Any]]:
    """The labelled sentences, one JSON object a line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _segment(role: str, start: float, text: str) -> dict[str, Any]:
    """One segment timed at about four characters a second."""
    end = round(start + 1.0 + 0.25 * len(text.replace(" ", "")), 2)
    return {"role": role, "start": round(start, 2), "end": end, "text": text,
            "avg_logprob": -0.2, "no_speech_prob": 0.01, "words": None}


def build_call(index: int, sentence: str) -> dict[str, Any]:
    """A compliant scaffold call with ``sentence`` as the agent's turn SENTENCE_TURN."""
    agency, creditor = AGENCIES[index % len(AGENCIES)], CREDITORS[index % len(CREDITORS)]
    agent = AGENTS[index % len(AGENTS)]
    staff_no = 3000 + (index * 37) % 900
    call_id = f"sent-zh-{index:04d}"
    turns = [
        ("agent", f"您好 这里是{agency} 受{creditor}委托联系您 我是{agent} 工号{staff_no} "
                  "本次通话全程录音 请问是您本人吗"),
        ("customer", "对 是我"),
        ("agent", f"您在{creditor}的借款目前已经逾期 欠款金额是{AMOUNTS[index % len(AMOUNTS)]} "
                  "想跟您确认一下还款安排"),
        ("customer", REPLIES[index % len(REPLIES)]),
        ("agent", sentence),
        ("customer", AFTER[index % len(AFTER)]),
    ]
    segments, clock = [], 0.5
    for role, text in turns:
        seg = _segment(role, clock, text)
        segments.append(seg)
        clock = seg["end"] + 0.6
    hour, minute = 9 + index % 10, (index * 7) % 60
    return {
        "call_id": call_id,
        "started_at": f"2026-11-{10 + index % 18:02d}T{hour:02d}:{minute:02d}:00+08:00",
        "duration_s": round(clock + 1.0, 2),
        "language": "zh",
        "dialect": None,
        "backend": "bench",
        "model": "hand-written",
        "channels": {"agent": 0, "customer": 1},
        "segments": segments,
        "metadata": {
            "call_id": call_id, "agent_id": f"A{staff_no}", "team": "bench",
            "debtor_id": f"D-sent-{index:04d}", "phone_number": f"+86138{index:08d}",
            "answered": True, "direction": "outbound", "creditor": creditor, "agency": agency,
            "timezone": "Asia/Shanghai",
        },
    }


def _share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 3) if flags else None


def evaluate(sentences: list[dict[str, Any]], calls: list[dict[str, Any]], screener: Screener,
             ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Per-label shares for one system, and per-sentence findings on the sentence's turn."""
    right: dict[str, list[bool]] = defaultdict(list)
    any_turn: dict[str, list[bool]] = defaultdict(list)
    any_call: dict[str, list[bool]] = defaultdict(list)
    cited_categories: dict[str, Counter[str]] = defaultdict(Counter)
    rows = []
    for item, call in zip(sentences, calls, strict=True):
        history = [CallHistory.from_transcript(call)]
        findings = [f for r in screener.screen(call, history) for f in r.findings]
        on_turn = sorted({f.category for f in findings if f.segment_index == SENTENCE_TURN})
        label = item["label"]
        right[label].append(label in on_turn)
        any_turn[label].append(bool(on_turn))
        any_call[label].append(bool(findings))
        cited_categories[label].update(on_turn)
        rows.append({"call_id": call["call_id"], "label": label, "on_turn": on_turn,
                     "elsewhere": sorted({f"{f.category}@{f.segment_index}" for f in findings
                                          if f.segment_index != SENTENCE_TURN})})
    per_label: dict[str, Any] = {}
    for label in sorted(right):
        entry: dict[str, Any] = {"n": len(right[label])}
        if label == COMPLIANT:
            entry["turn_flagged"] = _share(any_turn[label])
            entry["call_flagged"] = _share(any_call[label])
        else:
            entry["caught_right_category"] = _share(right[label])
            entry["caught_any"] = _share(any_turn[label])
        entry["categories_on_turn"] = dict(cited_categories[label].most_common())
        per_label[label] = entry
    return per_label, rows


def wrong(row: dict[str, Any]) -> bool:
    """A violation not caught in its category, or a compliant sentence flagged on its turn."""
    if row["label"] == COMPLIANT:
        return bool(row["on_turn"])
    return row["label"] not in row["on_turn"]


def by_style(sentences: list[dict[str, Any]], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Right-category catch rate of the violations, and flag rate of the compliant ones, per style."""
    hits: dict[str, list[bool]] = defaultdict(list)
    for item, row in zip(sentences, rows, strict=True):
        key = f"{'compliant' if item['label'] == COMPLIANT else 'violation'}/{item['style']}"
        hit = bool(row["on_turn"]) if item["label"] == COMPLIANT else item["label"] in row["on_turn"]
        hits[key].append(hit)
    return {key: {"share": _share(flags), "n": len(flags)} for key, flags in sorted(hits.items())}


def print_table(results: dict[str, Any], labels: list[str]) -> None:
    """Right-category / any-on-turn per label and system; compliant: turn / call flagged."""
    print(f"{'label':30s}" + "".join(f"{s:>16s}" for s in SYSTEMS))
    for label in labels:
        cells = []
        for system in SYSTEMS:
            entry = results[system]["labels"][label]
            if label == COMPLIANT:
                cells.append(f"{entry['turn_flagged']:.2f}/{entry['call_flagged']:.2f}")
            else:
                cells.append(f"{entry['caught_right_category']:.2f}/{entry['caught_any']:.2f}")
        n = results[SYSTEMS[0]]["labels"][label]["n"]
        print(f"{label + f' ({n})':30s}" + "".join(f"{c:>16s}" for c in cells))
    print("violations: caught right category / caught any on the turn; "
          "compliant: turn flagged / call flagged")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=Path,
                        default=ROOT / "bench" / "screen_sentences" / "sentences_zh.jsonl")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "screen_sentences.json")
    parser.add_argument("--pack", default="cn-collection", help="Chinese pack name or .yaml path")
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    parser.add_argument("--heads", type=Path, help="another trained heads file for the semantic rules (an ablation)")
    args = parser.parse_args()
    sentences = load_sentences(args.sentences)
    if not sentences:
        sys.exit(f"{args.sentences}: no sentences")
    calls = [build_call(i, item["text"]) for i, item in enumerate(sentences)]
    for call in calls:
        validate(call, call["call_id"])
    pack: RulePack = load_pack(args.pack)
    if args.heads:
        pack = with_heads(pack, args.heads)
    results: dict[str, Any] = {}
    per_sentence: dict[str, list[dict[str, Any]]] = {}
    for system in args.systems:
        screener = Screener([pack_variant(pack, system)])
        labels, rows = evaluate(sentences, calls, screener)
        results[system] = {"labels": labels, "by_style": by_style(sentences, rows)}
        per_sentence[system] = rows
    misses = {system: [{"text": item["text"], **row} for item, row in zip(sentences, rows, strict=True)
                       if wrong(row)] for system, rows in per_sentence.items()}
    flags = vector_flags()
    result = {
        "systems": results,
        "sentences": {"file": str(args.sentences.relative_to(ROOT) if args.sentences.is_relative_to(ROOT)
                                  else args.sentences),
                      "n": len(sentences), "labels": dict(Counter(s["label"] for s in sentences)),
                      "styles": dict(Counter(s["style"] for s in sentences))},
        "scaffold": {"sentence_turn": SENTENCE_TURN, "turns": 6,
                     "note": "compliant opening (agency, creditor, name, staff no., recording), "
                             "neutral overdue reminder, customer reply, sentence, customer reply"},
        "misses_or_false_flags": misses,
        "pack": f"{pack.name}@{pack.version}",
        "machine": {"platform": platform.platform(),
                    "cpu_flags": flags,
                    "load_avg_1m": round(os.getloadavg()[0], 1)},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if set(args.systems) == set(SYSTEMS):
        order = [label for label in ("insult_abuse", "threat_violence", "false_legal_consequence",
                                     "impersonation_authority", "obscenity", COMPLIANT)
                 if label in results[SYSTEMS[0]]["labels"]]
        print_table(results, order)
    else:
        print(json.dumps({s: r["labels"] for s, r in results.items()}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
