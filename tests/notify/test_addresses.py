"""Where a webhook may go (`notify.addresses`), without the network: literals in every
spelling resolvers read, IPv6 forms carrying an IPv4 address, the operator's allowed
networks, and names (localhost's, and a name this machine's resolver maps to loopback)."""

from __future__ import annotations

import re
import socket
from ipaddress import ip_address, ip_network

import pytest

from notify.addresses import Guard, Refused, kind, literal, parse_networks

INSIDE = {
    "127.0.0.1": "loopback",
    "127.1": "loopback",
    "2130706433": "loopback",
    "0x7f.0.0.1": "loopback",
    "017700000001": "loopback",
    "0x7f000001": "loopback",
    "127.0.0.1.": "loopback",
    "::1": "loopback",
    "[::1]": "loopback",
    "::ffff:127.0.0.1": "loopback",
    "0.0.0.0": "unspecified",
    "0": "unspecified",
    "::": "unspecified",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.1.1": "private",
    "012.0.0.1": "private",  # octal: 10.0.0.1
    "100.64.0.1": "private",  # carrier-grade NAT
    "fd00:ec2::254": "private",  # unique local (AWS's metadata over IPv6)
    "169.254.169.254": "link-local",
    "fe80::1": "link-local",
    "fe80::1%25eth0": "link-local",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "::ffff:169.254.169.254": "link-local",
    "::ffff:a9fe:a9fe": "link-local",
    "2002:7f00:1::": "loopback",  # 6to4 of 127.0.0.1
    "2002:c0a8:101::1": "private",  # 6to4 of 192.168.1.1
    "64:ff9b::a9fe:a9fe": "link-local",  # NAT64 of 169.254.169.254
    "::7f00:1": "private",  # IPv4-compatible (deprecated) 127.0.0.1
    "240.0.0.1": "private",  # reserved
    "192.0.2.1": "private",  # documentation
}


@pytest.mark.parametrize(("host", "expected"), INSIDE.items())
async def test_addresses_inside_are_refused_in_every_spelling(host: str, expected: str) -> None:
    ip = literal(host)
    assert ip is not None, host
    assert kind(ip) == expected
    with pytest.raises(Refused) as refused:
        await Guard().addresses(host, 80)
    assert refused.value.reason == f"refused: {expected} address"


@pytest.mark.parametrize(
    "host", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "2002:5db8:d70e::1"]
)
async def test_public_addresses_may_be_reached(host: str) -> None:
    assert await Guard().addresses(host, 443) == [str(ip_address(host))]


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.", "hooks.localhost"])
async def test_localhost_names_are_loopback_without_asking_a_resolver(host: str) -> None:
    with pytest.raises(Refused, match="refused: loopback address"):
        await Guard().addresses(host, 80)


async def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    # This machine's own name, from its resolver (/etc/hosts maps it to a loopback or
    # private address on most machines): refused whenever one of its addresses is inside.
    name = socket.gethostname().lower()
    found = {
        ip_address(str(info[4][0]).split("%")[0])
        for info in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)
    }
    inside = sorted({kind(ip) for ip in found} - {None}, key=str)
    if inside:
        with pytest.raises(Refused, match="refused: "):
            await Guard().addresses(name, 80)
        admitted = Guard(tuple(ip_network(str(ip)) for ip in found))
        assert set(await admitted.addresses(name, 80)) == {str(ip) for ip in found}
    else:
        assert set(await Guard().addresses(name, 80)) == {str(ip) for ip in found}
    with pytest.raises(Refused, match="name not resolved"):
        await Guard(resolve_within=1).addresses("nothing.invalid", 80)
    with pytest.raises(Refused, match="invalid host"):
        await Guard().addresses("bad_host%2e", 80)


async def test_allowed_networks_admit_only_themselves() -> None:
    guard = Guard(parse_networks(" 127.0.0.0/8 , fd00::/8"))
    assert await guard.addresses("127.1", 80) == ["127.0.0.1"]
    assert await guard.addresses("::ffff:127.0.0.1", 80) == ["::ffff:7f00:1"]
    assert await guard.addresses("fd00:ec2::254", 80) == ["fd00:ec2::254"]
    with pytest.raises(Refused):
        await guard.addresses("::1", 80)
    with pytest.raises(Refused):
        await guard.addresses("169.254.169.254", 80)
    # localhost stands for 127.0.0.1 and ::1: both must be allowed.
    with pytest.raises(Refused):
        await guard.addresses("localhost", 80)
    assert parse_networks("") == ()
    with pytest.raises(ValueError, match=re.escape("'10.0.0.0/33' is not a network")):
        parse_networks("127.0.0.0/8,10.0.0.0/33")
