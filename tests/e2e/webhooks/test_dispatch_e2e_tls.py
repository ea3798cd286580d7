"""HTTPS delivery: the dispatcher connects to a checked address, yet TLS verifies the host name."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from dispatch_helpers import LogWriter, make_event, run_cli, write_config
from webhook_receiver import Receiver

pytestmark = pytest.mark.e2e


def _self_signed(tmp_path, *, dns: str, ip: str | None = None) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns)])
    alt: list[x509.GeneralName] = [x509.DNSName(dns)]
    if ip:
        alt.append(x509.IPAddress(ipaddress.ip_address(ip)))
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_receiver(tmp_path, secret):
    cert, key = _self_signed(tmp_path, dns="localhost")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    rec = Receiver(secret, tls=ctx).start()
    yield rec, cert
    rec.stop()


def test_https_with_sni_and_certificate_check(tmp_path, secret, env_with, tls_receiver):
    """`https://localhost:PORT` is resolved and connected by address, and the certificate is
    still checked for "localhost"; the same receiver as `https://127.0.0.1:PORT` fails the
    check (its certificate does not name that address) and nothing is accepted."""
    rec, cert = tls_receiver
    logs, state = tmp_path / "clicks", tmp_path / "state"
    events = [make_event(i) for i in range(5)]
    LogWriter(logs).write(events)
    env = env_with(SMSLINK_CRM_SECRET=secret, SSL_CERT_FILE=cert)
    good = write_config(tmp_path / "good", [{
        "name": "crm", "url": f"https://localhost:{rec.port}/hooks", "secret-env": "SMSLINK_CRM_SECRET",
        "allow-private": True}])
    r = run_cli(["--config", str(good), "--logs", str(logs), "--state", str(state), "--once"], env)
    assert r.returncode == 0, r.stderr
    assert rec.accepted_ids() == {e.id for e in events}
    assert not rec.rejected

    wrong = write_config(tmp_path / "wrong", [{
        "name": "crm", "url": f"https://127.0.0.1:{rec.port}/hooks", "secret-env": "SMSLINK_CRM_SECRET",
        "allow-private": True}])
    r = run_cli(["--config", str(wrong), "--logs", str(logs), "--state", str(tmp_path / "state2"), "--once",
                 "--retry-schedule", ""], env)
    assert r.returncode == 0, r.stderr
    assert len(rec.accepted) == len(events)  # nothing more got through
    listing = run_cli(["dead-letters", "--state", str(tmp_path / "state2")], env)
    assert listing.stdout.count("CERTIFICATE_VERIFY_FAILED") == len(events), listing.stdout
