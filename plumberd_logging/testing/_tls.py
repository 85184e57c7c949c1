"""Throw-away TLS certificates for the test server: a CA and a server certificate signed by it.

:meth:`TlsFiles.generate` writes a new CA and a server certificate for ``localhost`` and
``127.0.0.1`` (PEM files, EC P-256 keys) into a directory, a new temporary one by default that is
removed when the :class:`TlsFiles` object is garbage collected or the interpreter exits::

    tls = TlsFiles.generate()
    tls.ca_file                                   # what a client trusts: ?tls=true&tlsCAFile=...
    other_ca = TlsFiles.generate()                # a CA the server's certificate is not from
    wrong_host = tls.issue(hosts=["wrong.example"])   # same CA, a name the client does not dial

It uses the ``cryptography`` package when it is installed, else the ``openssl`` command;
nothing here is imported by ``import plumberd_logging.testing`` (only a TLS server needs it).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
import shutil
import subprocess
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["DEFAULT_TLS_HOSTS", "TlsFiles"]

DEFAULT_TLS_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1")
"""The names a generated server certificate is valid for."""

_CA_CERT = "ca.pem"
_CA_KEY = "ca.key"
_CERT = "server.pem"
_KEY = "server.key"
_HOSTS = "server.hosts"
_VALID_DAYS = 365
_Backend = Literal["cryptography", "openssl"]


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of a test CA and of a server certificate it signed, as written to ``directory``.

    ``ca_file`` is what clients trust; the server presents ``cert_file`` with ``key_file``.
    Make instances with :meth:`generate`, :meth:`issue` or :meth:`load`.
    """

    directory: Path
    ca_file: Path
    ca_key_file: Path
    cert_file: Path
    key_file: Path
    hosts: tuple[str, ...]
    """The DNS names and IP addresses the server certificate is valid for."""
    _cleanup: object = field(default=None, repr=False, compare=False)

    @classmethod
    def generate(
        cls,
        directory: str | os.PathLike[str] | None = None,
        *,
        hosts: Sequence[str] = DEFAULT_TLS_HOSTS,
        _backend: _Backend | None = None,
    ) -> TlsFiles:
        """A new CA and a server certificate for ``hosts``, written to ``directory``.

        Without ``directory`` the files go to a new temporary directory, removed again when the
        returned object is garbage collected (or at interpreter exit).
        """
        target, cleanup = _directory(directory)
        backend = _backend or _default_backend()
        hosts = _check_hosts(hosts)
        if backend == "cryptography":
            _CryptographyIssuer.new_ca(target / _CA_CERT, target / _CA_KEY)
        else:
            _openssl_new_ca(target / _CA_CERT, target / _CA_KEY)
        return cls._issue_into(target, target / _CA_CERT, target / _CA_KEY, hosts, backend, cleanup)

    def issue(
        self,
        *,
        hosts: Sequence[str],
        directory: str | os.PathLike[str] | None = None,
        _backend: _Backend | None = None,
    ) -> TlsFiles:
        """Another server certificate from this CA, for ``hosts`` (for example a wrong name).

        The result shares :attr:`ca_file`'s CA, so a client that trusts this CA rejects it only
        because of the name it dialled.
        """
        target, cleanup = _directory(directory)
        ca_file, ca_key_file = target / _CA_CERT, target / _CA_KEY
        shutil.copyfile(self.ca_file, ca_file)
        shutil.copyfile(self.ca_key_file, ca_key_file)
        os.chmod(ca_key_file, 0o600)
        return self._issue_into(
            target,
            ca_file,
            ca_key_file,
            _check_hosts(hosts),
            _backend or _default_backend(),
            cleanup,
        )

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> TlsFiles:
        """The files an earlier :meth:`generate` wrote to ``directory`` (not removed later)."""
        target = Path(directory).absolute()
        hosts_file = target / _HOSTS
        ca_file, ca_key_file = target / _CA_CERT, target / _CA_KEY
        cert_file, key_file = target / _CERT, target / _KEY
        files = [ca_file, ca_key_file, cert_file, key_file, hosts_file]
        missing = [str(f) for f in files if not f.is_file()]
        if missing:
            msg = f"no test TLS files in {target}: missing {', '.join(missing)}"
            raise FileNotFoundError(msg)
        hosts = tuple(h for h in hosts_file.read_text("utf-8").split() if h)
        return cls(target, ca_file, ca_key_file, cert_file, key_file, hosts)

    @classmethod
    def load_or_generate(
        cls, directory: str | os.PathLike[str], *, hosts: Sequence[str] = DEFAULT_TLS_HOSTS
    ) -> TlsFiles:
        """:meth:`load` the files in ``directory``, or :meth:`generate` them there first."""
        try:
            return cls.load(directory)
        except FileNotFoundError:
            return cls.generate(directory, hosts=hosts)

    def read_ca(self) -> bytes:
        """The CA certificate (PEM), as ``root_certificates=`` takes it."""
        return self.ca_file.read_bytes()

    def server_key_pair(self) -> tuple[bytes, bytes]:
        """``(private key, certificate chain)`` in PEM, for ``grpc.ssl_server_credentials``."""
        return self.key_file.read_bytes(), self.cert_file.read_bytes()

    @classmethod
    def _issue_into(
        cls,
        target: Path,
        ca_file: Path,
        ca_key_file: Path,
        hosts: tuple[str, ...],
        backend: _Backend,
        cleanup: object,
    ) -> TlsFiles:
        cert_file, key_file = target / _CERT, target / _KEY
        if backend == "cryptography":
            _CryptographyIssuer.server_cert(ca_file, ca_key_file, cert_file, key_file, hosts)
        else:
            _openssl_server_cert(ca_file, ca_key_file, cert_file, key_file, hosts)
        (target / _HOSTS).write_text("\n".join(hosts) + "\n", "utf-8")
        return cls(target, ca_file, ca_key_file, cert_file, key_file, hosts, cleanup)


