"""HTTPS on a camp LAN: a local certificate authority and a server certificate for the site's names and IPs.

Phones only start the camera (and keep the scanning page offline) in a secure context, and a camp LAN has no
public name to get a certificate for. ``relief lan-tls`` makes, in the site's ``tls/`` folder:

* ``ca.key`` / ``ca.crt``: the site's own certificate authority (ECDSA P-256, ten years), made once and kept;
  phones trust ``ca.crt`` (offered at ``/tls/ca.crt``);
* ``server.key`` / ``server.crt``: the HTTPS certificate for the host names and IP addresses given, signed by
  that authority (825 days, the most iOS accepts), with the authority's certificate after it as its chain;
  made again each time (a new IP, a renewal) without changing what phones trust.

Keys are written 0600 in a 0700 folder. ``relief serve --tls`` serves gunicorn with them.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from relief.core.files import private_dir, private_write

CA_DAYS = 3650
SERVER_DAYS = 825


@dataclass(frozen=True)
class LanTls:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    ca_created: bool
    ca_sha256: str  # fingerprint, for checking on the phone what it is asked to trust


def _name(common: str, organisation: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64] or "Relief"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common[:64])])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def subject_alt_names(hosts: list[str]) -> list[x509.GeneralName]:
    """Each host as an IP address SAN if it is one, else a DNS name SAN; refuses what is neither."""
    names: list[x509.GeneralName] = []
    for host in hosts:
        host = host.strip().lower()
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host.strip("[]"))))
            continue
        except ValueError:
            pass
        labels = host.rstrip(".").split(".")
        if not host or len(host) > 253 or not all(
                label and len(label) <= 63 and all(c.isalnum() or c == "-" for c in label) for label in labels):
            raise ValueError(f"--host {host!r}: not a host name or IP address")
        names.append(x509.DNSName(host.rstrip(".")))
    if not names:
        raise ValueError("give at least one --host (the site's LAN name or IP address)")
    return names


def _ca(folder: Path, organisation: str, now: datetime.datetime) -> tuple[ec.EllipticCurvePrivateKey,
                                                                          x509.Certificate, bool]:
    key_path, cert_path = folder / "ca.key", folder / "ca.crt"
    if key_path.exists() and cert_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        return key, x509.load_pem_x509_certificate(cert_path.read_bytes()), False
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"{organisation} local CA", organisation)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    private_write(key_path, _key_pem(key))
    private_write(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, True


def lan_tls_issue(*, folder: Path, hosts: list[str], organisation: str = "Relief",
                  now: datetime.datetime | None = None) -> LanTls:
    """Make (or keep) the site's CA and issue a server certificate for ``hosts``."""
    names = subject_alt_names(hosts)
    now = now or datetime.datetime.now(datetime.UTC)
    private_dir(folder)
    ca_key, ca_cert, created = _ca(folder, organisation, now)
    key = ec.generate_private_key(ec.SECP256R1())
    first = next((str(n.value) for n in names if isinstance(n, x509.DNSName)), str(names[0].value))
    cert = (x509.CertificateBuilder().subject_name(_name(first, organisation)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=True, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    private_write(folder / "server.key", _key_pem(key))
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    private_write(folder / "server.crt", chain)
    return LanTls(ca_cert=folder / "ca.crt", server_cert=folder / "server.crt", server_key=folder / "server.key",
                  ca_created=created, ca_sha256=ca_cert.fingerprint(hashes.SHA256()).hex(":").upper())
