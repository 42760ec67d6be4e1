"""Sign a manifest the way notation does, and push the signature with the oras SDK.

The notation CLI cannot be installed here (it is not on the Go module proxy), so this builds its
signature format by hand from the specification (notaryproject/specifications, signature-envelope
JWS): a JWS JSON envelope (`application/jose+json`) whose protected header names the
`notary.x509` signing scheme, whose payload is `{"targetArtifact": <subject descriptor>}`, signed
PS256 with a leaf key (by `openssl dgst`), with the certificate chain in `x5c`. It is pushed as an
OCI 1.1 referrer: artifactType `application/vnd.cncf.notary.signature`, the envelope as its one
layer, `subject` the signed manifest.

Usage: notation_sign.py KEYDIR HOST REPO SUBJECT_DIGEST SUBJECT_MEDIA_TYPE SUBJECT_SIZE USER PASSWORD
KEYDIR holds leaf.key (the signing key), leaf.pem and ca.pem (the chain, leaf first).
Prints the signature manifest's digest.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import pathlib
import ssl
import subprocess
import sys
import tempfile

import oras.client
import oras.oci

NOTATION_TYPE = "application/vnd.cncf.notary.signature"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Client(oras.client.OrasClient):
    def upload_manifest(self, manifest, container):
        return super().upload_manifest({**manifest, "artifactType": NOTATION_TYPE}, container)


def main() -> None:
    keydir, host, repo, digest, media_type, size, user, password = sys.argv[1:9]
    keydir_p = pathlib.Path(keydir)
    payload = json.dumps({"targetArtifact": {"mediaType": media_type, "digest": digest, "size": int(size)}}).encode()
    protected = json.dumps(
        {
            "alg": "PS256",
            "crit": ["io.cncf.notary.signingScheme"],
            "cty": "application/vnd.cncf.notary.payload.v1+json",
            "io.cncf.notary.signingScheme": "notary.x509",
            "io.cncf.notary.signingTime": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    ).encode()
    signing_input = f"{b64url(protected)}.{b64url(payload)}".encode()
    signature = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", str(keydir_p / "leaf.key"),
         "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"],
        input=signing_input, capture_output=True, check=True,
    ).stdout
    chain = [
        base64.b64encode(ssl.PEM_cert_to_DER_cert((keydir_p / name).read_text())).decode()
        for name in ("leaf.pem", "ca.pem")
    ]
    envelope = {
        "payload": b64url(payload),
        "protected": b64url(protected),
        "header": {"x5c": chain, "io.cncf.notary.signingAgent": "berth-test/1.0"},
        "signature": b64url(signature),
    }
    work = pathlib.Path(tempfile.mkdtemp(prefix="notation-"))
    os.chdir(work)
    (work / "signature.jws").write_text(json.dumps(envelope))
    (work / "config.json").write_text("{}")
    client = Client(hostname=host, insecure=True)
    client.login(username=user, password=password, hostname=host, config_path=str(work / "auth.json"))
    subject = oras.oci.Subject(mediaType=media_type, digest=digest, size=int(size))
    res = client.push(
        target=f"{host}/{repo}:notation-sig",
        files=["signature.jws:application/jose+json"],
        manifest_config="config.json:application/vnd.oci.empty.v1+json",
        subject=subject,
        quiet=True,
    )
    if res.status_code != 201:
        sys.exit(f"push failed: {res.status_code} {res.text}")
    print(res.headers["Docker-Content-Digest"])


if __name__ == "__main__":
    main()
