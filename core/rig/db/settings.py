"""Where to connect and how: ``--host`` values, TLS modes as the mysql client spells them, and
the settings of one connection."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from rig.secret import Secret

DEFAULT_PORT = 4000
"""TiDB's port; MySQL and MariaDB listen on 3306."""


class SslMode(StrEnum):
    """TLS modes, named as ``mysql --ssl-mode`` names them."""

    DISABLED = "disabled"
    PREFERRED = "preferred"
    REQUIRED = "required"
    VERIFY_CA = "verify-ca"
    VERIFY_IDENTITY = "verify-identity"


@dataclass(frozen=True)
class HostPort:
    """A ``--host`` value: a host name or address and an optional port."""

    host: str
    port: int | None = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.port else host


def parse_hosts(text: str) -> list[HostPort]:
    """``host[:port][,host[:port]...]``; IPv6 addresses in brackets (``[::1]:4000``)."""
    hosts = []
    for item in (part.strip() for part in str(text).split(",")):
        if not item:
            continue
        if item.startswith("["):
            host, closed, rest = item[1:].partition("]")
            if not closed:
                raise ValueError("the ] closing the IPv6 address is missing")
            if rest and not rest.startswith(":"):
                raise ValueError("after ] comes :PORT or nothing")
            port_text = rest[1:]
        elif item.count(":") == 1:
            host, _, port_text = item.partition(":")
        else:
            host, port_text = item, ""
        if not host:
            raise ValueError("the host name is empty")
        port = None
        if port_text:
            if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
                raise ValueError(f"port {port_text!r} is not a number from 1 to 65535")
            port = int(port_text)
        hosts.append(HostPort(host, port))
    if not hosts:
        raise ValueError("give a host name, e.g. 127.0.0.1:4000")
    return hosts


def existing_file(text: str) -> str:
    """An option type: a path to a readable file."""
    path = Path(text).expanduser()
    if not path.is_file():
        raise ValueError("no such file")
    return str(path)


@dataclass(frozen=True)
class ConnectionSettings:
    """Everything needed to open one connection."""

    host: str
    port: int
    user: str
    password: Secret | None = None
    database: str | None = None
    connect_timeout: float = 10.0
    ssl_mode: SslMode = SslMode.PREFERRED
    ssl_ca: str | None = None
    server: HostPort | None = None
    """The server, when ``host``/``port`` are a proxy in front of it (``config.reroute``);
    ``None``: ``host``/``port`` are the server. Connections dial ``host``/``port``; messages,
    reports and breakers name the server."""

    @property
    def target(self) -> HostPort:
        """The server these settings reach, through a proxy or not."""
        return self.server or HostPort(self.host, self.port)

    @property
    def address(self) -> str:
        """The server's ``host:port`` (not a proxy's), for messages and breakers."""
        return str(self.target)
