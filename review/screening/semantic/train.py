"""Training the semantic heads from the labelled corpus (``callqa rules train``).

Reproducible: a fixed seed drives the augmentation and the folds, and the result
records the corpus SHA-256. Each utterance is used three ways: as written, with
ASR noise (same-sound characters, dropped words), and with its context swapped
(removed where it had one, an ordinary turn of the other speaker added where it had
none), so neither noise nor the presence of a previous turn tells a category. The
noisy and swapped copies are drawn AUGMENT_DRAWS times, each draw weighted 1/AUGMENT_DRAWS:
with one draw, which characters the noise happened to swap moved the heads enough to
change a call set's share of compliant calls flagged by up to 0.08 between two seeds;
three draws average that luck out (one call in 26 at most).

Per category and language (zh, en) a logistic regression is fitted one-vs-rest on that
language's utterances where it has OWN_HEAD_MIN_POSITIVES of the category, else on both
languages'. Categories that overlap (a threat to tell the family is also a threat) do not
serve as each other's negatives. The threshold is the middle of the plateau where F-beta (beta 0.7, leaning to
precision, each false alarm counted NEGATIVE_WEIGHT times) is near its best on out-of-fold
scores, each utterance's fold drawn from its stable id (its augmented copies go with it, and
adding lines moves no other utterance to another fold); the median of that choice over bootstrap
resamplings of the utterances is kept.
"""

from __future__ import annotations

import math
import multiprocessing
import random
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from review.screening.packs_registry import language_family
from review.screening.semantic import encoder
from review.screening.semantic.corpus import CORPUS_DIR, NONE, Utterance, corpus_hash, load_corpus
from review.screening.semantic.features import SIZE, ngram_features
from review.screening.semantic.heads import HEADS_FILE, LANGUAGES, Heads
from review.screening.semantic.noise import AsrNoise

SEED = 13
BETA = 0.7
NEGATIVE_WEIGHT = 4.0
PLATEAU = 0.01
BOOTSTRAPS = 25
_POISSON_CDF = np.cumsum([math.exp(-1) / math.factorial(k) for k in range(12)])
C_REG = 4.0
EMB_WEIGHT = 1.0
OVERLAPS = (
    {"threat_violence", "family_or_contacts_threat", "shaming_exposure"},
    {"insult_abuse", "obscenity"},
    {"impersonation_authority", "false_legal_consequence"},
    {"family_or_contacts_threat", "third_party_disclosure", "shaming_exposure"},
    {"customer_complaint_or_regulator", "customer_vulnerability"},
)
MIN_POSITIVES = 8
# a language trains a category's head on its own utterances from this many positives of it; below, the
# head reads both languages' utterances (the multilingual embeddings carry what one language taught
# to the other, and a small category learned from one language alone flagged more compliant calls)
OWN_HEAD_MIN_POSITIVES = 300
# what one utterance weighs in training: as written, its noisy copies together, its context swaps together
_UTTERANCE_WEIGHT = 3.0
AUGMENT_DRAWS = 3


@dataclass
class _Row:
    text: str
    context: str
    category: str
    group: int
    language: str  # the language family: zh or en
    weight: float = 1.0  # an augmented copy counts 1 / AUGMENT_DRAWS
    written: bool = False  # the utterance as written (the one an exemplar shows)


def _augment(items: list[Utterance], rng: random.Random, draws: int = AUGMENT_DRAWS) -> list[_Row]:
    noises = [AsrNoise((u.text for u in items), substitution=0.15, deletion=0.03, seed=SEED + 1000 * d)
              for d in range(draws)]
    neutral = {role: [u.text for u in items if u.category == NONE and u.role == role] or [""]
               for role in ("agent", "customer")}
    rows = []
    share = 1.0 / draws
    for item in items:
        # a stable id: the same utterance keeps its fold and its bootstrap weights whatever else changes
        group = zlib.crc32(f"{item.category}\t{item.context}\t{item.text}".encode())
        other = neutral["customer" if item.role == "agent" else "agent"]
        language = language_family(item.language) or ""
        rows.append(_Row(item.text, item.context, item.category, group, language, written=True))
        rows.extend(_Row(noise(item.text), item.context, item.category, group, language, share) for noise in noises)
        if item.context:  # one way to swap a context away: remove it
            rows.append(_Row(item.text, "", item.category, group, language))
        else:
            rows.extend(_Row(item.text, rng.choice(other), item.category, group, language, share)
                        for _ in range(draws))
    return rows


