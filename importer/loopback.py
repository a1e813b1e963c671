"""Which addresses are this computer only, and the Host names a local server should answer.

A server on 127.0.0.1 is reachable by every program and every browser page on the machine; a
page on a domain made to resolve to 127.0.0.1 (DNS rebinding) reaches it too, but with that
domain in its ``Host`` header. So the local servers answer only the names they listen on.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The ``Host`` values a server on ``host:port`` answers: its own address (every loopback
    alias when it listens on loopback) plus the ``extra`` names (``name`` or ``name:port``)."""
    names = {host if ":" not in host else f"[{host}]"}
    if is_loopback(host):
        names.update(_LOOPBACK_NAMES)
    hosts = {f"{name}:{port}".lower() for name in names}
    for name in extra:
        name = name.strip().lower()
        hosts.add(name if name.rpartition(":")[2].isdigit() else f"{name}:{port}")
    return frozenset(hosts)
