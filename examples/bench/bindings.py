"""Benchmarks of the Python binding (figures go to docs/benchmarks.md; nothing is asserted).

  1. push N small images through the Python engine API (berth.Registry.push_image), on a
     throw-away data dir (SQLite + files) and in memory;
  2. push N small images over HTTP from Python (requests: monolithic blob POSTs + manifest PUT)
     into a registry served in-process by berth.serve();
  3. start + stop a served registry (berth.serve() then .stop()), R times.

Run:  python examples/bench/bindings.py [N] [R]      (defaults 1000 and 30)
Needs: pip install ./registry-py requests
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import tempfile
import time

import requests

import berth

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def images(n: int) -> list[tuple[bytes, bytes]]:
    """(layer, config) pairs: a 1 KiB unique layer and a small config each."""
    return [(i.to_bytes(4, "big") * 256, json.dumps({"os": "linux", "n": i}).encode()) for i in range(n)]


def bench_engine(reg: berth.Registry, data: list[tuple[bytes, bytes]]) -> float:
    t0 = time.perf_counter()
    for i, (layer, config) in enumerate(data):
        reg.push_image(f"bench/app:{i}", layers=[layer], config=config)
    return time.perf_counter() - t0


def sha(b: bytes) -> str:
    return "sha256:" + hashlib.sha256(b).hexdigest()


def bench_http(url: str, data: list[tuple[bytes, bytes]]) -> float:
    prepared = []
    for layer, config in data:
        m = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config), "size": len(config)},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha(layer), "size": len(layer)}],
        }
        prepared.append((layer, sha(layer), config, sha(config), json.dumps(m).encode()))
    s = requests.Session()
    t0 = time.perf_counter()
    for i, (layer, ld, config, cd, manifest) in enumerate(prepared):
        for body, d in ((config, cd), (layer, ld)):
            r = s.post(f"{url}/v2/bench/http/blobs/uploads/?digest={d}", data=body, headers={"Content-Type": "application/octet-stream"})
            assert r.status_code == 201, r.text
        r = s.put(f"{url}/v2/bench/http/manifests/{i}", data=manifest, headers={"Content-Type": OCI_MANIFEST})
        assert r.status_code == 201, r.text
    return time.perf_counter() - t0


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    data = images(n)
    with tempfile.TemporaryDirectory(dir="/dev/shm" if sys.platform == "linux" else None) as d:
        with berth.open(d) as reg:
            t = bench_engine(reg, data)
        print(f"engine API, data dir on tmpfs: {n} images in {t:.2f} s = {n / t:.0f} images/s")
    with berth.open("memory://") as reg:
        t = bench_engine(reg, data)
    print(f"engine API, memory://:        {n} images in {t:.2f} s = {n / t:.0f} images/s")
    with berth.serve() as srv:
        t = bench_http(srv.url, data)
    print(f"HTTP (requests, 3 req/image):  {n} images in {t:.2f} s = {n / t:.0f} images/s")
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        s = berth.serve()
        up = time.perf_counter()
        s.stop()
        times.append((up - t0, time.perf_counter() - up, time.perf_counter() - t0))
    start = [x[0] * 1000 for x in times]
    stop = [x[1] * 1000 for x in times]
    total = [x[2] * 1000 for x in times]
    print(
        f"serve()+stop() x{rounds}: start median {statistics.median(start):.1f} ms (max {max(start):.1f}), "
        f"stop median {statistics.median(stop):.1f} ms (max {max(stop):.1f}), "
        f"total median {statistics.median(total):.1f} ms (max {max(total):.1f})"
    )


if __name__ == "__main__":
    main()