def _matrix(rows: list[_Row], progress: Callable[[str], None], features: str = "both") -> tuple[Any, np.ndarray]:
    from scipy import sparse

    started = time.monotonic()
    texts = sorted({r.text for r in rows} | {r.context for r in rows if r.context})
    progress(f"embedding {len(texts)} distinct texts")
    vectors = dict(zip(texts, encoder.encode(texts), strict=True))
    zero = np.zeros(encoder.DIM, dtype=np.float32)
    emb = np.stack([np.concatenate([vectors[r.text], vectors[r.context] if r.context else zero]) for r in rows])
    indptr, indices, values = [0], [], []
    for r in rows:
        idx, val = ngram_features(r.text, r.context)
        indices.append(idx)
        values.append(val)
        indptr.append(indptr[-1] + len(idx))
    grams = sparse.csr_matrix((np.concatenate(values), np.concatenate(indices), np.array(indptr)),
                              shape=(len(rows), SIZE))
    progress(f"features ready in {time.monotonic() - started:.1f} s")
    # ablations for the quality bench: one family alone (the other's weights stay zero)
    if features == "ngrams":
        return sparse.hstack([grams, sparse.csr_matrix(np.zeros_like(emb))]).tocsr(), emb
    if features == "embeddings":
        grams = sparse.csr_matrix(grams.shape, dtype=np.float32)
    return sparse.hstack([grams, sparse.csr_matrix(emb * EMB_WEIGHT)]).tocsr(), emb


