"""The transcript: the contract between the transcriber and everything else.

One JSON document per call; ``transcript.schema.json`` beside this module is
its JSON Schema. Outside tools may read and write it, so fields are only ever
added, never renamed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from callqa.errors import TranscriptSchemaError

SCHEMA_PATH = Path(__file__).with_name("transcript.schema.json")
Role = Literal["agent", "customer", "unknown"]


@dataclass
class Word:
    start: float
    end: float
    word: str
    probability: float


@dataclass
class Segment:
    role: Role
    start: float
    end: float
    text: str
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    words: list[Word] | None = None
    low_confidence: bool = False  # the review UI asks a human to listen


@dataclass
class Transcript:
    call_id: str
    started_at: str | None  # ISO-8601 with offset
    duration_s: float
    language: str
    dialect: str | None
    backend: str
    model: str
    channels: dict[str, int] | None
    segments: list[Segment] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments) if self.language in {"zh", "yue"} else " ".join(
            s.text.strip() for s in self.segments
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "transcript") -> Transcript:
        validate(data, source)
        segments = [
            Segment(
                role=s["role"],
                start=float(s["start"]),
                end=float(s["end"]),
                text=s["text"],
                avg_logprob=s.get("avg_logprob"),
                no_speech_prob=s.get("no_speech_prob"),
                words=[Word(**w) for w in s["words"]] if s.get("words") else None,
                low_confidence=bool(s.get("low_confidence", False)),
            )
            for s in data["segments"]
        ]
        return cls(
            call_id=data["call_id"],
            started_at=data.get("started_at"),
            duration_s=float(data["duration_s"]),
            language=data["language"],
            dialect=data.get("dialect"),
            backend=data["backend"],
            model=data["model"],
            channels=data.get("channels"),
            segments=segments,
            metadata=dict(data.get("metadata") or {}),
        )

    @classmethod
    def load(cls, path: str | Path) -> Transcript:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TranscriptSchemaError(f"{path}: not a readable JSON transcript ({exc})") from exc
        return cls.from_dict(data, source=str(path))


@lru_cache(maxsize=1)
def json_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(json_schema())


def validate(data: Any, source: str = "transcript") -> None:
    """Raise TranscriptSchemaError naming the source and the first problem."""
    import jsonschema

    error = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise TranscriptSchemaError(f"{source}: not a valid transcript: at {where}: {error.message}")
