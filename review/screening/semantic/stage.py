"""The semantic stage: every sentence of the turns a rule listens to, scored per category.

A turn is cut into sentences (long run-ons into clauses, see ``clauses``); a turn of
several short sentences is also scored whole, so an implication spread over two
sentences (你每天几点送孩子上学我们都清楚。路上车多，小心点) is read together. The
previous turn of the other speaker is the context. All of a call's units are
embedded in one batch. For each category the best unit of a turn above the
threshold becomes one hit, citing that unit's words; a single sentence is preferred
over the whole turn when both pass, so the evidence is as tight as the score allows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from review.screening.clauses import Span, clauses, pause_clauses, sentence_pieces, sentences, whole_sentences
from review.screening.match import role_ok
from review.screening.normalize import HAN
from review.screening.semantic import encoder
from review.screening.semantic.denial import without_denials
from review.screening.semantic.features import ngram_features
from review.screening.semantic.heads import Exemplar, Heads

_WHOLE_TURN_MAX = 120  # characters of Chinese; English says as much in about twice the characters
_CONTEXT_MAX = 80
_MAYBE = 0.4  # a sentence scoring this for a category has its clauses scored too
_LEAN = 0.2  # ... and each clause speaks for the categories its sentence scored this for
# categories every agent sentence's clauses are scored for, leaning or not: an insult is often one
# clause said in passing inside a polite, business-like turn
_ALWAYS_CLAUSES = ("insult_abuse",)
# ... and a pair of neighbouring pause clauses speaks for the categories its sentence leaned this much to:
# a recogniser's run-on holds a lawful clause and an unlawful one (余期记录会如实上报征信 ... 系统下周就会
# 自动冻结您的银行卡), and only a pair reads the second apart from the first
_PAIR_LEAN = 0.75
_NEVER = float("inf")  # a lean no sentence reaches: the piece speaks for no category by its sentence's lean
# a hit's margin over its threshold, as a share of the turn's best margin, below which it yields: at 0.5
# a contact threat also stood as a threat and a shaming threat as a contact threat on the same turn
# (most of the wrong findings on the held-out calls' violating turns); at 0.8 they yield, while a turn
# that truly does two things (an insult in obscene words) still scores both well
_RIVAL = 0.8
# a passing unit is a hit only when its category is among the corpus utterances nearest to it: the
# linear heads extrapolate, and a polite sentence far from every insult in the corpus ("that's honestly
# a good instinct", "this is the remaining patient responsibility") can still add up past the line
_AGREEMENT_K = 10


@dataclass(frozen=True)
class SemanticHit:
    category: str
    segment: int
    span: Span  # in the segment's raw text
    score: float
    exemplars: tuple[Exemplar, ...]


@dataclass(frozen=True)
class _Unit:
    segment: int
    span: Span
    whole: bool
    lead: int = 0  # characters of its sentence before it, for a piece of a long sentence


def _context(raws: list[str], roles: list[str], segment: int) -> str:
    """The last turn of the other speaker before this one (its tail), or ''."""
    for prev in range(segment - 1, max(-1, segment - 4), -1):
        if roles[prev] != roles[segment] or roles[segment] == "unknown":
            # its last sentence: what was just said, and usually a unit already embedded
            parts = sentences(raws[prev])
            last = raws[prev][parts[-1].start:parts[-1].end] if parts else raws[prev].strip()
            return last[-_CONTEXT_MAX:]
    return ""


def _long_enough(text: str) -> bool:
    """Four Chinese characters or three words: below that (好的, Thank you, 咋子) a score says more
    about the encoder than about the call, and the keyword lists hold the short slurs."""
    han = len(HAN.findall(text))
    return han >= 4 if han else len(text.split()) >= 3


def _long_pair(text: str) -> bool:
    """Twelve Chinese characters or eight words: shorter pairs (您别生气 我不是这个意思) are still too
    short for the insult head to judge."""
    han = len(HAN.findall(text))
    return han >= 12 if han else len(text.split()) >= 8


def _units(raw: str, segment: int) -> list[_Unit]:
    units = [_Unit(segment, piece, False, piece.start - sentence.start) for sentence in whole_sentences(raw)
             for piece in sentence_pieces(raw, sentence) if _long_enough(raw[piece.start:piece.end])]
    if len(units) > 1 and len(raw.strip()) <= (_WHOLE_TURN_MAX if HAN.search(raw) else 2 * _WHOLE_TURN_MAX):
        units.append(_Unit(segment, Span(units[0].span.start, units[-1].span.end), True))
    return units


def score_call(heads: Heads, raws: list[str], roles: list[str],
               wanted: dict[str, tuple[str, float]], language: str) -> list[SemanticHit]:
    """Hits for the categories in ``wanted`` ({category: (role, threshold)}), scored by the weights of
    ``language`` (zh or en)."""
    roles_needed = {role for role, _ in wanted.values()}
    units = [u for seg, raw in enumerate(raws) if raw.strip() and any(role_ok(r, roles[seg]) for r in roles_needed)
             for u in _units(raw, seg)]
    if not units:
        return []
    texts = [raws[u.segment][u.span.start:u.span.end] for u in units]
    contexts = [_context(raws, roles, u.segment) for u in units]
    distinct = sorted(set(texts) | {c for c in contexts if c})
    vectors = dict(zip(distinct, encoder.encode(distinct), strict=True))
    zero = np.zeros(encoder.DIM, dtype=np.float32)
    emb = np.stack([vectors[t] for t in texts])
    ctx = np.stack([vectors[c] if c else zero for c in contexts])
    probs = heads.scores([ngram_features(t, c) for t, c in zip(texts, contexts, strict=True)], emb, ctx, language)
    columns = [heads.index(category) for category in wanted]
    floor = min(threshold for _, threshold in wanted.values())
    units, texts, contexts, emb, ctx, probs = _with_clauses(heads, units, texts, contexts, emb, ctx, probs, columns,
                                                            roles, language)
    # only the agent's denials: a debtor's "I don't see the point of going on" is no denial
    _rescore_denials(heads, raws, units, texts, contexts, emb, ctx, probs,
                     [i for i in range(len(units)) if roles[units[i].segment] != "customer"
                      and probs[i, columns].max() >= floor], language)
    hits = []
    near_cache: dict[int, list[Exemplar]] = {}
    for category, (role, threshold) in wanted.items():
        column = probs[:, heads.index(category)]
        best: dict[int, tuple[int, list[Exemplar]]] = {}
        for i, unit in enumerate(units):
            if column[i] < threshold or not role_ok(role, roles[unit.segment]):
                continue
            held = best.get(unit.segment)
            if held is not None and not _better(units[i], column[i], units[held[0]], column[held[0]]):
                continue
            near = near_cache.get(i)
            if near is None:
                near = near_cache[i] = heads.nearest(emb[i], _AGREEMENT_K)
            if any(e.category == category for e in near):
                best[unit.segment] = (i, near)
        for segment, (i, near) in sorted(best.items()):
            hits.append(SemanticHit(category, segment, units[i].span, round(float(column[i]), 3), tuple(near[:2])))
    return _without_weak_rivals(hits, {category: threshold for category, (_, threshold) in wanted.items()})


def _margin(hit: SemanticHit, thresholds: dict[str, float]) -> float:
    threshold = thresholds[hit.category]
    return (hit.score - threshold) / max(1e-6, 1.0 - threshold)


def _without_weak_rivals(hits: list[SemanticHit], thresholds: dict[str, float]) -> list[SemanticHit]:
    """On one turn, a category that only just passed gives way to one that passed clearly: the
    heads are one-vs-rest, and a shaming sentence (张贴欠款告知书) also nudges the threat head over
    its line. Both stand when both pass well (辱骂 and 脏话 together are common)."""
    by_segment: dict[int, list[SemanticHit]] = {}
    for hit in hits:
        by_segment.setdefault(hit.segment, []).append(hit)
    kept: list[SemanticHit] = []
    for segment_hits in by_segment.values():
        best = max(_margin(h, thresholds) for h in segment_hits)
        kept.extend(h for h in segment_hits if _margin(h, thresholds) >= _RIVAL * best)
    return sorted(kept, key=lambda h: (h.category, h.segment))


def _with_clauses(heads: Heads, units: list[_Unit], texts: list[str], contexts: list[str], emb: np.ndarray,
                  ctx: np.ndarray, probs: np.ndarray, columns: list[int], roles: list[str], language: str) -> tuple[
                      list[_Unit], list[str], list[str], np.ndarray, np.ndarray, np.ndarray]:
    """The clauses of Chinese sentences that scored 'maybe' (one clause a violation, the next not, can
    average below the threshold: 我们是监管部门授权的执行单位，能直接冻结你的微信支付宝), added as units;
    and, for the ``_ALWAYS_CLAUSES`` categories only, every pair of neighbouring clauses of every
    Chinese agent sentence, cut at pauses too (您这学历估计也就认识几个字 inside a polite run-on). A
    recogniser's Chinese run-on needs the cuts; English keeps its sentences whole."""
    extra: list[tuple[_Unit, str, str, np.ndarray]] = []
    parents: list[int] = []
    speaks_for: list[tuple[float, bool]] = []
    always = [heads.index(c) for c in _ALWAYS_CLAUSES if c in heads.categories and heads.index(c) in columns]
    for i, unit in enumerate(units):
        if unit.whole or roles[unit.segment] == "customer":
            continue  # a debtor's turns are short: their sentences say it whole
        if not HAN.search(texts[i]):
            # English is written with its punctuation and says a thing in a whole sentence: its clauses
            # ("and a hardship plan if you're out of work") score as noise, not as what was meant
            continue
        leaning = bool(probs[i, columns].max() >= _MAYBE)
        # each piece: how much its sentence must lean to a category for the piece to speak for it
        # (_NEVER: for none), and whether it speaks for the _ALWAYS_CLAUSES categories regardless
        pieces: dict[Span, tuple[float, bool]] = {}
        if leaning:
            parts = clauses(texts[i])
            if len(parts) > 1:
                pieces.update((p, (_LEAN, False)) for p in parts)
        if always or leaning:
            # two neighbouring clauses at a time: a clause alone is too short to judge (像您这种情况
            # reads like contempt), two say what was meant (您这学历估计也就认识几个字 合同上写的东西您看不懂)
            pauses = pause_clauses(texts[i])
            pairs = [p for p in (Span(a.start, b.end) for a, b in zip(pauses, pauses[1:], strict=False))
                     if _long_pair(texts[i][p.start:p.end])]
            if len(pairs) > 1:
                for p in pairs:
                    held, _ = pieces.get(p, (_NEVER, False))
                    if leaning:  # a pair that is also a clause keeps the clause's lower bar
                        held = min(held, _PAIR_LEAN)
                    pieces[p] = (held, bool(always))
        for part, speaks in pieces.items():
            text = texts[i][part.start:part.end]
            if not _long_enough(text):
                continue
            span = Span(unit.span.start + part.start, unit.span.start + part.end)
            extra.append((_Unit(unit.segment, span, False), text, contexts[i], ctx[i]))
            parents.append(i)
            speaks_for.append(speaks)
    if not extra:
        return units, texts, contexts, emb, ctx, probs
    new_emb = encoder.encode([text for _, text, _, _ in extra])
    new_ctx = np.stack([c for _, _, _, c in extra])
    new_probs = heads.scores([ngram_features(text, context) for _, text, context, _ in extra], new_emb, new_ctx,
                             language)
    # a clause speaks only for the categories its sentence already leaned to (_LEAN): 您路上注意安全
    # alone reads like a veiled threat, inside 您路上注意安全，我们下午再联系 it does not; a clause that
    # carries its sentence's claim (我们是监管部门授权的执行单位，能直接冻结…) leans enough. A pause
    # pair speaks for the _ALWAYS_CLAUSES categories, and for those its sentence leaned _PAIR_LEAN to.
    need = np.array([lean for lean, _ in speaks_for])[:, None]
    keep = probs[parents] >= need
    always_rows = np.flatnonzero([regardless for _, regardless in speaks_for])
    if always and len(always_rows):
        keep[np.ix_(always_rows, np.array(always, dtype=np.intp))] = True
    new_probs[~keep] = 0.0
    return (units + [u for u, _, _, _ in extra], texts + [t for _, t, _, _ in extra],
            contexts + [c for _, _, c, _ in extra], np.concatenate([emb, new_emb]), np.concatenate([ctx, new_ctx]),
            np.concatenate([probs, new_probs]))