def _directory(directory: str | os.PathLike[str] | None) -> tuple[Path, object]:
    if directory is not None:
        target = Path(directory).absolute()  # printed in URLs: usable from any directory
        target.mkdir(parents=True, exist_ok=True)
        return target, None
    target = Path(tempfile.mkdtemp(prefix="plumberd-tls-"))
    # A finalizer owned by the returned TlsFiles: the directory goes when the object does.
    holder = _Cleanup()
    weakref.finalize(holder, shutil.rmtree, str(target), ignore_errors=True)
    return target, holder


class _Cleanup:
    """An object whose finalizer removes a temporary directory (kept alive by a TlsFiles)."""


def _check_hosts(hosts: Sequence[str]) -> tuple[str, ...]:
    if isinstance(hosts, str):
        hosts = [hosts]
    checked = tuple(h.strip() for h in hosts if h.strip())
    if not checked:
        msg = "a certificate needs at least one host name or IP address"
        raise ValueError(msg)
    return checked


def _default_backend() -> _Backend:
    try:
        import cryptography  # noqa: F401
    except ImportError:
        if shutil.which("openssl") is None:
            msg = (
                "TLS for the test server needs the 'cryptography' package "
                "(pip install cryptography) or the 'openssl' command"
            )
            raise RuntimeError(msg) from None
        return "openssl"
    return "cryptography"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


class _CryptographyIssuer:
    """Certificates made with the ``cryptography`` package (imported on first use)."""

    @staticmethod
    def new_ca(cert_file: Path, key_file: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, f"plumberd test CA {secrets.token_hex(4)}")]
        )
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=_VALID_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        _write_private(
            key_file,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    @staticmethod
    def server_cert(
        ca_file: Path, ca_key_file: Path, cert_file: Path, key_file: Path, hosts: Sequence[str]
    ) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        ca_cert = x509.load_pem_x509_certificate(ca_file.read_bytes())
        ca_key = serialization.load_pem_private_key(ca_key_file.read_bytes(), password=None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            msg = f"{ca_key_file} is not an EC private key"
            raise TypeError(msg)
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = [
            x509.IPAddress(ipaddress.ip_address(h)) if _is_ip(h) else x509.DNSName(h) for h in hosts
        ]
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=_VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        _write_private(
            key_file,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _openssl(*args: str) -> None:
    done = subprocess.run(
        ["openssl", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        msg = f"openssl {args[0]} failed: {done.stderr.strip()[-500:]}"
        raise RuntimeError(msg)


def _openssl_key(key_file: Path) -> None:
    _openssl(
        "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", str(key_file)
    )
    os.chmod(key_file, 0o600)


def _openssl_new_ca(cert_file: Path, key_file: Path) -> None:
    _openssl_key(key_file)
    _openssl(
        "req", "-x509", "-new", "-key", str(key_file), "-sha256", "-days", str(_VALID_DAYS),
        "-subj", f"/CN=plumberd test CA {secrets.token_hex(4)}",
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext", "keyUsage=critical,digitalSignature,keyCertSign,cRLSign",
        "-out", str(cert_file),
    )  # fmt: skip


def _openssl_server_cert(
    ca_file: Path, ca_key_file: Path, cert_file: Path, key_file: Path, hosts: Sequence[str]
) -> None:
    _openssl_key(key_file)
    names = ",".join(f"IP:{h}" if _is_ip(h) else f"DNS:{h}" for h in hosts)
    with tempfile.TemporaryDirectory(prefix="plumberd-tls-req-") as scratch:
        request, extensions = Path(scratch) / "server.csr", Path(scratch) / "server.ext"
        extensions.write_text(
            f"subjectAltName={names}\n"
            "basicConstraints=critical,CA:FALSE\n"
            "extendedKeyUsage=serverAuth,clientAuth\n",
            "utf-8",
        )
        _openssl(
            "req", "-new", "-key", str(key_file), "-subj", f"/CN={hosts[0]}", "-out", str(request)
        )
        _openssl(
            "x509", "-req", "-in", str(request), "-CA", str(ca_file), "-CAkey", str(ca_key_file),
            "-set_serial", str(secrets.randbits(63)), "-days", str(_VALID_DAYS), "-sha256",
            "-extfile", str(extensions), "-out", str(cert_file),
        )  # fmt: skip
