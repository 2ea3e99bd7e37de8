"""HTTPS on a camp LAN: the site's own CA and a server certificate for its names and IPs, accepted once the CA is
trusted (by Python's TLS client and by Chromium), refused before."""

from __future__ import annotations

import base64
import hashlib
import socketserver
import ssl
import stat
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from relief.core.lan_tls import lan_tls_issue

HOSTS = ["relief.camp", "192.168.1.10", "localhost", "127.0.0.1"]


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def _serve_https(app, made):
    """The Django app over HTTPS with the site's certificate, on a free port of 127.0.0.1."""
    server = make_server("127.0.0.1", 0, app, server_class=_ThreadingWSGIServer, handler_class=_Quiet)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(made.server_cert, made.server_key)
    # The handshake happens in each request's thread, so one stalled client never holds up the others.
    server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_ca_made_once_server_certificate_for_each_name_keys_private(tmp_path):
    folder = tmp_path / "tls"
    first = lan_tls_issue(folder=folder, hosts=HOSTS, organisation="UNHCR Kibondo")
    assert first.ca_created
    for name in ("ca.key", "server.key"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    leaf = x509.load_pem_x509_certificate(first.server_cert.read_bytes())
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["relief.camp", "localhost"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["192.168.1.10", "127.0.0.1"]
    # A new IP later: the CA stays (phones keep trusting it), the server certificate is made again.
    again = lan_tls_issue(folder=folder, hosts=["relief.camp", "10.0.0.5"])
    assert not again.ca_created and again.ca_sha256 == first.ca_sha256
    with pytest.raises(ValueError):
        lan_tls_issue(folder=folder, hosts=["not a host!"])


def test_python_tls_client_accepts_it_only_with_the_ca(tmp_path):
    from django.core.wsgi import get_wsgi_application

    made = lan_tls_issue(folder=tmp_path / "tls", hosts=HOSTS)
    server = _serve_https(get_wsgi_application(), made)
    port = server.server_address[1]
    try:
        import http.client

        trusting = ssl.create_default_context(cafile=str(made.ca_cert))
        for host in ("localhost", "127.0.0.1"):
            conn = http.client.HTTPSConnection(host, port, context=trusting, timeout=60)
            conn.request("GET", "/scan/manifest.webmanifest")
            assert conn.getresponse().status == 200
        with pytest.raises(ssl.SSLCertVerificationError):
            conn = http.client.HTTPSConnection("localhost", port, context=ssl.create_default_context(), timeout=60)
            conn.request("GET", "/health/")
    finally:
        server.shutdown()


@pytest.mark.browser
def test_chromium_accepts_the_lan_certificate_once_its_ca_is_trusted(tmp_path, monkeypatch, settings):
    from django.core.wsgi import get_wsgi_application
    from playwright.sync_api import Error, sync_playwright

    settings.ALLOWED_HOSTS = ["relief.camp", "localhost"]
    made = lan_tls_issue(folder=tmp_path / "tls", hosts=HOSTS)
    monkeypatch.setenv("RELIEF_TLS_DIR", str(tmp_path / "tls"))
    server = _serve_https(get_wsgi_application(), made)
    url = f"https://relief.camp:{server.server_address[1]}"
    # Chromium is told to trust the site's CA by its public key (as a phone is by installing /tls/ca.crt).
    ca = x509.load_pem_x509_certificate(made.ca_cert.read_bytes())
    spki = base64.b64encode(hashlib.sha256(ca.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).digest()).decode()
    common = ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP relief.camp 127.0.0.1"]
    try:
        with sync_playwright() as p:
            untrusting = p.chromium.launch(executable_path="/usr/bin/chromium", args=common)
            page = untrusting.new_page()
            with pytest.raises(Error, match="ERR_CERT_AUTHORITY_INVALID"):
                page.goto(f"{url}/scan/manifest.webmanifest")
            untrusting.close()

            trusting = p.chromium.launch(executable_path="/usr/bin/chromium",
                                         args=[*common, f"--ignore-certificate-errors-spki-list={spki}"])
            page = trusting.new_page()
            response = page.goto(f"{url}/scan/manifest.webmanifest")
            assert response.status == 200 and "Relief" in page.content()
            # A LAN name over HTTPS is a secure context: the camera and the service worker are allowed.
            assert page.evaluate("window.isSecureContext") is True
            assert page.evaluate("Boolean(navigator.mediaDevices && navigator.serviceWorker)") is True
            ca_file = page.evaluate("fetch('/tls/ca.crt').then(async r => [r.status, await r.text()])")
            assert ca_file == [200, made.ca_cert.read_text()]
            trusting.close()
    finally:
        server.shutdown()