def _kept(raws: list[str], unit: _Unit, text: str) -> list[Span] | None:
    """``without_denials`` of a unit's text; a piece of a long sentence is read with the rest of its
    sentence before it, since the denial may open there ("nobody legitimate will ask you to pay by gift
    card, | a wire to a person, or a personal Zelle")."""
    if not unit.lead or unit.whole:
        return without_denials(text)
    start = unit.span.start - unit.lead
    kept = without_denials(raws[unit.segment][start:unit.span.end])
    if kept is None:
        return None
    inside = [Span(max(k.start, unit.lead) - unit.lead, k.end - unit.lead) for k in kept if k.end > unit.lead]
    if len(inside) == len(clauses(text)):
        return None  # the piece is cut at clause breaks: none of its clauses was denied
    return inside


def _rescore_denials(heads: Heads, raws: list[str], units: list[_Unit], texts: list[str], contexts: list[str],
                     emb: np.ndarray, ctx: np.ndarray, probs: np.ndarray, passing: list[int], language: str) -> None:
    """Score the passing units again without their denial clauses (in place); a unit that is
    all denial scores zero. See ``denial``: 我们不会联系您的家人 is not a threat to."""
    again: list[tuple[int, str, Span]] = []
    for i in passing:
        kept = _kept(raws, units[i], texts[i])
        if kept is None:
            continue
        rest = " ".join(texts[i][k.start:k.end] for k in kept)
        if not kept or not _long_enough(rest):
            probs[i] = 0.0
            continue
        base = units[i].span.start
        again.append((i, rest, Span(base + kept[0].start, base + kept[-1].end)))
    if not again:
        return
    new_emb = encoder.encode([text for _, text, _ in again])
    rows = [i for i, _, _ in again]
    probs[rows] = heads.scores([ngram_features(text, contexts[i]) for i, text, _ in again], new_emb, ctx[rows],
                               language)
    for (i, text, span), vector in zip(again, new_emb, strict=True):
        units[i] = _Unit(units[i].segment, span, units[i].whole)
        texts[i], emb[i] = text, vector


def _better(unit: _Unit, score: float, held: _Unit, held_score: float) -> bool:
    if unit.whole != held.whole:
        return not unit.whole  # a sentence that passes cites tighter than the whole turn
    return score > held_score
