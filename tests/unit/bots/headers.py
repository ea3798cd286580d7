"""Real header sets for the bots tests.

Header sets are what each browser sends on a top-level navigation (a tap on a
link opened from a message), per the browsers' documented defaults
(MDN "HTTP Accept defaults", "Sec-Fetch-*"); a policy must not be fooled by
their absence only when that browser really omits them.
"""

from __future__ import annotations

# Chromium >= 80 on Android (Chrome, Samsung Internet, Edge): Accept with text/html,
# Accept-Language, Sec-Fetch-*, client hints.
CHROME_ANDROID = {
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
    "accept-encoding": "gzip, deflate, br",
    "accept-language": "en-US,en;q=0.9",
    "sec-ch-ua": '"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"',
    "sec-ch-ua-mobile": "?1",
    "sec-ch-ua-platform": '"Android"',
    "sec-fetch-dest": "document",
    "sec-fetch-mode": "navigate",
    "sec-fetch-site": "none",
    "sec-fetch-user": "?1",
    "upgrade-insecure-requests": "1",
}

# Safari >= 16.4 on iOS (also with iCloud Private Relay: same headers, Cloudflare/Akamai egress).
SAFARI_IOS = {
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-encoding": "gzip, deflate, br",
    "accept-language": "en-US,en;q=0.9",
    "sec-fetch-dest": "document",
    "sec-fetch-mode": "navigate",
    "sec-fetch-site": "none",
}

# Safari before 16.4 and iOS app web views (WKWebView): no Sec-Fetch-*.
SAFARI_IOS_OLD = {
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-encoding": "gzip, deflate, br",
    "accept-language": "en-GB,en;q=0.9",
}

# Android WebView inside an app: the app's package in X-Requested-With.
ANDROID_WEBVIEW = {
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8",
    "accept-encoding": "gzip, deflate",
    "accept-language": "en-US,en;q=0.9",
    "upgrade-insecure-requests": "1",
    "x-requested-with": "com.instagram.android",
}

# Firefox >= 90.
FIREFOX = {
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-encoding": "gzip, deflate, br",
    "accept-language": "de,en-US;q=0.7,en;q=0.3",
    "sec-fetch-dest": "document",
    "sec-fetch-mode": "navigate",
    "sec-fetch-site": "none",
    "sec-fetch-user": "?1",
    "upgrade-insecure-requests": "1",
}

# Tools and fetchers.
CURL = {"accept": "*/*"}
REQUESTS = {"accept": "*/*", "accept-encoding": "gzip, deflate"}
PREVIEW = {"accept": "*/*", "accept-encoding": "gzip"}
