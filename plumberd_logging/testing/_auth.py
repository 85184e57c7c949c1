"""Users and stream access for the test server (pure Python, no gRPC import).

Follows what a KurrentDB node does with its default settings (``AuthenticationMiddleware``, the
basic-auth provider, ``LegacyStreamPermissionAssertion`` and the default stream ACLs):

* a call with an ``authorization`` header naming an unknown user or a wrong password is refused
  before anything else (``UNAUTHENTICATED``, "Unauthenticated");
* a call without credentials (or with a header that is not basic auth) is anonymous: anonymous
  users may read gossip, nothing else (``AllowAnonymousStreamAccess`` is off by default);
* members of ``admins`` may do anything; other users may read user streams and their metadata,
  write them when they are ``writers`` (everyone, unless ``writers`` is given), and may neither
  read ``$all`` nor touch system streams (names starting with ``$``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["DEFAULT_USERS", "AccessControl", "Action", "AuthenticationFailed"]

DEFAULT_USERS: Mapping[str, str] = {"admin": "changeit"}
"""KurrentDB's built-in administrator and its default password."""

Action = Literal["read", "write", "delete"]
_ALL = "$all"


class AuthenticationFailed(Exception):
    """Credentials were sent but are not valid (an unknown user or a wrong password)."""


@dataclass(frozen=True)
class AccessControl:
    """Who may connect, and what each user may do with which stream."""

    users: Mapping[str, str]
    writers: frozenset[str] | None = None
    """Users who may write user streams (``None``: every user)."""
    admins: frozenset[str] = frozenset({"admin"})
    """Users who may do anything: read ``$all``, write system streams (KurrentDB's ``$admins``)."""

    @classmethod
    def create(
        cls,
        users: Mapping[str, str],
        *,
        writers: Collection[str] | None = None,
        admins: Collection[str] | None = None,
    ) -> AccessControl:
        """Validate the configuration: names must be known users, passwords not empty.

        ``admins`` defaults to the user named ``admin``, if there is one (as on KurrentDB).
        """
        if isinstance(writers, str) or isinstance(admins, str):
            msg = "writers and admins are collections of user names, not a single string"
            raise TypeError(msg)
        if not users:
            msg = "users must name at least one user"
            raise ValueError(msg)
        for name, password in users.items():
            if not name or ":" in name:
                msg = f"invalid user name {name!r} (empty or containing ':')"
                raise ValueError(msg)
            if not password:
                msg = f"user {name!r} needs a password"
                raise ValueError(msg)
        if admins is None:
            admins = [name for name in users if name == "admin"]
        unknown = sorted({*(writers or ()), *admins} - set(users))
        if unknown:
            msg = f"writers and admins must be users; unknown: {', '.join(unknown)}"
            raise ValueError(msg)
        return cls(
            users=dict(users),
            writers=None if writers is None else frozenset(writers),
            admins=frozenset(admins),
        )

    def __repr__(self) -> str:  # never show passwords
        writers = "all" if self.writers is None else sorted(self.writers)
        return (
            f"AccessControl(users={sorted(self.users)}, writers={writers}, "
            f"admins={sorted(self.admins)})"
        )

    def authenticate(self, authorization: str | None) -> str | None:
        """The user an ``authorization`` header names; ``None`` for an anonymous call.

        Raises :class:`AuthenticationFailed` for an unknown user or a wrong password.
        """
        credentials = _basic_credentials(authorization)
        if credentials is None:
            return None
        name, password = credentials
        expected = self.users.get(name)
        # Compare even for unknown users, so timing does not tell which users exist.
        matches = hmac.compare_digest((expected or "\0").encode("utf-8"), password.encode("utf-8"))
        if expected is None or not matches:
            raise AuthenticationFailed
        return name

    def allows(self, user: str | None, action: Action, stream: str) -> bool:
        """Whether ``user`` (``None``: anonymous) may ``action`` the stream (``"$all"`` too)."""
        if user is None:
            return False
        if user in self.admins:
            return True
        original = stream[2:] if stream.startswith("$$") else stream
        if original.startswith("$") or stream == _ALL:
            return False  # system streams and $all: $admins only
        if action == "read":
            return True
        return self.writers is None or user in self.writers


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """``(user, password)`` from ``Basic <base64>`` (KurrentDB also accepts ``Bearer <base64>``)."""
    if not authorization:
        return None
    scheme, _, parameter = authorization.strip().partition(" ")
    if scheme not in ("Basic", "Bearer") or not parameter:
        return None
    try:
        decoded = base64.b64decode(parameter.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, colon, password = decoded.partition(":")
    return (name, password) if colon else None
