"""The SBOM of an image holding real language packages, against each ecosystem's own tool.

The image is built here from what this machine has: the test venv's site-packages (Python
packages installed by pip), the node_modules that ship inside npm itself, and this repository's
Cargo.lock. It is pushed through /v2 as three gzip'd layers, its SBOM is built with
POST …/scan {"scan_type": "sbom"} (a job), and the SPDX purls must list exactly:
  - pypi: what `pip list` reports for that site-packages (names compared PEP 503-normalized);
  - npm: the name and version of every package.json directly under a node_modules directory
    (npm's own, and those it ships);
  - cargo: the registry packages of Cargo.lock, read with Python's tomllib.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import urllib.parse

import pytest

import berthlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def layer_of(src: pathlib.Path, dest: str, only=None) -> bytes:
    """A gzip'd tar of the regular files under `src`, placed at `dest`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in sorted(src.rglob("*")):
            if path.is_file() and not path.is_symlink() and (only is None or only(path)):
                tar.add(path, arcname=f"{dest}/{path.relative_to(src)}", recursive=False)
    return gzip.compress(buf.getvalue(), compresslevel=1, mtime=0)


def site_packages() -> pathlib.Path:
    return pathlib.Path(
        subprocess.check_output([sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip()
    )


def npm_root() -> pathlib.Path:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not installed (tests/setup.sh installs it)")
    return pathlib.Path(subprocess.check_output(["npm", "root", "-g"], text=True).strip()) / "npm"


def test_sbom_of_python_node_and_rust_content(admin: berthlib.Api, berth: berthlib.Berth):
    site = site_packages()
    npm = npm_root()
    lock = ROOT / "Cargo.lock"

    # What each ecosystem's own tooling says is there.
    pip = json.loads(subprocess.check_output([sys.executable, "-m", "pip", "list", "--format=json", "--path", str(site)], text=True))
    want_py = {(pep503(p["name"]), p["version"]) for p in pip}
    # npm itself is a package under the image's usr/lib/node_modules, and so are its own.
    top = json.loads((npm / "package.json").read_text())
    want_npm = {(top["name"], top["version"])}
    for pj in (npm / "node_modules").rglob("package.json"):
        rel = pj.relative_to(npm).parts
        # …/node_modules/<name>/package.json or …/node_modules/@scope/<name>/package.json
        direct = len(rel) >= 3 and rel[-3] == "node_modules" and not rel[-2].startswith("@")
        scoped = len(rel) >= 4 and rel[-4] == "node_modules" and rel[-3].startswith("@")
        if direct or scoped:
            meta = json.loads(pj.read_text())
            if "name" in meta and "version" in meta:
                want_npm.add((meta["name"], meta["version"]))
    cargo = tomllib.loads(lock.read_text())
    want_cargo = {(p["name"], p["version"]) for p in cargo["package"] if p.get("source", "").startswith("registry+")}
    assert len(want_py) > 10 and len(want_npm) > 50 and len(want_cargo) > 100, (len(want_py), len(want_npm), len(want_cargo))

    layers = [
        layer_of(site, "usr/lib/python3/site-packages", only=lambda p: ".dist-info" in str(p) or ".egg-info" in str(p)),
        layer_of(npm, "usr/lib/node_modules/npm", only=lambda p: p.name == "package.json"),
        layer_of(lock.parent, "app", only=lambda p: p == lock),
    ]
    admin.create_project("lang")
    v2 = berthlib.V2(berth, auth=berth.admin)
    for blob in layers:
        assert v2.push_blob("lang/app", blob).status_code == 201
    diff_ids = [berthlib.sha256(gzip.decompress(b)) for b in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    assert v2.push_blob("lang/app", config).status_code == 201
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": berthlib.OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": berthlib.sha256(config), "size": len(config)},
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": berthlib.sha256(b), "size": len(b)} for b in layers
            ],
        }
    ).encode()
    assert v2.put_manifest("lang/app", "v1", manifest).status_code == 201

    admin.ok("POST", "/projects/lang/repositories/app/artifacts/v1/scan", {"scan_type": "sbom"})
    # The SBOM is built by a job: wait for the accessory.
    deadline = time.monotonic() + 120
    while not (accs := admin.ok("GET", "/projects/lang/repositories/app/artifacts/v1/accessories").json()):
        assert time.monotonic() < deadline, "no SBOM accessory 120 s after the request"
        time.sleep(0.5)
    [acc] = accs
    sbom_manifest = v2.pull("lang/app", acc["digest"]).json()
    spdx = v2.req("GET", f"/v2/lang/app/blobs/{sbom_manifest['layers'][0]['digest']}").json()
    got: dict[str, set] = {"pypi": set(), "npm": set(), "cargo": set()}
    for p in spdx["packages"]:
        purl = p["externalRefs"][0]["referenceLocator"]
        kind = purl.split(":", 1)[1].split("/", 1)[0]
        name = urllib.parse.unquote(purl.split("/", 1)[1].rsplit("@", 1)[0])
        version = urllib.parse.unquote(purl.rsplit("@", 1)[1].split("?", 1)[0])
        assert name == p["name"] and version == p["versionInfo"], purl
        got.setdefault(kind, set()).add((pep503(name) if kind == "pypi" else name, version))
    assert got["pypi"] == want_py
    assert got["npm"] == want_npm
    assert got["cargo"] == want_cargo
    assert set(got) == {"pypi", "npm", "cargo"}, "nothing else was invented"
