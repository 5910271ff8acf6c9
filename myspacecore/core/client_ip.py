"""The client's address: one answer for every limit and every log line, behind any proxy.

Behind a reverse proxy the connection's address (REMOTE_ADDR) is the proxy's; each proxy
appends the address it received the request from to X-Forwarded-For. Only what our own
proxies appended can be believed: a client writes anything it likes at the left of the
header (nginx's `$proxy_add_x_forwarded_for` keeps it). So, as Rails' RemoteIp and GitLab's
`trusted_proxies` do, the chain `X-Forwarded-For entries…, REMOTE_ADDR` is read from the
right, skipping the trusted proxies, and the first address that is not one is the client's:

- `TRUSTED_PROXY_HOPS` (default 0): this many addresses from the right are our proxies
  (1: one nginx or load balancer in front of gunicorn);
- `TRUSTED_PROXY_NETWORKS` (default none): addresses in these networks are our proxies too,
  wherever they stand in the chain.

Without trusted proxies the header is never read. A missing, short or malformed header falls
back to REMOTE_ADDR (an address we saw), never to an error: a garbage header is not a
reason for a 500, nor a way to a fresh rate-limit key. django-ratelimit reads the address
through `RATELIMIT_IP_META_KEY` (this module's `client_ip`) and masks IPv6 to a /64 itself
(RATELIMIT_IPV6_MASK); `client_ip_for_limits` gives the same masked key to other counters.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from functools import cache

from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger(__name__)

# Answered when not even the connection's address is one (an empty REMOTE_ADDR from a Unix
# socket without trusted proxies): one shared key, so such requests are still counted.
UNKNOWN_ADDRESS = "0.0.0.0"  # noqa: S104 - a value to count under, never bound to

# A longer header is not one our proxies wrote (each hop adds at most ~40 characters).
_MAX_HEADER_LENGTH = 2048

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_address(text: str) -> IPAddress | None:
    """An address as a proxy writes one (`203.0.113.7`, `203.0.113.7:443`, `[2001:db8::1]:443`,
    `2001:db8::1`), or None. IPv4-mapped IPv6 (`::ffff:203.0.113.7`) is read as the IPv4 address."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def trusted_proxy_hops() -> int:
    """How many addresses from the right of the chain are our own proxies (setting, default 0)."""
    return getattr(settings, "TRUSTED_PROXY_HOPS", 0)


def trusted_proxy_networks() -> tuple[IPNetwork, ...]:
    """The networks of our proxies (setting TRUSTED_PROXY_NETWORKS, default none)."""
    return _networks(tuple(getattr(settings, "TRUSTED_PROXY_NETWORKS", ())))


@cache
def _networks(texts: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(text.strip(), strict=False) for text in texts)


def proxy_settings_errors() -> list[str]:
    """What is wrong with the two proxy settings (the start-up check reports it), [] when fine."""
    errors = []
    hops = getattr(settings, "TRUSTED_PROXY_HOPS", 0)
    if not isinstance(hops, int) or isinstance(hops, bool) or not 0 <= hops <= 10:
        errors.append(f"TRUSTED_PROXY_HOPS must be a whole number from 0 to 10, not {hops!r}.")
    networks = getattr(settings, "TRUSTED_PROXY_NETWORKS", ())
    if isinstance(networks, str) or not isinstance(networks, Iterable):
        errors.append("TRUSTED_PROXY_NETWORKS must be a list of networks such as '10.0.0.0/8'.")
        return errors
    for text in networks:
        try:
            ipaddress.ip_network(str(text).strip(), strict=False)
        except ValueError:
            errors.append(f"TRUSTED_PROXY_NETWORKS: {text!r} is not a network such as '10.0.0.0/8'.")
    return errors


def _is_trusted(address: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def _client_address(remote: IPAddress | None, header: str) -> IPAddress | None:
    """The right-most address of `header…, remote` that no trusted proxy added; None to fall back."""
    hops, networks = trusted_proxy_hops(), trusted_proxy_networks()
    if remote is None or not (hops or _is_trusted(remote, networks)):
        return remote
    if not header or len(header) > _MAX_HEADER_LENGTH:
        return None
    # Right to left: the connection's address, then what each proxy appended before it.
    chain = [remote, *(parse_address(entry) for entry in reversed(header.split(",")))]
    for position, address in enumerate(chain):
        if address is None:
            return None  # an entry we would have to believe is not an address
        if position >= hops and not _is_trusted(address, networks):
            return address
    # Every address belongs to our proxies: the left-most is the nearest thing to a client.
    return chain[-1]


def client_ip(request: HttpRequest) -> str:
    """The client's address as text (never raises): see the module's docstring."""
    meta = request.META
    remote_text = str(meta.get("REMOTE_ADDR") or "")
    remote = parse_address(remote_text)
    header = meta.get("HTTP_X_FORWARDED_FOR", "")
    address = _client_address(remote, header if isinstance(header, str) else "")
    if address is None and remote is not None:
        if header:
            logger.info("X-Forwarded-For %r not usable: the connection's address is the client's", header[:100])
        address = remote
    return str(address) if address is not None else UNKNOWN_ADDRESS


def client_ip_for_limits(request: HttpRequest) -> str:
    """The client's address as django-ratelimit keys it: IPv6 masked to its /64 (RATELIMIT_IPV6_MASK),
    so one household or phone cannot spread itself over the 2**64 addresses it holds."""
    address = ipaddress.ip_address(client_ip(request))
    if address.version == 6:
        mask = getattr(settings, "RATELIMIT_IPV6_MASK", 64)
    else:
        mask = getattr(settings, "RATELIMIT_IPV4_MASK", 32)
    return str(ipaddress.ip_network(f"{address}/{mask}", strict=False).network_address)
