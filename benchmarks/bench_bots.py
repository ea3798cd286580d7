"""Cost of the bot classifier per request (``make bench-bots``). Never run by pytest.

Measures, with the default policy:

- compile: ``compile_policy(default_policy())`` (once per snapshot load);
- repeated agents: a realistic mix of 24 real user agents (phones, in-app
  browsers, previews, tools) with their headers, cache warm: the per-click cost
  the worker pays in steady state;
- unique agents: every request carries a user agent never seen before (a real
  phone string with a distinct build), so every list is searched: the worst case;
- stream re-judging: ``rejudge_stream`` per click, tokens of 3 clicks.

Method: each figure is the median of 7 runs of N calls, ns per call, measured
in CPU time of this process (``time.process_time_ns``), so other jobs on a
shared machine inflate it less than wall time would; the garbage collector
stays on (as in the worker). The load average is printed with the figures.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from importlib.metadata import version

from _machine import cpu_model, median_ns

from engine.bots import (
    RequestFacts,
    compile_policy,
    crawler_package_version,
    default_policy,
    rejudge_stream,
)
from engine.clicklog import ClickEvent

SAFARI = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
          "accept-language": "en-US,en;q=0.9", "accept-encoding": "gzip, deflate, br",
          "sec-fetch-dest": "document", "sec-fetch-mode": "navigate", "sec-fetch-site": "none"}
CHROME = {**SAFARI, "sec-ch-ua-mobile": "?1", "sec-fetch-user": "?1", "upgrade-insecure-requests": "1"}
FETCH = {"accept": "*/*"}

MIX = [
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", SAFARI),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1", SAFARI),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1", SAFARI),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", SAFARI),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36", CHROME),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", CHROME),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", CHROME),
    ("Mozilla/5.0 (Linux; Android 13; SM-A515F Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/126.0.6478.134 Mobile Safari/537.36", CHROME),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 350.0.0.0 (iPhone15,3; iOS 18_5; ko_KR)", SAFARI),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/20F66 [FBAN/FBIOS;FBDV/iPhone14,2;FBMD/iPhone;FBSN/iOS;FBSV/16.5;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5]", SAFARI),
    ("Mozilla/5.0 (Linux; Android 12; SM-G991B Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.5845.163 Mobile Safari/537.36 musical_ly_2023109030 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly app_version/31.9.3 ByteLocale/en ByteFullLocale/en Region/US BytedanceWebview/d8a21c6", CHROME),
    ("facebookexternalhit/1.1 Facebot Twitterbot/1.0", FETCH),
    ("WhatsApp/2.23.20.0 A", FETCH),
    ("TelegramBot (like TwitterBot)", FETCH),
    ("Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", FETCH),
    ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", FETCH),
    ("curl/8.4.0", FETCH),
    ("python-requests/2.31.0", FETCH),
    ("Go-http-client/1.1", FETCH),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", FETCH),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36", CHROME),
    ("Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", FETCH),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", CHROME),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", SAFARI),
]


def main() -> None:
    print("smslink bench-bots: cost of the bot classifier per request")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, load average {load}")
    print(f"python {platform.python_version()} ({sys.implementation.name}), msgspec {version('msgspec')}, "
          f"crawler-user-agents {crawler_package_version()}")

    t0 = time.process_time_ns()
    clf = compile_policy(default_policy())
    compile_ms = (time.process_time_ns() - t0) / 1e6
    print(f"compile_policy(default): {compile_ms:.1f} ms (once per snapshot load)")

    facts = [RequestFacts("GET", ua, h, client_ip="203.0.113.7", seconds_since_send=840.0) for ua, h in MIX]
    for f in facts:
        clf.classify(f)  # warm the cache

    def repeated(n: int) -> None:
        classify = clf.classify
        k = len(facts)
        for i in range(n):
            classify(facts[i % k])

    base = MIX[0][0]
    counter = [0]

    def unique(n: int) -> None:
        classify = clf.classify
        start = counter[0]
        counter[0] += n
        for i in range(start, start + n):
            classify(RequestFacts("GET", f"{base} build/{i}", SAFARI, client_ip="203.0.113.7",
                                  seconds_since_send=840.0))

    def facts_only(n: int) -> None:
        for _i in range(n):
            RequestFacts("GET", base, SAFARI, client_ip="203.0.113.7", seconds_since_send=840.0)

    person = facts[0]

    def one_person(n: int) -> None:
        classify = clf.classify
        for _ in range(n):
            classify(person)

    rep = median_ns(repeated, 200_000)
    full = median_ns(one_person, 200_000)
    uniq = median_ns(unique, 2_000)
    bare = median_ns(facts_only, 200_000)
    print(f"classify, repeated agents (24-agent mix, cache warm): {rep:,.0f} ns/op")
    print(f"classify, repeated iPhone Safari (every signal runs):  {full:,.0f} ns/op")
    print(f"classify, unique agents (every list searched):        {uniq:,.0f} ns/op")
    print(f"  (building RequestFacts alone:                        {bare:,.0f} ns/op)")
    info = clf.ua_cache_info()
    print(f"  UA cache: size {info.currsize}/{info.maxsize}, hits {info.hits:,}, misses {info.misses:,}")

    events = []
    for t in range(3_000):
        for j in range(3):
            ua, h = MIX[(t + j) % len(MIX)]
            events.append(ClickEvent(id=f"{t}-{j}", ts=1_790_000_000_000 + j * 60_000, kind="click", status=302,
                                     answer="redirect", token=f"T{t}", campaign="bench", ip=f"203.0.{j}.0/24",
                                     ua=ua, headers=h, device="ios", since_send_s=30.0 + j * 60))
    groups = [events[i:i + 3] for i in range(0, len(events), 3)]

    def stream(n: int) -> None:
        for g in groups[: n // 3]:
            rejudge_stream(g, clf)

    st = median_ns(stream, len(events), runs=5)
    print(f"rejudge_stream with re-classification, tokens of 3 clicks: {st:,.0f} ns/click")


if __name__ == "__main__":
    main()
