"""Rule types that read the call's metadata and history rather than (only) its words.

Four types, checked when a pack loads (``condition_params``) and evaluated here for the engine:

``hours``
    An outbound call outside ``earliest``-``latest`` local time in ANY zone the debtor
    might be in: ``metadata.timezone``, ``timezones`` (a list), ``area_code_timezone``,
    ``address_timezone``. With none of them known, every zone in ``zones_if_unknown``
    (default: the pack's zone) counts. Skipped when one of ``consent_flags`` (default
    ``consented``, ``hours_consented``) is true in the call's metadata.

``call_pattern``
    Cross-call rules over the call history (``history.CallHistory``), ``kind``:

    * ``calls_in_window`` (``max``, ``days``): Regulation F's count per debt
      (``debt_id``, else ``debtor_id``), calendar days in the debtor's zone with the
      day of the call as day 1; calls the consumer started, calls that never
      connected (``connected: false``) and calls placed with consent
      (``consented: true``) do not count.
    * ``after_conversation`` (``days``): an outbound call fewer than ``days`` calendar
      days after a telephone conversation about the same debt, whichever side
      started the conversation (the conversation's day is day 1; day ``days + 1`` is
      clear). Consented calls are excluded.
    * ``after_request`` (``request_flags``, ``match_on``: debtor / phone,
      ``lift_flags``): an outbound call after an earlier call (or this call's own
      metadata) carried one of ``request_flags`` — metadata keys set true, or
      ``finding:RULE`` for a stored finding of that rule — unless a later call or this
      one carries one of ``lift_flags``.
    * ``repeat_contact`` (``when``, ``match_on``, ``lift_flags``): a second outbound,
      connected call matching ``when`` to the same number or debtor (the location-call
      limit).

``flagged``
    ``when`` (metadata key -> value, all must hold) and ``unless`` (any holding skips
    the rule); with ``phrases`` (optional ``exclude``) the finding is the phrase said by
    the rule's role, otherwise the call itself is the finding. ``outbound_only``
    (default true) skips calls the debtor made.

A frequency finding states that exceeding the count is a rebuttable presumption,
not a proven violation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from review.screening.compiled import Compiled
from review.screening.condition_params import ZONE_KEYS, zone_or_none
from review.screening.findings import FindingResult
from review.screening.match import (
    CallText,
    PhraseHit,
    PhraseMatcher,
    evidence_span,
    hit_counts,
    role_ok,
    word_times,
)

if TYPE_CHECKING:
    from review.screening.history import CallHistory

# --- evaluation -------------------------------------------------------------------------

def evaluate(c: Compiled, call: CallText, meta: Mapping[str, Any], this_call: CallHistory,
             history: Sequence[CallHistory]) -> list[FindingResult]:
    kind = c.rule.type
    if kind == "hours":
        return _hours(c, meta, this_call)
    if kind == "call_pattern":
        return _pattern(c, meta, this_call, history)
    if kind == "flagged":
        return _flagged(c, call, meta, this_call)
    if kind == "guarded_proximity":
        return _guarded_proximity(c, call, meta, this_call)
    return []


def _result(c: Compiled, evidence: str, start: float | None = 0.0, end: float | None = 0.0,
            segment: int | None = None) -> FindingResult:
    rule = c.rule
    return FindingResult(rule.id, rule.category, rule.severity, segment, start, end, evidence, rule.citation,
                         rule.urgent)


def _truthy(meta: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    return next((k for k in keys if meta.get(k) is True or str(meta.get(k)).lower() in ("true", "yes")), None)


def _hours(c: Compiled, meta: Mapping[str, Any], this_call: CallHistory) -> list[FindingResult]:
    p = c.rule.params
    if this_call.started_at is None or not this_call.outbound or _truthy(meta, p["consent_flags"]):
        return []
    creditor = str(meta.get("creditor") or "")
    if ("when_creditor" in p and not p["when_creditor"].search(creditor)) or \
            ("unless_creditor" in p and p["unless_creditor"].search(creditor)):
        return []  # another rulebook's hours bind this creditor
    names: list[str] = [str(meta.get(k)) for k in ZONE_KEYS if meta.get(k)]
    extra = meta.get("timezones")
    if isinstance(extra, list):
        names.extend(str(z) for z in extra if z)
    zones = [z for z in dict.fromkeys(zone_or_none(n) for n in names) if z is not None]
    unknown = not zones
    if unknown:
        zones = [z for z in (zone_or_none(n) for n in p["zones_if_unknown"] or (c.pack.timezone,)) if z is not None]
    earliest, latest = time.fromisoformat(p["earliest"]), time.fromisoformat(p["latest"])
    outside = []
    for zone in zones:
        local = this_call.started_at.astimezone(zone)
        if not earliest <= local.time().replace(tzinfo=None) < latest:
            outside.append(f"{local:%H:%M} in {zone.key}")
    if not outside:
        return []
    where = "location unknown, every zone checked" if unknown else "every zone the debtor may be in"
    return [_result(c, f"call placed at {'; '.join(outside)} ({where}); allowed "
                       f"{earliest:%H:%M}-{latest:%H:%M} local time")]


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def _same_target(a: CallHistory, b: CallHistory, match_on: str) -> bool:
    if match_on == "phone":
        return bool(a.phone_number) and a.phone_number == b.phone_number
    return bool(a.debtor_id) and a.debtor_id == b.debtor_id


def _debt_key(h: CallHistory) -> str | None:
    return h.debt_id or h.debtor_id


def _pattern(c: Compiled, meta: Mapping[str, Any], this_call: CallHistory,
             history: Sequence[CallHistory]) -> list[FindingResult]:
    p, now = c.rule.params, this_call.started_at
    if now is None or not this_call.outbound:
        return []  # a call the consumer made is never a call the collector placed
    kind = p["kind"]
    earlier = sorted((h for h in history if h.call_id != this_call.call_id and h.started_at is not None
                      and h.started_at <= now), key=lambda h: h.started_at or now)
    lifted = set(p["lift_flags"])
    if kind in ("calls_in_window", "after_conversation"):
        if this_call.consented or this_call.connected is False:
            return []  # excluded from the presumption (12 CFR 1006.14(b)(3))
        key = _debt_key(this_call)
        if not key:
            return []
        basis = "per debt" if this_call.debt_id else "per debtor (the call has no debt_id)"
        zone = zone_or_none(this_call.timezone) or zone_or_none(c.pack.timezone) or ZoneInfo("UTC")
        today = _local_day(now, zone)
        first_day = today - timedelta(days=int(p["days"]) - 1)  # the day of the call is day 1 of the window
        same = [h for h in earlier if _debt_key(h) == key and h.started_at is not None
                and first_day <= _local_day(h.started_at, zone) <= today]
        if kind == "calls_in_window":
            placed = [h for h in same if h.outbound and h.connected is not False and not h.consented]
            count = 1 + len(placed)
            if count <= p["max"]:
                return []
            return [_result(c, f"call {count} {basis} ({key}) in the {p['days']:g} calendar days "
                               f"{first_day}..{today} (presumption above {p['max']}; rebuttable)")]
        talks = [h for h in same if h.answered and h.connected is not False and "no_conversation" not in h.flags]
        if not talks:
            return []
        last = talks[-1]
        when = last.started_at or now
        side = "consumer's" if not last.outbound else "collector's"
        return [_result(c, f"call placed on day {(today - _local_day(when, zone)).days + 1} after a conversation "
                           f"{basis} on {_local_day(when, zone)} ({side} call {last.call_id}); presumption of a "
                           f"violation, rebuttable")]
    if kind == "after_request":
        if lifted and (lifted & this_call.flags or this_call.consented and "consented" in lifted):
            return []
        wanted = set(p["request_flags"])
        if wanted & this_call.flags:
            return [_result(c, f"call placed although the call record says {', '.join(sorted(wanted & this_call.flags))}")]
        request = None
        for h in earlier:
            if not _same_target(h, this_call, p["match_on"]):
                continue
            if wanted & h.flags:
                request = h
            elif request is not None and lifted & h.flags:
                request = None  # lifted later (consent given, request withdrawn)
        if request is None or request.started_at is None:
            return []
        flag = ", ".join(sorted(wanted & request.flags))
        return [_result(c, f"call placed after {flag} on {request.started_at:%Y-%m-%d %H:%M %Z} "
                           f"(call {request.call_id})")]
    # repeat_contact
    when = p["when"]
    if not _matches(meta, when) or (lifted and lifted & this_call.flags):
        return []
    for h in earlier:
        if h.outbound and h.connected is not False and h.answered and _same_target(h, this_call, p["match_on"]) \
                and all(str(k) in h.flags for k in when):
            return [_result(c, f"second contact of this kind; first on {h.started_at:%Y-%m-%d} (call {h.call_id})")]
    return []


def _matches(meta: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    for key, value in wanted.items():
        have = meta.get(key)
        if isinstance(value, bool):
            if bool(have is True or str(have).lower() in ("true", "yes")) != value:
                return False
        elif isinstance(value, list):
            if str(have) not in [str(v) for v in value]:
                return False
        elif str(have) != str(value):
            return False
    return True


_matchers: dict[int, tuple[Any, Any, set[int], set[int], list[set[int]]]] = {}


def _matcher(c: Compiled) -> tuple[PhraseMatcher, set[int], set[int], list[set[int]]]:
    """A small matcher for one rule's phrases, built once (flagged rules run only on flagged calls)."""
    rule = c.rule
    cached = _matchers.get(id(rule))
    if cached is None or cached[0] is not rule:
        matcher = PhraseMatcher()
        p = rule.params
        if rule.type == "flagged":
            main = {matcher.add(x, rule.homophones) for x in p["phrases"]}
            groups = [{matcher.add(x, rule.homophones) for x in g} for g in p["absent"]]
        else:
            main = {matcher.add(x, rule.homophones) for x in p["then"][1]}
            groups = [{matcher.add(x, rule.homophones) for x in p["first"][1]}]
            if p.get("unless_said"):
                groups.append({matcher.add(x, rule.homophones) for x in p["unless_said"][1]})
        exclude = {matcher.add(x, False) for x in p["exclude"]}
        cached = (rule, matcher, main, exclude, groups)
        if len(_matchers) > 256:
            _matchers.clear()
        _matchers[id(rule)] = cached
    return cached[1], cached[2], cached[3], cached[4]


