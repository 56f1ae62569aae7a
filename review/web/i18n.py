"""The review UI's languages: gettext catalogues (Babel extracts and compiles them) and the site's time.

Templates mark every string with ``{% trans %}`` or ``_()``; Python code marks labels with ``N_()``
and translates them at render time. ``review/web/locale/<lang>/LC_MESSAGES/messages.po`` is the
source; the compiled ``.mo`` beside it is committed and what runs (no Babel needed at run time).
After changing a template or a label:

    .venv/bin/python -m review.web.i18n update    # extract, merge into every .po (Babel)
    .venv/bin/python -m review.web.i18n compile   # .po -> .mo (Babel)

A user's choice (stored per user) wins; before sign-in the browser's Accept-Language chooses among
``web.languages``; ``web.default_language`` otherwise.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
# the UI's own names for each language it can offer (written in that language)
LANGUAGE_NAMES = {"zh-CN": "简体中文", "en": "English"}


def N_(message: str) -> str:
    """Marks a label for extraction; translated where it is shown."""
    return message


# values stored in the database and shown in pages: translated where shown
LABELS = [
    # review item statuses, stages, kinds, outcomes
    N_("open"), N_("mine"), N_("claimed"), N_("final"), N_("disputed"), N_("appealed"), N_("all"),
    N_("first"), N_("second"),
    # what a supervisor did on an item (review.queue.base.took_part), shown on the appeals tab
    N_("is its agent"), N_("did its first review"), N_("did its second review"), N_("settled its dispute"),
    N_("flagged"), N_("sample"), N_("violation"), N_("no violation"), N_("clean"),
    N_("no_violation"), N_("confirmed"), N_("false_positive"), N_("upheld"), N_("overturned"),
    N_("registered"), N_("transcribed"), N_("screened"), N_("queued"), N_("failed"),
    # severities and roles
    N_("critical"), N_("major"), N_("minor"),
    N_("reviewer"), N_("supervisor"), N_("compliance"), N_("admin"), N_("team_lead"),
    # call details
    N_("agent"), N_("team"), N_("debtor"), N_("phone"), N_("direction"), N_("language"), N_("dialect"),
    N_("started"), N_("timezone"), N_("status"), N_("inbound"), N_("outbound"),
    # dialects of transcriber/dialects.toml
    N_("mandarin"), N_("cantonese"), N_("wu"), N_("sichuanese"), N_("minnan"), N_("english"),
    # rule categories of the shipped packs
    N_("acoustic_agitation"), N_("call_frequency"), N_("calling_hours"),
    N_("customer_complaint_or_regulator"), N_("customer_vulnerability"), N_("false_legal_consequence"),
    N_("family_or_contacts_threat"), N_("impersonation_authority"), N_("induced_borrowing"),
    N_("insult_abuse"), N_("missing_debt_collector_disclosure"), N_("missing_recording_notice"),
    N_("missing_self_identification"), N_("obscenity"), N_("private_payment_channel"),
    N_("shaming_exposure"), N_("third_party_disclosure"), N_("threat_violence"), N_("threat"),
]


def gettext_name(language: str) -> str:
    return language.replace("-", "_")


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue for ``language`` (English, the source language, needs none)."""
    if language.split("-")[0] == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[gettext_name(language)], fallback=True)


def available() -> list[str]:
    """Languages with a catalogue here, plus English."""
    found = {p.parent.parent.name.replace("_", "-") for p in LOCALE_DIR.glob("*/LC_MESSAGES/messages.mo")}
    return sorted(found | {"en"})


def _accepted(header: str) -> list[tuple[float, str]]:
    out = []
    for order, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        if not tag:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            out.append((-q + order * 1e-6, tag.strip().lower()))
    return sorted(out)


def negotiate(accept_language: str, offered: list[str], default: str) -> str:
    """The offered language the browser prefers most: exact tag first, then the same primary language."""
    offered_lower = {o.lower(): o for o in offered}
    for _, tag in _accepted(accept_language):
        if tag in offered_lower:
            return offered_lower[tag]
        primary = tag.split("-")[0]
        if primary == "*":
            break
        for low, original in offered_lower.items():
            if low.split("-")[0] == primary:
                return original
    return default if default in offered else (offered[0] if offered else "en")


def pick_language(user_choice: str | None, accept_language: str, offered: list[str], default: str) -> str:
    if user_choice and user_choice in offered:
        return user_choice
    return negotiate(accept_language, offered, default)


def when(zone: ZoneInfo) -> Callable[[Any], str]:
    """A filter: a stored time (naive means UTC) in the site's zone, with its offset."""

    def fmt(ts: Any, seconds: bool = False) -> str:
        if not isinstance(ts, datetime):
            return "" if ts is None else str(ts)
        aware = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
        local = aware.astimezone(zone)
        offset = local.strftime("%z")
        shown = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
        return f"{shown} {offset[:3]}:{offset[3:]}"

    return fmt


def _babel_command(action: str) -> None:  # pragma: no cover - a developer's tool
    from babel.messages.frontend import CommandLineInterface

    web = Path(__file__).resolve().parent
    pot = web / "locale" / "messages.pot"
    if action == "update":
        CommandLineInterface().run(["pybabel", "extract", "-F", str(web / "babel.cfg"), "-k", "N_",
                                    "--no-location", "--sort-output", "-o", str(pot), str(web)])
        CommandLineInterface().run(["pybabel", "update", "-i", str(pot), "-d", str(LOCALE_DIR),
                                    "--no-fuzzy-matching", "--ignore-obsolete"])
    else:
        CommandLineInterface().run(["pybabel", "compile", "-d", str(LOCALE_DIR), "--statistics"])


if __name__ == "__main__":  # pragma: no cover
    import sys

    _babel_command(sys.argv[1] if len(sys.argv) > 1 else "compile")
