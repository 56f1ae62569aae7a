"""The labelled utterance corpus the semantic heads are trained from.

One JSONL file or a folder of them; one utterance a line::

    {"text": "...", "category": "threat_violence" | "none", "language": "zh" | "en",
     "role": "agent" | "customer", "style": "implicit", "context": "the previous turn",
     "provenance": "who wrote it, when", "negative_kind": "lawful_pressure"}

``category: none`` marks a hard negative. The corpus hash (over the lines in a fixed
order) goes into every trained heads file, so a change of corpus is visible in the
pack version of every finding made with it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from callqa.errors import RulePackError
from review.screening.rules import CATEGORIES

NONE = "none"
CORPUS_DIR = Path(__file__).resolve().parents[1] / "corpus"
_REQUIRED = ("text", "category", "language", "role", "provenance")


@dataclass(frozen=True)
class Utterance:
    text: str
    category: str  # a CATEGORIES name, or "none" for a hard negative
    language: str
    role: str
    context: str = ""
    style: str = ""
    provenance: str = ""
    source: str = ""  # file:line, for error messages and the exemplars a finding shows


def _parse(line: str, where: str) -> Utterance:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RulePackError(f"{where}: not JSON ({exc.msg}); fix the corpus line") from exc
    if not isinstance(raw, dict):
        raise RulePackError(f"{where}: a corpus line must be a JSON object")
    missing = [key for key in _REQUIRED if not isinstance(raw.get(key), str) or not raw[key].strip()]
    if missing:
        raise RulePackError(f"{where}: missing {', '.join(missing)}; fix the corpus line")
    category = raw["category"]
    if category != NONE and category not in CATEGORIES:
        raise RulePackError(f"{where}: category {category!r} is not one of the screening categories or 'none'")
    if raw["role"] not in ("agent", "customer"):
        raise RulePackError(f"{where}: role must be agent or customer, not {raw['role']!r}")
    return Utterance(text=raw["text"].strip(), category=category, language=raw["language"], role=raw["role"],
                     context=str(raw.get("context") or "").strip(), style=str(raw.get("style") or ""),
                     provenance=raw["provenance"], source=where)


def corpus_files(path: Path = CORPUS_DIR) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(path.glob("*.jsonl"))
    if not files:
        raise RulePackError(f"{path}: no *.jsonl corpus files; `callqa rules train --corpus DIR` needs some")
    return files


def load_corpus(path: Path = CORPUS_DIR) -> list[Utterance]:
    """Every utterance of the corpus, deduplicated on (text, category, role), in file order."""
    seen: set[tuple[str, str, str]] = set()
    out: list[Utterance] = []
    for file in corpus_files(path):
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            item = _parse(line, f"{file.name}:{number}")
            key = (item.text, item.category, item.role)
            if key not in seen:
                seen.add(key)
                out.append(item)
    return out


def corpus_hash(items: list[Utterance]) -> str:
    """SHA-256 over what training reads, independent of file names and line order."""
    digest = hashlib.sha256()
    for line in sorted(json.dumps([u.text, u.category, u.language, u.role, u.context], ensure_ascii=False)
                       for u in items):
        digest.update(line.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
