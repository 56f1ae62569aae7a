"""Trained per-category heads: logistic regression over embeddings and n-grams.

A heads file is one ``.npz`` (no pickles) holding, per language family (zh, en) and
category, the weights over the utterance's embedding, the previous turn's embedding
and the hashed n-grams, a bias and the decision threshold chosen by cross-validation;
the labelled exemplars (text, category, embedding) that explain a score; and a JSON
``meta`` with the encoder, the corpus SHA-256, the seed and the cross-validated figures.

Each language has its own weights (trained on its own utterances where the corpus has
enough of the category, see ``train``): with weights shared across languages, a corpus
round of Chinese lines moved the English lines' scores and thresholds.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from callqa.errors import RulePackError
from review.screening.semantic.encoder import DIM
from review.screening.semantic.features import SIZE

HEADS_FILE = Path(__file__).resolve().parent / "heads.npz"
FORMAT = 3  # 3: weights per language; 2: English filler words count only inside word pairs (1 read them alone)
LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class Exemplar:
    text: str
    category: str
    similarity: float


@dataclass
class Heads:
    categories: list[str]
    ngram_coef: np.ndarray  # (L, C, SIZE), L: the LANGUAGES
    emb_coef: np.ndarray  # (L, C, 2 * DIM): this utterance, then the previous turn
    bias: np.ndarray  # (L, C)
    thresholds: np.ndarray  # (L, C)
    exemplar_text: list[str]
    exemplar_category: list[str]
    exemplar_emb: np.ndarray  # (N, DIM) float16
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    _exemplars32: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def corpus_sha256(self) -> str:
        return str(self.meta.get("corpus_sha256", ""))

    @property
    def version(self) -> str:
        """What a pack version carries: the corpus the heads were trained on, and how (the heads'
        format: the same corpus trained per language scores otherwise)."""
        return f"corpus.{self.corpus_sha256[:10]}.heads{self.meta.get('format', FORMAT)}"

    def index(self, category: str) -> int:
        try:
            return self.categories.index(category)
        except ValueError:
            where = self.path or "the heads file"
            raise RulePackError(f"{where}: no trained head for category {category!r}; "
                                f"`callqa rules train` builds one when the corpus has examples of it") from None

    def threshold(self, category: str, language: str) -> float:
        """The cross-validated threshold of ``category`` in ``language`` (zh or en)."""
        return float(self.thresholds[_language_index(language), self.index(category)])

    def scores(self, ngrams: list[tuple[np.ndarray, np.ndarray]], emb: np.ndarray,
               context_emb: np.ndarray, language: str) -> np.ndarray:
        """Probabilities by ``language``'s weights, shape (len(ngrams), C)."""
        li = _language_index(language)
        ngram_coef = self.ngram_coef[li]
        logits = np.concatenate([emb, context_emb], axis=1) @ self.emb_coef[li].T + self.bias[li]
        for row, (idx, val) in enumerate(ngrams):
            if len(idx):
                logits[row] += ngram_coef[:, idx] @ val
        return 1.0 / (1.0 + np.exp(-logits))

    def nearest(self, emb: np.ndarray, k: int = 2) -> list[Exemplar]:
        if self._exemplars32 is None:  # stored as float16 to keep the file small; widened once
            self._exemplars32 = self.exemplar_emb.astype(np.float32)
        sims = self._exemplars32 @ emb
        order = np.argsort(-sims)[:k]
        return [Exemplar(self.exemplar_text[i], self.exemplar_category[i], round(float(sims[i]), 3))
                for i in order.tolist()]

    def save(self, path: Path) -> None:
        """Write the heads; the same heads give the same bytes (no timestamps in the archive)."""
        arrays = {
            "categories": np.array(self.categories), "ngram_coef": self.ngram_coef.astype(np.float16),
            "emb_coef": self.emb_coef.astype(np.float32), "bias": self.bias.astype(np.float32),
            "thresholds": self.thresholds.astype(np.float32), "exemplar_emb": self.exemplar_emb.astype(np.float16),
            "exemplar_text": np.array(json.dumps(self.exemplar_text, ensure_ascii=False)),
            "exemplar_category": np.array(json.dumps(self.exemplar_category)),
            "meta": np.array(json.dumps({**self.meta, "format": FORMAT}, ensure_ascii=False, sort_keys=True)),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, array, allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(2026, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, buffer.getvalue())
        partial.replace(path)


def _language_index(language: str) -> int:
    try:
        return LANGUAGES.index(language)
    except ValueError:
        raise ValueError(f"semantic heads score the language families {LANGUAGES}, not {language!r}") from None


def _read(path: Path) -> Heads:
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            heads = Heads(
                categories=[str(c) for c in z["categories"]], ngram_coef=z["ngram_coef"].astype(np.float32),
                emb_coef=z["emb_coef"],
                bias=z["bias"], thresholds=z["thresholds"], exemplar_text=json.loads(str(z["exemplar_text"])),
                exemplar_category=json.loads(str(z["exemplar_category"])), exemplar_emb=z["exemplar_emb"],
                meta=meta, path=path)
    except FileNotFoundError:
        raise RulePackError(f"{path}: semantic heads file not found; run `callqa rules train` "
                            "(or `make install`, which builds them)") from None
    except (OSError, KeyError, ValueError) as exc:
        raise RulePackError(f"{path}: not a readable semantic heads file ({exc}); "
                            "rebuild it with `callqa rules train`") from exc
    shapes = (heads.ngram_coef.shape, heads.emb_coef.shape, heads.thresholds.shape)
    width = len(LANGUAGES), len(heads.categories)
    if meta.get("format") != FORMAT or shapes != ((*width, SIZE), (*width, 2 * DIM), width):
        raise RulePackError(f"{path}: semantic heads of another format; rebuild them with `callqa rules train`")
    return heads


@lru_cache(maxsize=8)
def _cached(path: str, mtime_ns: int) -> Heads:
    return _read(Path(path))


def load_heads(path: Path = HEADS_FILE) -> Heads:
    """The heads in ``path``, read once per process until the file changes."""
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return _read(path)  # raises the not-found error
    return _cached(str(path), mtime)
