"""The semantic stage of screening: sentence embeddings and trained per-category heads.

``load_heads`` reads a trained heads file, ``score_call`` scores a call's turns,
``train`` builds heads from the labelled corpus (``callqa rules train``).
Keyword and regex rules give exact spans; this stage catches what they cannot
list: paraphrase, implication, slang and recogniser errors.
"""

from __future__ import annotations

from review.screening.semantic.heads import HEADS_FILE, Exemplar, Heads, load_heads
from review.screening.semantic.stage import SemanticHit, score_call

__all__ = ["HEADS_FILE", "Exemplar", "Heads", "SemanticHit", "load_heads", "score_call"]
