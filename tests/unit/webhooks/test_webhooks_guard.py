"""SSRF: every address a host resolves to is checked; private and special ranges are refused."""

from __future__ import annotations

import ipaddress

import pytest

from engine.webhooks import AddressRefused, check_addresses, refusal_reason


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("93.184.215.14", None),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "not publicly routable"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("240.0.0.1", "private"),
    ],
    ids=["public v4", "public v6", "loopback v4", "loopback v6", "10/8", "172.16/12", "192.168/16", "ula",
         "cloud metadata", "link-local v6", "cgnat", "unspecified", "multicast", "mapped loopback",
         "mapped private", "reserved"],
)
def test_refusal_reasons(address, reason):
    got = refusal_reason(ipaddress.ip_address(address))
    assert (got is None) if reason is None else (got is not None and reason in got)


def test_allow_private_lets_loopback_and_private_through_but_not_unspecified():
    assert refusal_reason(ipaddress.ip_address("127.0.0.1"), allow_private=True) is None
    assert refusal_reason(ipaddress.ip_address("10.0.0.1"), allow_private=True) is None
    assert refusal_reason(ipaddress.ip_address("0.0.0.0"), allow_private=True) == "unspecified address"


def test_one_private_answer_among_public_ones_refuses_the_host():
    assert check_addresses("ok.example", ["93.184.215.14", "93.184.215.14"]) == ["93.184.215.14"]
    with pytest.raises(AddressRefused, match=r"rebind\.example resolves to a private address \(10\.0\.0\.5\)"):
        check_addresses("rebind.example", ["93.184.215.14", "10.0.0.5"])
    with pytest.raises(AddressRefused, match="does not resolve"):
        check_addresses("none.example", [])
