"""The default policy on real user agents and header sets, category by category.

Each row: user agent, headers, extra facts, expected verdict, expected reasons.
User agents are real strings from public sources (see tests/data/bots/README.md);
the hard cases carry the decision documented in docs/bots.md.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.bots import Classifier, RequestFacts, Verdict, compile_policy, default_policy
from engine.snapshot import BotPolicy, BotSignal

from .headers import (
    ANDROID_WEBVIEW,
    CHROME_ANDROID,
    CURL,
    FIREFOX,
    PREVIEW,
    REQUESTS,
    SAFARI_IOS,
    SAFARI_IOS_OLD,
)

IOS_SAFARI_17 = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
IOS_SAFARI_15 = "Mozilla/5.0 (iPhone; CPU iPhone OS 15_8_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6 Mobile/15E148 Safari/604.1"
ANDROID_CHROME = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
SAMSUNG = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36"
OLD_WEBVIEW = "Mozilla/5.0 (Linux; Android 10; SEA-AL10 Build/HUAWEISEA-AL10; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/88.0.4324.93 Mobile Safari/537.36"
STOCK_ANDROID_44 = "Mozilla/5.0 (Linux; U; Android 4.4.2; en-us; SM-G900F Build/KOT49H) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30"
IOS_APP_WEBVIEW = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
FIREFOX_ANDROID = "Mozilla/5.0 (Android 13; Mobile; rv:120.0) Gecko/120.0 Firefox/120.0"
INSTAGRAM_IOS = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 350.0.0.0 (iPhone15,3; iOS 18_5; ko_KR)"
INSTAGRAM_ANDROID = "Mozilla/5.0 (Linux; Android 13; SM-S908B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.0.0 Mobile Safari/537.36 Instagram 275.0.0.27.98 Android"
FACEBOOK_IOS = "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/20F66 [FBAN/FBIOS;FBDV/iPhone14,2;FBMD/iPhone;FBSN/iOS;FBSV/16.5;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]"
FACEBOOK_ANDROID = "Mozilla/5.0 (Linux; Android 4.4.4; SM-A700F Build/KTU84P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/44.0.2403.133 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/289.0.0.40.121;]"
META_IAB = "Mozilla/5.0 (Linux; Android 16; Pixel 10 Pro XL Build/CP1A.260305.018; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/146.0.7680.174 Mobile Safari/537.36 MetaIAB Facebook"
TIKTOK_ANDROID = "Mozilla/5.0 (Linux; Android 12; SM-G991B Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.5845.163 Mobile Safari/537.36 musical_ly_2023109030 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly app_version/31.9.3 ByteLocale/en ByteFullLocale/en Region/US BytedanceWebview/d8a21c6"
SNAPCHAT_IOS = "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Snapchat/12.45.0.30 (like Safari/8615.2.9.10.2, panda)"
LINKEDIN_APP = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 LinkedInApp/9.29.7890"
GOOGLE_APP = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/283.0.566313930 Mobile/15E148 Safari/604.1"
WHATSAPP_BROWSER = "Mozilla/5.0 (Linux; Android 12; Pixel 6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/101.0.4951.41 Mobile Safari/537.36 WhatsApp/2.22.10.73 A"

IMESSAGE = "facebookexternalhit/1.1 Facebot Twitterbot/1.0"
IMESSAGE_LONG = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0"

PRIVATE_RELAY = {"client_ip": "172.225.46.0", "asn": 36183}  # Akamai's Private Relay egress AS
CLOUDFLARE_RELAY = {"client_ip": "104.28.40.0", "asn": 13335}
AWS = {"client_ip": "3.80.12.0", "asn": 16509}
HETZNER = {"client_ip": "5.9.12.0"}

CASES: list[tuple[str, str, dict[str, str], dict[str, Any], str, tuple[str, ...]]] = [
    # ---- people in browsers
    ("iOS Safari 17", IOS_SAFARI_17, SAFARI_IOS, {}, "human", ()),
    ("iOS Safari 17 with iCloud Private Relay (Akamai)", IOS_SAFARI_17, SAFARI_IOS, PRIVATE_RELAY, "human", ()),
    ("iOS Safari 17 with iCloud Private Relay (Cloudflare)", IOS_SAFARI_17, SAFARI_IOS, CLOUDFLARE_RELAY, "human", ()),
    ("iOS Safari 15 without Sec-Fetch", IOS_SAFARI_15, SAFARI_IOS_OLD, {}, "human", ()),
    ("Android Chrome 126", ANDROID_CHROME, CHROME_ANDROID, {}, "human", ()),
    ("Samsung Internet 25", SAMSUNG, CHROME_ANDROID, {}, "human", ()),
    ("older Android WebView (Chrome 88)", OLD_WEBVIEW, ANDROID_WEBVIEW, {}, "human", ()),
    ("Android 4.4 stock browser", STOCK_ANDROID_44, SAFARI_IOS_OLD, {}, "human", ()),
    ("iOS app web view without Sec-Fetch", IOS_APP_WEBVIEW, SAFARI_IOS_OLD, {}, "human", ()),
    ("Firefox for Android", FIREFOX_ANDROID, FIREFOX, {}, "human", ()),
    # ---- people in in-app browsers (opened from a message)
    ("Instagram in-app on iOS", INSTAGRAM_IOS, SAFARI_IOS_OLD, {}, "human", ("in-app:instagram",)),
    ("Instagram in-app on Android", INSTAGRAM_ANDROID, ANDROID_WEBVIEW, {}, "human", ("in-app:instagram",)),
    ("Facebook in-app on iOS", FACEBOOK_IOS, SAFARI_IOS_OLD, {}, "human", ("in-app:facebook",)),
    ("Facebook in-app on Android with sparse headers", FACEBOOK_ANDROID, {"accept": "*/*"}, {}, "human", ("in-app:facebook",)),
    ("Meta in-app browser tagged social-preview upstream", META_IAB, ANDROID_WEBVIEW, {}, "human", ("in-app:facebook",)),
    ("TikTok in-app on Android", TIKTOK_ANDROID, ANDROID_WEBVIEW, {}, "human", ("in-app:tiktok",)),
    ("Snapchat in-app on iOS", SNAPCHAT_IOS, SAFARI_IOS_OLD, {}, "human", ("in-app:snapchat",)),
    ("LinkedIn app", LINKEDIN_APP, ANDROID_WEBVIEW, {}, "human", ("in-app:linkedin",)),
    ("Google app (GSA)", GOOGLE_APP, SAFARI_IOS_OLD, {}, "human", ("in-app:google-app",)),
    ("WhatsApp's in-app browser", WHATSAPP_BROWSER, ANDROID_WEBVIEW, {}, "human", ("in-app:whatsapp",)),
    # ---- single weak signals never drop a person
    ("Safari on a cloud address (VPN)", IOS_SAFARI_17, SAFARI_IOS, {**AWS, "seconds_since_send": 600.0}, "human", ("datacenter:asn-16509",)),
    ("Safari read fast", IOS_SAFARI_17, SAFARI_IOS, {"seconds_since_send": 4.0}, "human", ("fast-after-send",)),
    ("Chrome without Accept-Language", ANDROID_CHROME, {k: v for k, v in CHROME_ANDROID.items() if k != "accept-language"}, {}, "human", ("header-shape:no-accept-language",)),
    # ---- weak signals adding up
    ("Safari from Hetzner 3 s after send", IOS_SAFARI_17, SAFARI_IOS, {**HETZNER, "seconds_since_send": 3.0}, "suspect", ("datacenter:cidr", "fast-after-send")),
    ("Chrome claim with no browser headers", ANDROID_CHROME, CURL, {}, "suspect", ("header-shape:no-accept-language", "header-shape:accept-not-html", "header-shape:no-sec-fetch")),
    ("gateway referer from a datacenter", IOS_SAFARI_17, {**SAFARI_IOS, "referer": "https://urldefense.proofpoint.com"}, AWS, "suspect", ("gateway-referer:urldefense.proofpoint.com", "datacenter:asn-16509")),
    ("unknown app string without browser headers", "AcmeLinkChecker/0.1", CURL, {}, "suspect", ("header-shape:not-a-browser", "header-shape:no-accept-language", "header-shape:accept-not-html")),
    ("in-app browser from a datacenter right after send", INSTAGRAM_IOS, SAFARI_IOS_OLD, {**AWS, "seconds_since_send": 2.0}, "suspect", ("in-app:instagram", "datacenter:asn-16509", "fast-after-send")),
    # ---- preview fetchers
    ("Apple Messages", IMESSAGE, PREVIEW, {}, "preview", ("preview-agent:imessage",)),
    ("Apple Messages, long form", IMESSAGE_LONG, PREVIEW, {}, "preview", ("preview-agent:imessage",)),
    ("Facebook crawler", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", PREVIEW, {}, "preview", ("preview-agent:facebook",)),
    ("WhatsApp preview", "WhatsApp/2.23.20.0 A", PREVIEW, {}, "preview", ("preview-agent:whatsapp",)),
    ("WhatsApp preview (iOS)", "WhatsApp/2.19.92 i", PREVIEW, {}, "preview", ("preview-agent:whatsapp",)),
    ("Telegram", "TelegramBot (like TwitterBot)", PREVIEW, {}, "preview", ("preview-agent:telegram",)),
    ("Slack", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", PREVIEW, {}, "preview", ("preview-agent:slack",)),
    ("Discord", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", PREVIEW, {}, "preview", ("preview-agent:discord",)),
    ("X", "Twitterbot/1.0", PREVIEW, {}, "preview", ("preview-agent:x",)),
    ("LinkedIn", "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", PREVIEW, {}, "preview", ("preview-agent:linkedin",)),
    ("Google Messages", "GoogleMessages", PREVIEW, {}, "preview", ("preview-agent:google-messages",)),
    ("Skype / Teams", "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5", PREVIEW, {}, "preview", ("preview-agent:skype-teams",)),
    ("Snapchat preview service", "Snap URL Preview Service; bot; snapchat; https://developers.snap.com/robots", PREVIEW, {}, "preview", ("preview-agent:snapchat",)),
    ("crawler list social preview", "Mozilla/5.0 (compatible; Mediumbot-MetaTagFetcher/0.3; +https://medium.com)", PREVIEW, {}, "preview", ("crawler-preview",)),
    # ---- prefetches (answered "prefetch")
    ("Chrome speculative prefetch", ANDROID_CHROME, {**CHROME_ANDROID, "sec-purpose": "prefetch;prerender"}, {}, "preview", ("prefetch:sec-purpose",)),
    ("Safari preview load", IOS_SAFARI_17, {**SAFARI_IOS, "x-purpose": "preview"}, {}, "preview", ("prefetch:x-purpose",)),
    ("Firefox link prefetch", FIREFOX_ANDROID, {**FIREFOX, "x-moz": "prefetch"}, {}, "preview", ("prefetch:x-moz",)),
    # ---- scanners
    ("VirusTotal", "Mozilla/5.0 (Windows; U; MSIE 9.0; Windows NT 9.0; en-US) AppEngine-Google; (+http://code.google.com/appengine; appid: s~virustotalcloud)", PREVIEW, {}, "scanner", ("scanner-agent:virustotal",)),
    ("Netcraft", "Mozilla/5.0 (compatible; NetcraftSurveyAgent/1.0; +info@netcraft.com)", PREVIEW, {}, "scanner", ("scanner-agent:netcraft",)),
    ("Expanse (Palo Alto)", "Expanse, a Palo Alto Networks company, searches across the global IPv4 space multiple times per day", PREVIEW, {}, "scanner", ("scanner-agent:palo-alto",)),
    ("crawler list scanner", "Mozilla/5.0 (compatible; BitSightBot/1.0)", PREVIEW, {}, "scanner", ("crawler-scanner",)),
    # ---- other automation
    ("curl", "curl/8.4.0", CURL, {}, "bot", ("http-library:curl",)),
    ("python-requests", "python-requests/2.31.0", REQUESTS, {}, "bot", ("http-library:python-requests",)),
    ("aiohttp", "Python/3.11 aiohttp/3.9.1", REQUESTS, {}, "bot", ("http-library:aiohttp",)),
    ("Go", "Go-http-client/1.1", CURL, {}, "bot", ("http-library:go",)),
    ("okhttp", "okhttp/4.9.2", CURL, {}, "bot", ("http-library:okhttp",)),
    ("Java", "Java/17.0.2", CURL, {}, "bot", ("http-library:java",)),
    ("libwww-perl", "libwww-perl/6.67", CURL, {}, "bot", ("http-library:libwww-perl",)),
    ("HeadlessChrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36", CHROME_ANDROID, {}, "bot", ("headless:headless-chrome",)),
    ("Lighthouse", "Mozilla/5.0 (Linux; Android 11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse", CHROME_ANDROID, {}, "bot", ("headless:lighthouse",)),
    ("PhantomJS", "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1", CURL, {}, "bot", ("headless:phantomjs",)),
    ("UptimeRobot", "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", CURL, {}, "bot", ("monitor:uptimerobot",)),
    ("Googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", CURL, {}, "bot", ("crawler:search-engine",)),
    ("bot borrowing an app's string", "Mozilla/5.0 (iPhone; CPU iPhone OS 7_0 like Mac OS X) AppleWebKit/537.51.1 (KHTML, like Gecko) Mobile/11A465 Twitter for iPhone BrandVerity/1.0 (http://www.brandverity.com/why-is-brandverity-visiting-me)", CURL, {}, "bot", ("crawler:seo",)),
    ("HEAD from a browser string", IOS_SAFARI_17, SAFARI_IOS, {"method": "HEAD"}, "bot", ("method:head",)),
    ("no user agent", "", CURL, {}, "bot", ("no-user-agent",)),
    ("a made-up method never reaches the log", IOS_SAFARI_17, SAFARI_IOS, {"method": "X-15555550100"}, "bot", ("method:other",)),
    ("gateway subdomain reported as the policy's host", IOS_SAFARI_17, {**SAFARI_IOS, "referer": "https://anything-here.urldefense.com"}, {}, "human", ("gateway-referer:urldefense.com",)),
]


@pytest.mark.parametrize(("ua", "headers", "extra", "verdict", "reasons"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_default_policy_judges_real_traffic(
    classifier: Classifier, ua: str, headers: dict[str, str], extra: dict[str, Any],
    verdict: str, reasons: tuple[str, ...],
) -> None:
    extra = dict(extra)
    facts = RequestFacts(method=extra.pop("method", "GET"), user_agent=ua, headers=headers, **extra)
    assert classifier.classify(facts) == Verdict(verdict, reasons)


def test_repeated_agent_gives_the_same_verdict_from_the_cache(classifier: Classifier) -> None:
    facts = RequestFacts("GET", "curl/8.4.0", CURL)
    before = classifier.ua_cache_info().hits
    first = classifier.classify(facts)
    second = classifier.classify(facts)
    assert first == second == Verdict("bot", ("http-library:curl",))
    assert classifier.ua_cache_info().hits >= before + 1


def test_cache_is_bounded() -> None:
    clf = Classifier(default_policy(), ua_cache_size=16)
    for i in range(100):
        clf.classify(RequestFacts("GET", f"{IOS_SAFARI_17} build/{i}", SAFARI_IOS))
    assert clf.ua_cache_info().currsize == 16


@pytest.mark.parametrize(("verdict", "answer"), [
    (Verdict("human", ()), "redirect"),
    (Verdict("preview", ("preview-agent:imessage",)), "preview-page"),
    (Verdict("preview", ("prefetch:sec-purpose",)), "prefetch"),
    (Verdict("scanner", ("scanner-agent:proofpoint",)), "redirect"),
    (Verdict("bot", ("http-library:curl",)), "redirect"),
    (Verdict("suspect", ("datacenter:cidr", "fast-after-send")), "redirect"),
    ("preview", "preview-page"),
    ("human", "redirect"),
], ids=str)
def test_answers_follow_the_policy(classifier: Classifier, verdict: Verdict | str, answer: str) -> None:
    assert classifier.answer(verdict) == answer


def test_policy_ref_names_id_and_version(classifier: Classifier) -> None:
    policy = default_policy()
    assert classifier.policy_ref == f"default@{policy.version}"
    assert len(policy.version) == 12


def _policy(*signals: BotSignal, **kw: Any) -> BotPolicy:
    return BotPolicy(id="t", version="v1", signals=list(signals), **kw)


def test_added_and_removed_patterns() -> None:
    clf = compile_policy(_policy(
        BotSignal(kind="user-agent", verdict="bot", reason="http-library",
                  params={"list": "http-libraries", "remove": ["curl"],
                          "add": [{"name": "acme", "pattern": r"AcmeProbe/\d"}]}),
    ))
    assert clf.classify(RequestFacts("GET", "AcmeProbe/2", {})) == Verdict("bot", ("http-library:acme",))
    assert clf.classify(RequestFacts("GET", "curl/8.4.0", {})).verdict == "human"
    assert clf.classify(RequestFacts("GET", "Wget/1.21", {})) == Verdict("bot", ("http-library:wget",))


def test_crawler_pattern_can_be_removed() -> None:
    googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    crawler = BotSignal(kind="user-agent", verdict="bot", reason="crawler",
                        params={"list": "crawlers", "remove": ["Googlebot\\/"]})
    assert compile_policy(_policy(crawler)).classify(RequestFacts("GET", googlebot, {})).verdict == "human"


def test_empty_signal_list_means_the_built_in_default() -> None:
    clf = compile_policy(_policy())
    assert clf.classify(RequestFacts("GET", "curl/8.4.0", CURL)) == Verdict("bot", ("http-library:curl",))


def test_weak_threshold_and_verdict_are_policy() -> None:
    timing = BotSignal(kind="timing", verdict="suspect", reason="fast", strength="weak",
                       params={"below-seconds": 10.0, "weight": 1})
    clf = compile_policy(_policy(timing, weak_threshold=1, weak_verdict="scanner"))
    assert clf.classify(RequestFacts("GET", IOS_SAFARI_17, SAFARI_IOS, seconds_since_send=2.0)) == Verdict("scanner", ("fast",))
    assert clf.classify(RequestFacts("GET", IOS_SAFARI_17, SAFARI_IOS, seconds_since_send=12.0)) == Verdict("human", ())


def test_ipv6_cidr_and_bad_address() -> None:
    net = BotSignal(kind="network", verdict="suspect", reason="dc", strength="weak",
                    params={"asns": [], "cidrs": ["2001:db8::/32", "198.51.100.0/24"], "weight": 2})
    clf = compile_policy(_policy(net))
    assert clf.classify(RequestFacts("GET", IOS_SAFARI_17, SAFARI_IOS, client_ip="2001:db8:1::")) == Verdict("suspect", ("dc:cidr",))
    assert clf.classify(RequestFacts("GET", IOS_SAFARI_17, SAFARI_IOS, client_ip="198.51.100.7")).verdict == "suspect"
    assert clf.classify(RequestFacts("GET", IOS_SAFARI_17, SAFARI_IOS, client_ip="198.51.101.7")).verdict == "human"
    assert clf.classify(RequestFacts("GET", IOS_SAFARI_17, SAFARI_IOS, client_ip="not-an-ip")).verdict == "human"


@pytest.mark.parametrize(("signal", "message"), [
    (BotSignal(kind="telepathy", verdict="bot", reason="x"), "unknown signal kind"),
    (BotSignal(kind="user-agent", verdict="bot", reason="x", params={"list": "nope"}), "unknown user-agent list"),
    (BotSignal(kind="user-agent", verdict="bot", reason="x", params={"list": "http-libraries", "add": [{"pattern": "("}]}), "invalid pattern"),
    (BotSignal(kind="network", verdict="bot", reason="x", params={"cidrs": ["10.0.0.0/33"]}), "invalid CIDR"),
    (BotSignal(kind="method", verdict="robot", reason="x"), "unknown verdict"),
    (BotSignal(kind="method", verdict="bot", reason="x", params={"answer": "tarpit"}), "unknown answer"),
    (BotSignal(kind="user-agent", verdict="bot", reason="x", params={"list": "http-libraries", "remove": ["curll"]}), "cannot remove"),
], ids=["kind", "list", "pattern", "cidr", "verdict", "answer", "remove typo"])
def test_bad_policy_records_are_refused(signal: BotSignal, message: str) -> None:
    from engine.bots import PolicyError

    with pytest.raises(PolicyError, match=message):
        compile_policy(_policy(signal))
