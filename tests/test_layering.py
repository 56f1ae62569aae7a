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


# --- inside review: packages in layers, and no import circles between modules -----------------------------
#
# What counts as an import: every ``import`` and ``from ... import`` statement anywhere in a module, at
# module level, inside functions and methods, and under ``if TYPE_CHECKING:`` alike. A function-level
# import is still a dependency (it only runs later), and a type-only import still ties the two modules'
# code together; hiding a circle in a function or behind TYPE_CHECKING is exactly what this test is
# there to stop. ``from review.a import b`` counts as an import of the module ``review.a.b`` when that
# is a module, else of ``review.a``; relative imports are resolved. The package ``__init__`` that Python
# runs before a submodule is not counted as imported by everyone who imports the submodule (screening
# and web re-export their own submodules from ``__init__``; the other packages' ``__init__`` are
# docstrings only).

# bottom first: a package may import its own modules and those of the layers below it, never a
# package of its own layer or above (so ``store`` imports no other review package and nothing in
# review imports ``web``)
REVIEW_LAYERS: list[set[str]] = [
    {"store"},  # the schema (models, Alembic), the database, files under CALLQA_HOME, row serialisation
    {"screening", "privacy"},  # rule packs x transcripts -> findings; finding and masking personal data
    {"audit", "search", "accounts"},  # the hash chain and evidence packs; the search index; users, sessions
    {"calls"},  # a call's record: register, transcripts, screenings (audited, indexed for search)
    {"queue"},  # review items: claims, leases, verdicts, second review, appeals, agreement checks, stats
    {"sampling"},  # the nightly draw, interval statistics, the estimates
    {"scorecard"},  # scoring a reviewed call, answers and adjustments, per agent and team
    {"reports"},  # the morning report, its rendering and the webhook notifications
    {"web"},  # the review UI: may import everything in review
]
# (importing module, imported module): the exceptions, each with its reason
REVIEW_LAYER_EXCEPTIONS = {
    # a data migration fills the table it creates with the code that maintains it
    ("review.store.migrations.versions.0010_call_search_text", "review.search.index"),
}


def review_modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for path in (ROOT / "review").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def review_import_graph() -> dict[str, dict[str, int]]:
    """module -> {review module it imports: line of the first such import}."""
    modules = review_modules()
    graph: dict[str, dict[str, int]] = {}
    for module, path in modules.items():
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        edges: dict[str, int] = graph.setdefault(module, {})
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                while target and target not in modules:  # review.x.y.attr -> review.x.y
                    target = target.rpartition(".")[0]
                if target and target != module and target != "review":
                    edges.setdefault(target, node.lineno)
    return graph


def import_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, {})))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1, "d": 1}, "d": {}, "e": {"d": 1}}
    assert import_cycles(graph) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b": 1}, "b": {}}) == []


def test_no_import_cycles_among_review_modules() -> None:
    graph = review_import_graph()
    described = []
    for cycle in import_cycles(graph):
        members = set(cycle)
        described.append("; ".join(f"{m} -> {t} (line {line})" for m in cycle
                                   for t, line in sorted(graph[m].items()) if t in members))
    assert not described, "import circles in review:\n" + "\n".join(described)


def _review_package(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def test_every_review_package_has_a_layer() -> None:
    placed = set().union(*REVIEW_LAYERS)
    unplaced = sorted({_review_package(m) for m in review_modules()} - placed - {""})
    assert not unplaced, f"put these in REVIEW_LAYERS: {unplaced}"


def test_review_packages_import_only_their_own_layer_and_below() -> None:
    layer = {package: depth for depth, packages in enumerate(REVIEW_LAYERS) for package in packages}
    offenders = []
    for module, edges in sorted(review_import_graph().items()):
        if module == "review":
            offenders += [f"review/__init__.py imports {t}" for t in edges]
            continue
        own = _review_package(module)
        for target, line in sorted(edges.items()):
            other = _review_package(target)
            if other == own or (module, target) in REVIEW_LAYER_EXCEPTIONS:
                continue
            if layer[other] >= layer[own]:
                offenders.append(f"{module} (line {line}) imports {target}: {own} sits in layer {layer[own]}, "
                                 f"{other} in layer {layer[other]}")
    assert not offenders, "\n".join(offenders)


def test_every_review_package_names_its_surface() -> None:
    bare = [str(path.relative_to(ROOT)) for path in sorted((ROOT / "review").glob("*/__init__.py"))
            if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))]
    assert not bare, f"give these a docstring naming the package's public surface: {bare}"
