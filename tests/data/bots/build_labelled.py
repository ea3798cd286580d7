"""Assemble tests/data/bots/labelled.jsonl, the labelled set the bots evaluation uses.

Run from the repository root: ``.venv/bin/python tests/data/bots/build_labelled.py``.
The output is deterministic (fixed seed). Every user agent is a real string
from a public source named in the line's ``source`` field (README.md lists
them); header sets are the documented navigation defaults of each browser
family (MDN "HTTP Accept defaults", Fetch Metadata), and each tool's real
default headers. Network facts use documentation address ranges (RFC 5737)
for carriers and the real ASNs of clouds, Meta and iCloud Private Relay.

Labels are the truth: human, preview, scanner, bot. ``suspect`` is never a
label; it is a verdict the classifier may give.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import crawleruseragents

OUT = Path(__file__).with_name("labelled.jsonl")
MICROLINK = "github.com/microlinkhq/top-user-agents (src/mobile.json, src/desktop.json)"
CRAWLERS = "crawler-user-agents package (instances), github.com/monperrus/crawler-user-agents"

MICROLINK_MOBILE = [
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.153 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; STK-LX1 Build/HONORSTK-LX1; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.134 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 11; Redmi Note 8 Pro Build/RP1A.200720.011; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.134 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 12; M2102J20SG Build/SKQ1.211006.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.134 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 11; HNR553T) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/90.0.4430.210 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; M2101K6G Build/TKQ1.221013.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.134 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 15_8_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 12; Redmi Note 9 Pro Build/SKQ1.211019.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.134 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-A515F Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.134 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-A325F Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.134 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_7_8 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 12; M2007J20CG Build/SKQ1.211019.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.134 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; ALP-TL00 Build/HUAWEIALP-TL00) AppleWebKit/537.36 (KHTML, like Gecko)  Chrome/83.0.4103.106 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-A546E Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.134 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.3 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-A055F Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.134 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; SEA-AL10 Build/HUAWEISEA-AL10; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/88.0.4324.93 Mobile Safari/537.36",
]

# Desktop browsers (links in SMS are also opened from desktop messaging apps).
# Excluded as ambiguous: Electron apps (obsidian, ...) and bare WebKit strings,
# which are apps fetching pages, not necessarily a person tapping.
MICROLINK_DESKTOP = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 11.6; rv:92.0) Gecko/20100101 Firefox/92.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/89.0.4389.114 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 OPR/111.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.6.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36 Edg/123.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.5 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36 OPR/109.0.0.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.129 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3.1 Safari/605.1.15",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:124.0) Gecko/20100101 Firefox/124.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.3 Safari/605.1.15",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
]

# In-app browsers and other phone browsers, as published in open-source code that detects them.
IN_APP = [
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 350.0.0.0 (iPhone15,3; iOS 18_5; ko_KR)", "open-source bot-filter test (in-app humans)"),
    ("Mozilla/5.0 (Linux; Android 14; SM-S918N Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/129.0.0.0 Mobile Safari/537.36;KAKAOTALK 2410370", "open-source bot-filter test (in-app humans)"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 NAVER(inapp; search; 2000; 12.10.2; 15PRO)", "open-source bot-filter test (in-app humans)"),
    ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-A546N) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/27.0 Chrome/125.0.0.0 Mobile Safari/537.36", "open-source bot-filter test (in-app humans)"),
    ("Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Mobile Safari/537.36", "open-source bot-filter test (in-app humans)"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.5 Mobile/15E148 Safari/604.1", "open-source bot-filter test (in-app humans)"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 280.0.0.18.114", "open-source in-app browser detection test"),
    ("Mozilla/5.0 (Linux; Android 13; SM-S908B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.0.0 Mobile Safari/537.36 Instagram 275.0.0.27.98 Android", "open-source in-app browser detection test"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/20F66 [FBAN/FBIOS;FBDV/iPhone14,2;FBMD/iPhone;FBSN/iOS;FBSV/16.5;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]", "open-source in-app browser detection test"),
    ("Mozilla/5.0 (Linux; Android 12; Pixel 6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/101.0.4951.41 Mobile Safari/537.36 WhatsApp/2.22.10.73 A", "open-source in-app browser detection test"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/20B101 [FBAN/FBIOS;FBDV/iPhone12,1;FBMD/iPhone;FBSN/iOS;FBSV/16.1.1;FBSS/2;FBID/phone;FBLC/en_US;FBOP/5]", "open-source channel-attribution test"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 15_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/19H12 [FBAN/FBIOS;FBDV/iPhone9,3;FBMD/iPhone;FBSN/iOS;FBSV/15.7;FBSS/2;FBID/phone;FBLC/en_US;FBOP/5]", "open-source session-audit fixture"),
    ("Mozilla/5.0 (Linux; Android 16; Pixel 10 Pro XL Build/CP1A.260305.018; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/146.0.7680.174 Mobile Safari/537.36 MetaIAB Facebook", CRAWLERS + " (tagged social-preview upstream; an in-app browser)"),
    ("Mozilla/5.0 (Linux; Android 12; SM-G991B Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.5845.163 Mobile Safari/537.36 musical_ly_2023109030 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly app_version/31.9.3 ByteLocale/en ByteFullLocale/en Region/US BytedanceWebview/d8a21c6", "TikTok in-app string as published by in-app detection libraries"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Snapchat/12.45.0.30 (like Safari/8615.2.9.10.2, panda)", "Snapchat in-app string as published by in-app detection libraries"),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 LinkedInApp/9.29.7890", "LinkedIn in-app string as published by in-app detection libraries"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/283.0.566313930 Mobile/15E148 Safari/604.1", "Google app string as published by in-app detection libraries"),
    ("Mozilla/5.0 (Linux; Android 4.4.4; SM-A700F Build/KTU84P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/44.0.2403.133 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/289.0.0.40.121;]", "open-source user-agent pool (Facebook for Android)"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/119.0 Mobile/15E148 Safari/604.1", "open-source in-app browser test (Firefox for iOS)"),
    ("Mozilla/5.0 (Android 13; Mobile; rv:120.0) Gecko/120.0 Firefox/120.0", "open-source in-app browser test (Firefox for Android)"),
    ("Mozilla/5.0 (Linux; U; Android 4.4.2; en-us; SM-G900F Build/KOT49H) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30", "Android 4.4 stock browser (Samsung Galaxy S5), public UA databases"),
]

PREVIEW_FETCHERS = [
    ("facebookexternalhit/1.1 Facebot Twitterbot/1.0", "Apple Messages link preview (widely documented; fetched from the recipient's phone)", "phone"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0", "Apple Messages link preview, long form (peter.upfold.org.uk/blog/2019/02)", "phone"),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "developers.facebook.com/docs/sharing/webmasters/web-crawlers", "meta"),
    ("facebookexternalhit/1.1", "developers.facebook.com/docs/sharing/webmasters/web-crawlers", "meta"),
    ("meta-externalfetcher/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)", "developers.facebook.com/docs/sharing/webmasters/web-crawlers", "meta"),
    ("WhatsApp/2.23.20.0 A", "WhatsApp preview (Android)", "phone"),
    ("WhatsApp/2.23.18.78 i", "WhatsApp preview (iOS)", "phone"),
    ("WhatsApp/2.2409.2 W", "WhatsApp preview (desktop)", "phone"),
    ("TelegramBot (like TwitterBot)", "core.telegram.org link previews", "cloud"),
    ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "api.slack.com/robots", "cloud"),
    ("Slack-ImgProxy (+https://api.slack.com/robots)", "api.slack.com/robots", "cloud"),
    ("Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", "Discord link embeds", "cloud"),
    ("Twitterbot/1.0", "developer.x.com cards troubleshooting", "cloud"),
    ("LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", "linkedin.com help: LinkedInBot", "cloud"),
    ("GoogleMessages", "developers.google.com user-triggered fetchers (Google Messages, Jan 2026)", "cloud"),
    ("Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5", "Skype / Teams link preview", "cloud"),
    ("Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5 skype-url-preview@microsoft.com", "Microsoft Teams link preview", "cloud"),
    ("Snap URL Preview Service; bot; snapchat; https://developers.snap.com/robots", "developers.snap.com/robots", "cloud"),
    ("Pinterestbot/1.0 (+http://www.pinterest.com/bot.html)", "help.pinterest.com Pinterestbot", "cloud"),
    ("Mozilla/5.0 (compatible; redditbot/1.0; +http://www.reddit.com/feedback)", "Reddit link previews", "cloud"),
    ("Mozilla/5.0 (compatible; vkShare; +http://vk.com/dev/Share)", "vk.com/dev/Share", "cloud"),
    ("http.rb/5.1.1 (Mastodon/4.2.0; +https://mastodon.social/)", "Mastodon link cards", "cloud"),
    ("Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)", "Bluesky link cards", "cloud"),
    ("Mozilla/5.0 (compatible; Embedly/0.2; +http://support.embed.ly/)", "embed.ly docs", "cloud"),
    ("Iframely/1.3.1 (+https://iframely.com/docs/about)", "iframely.com/docs/about", "cloud"),
    ("facebookexternalhit/1.1;line-poker/1.0", "LINE link previews", "cloud"),
    ("Viber", CRAWLERS, "cloud"),
]

SCANNERS = [
    "Mozilla/5.0 (Windows; U; MSIE 9.0; Windows NT 9.0; en-US) AppEngine-Google; (+http://code.google.com/appengine; appid: s~virustotalcloud)",
    "Mozilla/5.0 (compatible; NetcraftSurveyAgent/1.0; +info@netcraft.com)",
    "Expanse, a Palo Alto Networks company, searches across the global IPv4 space multiple times per day to identify customers' presences on the Internet. If you would like to be excluded from our scans, please send IP addresses/domains to: scaninfo@paloaltonetworks.com",
    "Mozilla/5.0 zgrab/0.x",
    "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
    "Mozilla/5.0 (compatible; BitSightBot/1.0)",
    "K7MLWCBot/1.0 (+http://www.k7computing.com)",
    "SafeDNSBot (https://www.safedns.com/searchbot)",
    "Cloudflare-SSLDetector",
    "CyberPatrol SiteCat Webbot (http://www.cyberpatrol.com/cyberpatrolcrawler.asp)",
]

# Default User-Agent of each tool, with the headers it sends by default.
TOOLS = [
    ("curl/8.4.0", {"accept": "*/*"}),
    ("curl/7.81.0", {"accept": "*/*"}),
    ("Wget/1.21.2", {"accept": "*/*", "accept-encoding": "identity"}),
    ("python-requests/2.31.0", {"accept": "*/*", "accept-encoding": "gzip, deflate"}),
    ("python-requests/2.28.1", {"accept": "*/*", "accept-encoding": "gzip, deflate"}),
    ("Python-urllib/3.11", {"accept-encoding": "identity"}),
    ("Python/3.11 aiohttp/3.9.1", {"accept": "*/*", "accept-encoding": "gzip, deflate"}),
    ("python-httpx/0.27.0", {"accept": "*/*", "accept-encoding": "gzip, deflate"}),
    ("Go-http-client/1.1", {"accept-encoding": "gzip"}),
    ("Go-http-client/2.0", {"accept-encoding": "gzip"}),
    ("okhttp/4.9.2", {"accept-encoding": "gzip"}),
    ("okhttp/3.12.1", {"accept-encoding": "gzip"}),
    ("Java/17.0.2", {"accept": "text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2"}),
    ("Java-http-client/17.0.9", {}),
    ("Apache-HttpClient/4.5.13 (Java/11.0.15)", {"accept-encoding": "gzip,deflate"}),
    ("libwww-perl/6.67", {}),
    ("node-fetch/1.0 (+https://github.com/bitinn/node-fetch)", {"accept": "*/*", "accept-encoding": "gzip,deflate"}),
    ("axios/1.6.2", {"accept": "application/json, text/plain, */*", "accept-encoding": "gzip, compress, deflate, br"}),
    ("undici", {"accept": "*/*", "accept-language": "*", "accept-encoding": "gzip, deflate"}),
    ("Dart/3.2 (dart:io)", {"accept-encoding": "gzip"}),
    ("PostmanRuntime/7.36.0", {"accept": "*/*", "accept-encoding": "gzip, deflate, br"}),
    ("HTTPie/3.2.2", {"accept": "*/*", "accept-encoding": "gzip, deflate"}),
    ("GuzzleHttp/7", {}),
    ("Scrapy/2.11.0 (+https://scrapy.org)", {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "accept-language": "en", "accept-encoding": "gzip, deflate"}),
    ("Dalvik/2.1.0 (Linux; U; Android 11; SM-A115F Build/RP1A.200720.012)", {"accept-encoding": "gzip"}),
    ("WindowsPowerShell/5.1.19041.3031", {}),
]

HEADLESS = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/153.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
    "Mozilla/5.0 (Linux; Android 11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
    "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
]

MONITORS = [
    "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
    "Mozilla/5.0 (compatible; StatusCake)",
    "Site24x7",
    "Better Uptime Bot Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.169 Safari/537.36",
    "Datadog/Synthetics",
    "Uptime-Kuma/1.23.16",
    "FreshpingBot/1.0 (+https://freshping.io/)",
]

# Crawlers documented by their operators.
CRAWLER_DOCS = [
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.126 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)",
]

CHROME_MOBILE = {
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
    "accept-encoding": "gzip, deflate, br", "accept-language": "en-US,en;q=0.9",
    "sec-ch-ua-mobile": "?1", "sec-ch-ua-platform": '"Android"',
    "sec-fetch-dest": "document", "sec-fetch-mode": "navigate", "sec-fetch-site": "none", "sec-fetch-user": "?1",
    "upgrade-insecure-requests": "1",
}
CHROME_DESKTOP = {**CHROME_MOBILE, "sec-ch-ua-mobile": "?0", "sec-ch-ua-platform": '"Windows"'}
CHROME_OLD = {k: v for k, v in CHROME_MOBILE.items() if not k.startswith("sec-")}
WEBVIEW = {
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8",
    "accept-encoding": "gzip, deflate", "accept-language": "en-US,en;q=0.9", "upgrade-insecure-requests": "1",
    "x-requested-with": "com.android.messaging",
}
SAFARI = {
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-encoding": "gzip, deflate, br", "accept-language": "en-US,en;q=0.9",
    "sec-fetch-dest": "document", "sec-fetch-mode": "navigate", "sec-fetch-site": "none",
}
SAFARI_OLD = {k: v for k, v in SAFARI.items() if not k.startswith("sec-")}
FIREFOX = {
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-encoding": "gzip, deflate, br", "accept-language": "en-US,en;q=0.5",
    "sec-fetch-dest": "document", "sec-fetch-mode": "navigate", "sec-fetch-site": "none", "sec-fetch-user": "?1",
    "upgrade-insecure-requests": "1",
}
FETCHER = {"accept": "*/*", "accept-encoding": "gzip"}
FETCHER_HTML = {"accept": "text/html,application/xhtml+xml", "accept-encoding": "gzip, deflate"}

CLOUD_ASNS = [16509, 14618, 15169, 396982, 8075, 14061, 16276, 24940, 63949, 20473]


def browser_headers(ua: str) -> dict[str, str]:
    """The navigation headers the browser this agent names sends."""
    if "; wv)" in ua or "Version/4.0 Chrome/" in ua:
        return dict(WEBVIEW)
    m = re.search(r"Chrome/(\d+)", ua)
    if m and "CriOS" not in ua:
        base = CHROME_MOBILE if "Mobile" in ua or "Android" in ua else CHROME_DESKTOP
        return dict(base if int(m.group(1)) >= 80 else CHROME_OLD)
    if "Firefox/" in ua and "FxiOS" not in ua:
        return dict(FIREFOX)
    m = re.search(r"(?:iPhone OS|Mac OS X) (\d+)[_.](\d+)", ua)
    v = re.search(r"Version/(\d+)\.(\d+)", ua)
    if v and "Safari/" in ua:
        return dict(SAFARI if (int(v.group(1)), int(v.group(2))) >= (16, 4) else SAFARI_OLD)
    if m and int(m.group(1)) >= 17 and ("CriOS" in ua or "FxiOS" in ua):
        return dict(SAFARI)
    return dict(SAFARI_OLD)  # iOS app web views, old WebKit


def main() -> None:
    rng = random.Random(20261127)
    rows: list[dict[str, object]] = []

    def carrier_ip() -> str:
        return f"203.0.113.{rng.randrange(1, 255)}" if rng.random() < 0.5 else f"198.51.100.{rng.randrange(1, 255)}"

    def add(label: str, ua: str, headers: dict[str, str], source: str, *, method: str = "GET",
            ip: str | None = None, asn: int | None = None, since: float | None = None, case: str = "") -> None:
        hdrs = dict(headers)
        if ua:
            hdrs["user-agent"] = ua
        row: dict[str, object] = {"label": label, "method": method, "headers": hdrs, "client_ip": ip,
                                  "asn": asn, "seconds_since_send": since, "source": source}
        if case:
            row["case"] = case
        rows.append(row)

    # People: phone and desktop browsers, in-app browsers; carriers, home Wi-Fi,
    # iCloud Private Relay (Akamai 36183, Cloudflare 13335), a few VPNs on clouds.
    humans = [(ua, MICROLINK) for ua in MICROLINK_MOBILE + MICROLINK_DESKTOP] + IN_APP
    for i, (ua, source) in enumerate(humans):
        r = i % 10
        ip, asn, case = carrier_ip(), None, ""
        if r == 3 and "iPhone" in ua:
            ip, asn, case = f"172.225.{rng.randrange(0, 255)}.0", 36183, "iCloud Private Relay (Akamai)"
        elif r == 7 and "iPhone" in ua:
            ip, asn, case = f"104.28.{rng.randrange(0, 255)}.0", 13335, "iCloud Private Relay (Cloudflare)"
        elif r == 9:
            ip, asn, case = f"3.80.{rng.randrange(0, 255)}.0", 16509, "VPN on a cloud address"
        since = round(rng.uniform(30, 7200), 1) if i % 13 else round(rng.uniform(5, 14), 1)
        add("human", ua, browser_headers(ua), source, ip=ip, asn=asn, since=since, case=case)

    # Speculative loads by people's browsers: not a tap.
    for ua in MICROLINK_MOBILE[:6]:
        h = browser_headers(ua)
        if "Safari/604" in ua and "Version/" in ua:
            h["x-purpose"] = "preview"
        else:
            h["sec-purpose"] = "prefetch"
        add("preview", ua, h, MICROLINK + " + documented prefetch headers", ip=carrier_ip(),
            since=round(rng.uniform(20, 600), 1), case="prefetch")
    add("preview", MICROLINK_DESKTOP[3], {**FIREFOX, "x-moz": "prefetch"}, MICROLINK + " + X-Moz: prefetch",
        ip=carrier_ip(), since=120.0, case="prefetch")

    # Link-preview fetchers: Apple Messages and WhatsApp fetch from the phone, on arrival.
    for ua, source, where in PREVIEW_FETCHERS:
        for _ in range(2 if where == "phone" else 1):
            if where == "phone":
                ip, asn = carrier_ip(), None
            elif where == "meta":
                ip, asn = f"173.252.{rng.randrange(64, 127)}.0", 32934
            else:
                ip, asn = f"34.{rng.randrange(0, 255)}.{rng.randrange(0, 255)}.0", rng.choice(CLOUD_ASNS)
            add("preview", ua, rng.choice([FETCHER, FETCHER_HTML]), source, ip=ip, asn=asn,
                since=round(rng.uniform(1, 40), 1))

    crawler_data = crawleruseragents.CRAWLER_USER_AGENTS_DATA
    by_tag: dict[str, list[str]] = {}
    for d in crawler_data:
        tags = d.get("tags") or ["untagged"]
        if d.get("instances"):
            by_tag.setdefault(tags[0], []).append(d["instances"][0])
    for ua in rng.sample(by_tag["social-preview"], 15):
        add("preview", ua, FETCHER, CRAWLERS + " [social-preview]", ip=f"35.{rng.randrange(0, 255)}.1.0",
            asn=15169, since=round(rng.uniform(1, 90), 1))

    # Scanners: named ones, a sample of the list's scanners, and stealthy ones that
    # present a full browser from a cloud within seconds of delivery.
    for ua in SCANNERS:
        add("scanner", ua, FETCHER, "operator documentation / " + CRAWLERS, ip=f"52.{rng.randrange(0, 255)}.3.0",
            asn=16509, since=round(rng.uniform(1, 30), 1))
    for ua in rng.sample(by_tag["scanner"], 15):
        add("scanner", ua, FETCHER, CRAWLERS + " [scanner]", ip=f"52.{rng.randrange(0, 255)}.4.0", asn=16509,
            since=round(rng.uniform(1, 600), 1))
    for ua in rng.sample(MICROLINK_DESKTOP[:20], 10):
        add("scanner", ua, browser_headers(ua), MICROLINK + " (browser string on a gateway's sandbox)",
            ip=f"5.9.{rng.randrange(0, 255)}.0", asn=24940, since=round(rng.uniform(1, 10), 1),
            case="stealth scanner: real browser, cloud, seconds after delivery")

    # Other automation.
    for ua, headers in TOOLS:
        add("bot", ua, headers, "the tool's default User-Agent and headers", ip=f"54.{rng.randrange(0, 255)}.5.0",
            asn=rng.choice([16509, None]), since=round(rng.uniform(1, 3600), 1))
    for ua in HEADLESS:
        add("bot", ua, CHROME_DESKTOP, "Chrome headless / Lighthouse / PhantomJS defaults",
            ip=f"34.{rng.randrange(0, 255)}.6.0", asn=396982, since=round(rng.uniform(1, 3600), 1))
    for ua in MONITORS:
        add("bot", ua, FETCHER, "monitor documentation / " + CRAWLERS, ip=f"159.89.{rng.randrange(0, 255)}.0",
            since=round(rng.uniform(1, 3600), 1))
    for ua in CRAWLER_DOCS:
        add("bot", ua, FETCHER_HTML, "crawler operators' documentation", ip=f"66.249.{rng.randrange(64, 95)}.0",
            asn=15169, since=round(rng.uniform(60, 86400), 1))
    for tag in ("search-engine", "seo", "ai-crawler", "feed-reader", "archiver", "academic", "advertising",
                "http-library", "browser-automation", "monitoring"):
        for ua in rng.sample(by_tag[tag], 6):
            add("bot", ua, FETCHER, f"{CRAWLERS} [{tag}]", ip=f"88.198.{rng.randrange(0, 255)}.0",
                since=round(rng.uniform(60, 86400), 1))
    for ua in MICROLINK_MOBILE[:5]:
        add("bot", ua, browser_headers(ua), MICROLINK + " (link checker sends HEAD)", method="HEAD",
            ip=carrier_ip(), since=round(rng.uniform(1, 600), 1), case="HEAD with a browser string")
    for ua in MICROLINK_MOBILE[5:15]:
        add("bot", ua, {"accept": "*/*", "accept-encoding": "gzip, deflate"},
            MICROLINK + " (script with a copied browser string)", ip=f"54.{rng.randrange(0, 255)}.7.0",
            asn=16509, since=round(rng.uniform(1, 3600), 1), case="script spoofing a phone browser")
    for _ in range(3):
        add("bot", "", {"accept": "*/*"}, "request without User-Agent", ip=carrier_ip(), since=60.0)

    with OUT.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row["label"])] = counts.get(str(row["label"]), 0) + 1
    print(f"{len(rows)} requests -> {OUT}: {counts}")


if __name__ == "__main__":
    main()
