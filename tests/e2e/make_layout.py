#!/usr/bin/env python3
"""Build a deterministic multi-layer OCI image layout (standard library only).

    python3 make_layout.py OUT_DIR [--tag v1] [--big-mib 5] [--seed 1234]
    python3 make_layout.py OUT_DIR --layer-tar ROOTFS.tar [--tag v1]

OUT_DIR gets `oci-layout`, `index.json` (one manifest, annotated with
org.opencontainers.image.ref.name=TAG) and `blobs/sha256/<hex>` for the manifest, the config
and three gzip'd tar layers:

  1. a few small text files (etc/, usr/share/berth/),
  2. one file of BIG_MIB MiB of pseudo-random, incompressible bytes, so the gzip'd layer is
     about that big too and clients have to stream it (chunked / multi-request paths),
  3. a directory tree with an empty file, a symlink and an executable script.

The config's rootfs.diff_ids are the sha256 of each uncompressed tar. Tar headers, gzip headers
(mtime 0, no file name) and the config's timestamps are fixed, so the same arguments always
produce the same bytes and therefore the same digests. `skopeo copy oci:OUT_DIR:TAG …` reads it.

With --layer-tar, the image has one layer instead: that tar (a root filesystem, as mmdebstrap or a
test writes it), gzip'd at level 1, since such a tar can be large.

Prints a JSON summary (manifest digest, config digest, layer digests and sizes) on stdout.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import sys
import tarfile

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
CREATED = "2024-01-01T00:00:00Z"
MTIME = 1704067200  # CREATED as a Unix time


def canonical_json(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


class Layout:
    def __init__(self, root: str):
        self.root = root
        self.blob_dir = os.path.join(root, "blobs", "sha256")
        os.makedirs(self.blob_dir, exist_ok=True)

    def put(self, data: bytes, media_type: str, annotations: dict | None = None) -> dict:
        hexd = hashlib.sha256(data).hexdigest()
        path = os.path.join(self.blob_dir, hexd)
        with open(path, "wb") as f:
            f.write(data)
        desc = {"mediaType": media_type, "digest": f"sha256:{hexd}", "size": len(data)}
        if annotations:
            desc["annotations"] = annotations
        return desc


def make_tar(entries: list[tuple]) -> bytes:
    """entries: (name, kind, payload, mode); kind is 'file', 'dir' or 'symlink'."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, payload, mode in entries:
            info = tarfile.TarInfo(name)
            info.mtime = MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mode = mode
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = payload
                tar.addfile(info)
            else:
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def gzip_bytes(data: bytes, level: int = 6) -> bytes:
    out = io.BytesIO()
    # mtime=0 and an empty file name keep the gzip header fixed.
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=level) as gz:
        gz.write(data)
    return out.getvalue()


def pseudo_random(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def default_tars(tag: str, big_mib: float, seed: int) -> list[bytes]:
    return [
        make_tar(
            [
                ("etc", "dir", None, 0o755),
                ("etc/hostname", "file", b"berth-e2e\n", 0o644),
                ("etc/os-release", "file", b'NAME="Berth e2e"\nID=berth-e2e\nVERSION_ID=1\n', 0o644),
                ("usr", "dir", None, 0o755),
                ("usr/share", "dir", None, 0o755),
                ("usr/share/berth", "dir", None, 0o755),
                ("usr/share/berth/README", "file", b"layer one: small text files\n" * 20, 0o644),
            ]
        ),
        make_tar(
            [
                ("data", "dir", None, 0o755),
                ("data/random.bin", "file", pseudo_random(int(big_mib * 1024 * 1024), seed), 0o644),
            ]
        ),
        make_tar(
            [
                ("app", "dir", None, 0o755),
                ("app/bin", "dir", None, 0o755),
                ("app/bin/run.sh", "file", b"#!/bin/sh\necho hello from berth e2e\n", 0o755),
                ("app/empty", "file", b"", 0o644),
                ("app/current", "symlink", "bin/run.sh", 0o777),
                ("app/config.json", "file", canonical_json({"seed": seed, "tag": tag}) + b"\n", 0o644),
            ]
        ),
    ]


def build(out: str, tag: str, tars: list[bytes], level: int = 6) -> dict:
    if os.path.exists(os.path.join(out, "index.json")):
        raise SystemExit(f"{out} already holds a layout; give an empty or new directory")
    layout = Layout(out)

    layers = []
    diff_ids = []
    history = []
    for i, t in enumerate(tars, start=1):
        diff_ids.append("sha256:" + hashlib.sha256(t).hexdigest())
        layers.append(layout.put(gzip_bytes(t, level), LAYER_TYPE))
        history.append({"created": CREATED, "created_by": f"make_layout.py layer {i}"})

    config = {
        "created": CREATED,
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/app/current"],
            "WorkingDir": "/app",
            "Labels": {"org.opencontainers.image.title": "berth-e2e"},
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    config_desc = layout.put(canonical_json(config), CONFIG_TYPE)

    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": config_desc,
        "layers": layers,
        "annotations": {"org.opencontainers.image.created": CREATED},
    }
    manifest_desc = layout.put(
        json.dumps(manifest, indent=2).encode(),
        MANIFEST_TYPE,
        {"org.opencontainers.image.ref.name": tag},
    )

    index = {"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": [manifest_desc]}
    with open(os.path.join(out, "index.json"), "wb") as f:
        f.write(json.dumps(index, indent=2).encode())
    with open(os.path.join(out, "oci-layout"), "wb") as f:
        f.write(canonical_json({"imageLayoutVersion": "1.0.0"}))

    return {
        "tag": tag,
        "manifest": manifest_desc["digest"],
        "manifest_size": manifest_desc["size"],
        "config": config_desc["digest"],
        "layers": [d["digest"] for d in layers],
        "layer_sizes": [d["size"] for d in layers],
        "diff_ids": diff_ids,
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="directory to create (must not already hold a layout)")
    ap.add_argument("--tag", default="v1")
    ap.add_argument("--big-mib", type=float, default=5.0, help="size of the incompressible layer's file")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--layer-tar", help="one layer: this uncompressed tar (gzip'd at level 1)")
    args = ap.parse_args(argv)
    if args.layer_tar:
        with open(args.layer_tar, "rb") as f:
            summary = build(args.out, args.tag, [f.read()], level=1)
    else:
        summary = build(args.out, args.tag, default_tars(args.tag, args.big_mib, args.seed))
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
