"""Dependencies point one way: flows -> transcriber, review; never back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_packages(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(f"{path.relative_to(ROOT)}: {name}")
    return found


@pytest.mark.parametrize(
    "package, forbidden",
    [("callqa", {"transcriber", "review", "flows"}), ("transcriber", {"review", "flows"}), ("review", {"flows"})],
)
def test_no_import_against_the_flow_of_dependencies(package: str, forbidden: set[str]) -> None:
    imports = imported_packages(package)
    offenders = sorted(line for name in forbidden for line in imports.get(name, set()))
    assert not offenders, f"{package} must not import {forbidden}: {offenders}"


def test_review_uses_only_the_transcript_contract_from_transcriber() -> None:
    lines = imported_packages("review").get("transcriber", set())
    offenders = sorted(line for line in lines if not line.endswith(("transcriber.schema", ": transcriber")))
    assert not offenders, offenders
