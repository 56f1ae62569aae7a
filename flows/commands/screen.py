"""`callqa screen ...` and `callqa rules list|show|test|backtest`."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
import yaml

from callqa.config import Settings, load_settings
from callqa.errors import CallQAError, RulePackError
from review.screening import CallHistory, available_packs, history_for, load_pack, load_packs, screener_for
from review.screening.packs_registry import pack_names_for
from review.screening.rules import Rule, RulePack


def _split(value: str | None) -> list[str] | None:
    names = [v.strip() for v in (value or "").split(",") if v.strip()]
    return names or None


def _err(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)


def _read(path: Path) -> dict[str, Any]:
    from transcriber.schema import validate

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CallQAError(f"{path}: not a readable JSON transcript ({exc})") from exc
    validate(data, str(path))
    return data  # type: ignore[no-any-return]


def _database_history(settings: Settings, documents: list[dict[str, Any]]) -> list[CallHistory] | None:
    """Stored calls for the frequency rules; None when there is no database to ask."""
    url = settings.db_url
    if url.startswith("sqlite") and not Path(url.split("///", 1)[-1]).exists():
        return None
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.orm import Session

    from review.store.db import init_db, make_engine

    engine = make_engine(url)
    try:
        init_db(engine)
        with Session(engine) as session:
            return history_for(session, documents)
    except (CallQAError, SQLAlchemyError) as exc:
        _err(f"review store at {engine.url!r} not readable ({str(exc).splitlines()[0]}); the frequency rules count "
             "only this batch (use --no-db to silence this)")
        return None
    finally:
        engine.dispose()


def _table_lines(result: dict[str, Any]) -> list[str]:
    head = f"{result['call_id']}  {result['pack']}@{result['pack_version']}"
    if not result["findings"]:
        return [f"{head}  no findings"]
    lines = [f"{head}  {len(result['findings'])} finding(s)"]
    for f in result["findings"]:
        where = "call" if f["segment_index"] is None else f"#{f['segment_index']} {f['start']:.1f}-{f['end']:.1f}s"
        urgent = " URGENT" if f["urgent"] else ""
        score = f" (semantic {f['score']:.2f})" if f.get("score") is not None else ""
        lines.append(f"  {f['severity']:<8} {f['category']:<34} {f['rule_id']:<36} {where:<18} "
                     f"{f['evidence']}{score}{urgent}")
    return lines


def _plain(value: Any) -> Any:
    """A rule parameter as YAML can print it (compiled patterns, parts, paths)."""
    if hasattr(value, "pattern"):
        return value.pattern
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


def _print_rule(rule: Rule, pack: RulePack) -> None:
    params = {k: _plain(v) for k, v in rule.params.items()}
    doc = {"id": rule.id, "pack": f"{pack.name}@{pack.version}", "title": rule.title, "category": rule.category,
           "severity": rule.severity, "urgent": rule.urgent, "applies_to": rule.applies_to, "type": rule.type,
           "negation": rule.negation, "homophones": rule.homophones, "citation": rule.citation, "params": params,
           "must_trigger": len(rule.must_trigger), "must_not_trigger": len(rule.must_not_trigger),
           "defined_at": f"{pack.path}:{rule.line}"}
    typer.echo(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=120).rstrip())


def _packs_for_test(names: Sequence[str] | None, settings: Settings) -> list[RulePack]:
    if names:
        return [load_pack(n, settings.screening.packs_dir or None) for n in names]
    return [load_pack(str(p)) for p in available_packs(settings.screening.packs_dir or None).values()]


def register(app: typer.Typer) -> None:
    """Add `screen` and the `rules` group to the main app."""

    @app.command("screen")
    def screen_command(
        transcripts: list[Path] = typer.Argument(..., help="Transcript JSON files (the transcriber's schema)."),
        pack: str = typer.Option(None, "--pack", help="Comma list of pack names or .yaml files; default: by "
                                 "each transcript's language (zh/yue/wuu/nan -> cn-collection, en -> us-regf)."),
        output: str = typer.Option("table", "--format", help="json (one object per call and pack per line) "
                                   "or table."),
        use_db: bool = typer.Option(True, "--db/--no-db", help="Count prior calls from the review store for the "
                                    "frequency rules (the batch is always counted)."),
    ) -> None:
        """Screen transcripts against rule packs and print the findings.

        A file that is not a valid transcript gets one error line; the others are
        still screened, and the exit code is 1.
        """
        if output not in ("json", "table"):
            raise typer.BadParameter("--format must be json or table")
        settings = load_settings()
        documents: list[tuple[Path, dict[str, Any]]] = []
        failed = 0
        for path in transcripts:
            try:
                documents.append((path, _read(path)))
            except CallQAError as exc:
                _err(str(exc))
                failed += 1
        docs = [d for _, d in documents]
        history = _database_history(settings, docs) if use_db else None
        if history is None:
            history = [CallHistory.from_transcript(d) for d in docs]
        for path, doc in documents:
            if not _split(pack) and not settings.screening.packs:
                try:  # an unknown language is this file's problem, not the batch's
                    pack_names_for(doc.get("language"))
                except RulePackError as exc:
                    _err(f"{path}: {exc}")
                    failed += 1
                    continue
            try:
                packs = load_packs(_split(pack), doc.get("language"))
                results = screener_for(packs).screen(doc, history)
            except RulePackError:
                raise  # a bad pack stops everything: nothing is screened with a half-loaded pack
            except CallQAError as exc:
                _err(f"{path}: {exc}")
                failed += 1
                continue
            for result in results:
                data = result.to_dict()
                if output == "json":
                    typer.echo(json.dumps(data, ensure_ascii=False))
                else:
                    typer.echo("\n".join(_table_lines(data)))
        if failed:
            raise typer.Exit(1)

    rules = typer.Typer(help="Rule packs: list, show, test the examples, backtest over stored calls.",
                        no_args_is_help=True)
    app.add_typer(rules, name="rules")

    @rules.command("list")
    def list_command(
        pack: str = typer.Option(None, "--pack", help="List this pack's rules instead of the packs."),
    ) -> None:
        """List the available packs, or the rules of one pack."""
        settings = load_settings()
        if pack:
            loaded = load_pack(pack, settings.screening.packs_dir or None)
            typer.echo(f"{loaded.name}@{loaded.version}  {len(loaded.rules)} rules  ({loaded.path})")
            for rule in loaded.rules:
                typer.echo(f"  {rule.id:<36} {rule.category:<34} {rule.severity:<8} {rule.type:<13} {rule.title}")
            return
        for name, path in available_packs(settings.screening.packs_dir or None).items():
            loaded = load_pack(str(path))
            typer.echo(f"{name:<16} {loaded.version:<10} {len(loaded.rules):>3} rules  "
                       f"languages={','.join(loaded.languages) or '-'}  tz={loaded.timezone}  {path}")

    @rules.command("show")
    def show_command(
        rule_id: str = typer.Argument(..., help="A rule id (e.g. cn.legal.false_consequence)."),
        pack: str = typer.Option(None, "--pack", help="Pack to look in; default: every available pack."),
    ) -> None:
        """Show one rule: category, severity, parameters, citation, examples count."""
        settings = load_settings()
        for loaded in _packs_for_test(_split(pack), settings):
            for rule in loaded.rules:
                if rule.id == rule_id:
                    _print_rule(rule, loaded)
                    return
        raise RulePackError(f"no rule {rule_id!r} in {pack or 'the available packs'}; `callqa rules list --pack "
                            "NAME` lists the ids")

    @rules.command("test")
    def test_command(
        pack: str = typer.Option(None, "--pack", help="Comma list of packs or .yaml files; default: all."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Print every example, not just failures."),
    ) -> None:
        """Run every rule's must-trigger and must-not-trigger examples; exit 1 on any failure."""
        from review.screening.examples import run_pack_examples

        settings = load_settings()
        total = failures = 0
        for loaded in _packs_for_test(_split(pack), settings):
            outcomes = run_pack_examples(loaded)
            bad = [o for o in outcomes if not o.passed]
            total, failures = total + len(outcomes), failures + len(bad)
            typer.echo(f"{loaded.name}@{loaded.version}: {len(outcomes) - len(bad)}/{len(outcomes)} examples pass")
            for o in outcomes if verbose else bad:
                verdict = "ok  " if o.passed else "FAIL"
                want = "must trigger" if o.expected else "must not trigger"
                got = f" (found: {o.got})" if o.got else ""
                typer.echo(f"  {verdict} {o.rule_id} [{want}] {loaded.path.name}:{o.line}: {o.text}{got}")
        if failures:
            _err(f"{failures} of {total} rule examples failed")
            raise typer.Exit(1)

    @rules.command("train")
    def train_command(
        corpus: Path = typer.Option(None, "--corpus", help="A corpus JSONL file or folder; default: the shipped "
                                    "review/screening/corpus."),
        out: Path = typer.Option(None, "--out", help="Where to write the heads; default: the shipped "
                                 "review/screening/semantic/heads.npz that packs use."),
        folds: int = typer.Option(5, "--folds", min=2, help="Cross-validation folds for the thresholds."),
        jobs: int = typer.Option(0, "--jobs", min=0, help="Heads fitted at once, one process each "
                                 "(0: one per CPU core); the file is the same whatever the number."),
    ) -> None:
        """Train the semantic heads from the labelled corpus (fixed seed: the same corpus gives the same file).

        The corpus SHA-256 goes into the heads file and from there into the version of every
        pack with semantic rules, so findings say which corpus judged them.
        """
        from review.screening.semantic.corpus import CORPUS_DIR
        from review.screening.semantic.heads import HEADS_FILE
        from review.screening.semantic.train import train

        target = out or HEADS_FILE
        heads = train(corpus or CORPUS_DIR, target, folds, progress=lambda m: typer.echo(m, err=True),
                      jobs=jobs or os.cpu_count() or 1)
        typer.echo(f"wrote {target}: {len(heads.categories)} heads, corpus {heads.corpus_sha256[:12]} "
                   f"({heads.meta['utterances']} utterances), encoder {heads.meta['encoder']}")

    @rules.command("backtest")
    def backtest_command(
        pack: str = typer.Option(..., "--pack", help="The candidate pack: a name or a .yaml file."),
        output: str = typer.Option("table", "--format", help="json or table."),
        limit: int = typer.Option(0, "--limit", min=0, help="Only the first N stored calls (0: all)."),
    ) -> None:
        """Replay a pack over the stored transcripts; show calls that gain or lose findings."""
        from sqlalchemy.orm import Session

        from review.screening.backtest import backtest
        from review.store.db import init_db, make_engine

        settings = load_settings()
        candidate = load_pack(pack, settings.screening.packs_dir or None)
        engine = make_engine(settings.db_url)
        try:
            init_db(engine)
            with Session(engine) as session:
                report = backtest(session, candidate, limit or None)
        finally:
            engine.dispose()
        for message in report.errors:
            _err(message)
        if output == "json":
            for change in report.changes:
                typer.echo(json.dumps({"call_id": change.call_id, "transcript_id": change.transcript_id,
                                       "baseline_version": change.baseline_version,
                                       "gained": [list(k) for k in change.gained],
                                       "lost": [list(k) for k in change.lost]}, ensure_ascii=False))
        else:
            for change in report.changes:
                base = change.baseline_version or "never screened"
                typer.echo(f"{change.call_id:<28} vs {base:<14} "
                           f"+{len(change.gained)} {', '.join(_key(k) for k in change.gained)}"
                           f"  -{len(change.lost)} {', '.join(_key(k) for k in change.lost)}")
        summary = (f"{candidate.name}@{candidate.version}: {report.calls} calls replayed, {report.calls_with_findings}"
                   f" with findings, {report.gained_calls} gain and {report.lost_calls} lose findings")
        typer.secho(summary, err=output == "json")


def _key(key: tuple[str, int | None]) -> str:
    return key[0] if key[1] is None else f"{key[0]}#{key[1]}"
