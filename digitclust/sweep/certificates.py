"""The sweep's TLS credentials: a CA made for the sweep and a certificate per role, or the user's own files.

Each role gets its own key: the scheduler's, one per worker host, the driver's (the client). The CA
signs them and its key is dropped, so that no further certificate can be made for the sweep.
"""

import datetime
import secrets
from pathlib import Path

from digitclust.sweep.errors import SweepError

TLS_DAYS = 30  # how long the certificates of a sweep's CA are valid


def _pem(cert, key=None):
    """The PEM text of ``cert``, followed by that of its private ``key`` if given."""
    from cryptography.hazmat.primitives import serialization

    text = cert.public_bytes(serialization.Encoding.PEM).decode()
    if key is not None:
        text += key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
    return text


def _usage(ca):
    """Key usage of a CA (signing certificates only) or of a leaf (signing the handshake only)."""
    from cryptography import x509

    flags = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    flags.update({"key_cert_sign": True, "crl_sign": True} if ca else {"digital_signature": True})
    return x509.KeyUsage(**flags)


class Authority:
    """A CA of one sweep, valid ``TLS_DAYS``, that signs leaf certificates until ``close``d (its key dropped)."""

    def __init__(self):
        from cryptography.hazmat.primitives.asymmetric import ec

        self.now, self.token = datetime.datetime.now(datetime.UTC), secrets.token_hex(4)
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.certificate = self._sign(self._name("CA"), self._key, ca=True)

    def _name(self, role):
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"digitclust sweep {self.token} {role}")])

    def _sign(self, subject, key, ca):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.x509.oid import ExtendedKeyUsageOID

        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._name("CA"))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self.now - datetime.timedelta(minutes=5))
            .not_valid_after(self.now + datetime.timedelta(days=TLS_DAYS))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
            .add_extension(_usage(ca), critical=True)
        )
        if not ca:
            usage = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]  # each role listens and connects
            builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        return builder.sign(self._key, hashes.SHA256())

    def leaf(self, role):
        """The PEM text of a new certificate for ``role``, followed by its private key."""
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        return _pem(self._sign(self._name(role), key, ca=False), key)

    def close(self):
        self._key = None


def sweep_credentials(worker_hosts):
    """PEM texts of a CA made for this sweep and of the certificates it signs, one per role and worker host.

    Returns ``{"ca": ..., "scheduler": ..., "client": ..., "workers": {host: ...}}``: the CA's
    certificate, then each certificate followed by its private key.
    """
    authority = Authority()
    credentials = {
        "ca": _pem(authority.certificate),
        "scheduler": authority.leaf("scheduler"),
        "client": authority.leaf("client"),
        "workers": {host: authority.leaf(f"worker {host}") for host in worker_hosts},
    }
    authority.close()
    return credentials


def _read_credential(option, path):
    try:
        return Path(path).expanduser().read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise SweepError(f"{option} {path}: cannot read it ({getattr(error, 'strerror', None) or error})") from None


def user_credentials(args, worker_hosts=()):
    """The PEM texts of ``--tls-ca-file``, ``--tls-cert`` and ``--tls-key`` (the key may be in the cert's file).

    Shaped as ``sweep_credentials``' are: the one certificate serves every role and worker host.
    """
    cert = _read_credential("--tls-cert", args.tls_cert)
    key = _read_credential("--tls-key", args.tls_key) if args.tls_key else ""
    if "PRIVATE KEY-----" not in cert + key:
        raise SweepError(f"--tls-cert {args.tls_cert}: holds no private key; give it with --tls-key")
    if "CERTIFICATE-----" not in cert:
        raise SweepError(f"--tls-cert {args.tls_cert}: holds no PEM certificate")
    ca = _read_credential("--tls-ca-file", args.tls_ca_file)
    if "CERTIFICATE-----" not in ca:
        raise SweepError(f"--tls-ca-file {args.tls_ca_file}: holds no PEM certificate")
    pem = cert.rstrip("\n") + "\n" + key
    return {"ca": ca, "scheduler": pem, "client": pem, "workers": dict.fromkeys(worker_hosts, pem)}


def client_security(credentials):
    """The driver's Dask Security of ``credentials`` (PEM texts, kept in memory), TLS required."""
    from distributed.security import Security

    return Security(require_encryption=True, tls_ca_file=credentials["ca"], tls_client_cert=credentials["client"])


def dask_config_has_tls():
    """Whether Dask's config names a CA and a client certificate (distributed.comm.tls.*), files of its own."""
    import dask.config

    return bool(
        dask.config.get("distributed.comm.tls.ca-file", None)
        and dask.config.get("distributed.comm.tls.client.cert", None)
    )
