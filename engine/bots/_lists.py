"""The built-in user-agent lists a policy refers to by name.

Curated lists are ours: each entry is ``(name, pattern)``, the name becomes the
reason detail (``preview-agent:whatsapp``), the pattern is a case-insensitive
regular expression searched in the User-Agent. docs/bots.md shows a real string
for every entry. The ``crawlers`` list is not ours: it is the maintained
``crawler-user-agents`` package (patterns are case-sensitive, as upstream
writes them), filtered by its tags; a policy adds and removes patterns.

Order inside a list does not matter for the verdict (the list is one signal),
only for which name is reported when two entries match; specific entries come
first (iMessage's agent contains Facebook's and X's).
"""

from __future__ import annotations

from functools import cache
from typing import Any

# Link-preview fetchers: fetch the page to draw a card, nobody tapped.
PREVIEW_FETCHERS: tuple[tuple[str, str], ...] = (
    # Apple Messages fetches from the recipient's own phone, with this exact string.
    ("imessage", r"facebookexternalhit/1\.1 Facebot Twitterbot/1\.0"),
    ("facebook", r"facebookexternalhit|\bFacebot\b|meta-externalfetcher|Meta-ExternalHit"),
    # Anchored: WhatsApp's *in-app browser* appends "WhatsApp/x.y" to a real browser
    # string; the preview fetcher's string starts with it. Signal sends the same string.
    ("whatsapp", r"^WhatsApp\b"),
    ("telegram", r"TelegramBot"),
    ("slack", r"Slackbot-LinkExpanding|Slack-ImgProxy|\bSlackbot\b"),
    ("discord", r"Discordbot"),
    ("x", r"Twitterbot"),
    ("linkedin", r"LinkedInBot"),
    ("google-messages", r"GoogleMessages|Google-Message-Preview"),
    ("google-chat", r"Google-Chat/"),
    ("skype-teams", r"SkypeUriPreview"),
    ("microsoft-preview", r"MicrosoftPreview/|BingPreview/"),
    ("snapchat", r"Snap URL Preview Service|SnapURLPreview/"),
    ("viber", r"^Viber\b"),
    ("pinterest", r"Pinterestbot|pinterest\.com/bot"),
    ("reddit", r"redditbot"),
    ("kakaotalk", r"kakaotalk-scrap"),
    ("line", r"line-poker|Linespider"),
    ("vk", r"vkShare"),
    ("mastodon", r"\(Mastodon/|^Mastodon/"),
    ("bluesky", r"Bluesky Cardyb|BlueskyPreviewBot|\bCardyb/"),
    ("embed-service", r"Embedly|Iframely|OpenGraph\.io/"),
    ("yahoo", r"Yahoo Link Preview|YahooMailProxy"),
    ("google-proxy", r"GoogleImageProxy|Google Web Preview"),
)

# In-app browsers: a person tapped a link inside an app. Humans, even where
# crawler lists say otherwise ("MetaIAB Facebook" is tagged social-preview upstream).
IN_APP_BROWSERS: tuple[tuple[str, str], ...] = (
    ("instagram", r"\bInstagram \d"),
    ("facebook", r"\[FBAN/|\bFBAV/|\bFB_IAB/|\bMetaIAB\b|\bFBIOS\b"),
    ("tiktok", r"musical_ly|BytedanceWebview|\bByteLocale/|\bTikTok \d"),
    ("snapchat", r"\bSnapchat/\d"),
    ("linkedin", r"LinkedInApp"),
    ("google-app", r"\bGSA/\d"),
    ("x", r"Twitter for iPhone|TwitterAndroid"),
    ("pinterest", r"\[Pinterest/(?:iOS|Android)"),
    ("line", r"\bLine/\d"),
    ("wechat", r"MicroMessenger/"),
    ("kakaotalk", r"KAKAOTALK"),
    ("naver", r"NAVER\(inapp"),
    ("whatsapp", r"^Mozilla/.*\bWhatsApp/"),
)