def _flagged(c: Compiled, call: CallText, meta: Mapping[str, Any], this_call: CallHistory) -> list[FindingResult]:
    p, rule = c.rule.params, c.rule
    if p["outbound_only"] and not this_call.outbound:
        return []
    if (p["when"] and not _matches(meta, p["when"])) or any(_matches(meta, {k: v}) for k, v in p["unless"].items()):
        return []
    said = ", ".join(f"{k}={v}" for k, v in p["when"].items()) or "this call"
    if not p["phrases"] and not p["absent"]:
        return [_result(c, f"call placed with {said}")]
    matcher, main, exclude, groups = _matcher(c)
    hits = matcher.find(call)
    if p["absent"]:
        if meta.get("answered") is False or not any(role_ok(rule.applies_to, r) for r in call.roles):
            return []
        missing = [" / ".join(words[:3]) for words, group in zip(p["absent"], groups, strict=True)
                   if not any(h.phrase in group and role_ok(rule.applies_to, call.roles[h.segment])
                              and hit_counts(call, h, rule.negation) for h in hits)]
        if not missing:
            return []
        return [_result(c, f"{said}: not said: {'; '.join(missing)}")]
    return _said(c, call, hits, main, exclude, hit_counts)


def _said(c: Compiled, call: CallText, hits: list[PhraseHit], main: set[int], exclude: set[int],
          hit_counts: Callable[..., bool], segments: set[int] | None = None) -> list[FindingResult]:
    rule = c.rule
    excluded = {h.segment for h in hits if h.phrase in exclude}
    findings, flagged = [], set()
    for hit in sorted((h for h in hits if h.phrase in main), key=lambda h: (h.segment, h.start)):
        if hit.segment in flagged or hit.segment in excluded or (segments is not None and hit.segment not in segments):
            continue
        if role_ok(rule.applies_to, call.roles[hit.segment]) and hit_counts(call, hit, rule.negation):
            flagged.add(hit.segment)
            findings.append(_hit(c, call, hit))
    return findings


