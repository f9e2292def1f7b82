"""Certificates, the admin token and the kubeconfig of the local control plane, and a small HTTPS client for it."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import ssl
import urllib.error
import urllib.request
from pathlib import Path

from scripts.localcluster.binaries import CONTEXT_NAME


def ensure_pki(pki: Path) -> None:
    """CA, API server serving certificate (127.0.0.1, localhost, kubernetes.default...),
    service-account key pair and the admin token; kept across restarts."""
    pki.mkdir(parents=True, exist_ok=True)
    if not (pki / "admin.token").exists():
        (pki / "admin.token").write_text(secrets.token_hex(24))
        (pki / "admin.token").chmod(0o600)
        token = (pki / "admin.token").read_text()
        # token,user,uid,"group1,group2": system:masters may do everything under RBAC.
        (pki / "tokens.csv").write_text(f'{token},admin,admin,"system:masters"\n')
    if (pki / "apiserver.crt").exists() and (pki / "sa.key").exists():
        return

    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    def write_key(path: Path, key) -> None:
        path.write_bytes(
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        path.chmod(0o600)

    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    until = now + dt.timedelta(days=3650)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "delivery-local-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    names = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
             "kubernetes.default.svc.cluster.local"]
    ips = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("10.96.0.1")]
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names] + [x509.IPAddress(i) for i in ips]),
                       critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_key(pki / "ca.key", ca_key)
    (pki / "ca.crt").write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    write_key(pki / "apiserver.key", server_key)
    (pki / "apiserver.crt").write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    write_key(pki / "sa.key", sa_key)
    (pki / "sa.pub").write_bytes(
        sa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def write_kubeconfig(path: Path, server: str, pki: Path) -> None:
    ca = base64.b64encode((pki / "ca.crt").read_bytes()).decode()
    token = (pki / "admin.token").read_text().strip()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT_NAME, "cluster": {"server": server, "certificate-authority-data": ca}}],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": CONTEXT_NAME, "context": {"cluster": CONTEXT_NAME, "user": "admin"}}],
        "current-context": CONTEXT_NAME,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(config, indent=2))  # JSON is YAML: every client reads it
    tmp.chmod(0o600)
    tmp.replace(path)


def api_call(server: str, pki: Path, method: str, path: str, body: dict | None = None, timeout: float = 5.0):
    """A small HTTPS call to the local API server with the admin token: (status, parsed body or text)."""
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + (pki / "admin.token").read_text().strip())
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, context=ctx, timeout=timeout) as response:
            text = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as exc:
        text, status = exc.read().decode(errors="replace"), exc.code
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text

