"""A local certificate authority and server certificate for the HTTPS stand-ins.

The Azure SDK refuses to send bearer tokens over plain HTTP, so the local emulators serve TLS.
Clients trust the local CA only through the standard settings (``REQUESTS_CA_BUNDLE`` for
``requests``/azure-core, ``SSL_CERT_FILE`` for httpx and the OpenAI client), so production
code needs no emulator-specific branches.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

SERVER_IDENTITIES: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")
"""Names and addresses the server certificate is valid for."""

_CA_FILE = "ca.pem"
_CERT_FILE = "server-cert.pem"
_KEY_FILE = "server-key.pem"


@dataclass(frozen=True)
class LocalTLS:
    """Paths of the local CA bundle and the server certificate chain and private key."""

    ca_bundle: Path
    cert_file: Path
    key_file: Path


def ensure_local_tls(directory: Path) -> LocalTLS:
    """Return the local CA and server certificate in ``directory``, creating them when absent.

    Existing files are reused, so clients that already trust the CA keep trusting it across
    restarts. Files are written atomically (temporary file, then rename).
    """
    directory.mkdir(parents=True, exist_ok=True)
    tls = LocalTLS(
        ca_bundle=directory / _CA_FILE,
        cert_file=directory / _CERT_FILE,
        key_file=directory / _KEY_FILE,
    )
    if all(path.is_file() for path in (tls.ca_bundle, tls.cert_file, tls.key_file)):
        return tls
    _issue(tls)
    return tls


def _issue(tls: LocalTLS) -> None:
    """Create a new CA and a server certificate for ``SERVER_IDENTITIES`` and write them."""
    import trustme

    ca = trustme.CA(organization_name="agent-deployer local dev")
    leaf = ca.issue_cert(*SERVER_IDENTITIES)
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    _write_atomically(tls.key_file, leaf.private_key_pem.bytes(), mode=0o600)
    _write_atomically(tls.cert_file, chain, mode=0o644)
    _write_atomically(tls.ca_bundle, ca.cert_pem.bytes(), mode=0o644)


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory."""
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
