"""SSRF defence: internal targets are refused at submit time and again at send time.

No test here ever connects anywhere but loopback: public answers are only checked,
never sent to, and every refused target is refused before a socket is opened.
"""

from __future__ import annotations

import ipaddress
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.netsafe import UnsafeTarget, check_callback_url, is_public_address, resolve_target
from shared.webhooks import sender
from tests.support.webhooks import CountingListener, Reply, WebhookReceiver

BLOCKED_NETWORKS = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
    "::/128", "::1/128", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/32",
    "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8", "fd00:ec2::/32",
)]
ODD_SPELLINGS = [
    "http://2130706433/", "http://0x7f000001/", "http://127.1/", "http://0177.0.0.1/", "http://017700000001/",
    "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[0:0:0:0:0:0:0:1]/",
    "http://169.254.169.254/latest/meta-data/", "http://[::ffff:169.254.169.254]/", "http://[fd00:ec2::254]/",
    "http://[2002:7f00:1::]/", "http://[64:ff9b::a9fe:a9fe]/", "http://0.0.0.0:8000/", "http://localhost:8000/",
    "http://100.100.100.200/", "https://[fe80::1%25eth0]/",
]


blocked_addresses = st.sampled_from(BLOCKED_NETWORKS).flatmap(
    lambda net: st.integers(min_value=0, max_value=min(net.num_addresses - 1, 2**64)).map(lambda i: str(net[i])))


def _url(address: str, port: int = 80) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}/hook"


@settings(max_examples=500, deadline=None, database=None)
@given(blocked_addresses)
def test_every_address_of_the_blocked_ranges_is_refused_at_submit(address):
    assert not is_public_address(address)
    with pytest.raises(UnsafeTarget):
        check_callback_url(_url(address))


@settings(max_examples=100, deadline=None, database=None)
@given(st.sampled_from([n for n in BLOCKED_NETWORKS if n.version == 4]).flatmap(
    lambda net: st.integers(0, net.num_addresses - 1).map(lambda i: net[i])))
def test_ipv4_mapped_and_6to4_forms_of_blocked_addresses_are_refused(address):
    mapped = f"::ffff:{address}"
    sixtofour = str(ipaddress.IPv6Address((0x2002 << 112) | (int(address) << 80)))
    for spelled in (mapped, sixtofour):
        with pytest.raises(UnsafeTarget):
            check_callback_url(_url(spelled))


@pytest.mark.parametrize("url", ODD_SPELLINGS)
def test_odd_spellings_of_internal_addresses_are_refused(url):
    with pytest.raises(UnsafeTarget):
        check_callback_url(url)


def _resolver(table: dict[str, list[str]]):
    def resolve(host, port, type=socket.SOCK_STREAM):
        if host not in table:
            raise socket.gaierror("unknown host")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, type, 6, "", (a, port)) for a in table[host]]
    return resolve


def test_a_name_that_resolves_to_loopback_or_to_any_internal_address_is_refused():
    resolve = _resolver({"hooks.internal.example": ["127.0.0.1"], "mixed.example": ["93.184.216.34", "10.0.0.7"],
                         "public.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]})

    with pytest.raises(UnsafeTarget):
        check_callback_url("https://hooks.internal.example/x", resolve=resolve)
    with pytest.raises(UnsafeTarget):
        check_callback_url("https://mixed.example/x", resolve=resolve)
    assert check_callback_url("https://public.example/x", resolve=resolve) == "https://public.example/x"
    with pytest.raises(UnsafeTarget) as unresolvable:
        check_callback_url("https://nowhere.example/x", resolve=resolve)
    assert unresolvable.value.code == "callback_url_unresolvable"


@pytest.mark.parametrize("url", ["ftp://example.com/", "http://user:pw@example.com/", "http:///nohost",
                                 "http://example.com:99999/", "javascript:alert(1)", "http://exa mple.com/",
                                 "http://example.com/\r\nX: y"])
def test_malformed_or_credentialed_urls_are_refused(url):
    with pytest.raises(UnsafeTarget):
        check_callback_url(url, resolve=_resolver({"example.com": ["93.184.216.34"]}))


def test_the_send_time_check_pins_the_checked_addresses():
    target = resolve_target("https://hooks.example:8443/in?x=1", resolve=_resolver({"hooks.example": ["93.184.216.34"]}))

    assert [sockaddr[0] for _, sockaddr in target.addresses] == ["93.184.216.34"]
    assert (target.host_header, target.path) == ("hooks.example:8443", "/in?x=1")


def test_a_name_rebound_to_loopback_after_submit_is_refused_at_send_and_nothing_connects():
    with CountingListener() as listener:
        answers = {"rebind.example": ["93.184.216.34"]}
        resolve = _resolver(answers)
        url = f"http://rebind.example:{listener.port}/hook"
        check_callback_url(url, resolve=resolve)  # public when submitted
        answers["rebind.example"] = ["127.0.0.1"]  # rebound before the send

        with pytest.raises(UnsafeTarget):
            sender.post(url, b"{}", {}, timeout=2, resolve=resolve)
        for spelled in ("2130706433", "0x7f000001", "127.1", "[::1]", "[::ffff:127.0.0.1]", "localhost"):
            with pytest.raises(UnsafeTarget):
                sender.post(f"http://{spelled}:{listener.port}/hook", b"{}", {}, timeout=2)

    assert listener.connections == 0


def test_a_302_to_an_internal_address_is_not_followed():
    with CountingListener() as internal:
        redirect = Reply(302, {"Location": f"http://127.0.0.1:{internal.port}/admin"})
        with WebhookReceiver(redirect) as receiver:
            # Private targets allowed only to reach the test's own receiver on loopback.
            result = sender.post(receiver.url, b"{}", {}, timeout=5, allow_private=True)

    assert result.status_code == 302 and not result.ok
    assert internal.connections == 0
