"""Which field names are personal data (invariant 1: none may reach a URL, a UTM
parameter, the snapshot, a log or a report)."""

from __future__ import annotations

import re

#: Words that mark a field as personal data: a field named with one of them may
#: never reach a URL, a UTM parameter, or the snapshot (invariant 1).
PII_WORDS = frozenset(
    {
        "phone",
        "number",
        "msisdn",
        "e164",
        "mobile",
        "cell",
        "tel",
        "telephone",
        "email",
        "mail",
        "name",
        "firstname",
        "lastname",
        "surname",
        "fullname",
        "address",
        "street",
        "postcode",
        "zip",
        "dob",
        "birthday",
        "birthdate",
        "ssn",
        "passport",
        "iban",
    }
)


def is_pii_field(name: str) -> bool:
    """True when a field name looks like personal data (``phone``, ``customer_email``, ``first-name``)."""
    lowered = name.lower()
    words = set(re.split(r"[^a-z0-9]+", lowered))
    compact = re.sub(r"[^a-z0-9]", "", lowered)
    return bool(words & PII_WORDS) or any(
        w in compact for w in ("phone", "email", "msisdn", "e164", "mobile")
    )
