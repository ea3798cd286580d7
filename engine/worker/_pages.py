"""The few small HTML pages the worker answers with: 404, 410, and the link-preview card.

Pages are plain strings built once (per campaign where they carry its brand);
the preview page is the only one with a per-click part, the destination, and
every value in it is HTML-escaped. No page carries a token or a recipient id.
"""

from __future__ import annotations

from html import escape

_HEAD = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width,initial-scale=1">'
    '<meta name="robots" content="noindex,nofollow">'
)
_STYLE = (
    "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;"
    "padding:0 1rem;color:#222}a{color:#0645ad}</style>"
)


def not_found_page() -> bytes:
    """The 404 page for unknown, malformed or foreign-host links."""
    return (
        f"{_HEAD}<title>Link not found</title>{_STYLE}</head><body>"
        "<h1>This link is not valid</h1>"
        "<p>Check that the whole link from your message was opened. "
        "If it was, the offer may no longer exist.</p></body></html>"
    ).encode()


def gone_page(brand: str) -> bytes:
    """The 410 page of a campaign that has ended and has no expired destination."""
    b = escape(brand)
    return (
        f"{_HEAD}<title>{b}: offer ended</title>{_STYLE}</head><body>"
        f"<h1>This offer has ended</h1><p>Thank you for your interest in {b}.</p>"
        "</body></html>"
    ).encode()


def preview_page_parts(title: str, description: str, image: str | None) -> tuple[str, str]:
    """The static halves of a campaign's preview page; the destination goes between them."""
    t, d = escape(title), escape(description)
    og = (
        f'<meta property="og:title" content="{t}">'
        f'<meta property="og:description" content="{d}">'
        '<meta property="og:type" content="website">'
    )
    if image:
        og += f'<meta property="og:image" content="{escape(image)}">'
        og += '<meta name="twitter:card" content="summary_large_image">'
    head = f"{_HEAD}<title>{t}</title>{og}{_STYLE}"
    tail = f"<h1>{t}</h1><p>{d}</p>"
    return head, tail


def preview_page(parts: tuple[str, str], dest: str) -> bytes:
    """The preview card with a refresh and a link on to ``dest`` (escaped) for a person who lands here."""
    head, tail = parts
    u = escape(dest)
    return (
        f'{head}<meta http-equiv="refresh" content="0;url={u}"></head><body>'
        f'{tail}<p><a href="{u}" rel="noreferrer">Continue</a></p></body></html>'
    ).encode()
