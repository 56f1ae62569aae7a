"""A rule as the engine runs it: the rule, its pack, and the ids of its phrases in the call's matcher."""

from __future__ import annotations

from dataclasses import dataclass, field

from review.screening.rules import Rule, RulePack


@dataclass
class Compiled:
    rule: Rule
    pack: RulePack
    main: set[int] = field(default_factory=set)
    exclude: set[int] = field(default_factory=set)
    first: set[int] = field(default_factory=set)
    then: set[int] = field(default_factory=set)
    groups: list[set[int]] = field(default_factory=list)
    # phrases of which at least one must be in the call for the rule to find anything (empty: none needed)
    trigger: frozenset[int] = frozenset()
    gate: set[int] = field(default_factory=set)  # semantic `after` / required `unless` phrases
