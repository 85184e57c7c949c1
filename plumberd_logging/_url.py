"""Connection strings: validation with clear errors, and redaction of passwords.

Credentials must never appear in a message, repr or log line. Every place that shows a URL or an
error text from the transport goes through :func:`redact` / :class:`Redactor`.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

__all__ = ["SCHEMES", "Redactor", "redact", "validate_url"]

SCHEMES = (
    "esdb",
    "esdb+discover",
    "kurrentdb",
    "kurrentdb+discover",
    "kdb",
    "kdb+discover",
)
_MASK = "***"


def redact(url: str) -> str:
    """``url`` with the password (if any) replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    userinfo, at, hosts = rest[:end].rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:{_MASK}@{hosts}{rest[end:]}"


class Redactor:
    """Removes one connection string's password from any text (e.g. a transport error)."""

    def __init__(self, url: str) -> None:
        try:
            password = urlsplit(url).password
        except ValueError:
            password = None
        self._secrets = [s for s in (url, password) if s]
        self._safe_url = redact(url)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, self._safe_url if secret is self._secrets[0] else _MASK)
        return text

    @property
    def url(self) -> str:
        """The connection string, password masked."""
        return self._safe_url


def validate_url(url: object, *, what: str = "connection_string") -> str:
    """Check the shape of an EventStoreDB/KurrentDB connection string; raise a clear ValueError.

    The full check (option names and values) happens in the client; this one explains the
    mistakes people make most (scheme, missing host, TLS without credentials).
    """
    if not isinstance(url, str):
        raise TypeError(f"{what}: expected a str such as 'esdb://localhost:2113?tls=false'")
    safe = redact(url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ValueError(f"{what}: {safe!r} is not a valid URL ({exc})") from None
    if parts.scheme not in SCHEMES:
        raise ValueError(
            f"{what}: {safe!r} has scheme {parts.scheme!r}; expected one of "
            f"{', '.join(s + '://' for s in SCHEMES)}"
        )
    hosts = parts.netloc.rpartition("@")[2]
    if not hosts.strip(","):
        raise ValueError(f"{what}: {safe!r} names no host (e.g. esdb://localhost:2113?tls=false)")
    for target in hosts.split(","):
        host, _, port = target.strip().partition(":")
        if not host or (port and not port.isdigit()):
            raise ValueError(f"{what}: {safe!r} has an invalid host:port {target!r}")
    options = {k.lower(): v for k, v in parse_qsl(parts.query, keep_blank_values=True)}
    tls = options.get("tls", "true").lower()
    if tls not in ("true", "false"):
        raise ValueError(f"{what}: {safe!r} has tls={tls!r}; expected true or false")
    if tls == "true" and not (parts.username and parts.password):
        raise ValueError(
            f"{what}: {safe!r} uses TLS (the default), which needs user:password@ in the URL; "
            "add ?tls=false for a server running without TLS"
        )
    return url
