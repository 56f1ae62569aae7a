"""Where a US debtor is: the ``debtor_state`` of a call's metadata, or the state its phone number's
area code belongs to. Used by required statements that only some states' laws ask for (a recording
notice in the all-party-consent states)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# area codes of the states whose wiretap laws need every party's consent to record a call (the
# states a recording notice is for); a number elsewhere, or a ported mobile, falls to the metadata
_AREA_CODES = {
    "CA": "209 213 279 310 323 341 350 369 408 415 424 442 510 530 559 562 619 626 628 650 657 661 669 707 714 747 "
          "760 805 818 820 831 840 858 909 916 925 949 951",
    "CT": "203 475 860 959",
    "DE": "302",
    "FL": "239 305 321 324 352 386 407 448 561 645 656 689 727 728 754 772 786 813 850 863 904 941 954",
    "IL": "217 224 309 312 331 447 464 618 630 708 730 773 779 815 847 861 872",
    "MD": "227 240 301 410 443 667",
    "MA": "339 351 413 508 617 774 781 857 978",
    "MI": "231 248 269 313 517 586 616 679 734 810 906 947 989",
    "MT": "406",
    "NV": "702 725 775",
    "NH": "603",
    "PA": "215 223 267 272 412 445 484 570 582 610 717 724 814 835 878",
    "WA": "206 253 360 425 509 564",
}
_STATE_OF_AREA = {code: state for state, codes in _AREA_CODES.items() for code in codes.split()}
_NANP = re.compile(r"^\+?1?\D*\(?([2-9]\d{2})\)?\D*[2-9]\d{2}\D*\d{4}$")


def area_state(phone: object) -> str | None:
    """The all-party-consent state of a North American number's area code, '' for a North American
    number elsewhere, None when the number is not North American or cannot be read."""
    match = _NANP.match(str(phone or "").strip())
    if not match:
        return None
    return _STATE_OF_AREA.get(match.group(1), "")


def debtor_state(meta: Mapping[str, Any]) -> str | None:
    """Two-letter state from ``debtor_state`` (or ``state``) in the metadata, else from the phone
    number ('' when that is a number outside the listed states); None when nothing tells."""
    for key in ("debtor_state", "state"):
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip().upper()
    return area_state(meta.get("phone_number"))
