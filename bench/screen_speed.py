"""Screening speed: 10,000 synthetic three-minute calls, both packs, one core.

    python bench/screen_speed.py [--calls 10000] [--naive-calls 1000] [--out bench/results/screen_speed.json]

Calls are half Mandarin, half English, about 45 segments each (a turn every ~4 s
over 180 s), built from ordinary collection-call sentences with ASR-style noise
(Traditional characters, spaces, missing punctuation); about one call in ten
holds a violation. Every call is screened with both shipped packs (all but their
semantic rules, whose cost bench/screen_quality.py measures) by one ``Screener``. The naive baseline is the same screener with the automaton swapped
for one compiled regex per phrase tried one by one; it runs on the first
``--naive-calls`` calls and must produce the same findings.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import platform
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import describe as describe_machine  # noqa: E402
from review.screening import Screener, load_pack  # noqa: E402
from review.screening.match import PhraseMatcher  # noqa: E402

ZH_AGENT = [
    "您好，我是某某银行信用卡中心的工作人员，工号{n}，本次通话将被录音",
    "请问是{name}先生吗", "您的信用卡账单已经逾期{d}天了", "本期应还金额是{m}元",
    "请问您今天能处理一下吗", "逾期会如实上报征信，建议您尽快还款", "您可以通过手机银行或者官方app还款",
    "如果一次还不上，可以申请分期", "我这边帮您登记一下还款时间", "好的，感谢您的配合",
    "您看最晚什么时候能还上", "我们这边需要您给一个明确的时间", "那我们{d}号再跟您确认", "还有其他问题吗",
]
ZH_CUSTOMER = [
    "喂，你好", "是我，什么事", "我最近手头比较紧", "我下个月发工资就还", "能不能少还一点", "我知道了",
    "分期的话利息怎么算", "我明天去银行问一下", "好的好的", "我现在在上班，不方便说", "嗯", "行吧",
]
ZH_VIOLATIONS = [
    ("agent", "你再不还钱就等着坐牢吧"), ("agent", "不还钱我们就联系你家人"), ("agent", "你就是个老赖"),
    ("agent", "你去找朋友借点钱先还上"), ("agent", "钱直接转到我个人账户就行"), ("customer", "我要去投诉你们"),
    ("customer", "我真的不想活了"), ("agent", "你要做牢的知道吗"),
]
EN_AGENT = [
    "Hi, this is {name} calling from ABC Collections, a debt collector; this call may be recorded.",
    "This is an attempt to collect a debt and any information obtained will be used for that purpose.",
    "I'm calling about your account ending in {n}.", "The balance is {m} dollars and it is {d} days past due.",
    "Would you be able to make a payment today?", "We can set up a payment plan that fits your budget.",
    "You can pay online at our website or by phone.", "Let me note that down for you.",
    "Is there a better time to reach you?", "Thank you for your time today.",
    "We may refer the account for legal review if we cannot agree on a plan.",
]
EN_CUSTOMER = [
    "Hello?", "Yes, speaking.", "I get paid on the fifteenth.", "Can I pay half now and half later?", "Okay.",
    "What is the remaining balance?", "I thought I already paid that.", "Can you send me a statement?", "Sure.",
]
EN_VIOLATIONS = [
    ("agent", "If you don't pay today you will be arrested."), ("agent", "We will tell your family about this."),
    ("agent", "Just Zelle me the money and I'll clear it."), ("customer", "I'm going to file a complaint with the CFPB."),
    ("customer", "My husband passed away last month."), ("agent", "Listen, you idiot, the balance is due today."),
]
ZH_NAMES = ["张三", "李四", "王五", "赵六"]
EN_NAMES = ["Smith", "Garcia", "Chen", "Johnson"]


def _fill(text: str, rng: random.Random, zh: bool) -> str:
    return text.format(n=rng.randint(1000, 9999), name=rng.choice(ZH_NAMES if zh else EN_NAMES), d=rng.randint(3, 90),
                       m=rng.randint(100, 50000))


def _noisy_zh(text: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return " ".join(text)  # spaces between characters
    if roll < 0.15:
        return re.sub(r"[，。？！]", "", text)  # no punctuation
    return text


def synthetic_call(index: int, rng: random.Random) -> dict[str, Any]:
    zh = index % 2 == 0
    agent, customer, violations = (ZH_AGENT, ZH_CUSTOMER, ZH_VIOLATIONS) if zh else (EN_AGENT, EN_CUSTOMER,
                                                                                     EN_VIOLATIONS)
    segments, t = [], 0.0
    n_segments = rng.randint(38, 52)
    violation_at = rng.randrange(3, n_segments) if rng.random() < 0.1 else -1
    for i in range(n_segments):
        if i == 0:
            role, text = "agent", _fill(agent[0], rng, zh)
        elif i == violation_at:
            role, text = rng.choice(violations)
        else:
            role = "agent" if i % 2 == 0 else "customer"
            text = _fill(rng.choice(agent if role == "agent" else customer), rng, zh)
        if zh:
            text = _noisy_zh(text, rng)
        length = 180.0 / n_segments
        segments.append({"role": role, "start": round(t, 2), "end": round(t + length * 0.9, 2), "text": text,
                         "avg_logprob": -0.3, "no_speech_prob": 0.02, "words": None})
        t += length
    started = f"2026-03-{1 + index % 28:02d}T{8 + index % 13:02d}:{index % 60:02d}:00" + ("+08:00" if zh else "-05:00")
    return {"call_id": f"bench-{index}", "started_at": started, "duration_s": 180.0, "language": "zh" if zh else "en",
            "dialect": None, "backend": "bench", "model": "bench", "channels": {"agent": 0, "customer": 1},
            "segments": segments,
            "metadata": {"debtor_id": f"D{index % 5000}", "phone_number": f"+{index % 5000}", "answered": True,
                         "direction": "outbound", "acoustic": None}}


class NaiveMatcher(PhraseMatcher):
    """The baseline: one compiled regex per phrase key, tried one after another."""

    def find_fast(self, call: Any) -> Any:
        return self.find(call)  # find = verify(candidates(...)), and candidates is the regex loop

    _regexes: list[tuple[re.Pattern[str], int, Any]]

    def candidates(self, text: str) -> list[tuple[int, int, Any]]:
        if not hasattr(self, "_regexes"):
            self._regexes = [(re.compile(f"(?=({re.escape(key)}))"), len(key), tuple(values))
                             for key, values in self.keys.items()]
        found = []
        for regex, length, values in self._regexes:
            for m in regex.finditer(text):
                found.append((m.start(), length, values))
        return found


def _naive_screener(packs: list[Any]) -> Screener:
    screener = Screener(packs)
    naive = NaiveMatcher()
    naive.__dict__.update(screener._matcher.__dict__)
    screener._matcher = naive
    return screener


OWN_PACK = {"zh": "cn-collection", "en": "us-regf"}


def _own_pack_categories(screener: Screener, calls: list[dict[str, Any]]) -> dict[str, int]:
    """Calls per finding category, counting only the pack of the call's own language."""
    counts: dict[str, int] = {}
    for call in calls:
        for result in screener.screen(call):
            if result.pack == OWN_PACK[call["language"]]:
                for category in {f.category for f in result.findings}:
                    counts[category] = counts.get(category, 0) + 1
    return dict(sorted(counts.items()))


