#!/usr/bin/env python3
"""Build an OCI image layout of large, incompressible layers for run.sh's skopeo/crane steps.

    python3 make_big_layout.py OUT_DIR [--layers 10] [--layer-mib 100] [--tag latest]

OUT_DIR gets `oci-layout`, `index.json` (one manifest, annotated with
org.opencontainers.image.ref.name=TAG) and `blobs/sha256/<hex>` for the manifest, the config and
LAYERS layers. Each layer is a gzip'd tar (level 1) holding one file of LAYER_MIB MiB from
os.urandom, so every run pushes new content and the gzip'd layer is as big as its data. The
layers are gzip'd on purpose: skopeo compresses uncompressed layers on the way to a registry,
which would measure gzip rather than the registry; gzip'd layers go up as they are, with skopeo
and crane alike. Layers are streamed to disk (never held in memory), hashing the compressed
bytes for the digest and the tar for the config's rootfs.diff_ids. Standard library only; the
layout shape follows tests/e2e/make_layout.py.

Prints a JSON summary on stdout: manifest digest, layer digests and sizes, and `push_bytes`
(config + layers + manifest: what a client uploads).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import sys
import tarfile

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
CREATED = "2024-01-01T00:00:00Z"
MTIME = 1704067200  # CREATED as a Unix time


class HashWriter:
    """A write-only file that hashes and counts what goes through it."""

    def __init__(self, f):
        self.f = f
        self.h = hashlib.sha256()
        self.n = 0

    def write(self, b) -> int:
        self.h.update(b)
        self.n += len(b)
        self.f.write(b)
        return len(b)

    def flush(self) -> None:
        self.f.flush()


class RandomReader:
    """`size` bytes from os.urandom, read in pieces."""

    def __init__(self, size: int):
        self.left = size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n is None or n < 0 else min(n, self.left)
        self.left -= n
        return os.urandom(n)


def put_bytes(blob_dir: str, data: bytes, media_type: str, annotations: dict | None = None) -> dict:
    hexd = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blob_dir, hexd), "wb") as f:
        f.write(data)
    desc = {"mediaType": media_type, "digest": f"sha256:{hexd}", "size": len(data)}
    if annotations:
        desc["annotations"] = annotations
    return desc


def put_layer(blob_dir: str, index: int, size: int) -> tuple[dict, str]:
    """A gzip'd tar holding data/layer-INDEX.bin of `size` random bytes: (descriptor, diff_id)."""
    tmp = os.path.join(blob_dir, f".layer-{index}.tmp")
    with open(tmp, "wb") as raw:
        compressed = HashWriter(raw)
        with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=1) as gz:
            tar_bytes = HashWriter(gz)
            with tarfile.open(fileobj=tar_bytes, mode="w|", format=tarfile.PAX_FORMAT, bufsize=1 << 20) as tar:
                d = tarfile.TarInfo("data")
                d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, MTIME
                tar.addfile(d)
                info = tarfile.TarInfo(f"data/layer-{index}.bin")
                info.size, info.mode, info.mtime = size, 0o644, MTIME
                tar.addfile(info, RandomReader(size))
    hexd = compressed.h.hexdigest()
    os.replace(tmp, os.path.join(blob_dir, hexd))
    desc = {"mediaType": LAYER_TYPE, "digest": f"sha256:{hexd}", "size": compressed.n}
    return desc, "sha256:" + tar_bytes.h.hexdigest()


def build(out: str, layers: int, layer_mib: float, tag: str) -> dict:
    if os.path.exists(os.path.join(out, "index.json")):
        raise SystemExit(f"{out} already holds a layout; give an empty or new directory")
    blob_dir = os.path.join(out, "blobs", "sha256")
    os.makedirs(blob_dir, exist_ok=True)

    descs, diff_ids = [], []
    for i in range(1, layers + 1):
        desc, diff_id = put_layer(blob_dir, i, int(layer_mib * 1024 * 1024))
        descs.append(desc)
        diff_ids.append(diff_id)

    config = {
        "created": CREATED,
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"org.opencontainers.image.title": "berth-bench", "nonce": os.urandom(8).hex()}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": CREATED, "created_by": f"make_big_layout.py layer {i}"} for i in range(1, layers + 1)],
    }
    config_desc = put_bytes(blob_dir, json.dumps(config, sort_keys=True, separators=(",", ":")).encode(), CONFIG_TYPE)
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST_TYPE, "config": config_desc, "layers": descs}
    manifest_bytes = json.dumps(manifest, indent=2).encode()
    manifest_desc = put_bytes(blob_dir, manifest_bytes, MANIFEST_TYPE, {"org.opencontainers.image.ref.name": tag})
    with open(os.path.join(out, "index.json"), "wb") as f:
        f.write(json.dumps({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": [manifest_desc]}, indent=2).encode())
    with open(os.path.join(out, "oci-layout"), "wb") as f:
        f.write(b'{"imageLayoutVersion":"1.0.0"}')

    return {
        "tag": tag,
        "manifest": manifest_desc["digest"],
        "config": config_desc["digest"],
        "layers": [d["digest"] for d in descs],
        "layer_sizes": [d["size"] for d in descs],
        "push_bytes": sum(d["size"] for d in descs) + config_desc["size"] + len(manifest_bytes),
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="directory to create (must not already hold a layout)")
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--layer-mib", type=float, default=100.0, help="random data per layer, MiB")
    ap.add_argument("--tag", default="latest")
    args = ap.parse_args(argv)
    json.dump(build(args.out, args.layers, args.layer_mib, args.tag), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
