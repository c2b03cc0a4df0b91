"""Over TLS the delivery goes to the checked address while the certificate is checked against
the URL's host name (SNI): a receiver whose certificate names another host is refused."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from saas.outbound import addresses


def _certificate(tmp_path, name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_receiver(tmp_path):
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("content-length") or 0))
            seen.append(self.headers.get("Host"))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            return None

    def start(cert_name: str):
        cert_path, key_path = _certificate(tmp_path, cert_name)
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_port, cert_path

    servers = []
    yield start, seen
    for server in servers:
        server.shutdown()


def test_the_certificate_is_checked_against_the_urls_host(app, monkeypatch, tls_receiver):
    start, seen = tls_receiver
    port, cert_path = start("localhost")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))  # the receiver's own CA, trusted here
    with app.app_context():
        checked = addresses.resolve(addresses.parse(f"https://localhost:{port}/"))
        assert all(ipaddress.ip_address(ip).is_loopback for ip in checked)
        answer = addresses.post(f"https://localhost:{port}/hooks", b"{}", {})
    assert (answer.status, answer.error) == (204, None)
    assert seen == [f"localhost:{port}"]

    other_port, other_cert = start("hooks.example.com")  # a certificate for another name
    monkeypatch.setenv("SSL_CERT_FILE", str(other_cert))
    with app.app_context():
        refused = addresses.post(f"https://localhost:{other_port}/hooks", b"{}", {})
    assert refused.status is None and "SSLError" in refused.error
    assert len(seen) == 1