def _guarded_proximity(c: Compiled, call: CallText, meta: Mapping[str, Any],
                       this_call: CallHistory) -> list[FindingResult]:
    """A ``then`` phrase (the rule's role) within N segments after a ``first`` phrase, unless
    an ``unless_said`` phrase was said anywhere in the call (I'm his wife) or the metadata
    says otherwise (``unless``)."""
    p = c.rule.params
    if p["outbound_only"] and not this_call.outbound:
        return []
    if (p["when"] and not _matches(meta, p["when"])) or any(_matches(meta, {k: v}) for k, v in p["unless"].items()):
        return []
    matcher, main, exclude, groups = _matcher(c)
    hits = matcher.find(call)
    if p.get("unless_said"):
        # no negation check: "he's not here, this is his wife" must lift the rule whatever came before
        role = p["unless_said"][0]
        if any(h.phrase in groups[1] and role_ok(role, call.roles[h.segment]) for h in hits):
            return []
    first_role = p["first"][0]
    firsts = {h.segment for h in hits if h.phrase in groups[0] and role_ok(first_role, call.roles[h.segment])}
    if not firsts:
        return []
    near = {seg for f in firsts for seg in range(f + 1, f + 1 + p["within_segments"])}
    return _said(c, call, hits, main, exclude, hit_counts, near)


def _hit(c: Compiled, call: CallText, hit: PhraseHit) -> FindingResult:
    a, b = evidence_span(call, hit)
    seg = hit.segment
    finding = _result(c, call.raw[seg][a:b].strip() or call.raw[seg], call.starts[seg], call.ends[seg], seg)
    timed = word_times(call, seg, (a, b))
    if timed is not None:
        finding.start, finding.end = timed
    return finding