# HTTP libraries and command-line tools.
HTTP_LIBRARIES: tuple[tuple[str, str], ...] = (
    ("curl", r"(?:^|[\s(])curl/"),
    ("wget", r"^Wget/|\bWget/\d"),
    ("python-requests", r"python-requests/"),
    ("python-urllib", r"Python-urllib/"),
    ("aiohttp", r"aiohttp/"),
    ("httpx", r"python-httpx/"),
    ("go", r"Go-http-client/"),
    ("okhttp", r"okhttp/"),
    ("java", r"^Java/|Java-http-client/|^Apache-HttpClient/|Apache-HttpAsyncClient/"),
    ("libwww-perl", r"libwww-perl/|lwp-trivial"),
    ("node-fetch", r"node-fetch"),
    ("axios", r"^axios/"),
    ("undici", r"^undici"),
    ("got", r"sindresorhus/got"),
    ("dart", r"^Dart/"),
    ("postman", r"PostmanRuntime/"),
    ("insomnia", r"^insomnia/"),
    ("httpie", r"^HTTPie/"),
    ("ruby", r"^Ruby$|^Faraday v|rest-client/"),
    ("php", r"GuzzleHttp/|^PHP-Curl-Class"),
    ("scrapy", r"Scrapy/"),
    ("dalvik", r"^Dalvik/"),
    ("reqwest", r"^reqwest/"),
    ("powershell", r"WindowsPowerShell/"),
)

# Headless and automation browsers.
HEADLESS_BROWSERS: tuple[tuple[str, str], ...] = (
    ("headless-chrome", r"HeadlessChrome"),
    ("lighthouse", r"Chrome-Lighthouse|\bLighthouse\b"),
    ("phantomjs", r"PhantomJS"),
    ("automation", r"Puppeteer|Playwright|Selenium|webdriver|Cypress/"),
    ("slimerjs", r"SlimerJS"),
    ("htmlunit", r"HtmlUnit"),
)

# Security and link scanners (mail and messaging gateways, reputation services).
LINK_SCANNERS: tuple[tuple[str, str], ...] = (
    ("proofpoint", r"Proofpoint"),
    ("mimecast", r"Mimecast"),
    ("barracuda", r"Barracuda"),
    ("microsoft-defender", r"SafeLinks|Safe Links|Microsoft-Defender|MSDefender"),
    ("microsoft-office", r"Microsoft Office Existence Discovery|ms-office; MSOffice"),
    ("google-safety", r"Google-Safety"),
    ("virustotal", r"VirusTotal|virustotalcloud"),
    ("urlscan", r"urlscan"),
    ("trend-micro", r"TrendMicro|Trend Micro"),
    ("zscaler", r"Zscaler"),
    ("palo-alto", r"Palo Alto Networks|Cortex-Xpanse|Expanse, a Palo Alto"),
    ("fortinet", r"FortiGuard|Fortinet"),
    ("sophos", r"Sophos"),
    ("check-point", r"Check Point"),
    ("kaspersky", r"Kaspersky"),
    ("bitdefender", r"Bitdefender"),
    ("netcraft", r"Netcraft"),
)

# Uptime and synthetic monitors.
UPTIME_MONITORS: tuple[tuple[str, str], ...] = (
    ("uptimerobot", r"UptimeRobot/"),
    ("pingdom", r"Pingdom"),
    ("statuscake", r"StatusCake"),
    ("site24x7", r"Site24x7"),
    ("better-stack", r"Better ?Uptime|BetterStack"),
    ("datadog", r"Datadog/Synthetics|DatadogSynthetics"),
    ("new-relic", r"NewRelicPinger|New Relic Synthetics"),
    ("uptime-kuma", r"Uptime-Kuma"),
    ("checkly", r"Checkly"),
    ("hetrixtools", r"HetrixTools"),
    ("freshping", r"Freshping"),
    ("updown", r"updown\.io"),
    ("nodeping", r"NodePing"),
    ("catchpoint", r"Catchpoint"),
    ("gtmetrix", r"GTmetrix"),
)

#: Curated lists by the name a policy uses.
CURATED: dict[str, tuple[tuple[str, str], ...]] = {
    "preview-fetchers": PREVIEW_FETCHERS,
    "in-app-browsers": IN_APP_BROWSERS,
    "http-libraries": HTTP_LIBRARIES,
    "headless-browsers": HEADLESS_BROWSERS,
    "link-scanners": LINK_SCANNERS,
    "uptime-monitors": UPTIME_MONITORS,
}

#: Every list name a ``user-agent`` signal may name.
LIST_NAMES: tuple[str, ...] = (*sorted(CURATED), "crawlers")


@cache
def crawler_entries() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The ``crawler-user-agents`` package's ``(pattern, tags)`` pairs, in its order."""
    import crawleruseragents  # imported here: it parses a JSON file at import

    data: list[dict[str, Any]] = crawleruseragents.CRAWLER_USER_AGENTS_DATA
    return tuple((d["pattern"], tuple(d.get("tags", ()))) for d in data)


def crawler_package_version() -> str:
    """Version of the installed ``crawler-user-agents`` package (for benchmarks and docs)."""
    from importlib.metadata import version

    return version("crawler-user-agents")
