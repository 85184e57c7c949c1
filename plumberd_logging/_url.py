"""Connection strings: validation with clear errors, and redaction of passwords.

Credentials must never appear in a message, repr or log line. Every place that shows a URL or an
error text from the transport goes through :func:`redact` / :class:`Redactor`.
"""

from __future__ import annotations

import difflib
from urllib.parse import parse_qsl, unquote, urlsplit

from plumberd_logging._options import positive_int

__all__ = ["OPTIONS", "SCHEMES", "Redactor", "redact", "url_options", "validate_url"]

SCHEMES = (
    "esdb",
    "esdb+discover",
    "kurrentdb",
    "kurrentdb+discover",
    "kdb",
    "kdb+discover",
)
_MASK = "***"

#: The query options a connection string may carry (the client's spelling; case is ignored).
OPTIONS = (
    "tls",
    "connectionName",
    "maxDiscoverAttempts",
    "discoveryInterval",
    "gossipTimeout",
    "nodePreference",
    "tlsVerifyCert",
    "defaultDeadline",
    "keepAliveInterval",
    "keepAliveTimeout",
    "tlsCAFile",
    "userCertFile",
    "userKeyFile",
)
_BY_LOWER = {name.lower(): name for name in OPTIONS}
#: Options whose value is a whole number > 0 (the client reads them with ``int()``).
_POSITIVE_OPTIONS = ("maxDiscoverAttempts", "gossipTimeout", "defaultDeadline")
#: Whole numbers that may be 0 or -1 (``keepAliveInterval=-1`` turns keep-alive off).
_INTEGER_OPTIONS = ("discoveryInterval", "keepAliveInterval", "keepAliveTimeout")
_CHOICES = {
    "tlsVerifyCert": ("true", "false"),
    "nodePreference": ("leader", "follower", "random", "readonlyreplica"),
}


def redact(url: str) -> str:
    """``url`` with the password (if any) replaced by ``***``.

    The user information ends at the last ``@`` before the path, query or fragment; when a
    password holds one of ``/?#`` (a URL the client cannot parse either), everything between the
    user name and the URL's last ``@`` is masked instead, so even a malformed URL never shows it.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    userinfo, at, hosts = rest[:end].rpartition("@")
    if at and ":" in userinfo:
        return f"{scheme}://{userinfo.split(':', 1)[0]}:{_MASK}@{hosts}{rest[end:]}"
    colon, last_at = rest.find(":"), rest.rfind("@")
    if not at and 0 <= colon < last_at and colon < end:  # a password with "/", "?" or "#"
        return f"{scheme}://{rest[:colon]}:{_MASK}@{rest[last_at + 1 :]}"
    return url


class Redactor:
    """Removes one connection string's password from any text (e.g. a transport error).

    The password is replaced wherever it appears, also percent-decoded or inside the full URL;
    ``user``, ``ca_file`` and ``hosts`` are what messages may name instead.
    """

    def __init__(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            user, password = parts.username, parts.password
        except ValueError:
            user = password = None
        if password is None and redact(url) != url:  # malformed, but it holds a password
            rest = url.partition("://")[2]
            user = rest[: rest.find(":")]
            password = rest[rest.find(":") + 1 : rest.rfind("@")]
        self._url = url
        decoded = unquote(password) if password else None
        self._passwords = sorted({p for p in (password, decoded) if p}, key=len, reverse=True)
        self._safe_url = redact(url)
        self._user = user or None
        self._options = url_options(url)
        self._hosts = url.partition("://")[2].rpartition("@")[2].split("?")[0].split("#")[0]

    def __call__(self, text: str) -> str:
        if self._url in text:
            text = text.replace(self._url, self._safe_url)
        for password in self._passwords:
            if password in text:
                text = text.replace(password, _MASK)
        return text

    def __repr__(self) -> str:
        return f"<Redactor {self._safe_url}>"

    @property
    def url(self) -> str:
        """The connection string, password masked."""
        return self._safe_url

    @property
    def user(self) -> str | None:
        """The user name in the URL (``None`` when there is none)."""
        return self._user

    @property
    def hosts(self) -> str:
        """The ``host:port[,host:port...]`` part of the URL."""
        return self._hosts

    @property
    def tls(self) -> bool:
        """Whether the URL asks for TLS (``tls=true``, the default)."""
        return self._options.get("tls", "true").lower() == "true"

    @property
    def ca_file(self) -> str | None:
        """The ``tlsCAFile`` option, if given."""
        return self._options.get("tlscafile") or None

    @property
    def discovers(self) -> bool:
        """Whether the client follows the leader (``+discover`` or several hosts)."""
        return "+discover" in self._safe_url.partition("://")[0] or "," in self._hosts


def url_options(url: str) -> dict[str, str]:
    """The query options of a connection string, names lower-cased."""
    try:
        query = urlsplit(url).query
    except ValueError:
        return {}
    return {k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)}


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
        if port and not 1 <= int(port) <= 65535:
            raise ValueError(
                f"{what}: {safe!r} has port {int(port)} (host {host!r}); expected 1..65535"
            )
    options = _check_options(parse_qsl(parts.query, keep_blank_values=True), what, safe)
    tls = options.get("tls", "true").lower()
    if tls not in ("true", "false"):
        raise ValueError(f"{what}: {safe!r} has tls={tls!r}; expected true or false")
    if tls == "true" and not (parts.username and parts.password):
        raise ValueError(
            f"{what}: {safe!r} uses TLS (the default), which needs user:password@ in the URL; "
            "add ?tls=false for a server running without TLS"
        )
    return url


def _check_options(pairs: list[tuple[str, str]], what: str, safe: str) -> dict[str, str]:
    """The options by lower-case name; an unknown name or a bad value is a ValueError."""
    options: dict[str, str] = {}
    for key, value in pairs:
        name = _BY_LOWER.get(key.lower())
        if name is None:
            close = difflib.get_close_matches(key.lower(), list(_BY_LOWER), n=1, cutoff=0.6)
            hint = f" (did you mean {_BY_LOWER[close[0]]}?)" if close else ""
            raise ValueError(
                f"{what}: {safe!r} has unknown option {key!r}{hint}; known: {', '.join(OPTIONS)}"
            )
        if name in _POSITIVE_OPTIONS:
            positive_int(value, f"{what}: option {name}")
        elif name in _INTEGER_OPTIONS and not value.strip().lstrip("-").isdigit():
            raise ValueError(f"{what}: option {name}: expected a whole number, got {value!r}")
        elif name in _CHOICES and value.lower() not in _CHOICES[name]:
            raise ValueError(
                f"{what}: option {name}: expected one of {', '.join(_CHOICES[name])}, got {value!r}"
            )
        options[name.lower()] = value
    return options