def _sweep(y: np.ndarray, p: np.ndarray, weight: np.ndarray) -> tuple[float, float, float]:
    """(threshold, precision, recall) at the middle of the F-beta plateau, every row counted ``weight``
    times. A false positive counts NEGATIVE_WEIGHT times: a call holds many more harmless sentences
    than the corpus does, so a threshold tuned to the corpus's mix would flag too much."""
    rounded = np.round(p, 3)
    order = np.argsort(-rounded, kind="stable")
    ranked, pos, w = rounded[order], y[order], weight[order]
    tp, fp = np.cumsum(w * pos), np.cumsum(w * ~pos)
    # the last row of each run of equal scores: everything scoring at least that value is flagged
    last = np.flatnonzero(np.append(ranked[1:] != ranked[:-1], True))
    tp, fp, cuts = tp[last], fp[last], ranked[last]
    total = float(np.sum(w * y))
    keep = tp > 0
    if total == 0 or not np.any(keep):
        return 0.5, 0.0, 0.0
    tp, fp, cuts = tp[keep], fp[keep], cuts[keep]
    precision, recall = tp / (tp + NEGATIVE_WEIGHT * fp), tp / total
    f = (1 + BETA**2) * precision * recall / (BETA**2 * precision + recall)
    # the F curve is flat near its top, so its argmax jumps when a few utterances change; the middle
    # of the plateau (every threshold within PLATEAU of the best F) moves little
    plateau = np.flatnonzero(f >= f.max() - PLATEAU)[::-1]  # ascending thresholds, as scored
    i = int(plateau[len(plateau) // 2])
    return float(cuts[i]), float(precision[i]), float(recall[i])


def _resampled(ids: np.ndarray, draw: int) -> np.ndarray:
    """Poisson(1) bootstrap weights for the utterances ``ids``, drawn from each id itself: an
    utterance keeps its weight in every draw when other lines are added or removed, so a small
    corpus edit changes the resamplings only by those lines."""
    u = np.array([zlib.crc32(f"{SEED}:{draw}:{i}".encode()) for i in ids.tolist()], dtype=np.float64) / 2**32
    return np.searchsorted(_POISSON_CDF, u).astype(np.float64)


def _threshold(y: np.ndarray, p: np.ndarray, groups: np.ndarray | None = None,
               weight: np.ndarray | None = None) -> tuple[float, float, float]:
    """(threshold, precision, recall) on out-of-fold scores: the median of the plateau middles over
    BOOTSTRAPS resamplings of the utterances (``groups``: an utterance's stable id, shared by its
    augmented copies, which are drawn together), so a few lines added or removed move it little.
    ``weight``: each row's own weight (an augmented copy's share)."""
    w = np.ones(len(y)) if weight is None else weight
    if groups is None or BOOTSTRAPS < 2:
        return _sweep(y, p, w)
    ids, index = np.unique(groups, return_inverse=True)
    t = float(np.median([_sweep(y, p, w * _resampled(ids, draw)[index])[0] for draw in range(BOOTSTRAPS)]))
    flagged = p >= t
    tp, fp = float(np.sum(w * (flagged & y))), float(np.sum(w * (flagged & ~y)))
    precision = tp / (tp + NEGATIVE_WEIGHT * fp) if tp else 0.0
    return t, precision, tp / max(1.0, float(np.sum(w * y)))


def _fit(x: Any, y: np.ndarray, weight: np.ndarray) -> Any:
    from sklearn.linear_model import LogisticRegression

    # the dual problem: far fewer utterances than hashed features
    model = LogisticRegression(C=C_REG, class_weight="balanced", max_iter=3000, solver="liblinear", dual=True,
                               random_state=SEED)
    return model.fit(x, y, sample_weight=weight)


# what the worker processes read: set before the pool forks, so the feature matrix is shared, not copied
_SHARED: dict[str, Any] = {}


_Fitted = tuple[np.ndarray, float, dict[str, tuple[float, float, float]]]


def _fit_head(task: tuple[str, str | None], folds: int) -> _Fitted:
    """One category's head for one language (None: on both languages' rows): its weights, its bias,
    and per language the out-of-fold (threshold, precision, recall). ``folds`` out-of-fold fits, then
    one on all rows. A head on both languages' rows still draws each language's line from that
    language's rows, where it has MIN_POSITIVES: the two score on different n-gram families."""
    category, language = task
    x, labels, groups, row_weight, languages = (_SHARED[k] for k in ("x", "labels", "groups", "weight", "languages"))
    related = set().union(*(g for g in OVERLAPS if category in g)) - {category}
    keep = ~np.isin(labels, list(related))
    if language is not None:
        keep &= languages == language
    xk, yk, gk, wk, lk = x[keep], labels[keep] == category, groups[keep], row_weight[keep], languages[keep]
    oof = np.zeros(len(yk))
    fold_of = gk % folds  # the stable id picks the fold: a corpus edit moves no other utterance
    for fold in range(folds):
        test_idx, train_idx = np.flatnonzero(fold_of == fold), np.flatnonzero(fold_of != fold)
        oof[test_idx] = _fit(xk[train_idx], yk[train_idx], wk[train_idx]).predict_proba(xk[test_idx])[:, 1]
    lines: dict[str, tuple[float, float, float]] = {}
    shared: tuple[float, float, float] | None = None
    for each in LANGUAGES if language is None else (language,):  # only the languages that read this head
        mask = lk == each
        if np.sum(wk[mask & yk]) >= MIN_POSITIVES * _UTTERANCE_WEIGHT:
            lines[each] = _threshold(yk[mask], oof[mask], gk[mask], wk[mask])
        else:  # too few positives of its own: the line drawn on every row, computed once
            shared = shared or _threshold(yk, oof, gk, wk)
            lines[each] = shared
    model = _fit(xk, yk, wk)
    return model.coef_[0].astype(np.float32), float(model.intercept_[0]), lines


def _run(tasks: list[tuple[str, str | None]], folds: int, jobs: int,
         progress: Callable[[str], None]) -> dict[tuple[str, str | None], _Fitted]:
    """Every task's head, ``jobs`` at a time (each fit is seeded: the result does not depend on ``jobs``)."""
    done: dict[tuple[str, str | None], _Fitted] = {}

    def report(task: tuple[str, str | None]) -> None:
        lines = done[task][2]
        shown = "; ".join(f"{language} {t:.3f} (cv precision {p:.3f}, recall {r:.3f})"
                          for language, (t, p, r) in lines.items())
        progress(f"{task[0]} on {task[1] or 'both languages'}: {shown} [{len(done)}/{len(tasks)}]")

    if jobs <= 1 or len(tasks) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for task in tasks:
            done[task] = _fit_head(task, folds)
            report(task)
        return done
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {pool.submit(_fit_head, task, folds): task for task in tasks}
        for future in as_completed(futures):
            done[futures[future]] = future.result()
            report(futures[future])
    return done


def train(corpus: Path = CORPUS_DIR, out: Path = HEADS_FILE, folds: int = 5,
          progress: Callable[[str], None] = lambda _: None, features: str = "both", jobs: int = 1,
          own_min: int = OWN_HEAD_MIN_POSITIVES) -> Heads:
    """Fit every category with enough positives, per language, pick thresholds out of fold, write ``out``.

    A language's head is trained on that language's utterances alone where it has ``own_min`` positives of
    the category; otherwise that language reads a head trained on both languages' utterances.
    ``features``: both (the default), or ngrams / embeddings alone, to measure each one's part.
    ``jobs``: heads fitted at once, in forked processes."""
    rng = random.Random(SEED)
    items = load_corpus(corpus)
    rows = _augment(items, rng)
    x, emb = _matrix(rows, progress, features)
    labels = np.array([r.category for r in rows])
    row_weight = np.array([r.weight for r in rows])
    languages = np.array([r.language for r in rows])
    enough = MIN_POSITIVES * _UTTERANCE_WEIGHT
    categories = sorted(c for c in set(labels) - {NONE} if np.sum(row_weight[labels == c]) >= enough)
    # the language each head is trained on: its own, or None (both) where it has too few positives
    own = own_min * _UTTERANCE_WEIGHT
    source = {(c, language): language if np.sum(row_weight[(labels == c) & (languages == language)]) >= own
              else None for c in categories for language in LANGUAGES}
    _SHARED.update(x=x, labels=labels, groups=np.array([r.group for r in rows]), weight=row_weight,
                   languages=languages)
    try:  # each distinct head once: a category both languages read from both is fitted once
        fitted = _run(sorted({(c, trained_on) for (c, _), trained_on in source.items()}, key=str), folds, jobs,
                      progress)
    finally:
        _SHARED.clear()
    width = (len(LANGUAGES), len(categories))
    coef = np.zeros((*width, x.shape[1]), dtype=np.float32)
    bias, thresholds = np.zeros(width, dtype=np.float32), np.zeros(width, dtype=np.float32)
    report: dict[str, Any] = {}
    for k, category in enumerate(categories):
        for li, language in enumerate(LANGUAGES):
            trained_on = source[(category, language)]
            coef[li, k], bias[li, k], lines = fitted[(category, trained_on)]
            thresholds[li, k], precision, recall = lines[language]
            positive = (labels == category) & (languages == language if trained_on else True)
            report.setdefault(language, {})[category] = {
                "trained_on": trained_on or "both", "threshold": round(float(thresholds[li, k]), 3),
                "positives": int(round(float(np.sum(row_weight[positive])))),
                "cv_precision": round(precision, 3), "cv_recall": round(recall, 3)}
    original = [i for i, r in enumerate(rows) if r.written]
    heads = Heads(
        categories=categories, ngram_coef=coef[:, :, :SIZE], emb_coef=coef[:, :, SIZE:] * EMB_WEIGHT, bias=bias,
        thresholds=thresholds, exemplar_text=[rows[i].text for i in original],
        exemplar_category=[rows[i].category for i in original],
        exemplar_emb=emb[original, :encoder.DIM].astype(np.float16),
        meta={"encoder": encoder.model_id(), "corpus_sha256": corpus_hash(items), "utterances": len(items),
              "seed": SEED, "augment_draws": AUGMENT_DRAWS, "folds": folds, "features": features, "beta": BETA,
              "negative_weight": NEGATIVE_WEIGHT, "plateau": PLATEAU, "bootstraps": BOOTSTRAPS, "C": C_REG,
              "languages": list(LANGUAGES), "cv": report},
    )
    heads.save(out)
    return heads
