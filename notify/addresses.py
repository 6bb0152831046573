"""Where a webhook may go: the public Internet only, unless the operator allows more
(`COOPFLOW_WEBHOOK_ALLOW_NETWORKS`). A subscriber chooses the URL and reads every attempt's
outcome, so without this a webhook is a probe of the network the worker sits in (its
loopback, its private ranges, the cloud's metadata service).

A host is judged by every address it stands for: a literal in any spelling resolvers accept
(`127.1`, `2130706433`, `0x7f.0.0.1`, IPv6 forms that carry an IPv4 address), else each
address its name resolves to. The delivery connects to the addresses checked for it
(`notify.webhooks`), so a name that resolves differently a moment later changes nothing."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from urllib.parse import unquote

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

SETTING = "COOPFLOW_WEBHOOK_ALLOW_NETWORKS"

# NAT64's well-known prefix (RFC 6052): the last 32 bits are the IPv4 address reached.
_NAT64 = IPv6Network("64:ff9b::/96")
# What a host may be once IDNA-encoded: letters, digits, dots and hyphens.
_NAME = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?\.?", re.ASCII)


class Refused(Exception):
    """A host a webhook may not reach, in plain words (`reason`), never a resolver's text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_networks(text: str) -> tuple[Network, ...]:
    """`10.0.0.0/8, 127.0.0.1/32, fd00::/8` as networks; ValueError naming the bad one."""
    networks = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not a network (CIDR such as 10.0.0.0/8)") from None
    return tuple(networks)


def literal(host: str) -> Address | None:
    """The address a host names by itself, spelt as any resolver reads it (getaddrinfo takes
    `127.1`, `2130706433`, hex and octal parts as inet_aton does); None for a name."""
    if ":" in host:
        try:
            return ipaddress.ip_address(unquote(host.strip("[]")))
        except ValueError:
            return None
    bare = host[:-1] if host.endswith(".") else host
    try:
        return IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None


def kind(ip: Address) -> str | None:
    """What sort of non-public address `ip` is (None when public). IPv6 forms that carry an
    IPv4 address (mapped, 6to4, NAT64) are judged by the address they carry."""
    if isinstance(ip, IPv6Address):
        if ip.is_loopback:
            return "loopback"
        if ip.is_unspecified:
            return "unspecified"
        carried = ip.ipv4_mapped or ip.sixtofour
        if carried is None and ip in _NAT64:
            carried = IPv4Address(int(ip) & 0xFFFFFFFF)
        if carried is not None:
            return kind(carried)
    if ip.is_loopback:
        return "loopback"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if not ip.is_global or ip.is_reserved:
        return "private"
    return None


def _carried(ip: Address) -> Address:
    if isinstance(ip, IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64:
            return IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def _loopback_name(name: str) -> bool:
    # RFC 6761: localhost and every name under it are loopback, whatever a resolver says.
    name = name.rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


@dataclass(frozen=True)
class Guard:
    """The networks allowed beyond the public Internet, and how long a name may take to
    resolve."""

    allow: tuple[Network, ...] = ()
    resolve_within: float = 2.0

    def refusal(self, ip: Address) -> str | None:
        """Why `ip` may not be reached (its kind), None when it may."""
        if any(ip in net or _carried(ip) in net for net in self.allow):
            return None
        return kind(ip)

    async def addresses(self, host: str, port: int) -> list[str]:
        """Every address `host` stands for, each allowed, to connect to; Refused otherwise
        (a name that does not resolve within `resolve_within` included)."""
        host = host.lower()
        ip = literal(host)
        if ip is not None:
            found: list[Address] = [ip]
        elif not _NAME.fullmatch(host):
            raise Refused("invalid host")
        elif _loopback_name(host):
            found = [IPv4Address("127.0.0.1"), IPv6Address("::1")]
        else:
            found = await self._resolve(host, port)
        for address in found:
            reason = self.refusal(address)
            if reason is not None:
                raise Refused(f"refused: {reason} address")
        return [str(a) for a in dict.fromkeys(found)]

    async def _resolve(self, host: str, port: int) -> list[Address]:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP),
                timeout=self.resolve_within,
            )
        except (OSError, TimeoutError, UnicodeError):
            raise Refused("name not resolved") from None
        found = []
        for _family, _type, _proto, _name, sockaddr in infos:
            try:
                found.append(ipaddress.ip_address(str(sockaddr[0]).split("%")[0]))
            except ValueError:
                continue
        if not found:
            raise Refused("name not resolved")
        return found
