"""What routing needs from a request, and the two header readings it caches.

``classify_device`` and ``primary_language`` are pure and cached by their
input string: a send produces few distinct user agents and language headers.
"""

from __future__ import annotations

from functools import lru_cache

import msgspec

from ._geo import Geo


class ClickFacts(msgspec.Struct):
    """The facts of one click routing may use. No IP, no phone number.

    A msgspec Struct rather than a dataclass: built once per click, and its
    C constructor costs a fraction of a Python ``__init__``.
    """

    now: float  # epoch seconds of the click
    geo: Geo | None  # the IP's geolocation, None when unknown
    user_agent: str
    accept_language: str
    click_id: str = ""  # per-click random id: the variant split of campaign-level links
    # (classify_device(user_agent), primary_language(accept_language)) when the
    # caller has them already (the worker remembers them per header set)
    prepared: tuple[str, str | None] | None = None


def device_and_language(facts: ClickFacts) -> tuple[str, str | None]:
    """``facts.prepared``, or (``classify_device``, ``primary_language``) of its headers."""
    if facts.prepared is not None:
        return facts.prepared
    return classify_device(facts.user_agent), primary_language(facts.accept_language)


DEVICES = ("ios", "android", "mobile", "desktop", "unknown")

# Order matters: Windows Phone and some Tizen/KaiOS agents also say "Android" or
# "like iPhone"; iPadOS in desktop mode says "Macintosh" and is indistinguishable
# from a Mac unless an app's web view adds "Mobile/".
_OTHER_MOBILE = (
    "windows phone", "iemobile", "kaios", "blackberry", "bb10", "opera mini", "webos",
    "symbian", "tizen", "harmonyos", "openharmony", "mobile", "fennec",
)
_DESKTOP = ("windows nt", "macintosh", "mac os x", "x11", "linux", "cros", "freebsd", "openbsd")


@lru_cache(maxsize=8192)
def classify_device(user_agent: str) -> str:
    """Device class from a User-Agent header.

    Parameters
    ----------
    user_agent:
        The header as sent ("" when missing).

    Returns
    -------
    str
        ``ios`` (iPhone, iPod, iPad, an iPad web view in desktop mode that adds
        ``Mobile/``), ``android`` (phones and tablets, any browser), ``mobile``
        (other phones), ``desktop`` (Windows, macOS, Linux, ChromeOS — and iPadOS
        Safari in desktop mode, which sends a Mac user agent), ``unknown``.
    """
    ua = user_agent.lower()
    if not ua.strip():
        return "unknown"
    if "windows phone" in ua or "iemobile" in ua or "kaios" in ua:
        return "mobile"
    if "iphone" in ua or "ipod" in ua or "ipad" in ua or ("ios " in ua and "like mac os x" in ua):
        return "ios"
    if "macintosh" in ua and " mobile/" in ua:
        return "ios"  # iPad web views in desktop mode keep their Mobile/ token
    if "android" in ua:
        return "android"
    if any(m in ua for m in _OTHER_MOBILE):
        return "mobile"
    if any(d in ua for d in _DESKTOP):
        return "desktop"
    return "unknown"


@lru_cache(maxsize=4096)
def primary_language(accept_language: str) -> str | None:
    """The most preferred language of an Accept-Language header (RFC 9110 section 12.5.4).

    Parameters
    ----------
    accept_language:
        The header as sent, e.g. ``fr-CA,fr;q=0.9,en;q=0.8``.

    Returns
    -------
    str | None
        The tag with the highest q (the first one on ties), normalized as
        ``ll`` or ``ll-RR`` (``fr-CA``); None when the header is empty, only
        ``*``, or every entry has q=0 or a malformed q.
    """
    best: str | None = None
    best_q = 0.0
    for part in accept_language.split(",")[:32]:
        tag, _, params = part.partition(";")
        tag = tag.strip()
        if not tag or tag == "*" or len(tag) > 35:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
                if not 0.0 <= q <= 1.0:
                    q = 0.0
        if q > best_q:
            best, best_q = tag, q
    if best is None:
        return None
    sub = best.replace("_", "-").split("-")
    sub[0] = sub[0].lower()
    for i in range(1, len(sub)):
        sub[i] = sub[i].upper() if len(sub[i]) == 2 else sub[i].title() if len(sub[i]) == 4 else sub[i].lower()
    return "-".join(sub)


def language_matches(lang: str | None, wanted: str) -> bool:
    """``fr`` matches ``fr`` and ``fr-CA``; ``fr-CA`` matches only ``fr-CA`` (case-insensitive)."""
    if lang is None:
        return False
    lang = lang.lower()
    wanted = wanted.lower()
    return lang == wanted or lang.startswith(wanted + "-")
