"""Which webhook URLs may be called: SSRF protection.

A subscriber names the URL, so without care the platform would call whatever it is told: its own
database, the cloud's metadata service, an admin port on the loopback. Rules, checked when a
subscription is written (422 naming the field) and again before every attempt:

- only `http` and `https`, no user or password in the URL, at most `MAX_URL_LENGTH` characters;
- the host is resolved once, and refused when any of its addresses is loopback, private,
  link-local, multicast, reserved, unspecified or a cloud metadata address, unless an admin
  allows its network (`WEBHOOK_ALLOWED_NETWORKS`);
- the request then goes to the address resolved (pinned), so a DNS answer that changes between
  the check and the connection (DNS rebinding) cannot send it elsewhere; the Host header and the
  TLS server name stay the URL's host.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Metadata services of the clouds, reachable from any instance; most are link-local anyway.
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}


class ForbiddenURL(ValueError):
    """Why a webhook URL may not be called; the message is safe to show its owner."""


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str  # as written in the URL (for Host and SNI)
    port: int
    address: IPAddress  # the one connected to
    path: str  # path and query


def parse(url: str) -> tuple[str, str, int, str]:
    """The scheme, host, port and path of `url`, or ForbiddenURL."""
    if len(url) > MAX_URL_LENGTH:
        raise ForbiddenURL(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ForbiddenURL(f"not a valid URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise ForbiddenURL("only http and https URLs are called")
    if not parts.hostname:
        raise ForbiddenURL("the URL names no host")
    if parts.username is not None or parts.password is not None:
        raise ForbiddenURL("credentials in the URL are not accepted; the signature authenticates")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def forbidden_reason(address: IPAddress, allowed: Sequence[IPNetwork]) -> str | None:
    """Why `address` may not be called, or None."""
    if any(address in network for network in allowed):
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return forbidden_reason(address.ipv4_mapped, allowed)
    checks = (
        (address in METADATA_ADDRESSES, "a cloud metadata address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_unspecified, "an unspecified address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for matches, reason in checks if matches), None)


def networks(texts: Sequence[str]) -> list[IPNetwork]:
    return [ipaddress.ip_network(text, strict=False) for text in texts]


async def resolve(url: str, allowed: Sequence[IPNetwork]) -> Target:
    """Resolve the URL's host once; refuse it if any of its addresses is forbidden."""
    scheme, host, port, path = parse(url)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (OSError, UnicodeError) as error:
            raise ForbiddenURL(f"the host {host} does not resolve: {error}") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        if not addresses:
            raise ForbiddenURL(f"the host {host} does not resolve")
    for address in addresses:
        reason = forbidden_reason(address, allowed)
        if reason is not None:
            raise ForbiddenURL(f"the host {host} resolves to {address}, {reason}")
    return Target(scheme=scheme, host=host, port=port, address=addresses[0], path=path)