def _timed(screener: Screener, calls: list[dict[str, Any]]) -> tuple[float, list[list[tuple[str, int]]]]:
    start = time.process_time()  # CPU time of this process: other jobs on the machine don't count
    out = []
    for call in calls:
        results = screener.screen(call)
        out.append(sorted((f.rule_id, f.segment_index or -1) for r in results for f in r.findings))
    return time.process_time() - start, out


def _matching_only(screener: Screener, packs: list[Any], calls: list[dict[str, Any]]) -> tuple[float, float]:
    """CPU seconds of the phrase search alone (automaton vs regex loop) over the calls' texts."""
    from review.screening.match import CallText
    from review.screening.normalize import to_homophones

    texts = []
    for call in calls:
        call_text = CallText.from_segments(call["segments"], call["language"])
        texts.append(to_homophones(call_text.joined) if call_text.cjk else call_text.joined)
    naive = _naive_screener(packs)._matcher
    times = []
    for matcher in (screener._matcher, naive):
        start = time.process_time()
        for text in texts:
            matcher.candidates(text)
        times.append(time.process_time() - start)
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--naive-calls", type=int, default=1_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "screen_speed.json")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as the target says
    rng = random.Random(20261128)
    calls = [synthetic_call(i, rng) for i in range(args.calls)]
    # the 10,000 synthetic transcripts are the bench's own data: keep the garbage collector from
    # walking their ~500,000 objects again and again, which a service screening one call never does
    gc.collect()
    gc.freeze()
    # the phrase engine only: the semantic stage's cost is measured per call, against the
    # transcriber's, by bench/screen_quality.py (semantic_cost_share_of_asr)
    packs = [dataclasses.replace(p, rules=[r for r in p.rules if r.type != "semantic"])
             for p in (load_pack("cn-collection"), load_pack("us-regf"))]
    build_start = time.perf_counter()
    screener = Screener(packs)
    screener.screen(calls[0])  # builds the automaton and the character tables
    warmup_s = time.perf_counter() - build_start
    elapsed, findings = _timed(screener, calls)
    naive_calls = calls[: args.naive_calls]
    naive_elapsed, naive_findings = _timed(_naive_screener(packs), naive_calls)
    fast_subset, _ = _timed(screener, naive_calls)
    assert naive_findings == findings[: len(naive_calls)], "the naive baseline disagrees with the automaton"
    matching_fast, matching_naive = _matching_only(screener, packs, naive_calls)
    per_call = elapsed / len(calls)
    result = {
        "calls": len(calls),
        "packs": [f"{p.name}@{p.version}" for p in packs],
        "phrases": len(screener._matcher.forms),
        "automaton_keys": len(screener._matcher.keys),
        "segments_per_call": sum(len(c["segments"]) for c in calls) / len(calls),
        "chars_per_call": sum(len(s["text"]) for c in calls for s in c["segments"]) / len(calls),
        "calls_with_findings_any_pack": sum(1 for f in findings if f),
        "calls_per_category_own_language_pack": _own_pack_categories(screener, calls),
        "seconds": round(elapsed, 3),
        "calls_per_second": round(len(calls) / elapsed, 1),
        "ms_per_call": round(per_call * 1000, 3),
        "naive_calls": len(naive_calls),
        "naive_calls_per_second": round(len(naive_calls) / naive_elapsed, 1),
        "speedup_vs_naive": round(naive_elapsed / fast_subset, 2),
        "matching_only_speedup_vs_naive": round(matching_naive / matching_fast, 2),
        "same_findings_as_naive": True,
        "screen_share_of_audio_duration": per_call / 180.0,
        "warmup_seconds": round(warmup_s, 3),
        "cores": 1,
        "load_average_1m": round(os.getloadavg()[0], 2),  # the machine is shared: CPU time is reported
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        **describe_machine(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
