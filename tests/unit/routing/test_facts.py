"""Device class from real user agents; preferred language from Accept-Language."""

from __future__ import annotations

import pytest

from engine.routing import classify_device, primary_language

UAS = {
    "iPhone Safari": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "iPhone Chrome": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
    "iPad Safari mobile mode": "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
    "iPad in-app web view, desktop mode": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Android Chrome": "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
    "Samsung Internet": "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
    "Android tablet": "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Windows Phone": "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
    "KaiOS": "Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i;Android; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5",
    "Opera Mini": "Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) Presto/2.5.25 Version/10.54",
    "Windows Chrome": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "macOS Safari": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Linux Firefox": "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "ChromeOS": "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "curl": "curl/8.5.0",
    "empty": "",
}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("iPhone Safari", "ios"),
        ("iPhone Chrome", "ios"),
        ("iPad Safari mobile mode", "ios"),
        ("iPad in-app web view, desktop mode", "ios"),
        ("Android Chrome", "android"),
        ("Samsung Internet", "android"),
        ("Android tablet", "android"),
        ("Windows Phone", "mobile"),
        ("KaiOS", "mobile"),
        ("Opera Mini", "mobile"),
        ("Windows Chrome", "desktop"),
        # iPadOS Safari in desktop mode sends exactly this Mac user agent:
        # nothing server-side can tell them apart (documented in docs/routing.md)
        ("macOS Safari", "desktop"),
        ("Linux Firefox", "desktop"),
        ("ChromeOS", "desktop"),
        ("curl", "unknown"),
        ("empty", "unknown"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_device_class(name, expected):
    assert classify_device(UAS[name]) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("fr-CA,fr;q=0.9,en;q=0.8", "fr-CA", id="first without q is 1"),
        pytest.param("en;q=0.5, de;q=0.9, fr;q=0.7", "de", id="highest q wins regardless of order"),
        pytest.param("en;q=0.8,es;q=0.8", "en", id="tie goes to the first"),
        pytest.param("da, en-gb;q=0.8, en;q=0.7", "da", id="RFC example"),
        pytest.param("fr;q=0, de;q=0.1", "de", id="q=0 means not acceptable"),
        pytest.param("fr;q=0", None, id="only q=0"),
        pytest.param("*", None, id="wildcard only"),
        pytest.param("*;q=1, es;q=0.5", "es", id="wildcard skipped"),
        pytest.param("", None, id="empty header"),
        pytest.param("EN_us", "en-US", id="underscore and case normalized"),
        pytest.param("zh-hant-tw;q=0.9", "zh-Hant-TW", id="script subtag title-cased"),
        pytest.param("de;q=abc, it;q=0.2", "it", id="malformed q ignored"),
        pytest.param("de;q=2, it;q=0.2", "it", id="q above 1 ignored"),
        pytest.param("  pt-BR ; q=0.9 ", "pt-BR", id="whitespace"),
    ],
)
def test_primary_language(header, expected):
    assert primary_language(header) == expected
