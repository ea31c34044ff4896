"""TLS for connections: a context per ``--ssl-mode`` and CA, built once per run, and the servers
that turned out to offer no TLS in ``preferred`` mode."""

from __future__ import annotations

import ssl
import threading
from pathlib import Path

from rig.db.settings import ConnectionSettings, SslMode
from rig.errors import ConnectError

SYSTEM_CA_BUNDLES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",  # RHEL, Fedora
    "/etc/ssl/cert.pem",  # macOS, Alpine
    "/etc/ssl/ca-bundle.pem",  # openSUSE
)


def system_ca_bundle() -> str | None:
    """The first system CA bundle found on this machine (TiDB Cloud's certificates chain to
    it), else ``None`` (Python's default paths are used)."""
    return next((path for path in SYSTEM_CA_BUNDLES if Path(path).is_file()), None)


class TlsContexts:
    """The TLS contexts of a run, built on first use: loading a CA bundle costs tens of
    milliseconds, far more than the rest of a local connect. Also remembers the servers that
    refused TLS in ``preferred`` mode, so later connections to them go plain at once."""

    def __init__(self) -> None:
        self._contexts: dict[tuple[SslMode, str | None], ssl.SSLContext] = {}
        self._without_tls: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    def for_settings(self, settings: ConnectionSettings) -> ssl.SSLContext | None:
        """The context for ``settings.ssl_mode``; ``None`` for ``disabled``. ``verify-ca`` and
        ``verify-identity`` check against ``--ssl-ca``, else the system CA bundle."""
        mode = settings.ssl_mode
        if mode is SslMode.DISABLED:
            return None
        cafile = None
        if mode in (SslMode.VERIFY_CA, SslMode.VERIFY_IDENTITY):
            cafile = settings.ssl_ca or system_ca_bundle()
        with self._lock:
            key = (mode, cafile)
            if key not in self._contexts:
                self._contexts[key] = _build(mode, cafile)
            return self._contexts[key]

    def plain_only(self, settings: ConnectionSettings) -> bool:
        """Whether this connection goes without TLS: ``disabled``, or ``preferred`` to a server
        known to offer none."""
        if settings.ssl_mode is SslMode.DISABLED:
            return True
        with self._lock:
            return settings.ssl_mode is SslMode.PREFERRED and \
                (settings.host, settings.port) in self._without_tls

    def remember_no_tls(self, settings: ConnectionSettings) -> None:
        """The server of ``settings`` offers no TLS."""
        with self._lock:
            self._without_tls.add((settings.host, settings.port))


def _build(mode: SslMode, cafile: str | None) -> ssl.SSLContext:
    if mode in (SslMode.PREFERRED, SslMode.REQUIRED):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # encrypt, verify nothing
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ConnectError(f"cannot load the CA file {cafile}: {exc}",
                           hint="check --ssl-ca") from None
    context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    context.check_hostname = mode is SslMode.VERIFY_IDENTITY
    context.verify_mode = ssl.CERT_REQUIRED
    return context
