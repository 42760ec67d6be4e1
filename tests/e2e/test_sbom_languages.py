"""The SBOM of an image holding real language packages, against each ecosystem's own tool.

The image is built here from what this machine has: the test venv's site-packages (Python
packages installed by pip), the node_modules that ship inside npm itself, and this repository's
Cargo.lock. It is pushed through /v2 as three gzip'd layers, its SBOM is built with
POST …/scan {"scan_type": "sbom"} (a job), and the SPDX purls must list exactly:
  - pypi: what `pip list` reports for that site-packages (names compared PEP 503-normalized);
  - npm: the name and version of every package.json directly under a node_modules directory
    (npm's own, and those it ships);
  - cargo: the registry packages of Cargo.lock, read with Python's tomllib.

A second image holds what is compiled into executables and an rpm database, all built here:
  - a Go program (`go build` of a tiny module that needs github.com/google/uuid from the module
    cache or the Go module proxy), at a path no package database names: the SBOM's Go packages
    must equal what `go version -m` prints (stdlib at the toolchain version, the main module, the
    dependency);
  - a Rust program built with `cargo auditable` (tests/setup.sh installs it) from a tiny crate
    that needs itoa (offline, from the local registry cache): the SBOM's crates must equal the
    crates.io packages `cargo metadata` resolves;
  - an rpm database in its SQLite form, made by rpm itself: two packages built with rpmbuild
    (one with an epoch) installed with `rpm --root … --justdb`: the SBOM's rpm packages must
    equal `rpm -qa`.
Syft (tests/setup.sh) scans each image too, written as an OCI layout, offline. On the first its
name+version pairs (Python names PEP 503-normalized; its Cargo.lock cataloger asked for, as an
image scan leaves it out) must agree with Berth's on at least 99 %; on the second they must be
Berth's but for the differences named in the test (Syft lists the root crate, which is local,
and gives the main Go module no version where `go version -m` says "(devel)").
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
import textwrap
import urllib.parse

import pytest

import berthlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def layer_of(src: pathlib.Path, dest: str, only=None) -> bytes:
    """A gzip'd tar of the regular files under `src`, placed at `dest`."""
    return layer_files(
        {
            f"{dest}/{path.relative_to(src)}": path
            for path in src.rglob("*")
            if path.is_file() and not path.is_symlink() and (only is None or only(path))
        }
    )


def layer_files(files: dict[str, pathlib.Path]) -> bytes:
    """A gzip'd tar of the given files (arcname -> path on disk), modes kept."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for arcname, path in sorted(files.items()):
            tar.add(path, arcname=arcname, recursive=False)
    return gzip.compress(buf.getvalue(), compresslevel=1, mtime=0)


def push_image(berth: berthlib.Berth, repo: str, layers: list[bytes], layout: pathlib.Path) -> berthlib.V2:
    """Push `layers` as the image `repo:v1`, and write the same image as an OCI layout at
    `layout` (for Syft)."""
    v2 = berthlib.V2(berth, auth=berth.admin)
    for blob in layers:
        assert v2.push_blob(repo, blob).status_code == 201
    diff_ids = [berthlib.sha256(gzip.decompress(b)) for b in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    assert v2.push_blob(repo, config).status_code == 201
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
    assert v2.put_manifest(repo, "v1", manifest).status_code == 201
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for blob in [*layers, config, manifest]:
        (blobs / berthlib.sha256(blob).split(":", 1)[1]).write_bytes(blob)
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    index = {"schemaVersion": 2, "manifests": [{"mediaType": berthlib.OCI_MANIFEST, "digest": berthlib.sha256(manifest), "size": len(manifest)}]}
    (layout / "index.json").write_text(json.dumps(index))
    return v2


def syft_pairs(layout: pathlib.Path, env: dict[str, str], purl_types: tuple[str, ...]) -> set:
    """Syft's (name, version) pairs of the OCI layout's image, of the given purl types (Python
    names PEP 503-normalized). Syft reads a Cargo.lock in a directory scan only, unless its
    cataloger is asked for."""
    out = layout.parent / "syft.spdx.json"
    scan = ["syft", "scan", f"oci-dir:{layout}", "-q", "--select-catalogers", "+rust-cargo-lock-cataloger"]
    subprocess.run([*scan, "-o", f"spdx-json={out}"], env=env, check=True, timeout=600)
    prefixes = tuple(f"pkg:{t}/" for t in purl_types)
    return {
        (pep503(p["name"]) if purl_of(p).startswith("pkg:pypi/") else p["name"], p.get("versionInfo", ""))
        for p in json.loads(out.read_text())["packages"]
        if purl_of(p).startswith(prefixes)
    }


def purl_of(p: dict) -> str:
    return next((r["referenceLocator"] for r in p.get("externalRefs", []) if r.get("referenceType") == "purl"), "")


def agreement(ours: set, syft: set) -> float:
    """The pairs both list, of all the pairs either lists (printed with the differences)."""
    share = len(ours & syft) / max(1, len(ours | syft))
    print(f"Berth: {len(ours)} packages, Syft: {len(syft)}, agreement {100 * share:.2f} %")
    print(f"  only Berth: {sorted(ours - syft)}")
    print(f"  only Syft: {sorted(syft - ours)}")
    return share


def sbom_spdx(admin: berthlib.Api, v2: berthlib.V2, project: str, repo: str) -> dict:
    """Build the SBOM of `project/repo:v1` and return its SPDX document."""
    admin.ok("POST", f"/projects/{project}/repositories/{repo}/artifacts/v1/scan", {"scan_type": "sbom"})
    # The SBOM is built by a job: wait for the accessory.
    deadline = time.monotonic() + 120
    while not (accs := admin.ok("GET", f"/projects/{project}/repositories/{repo}/artifacts/v1/accessories").json()):
        assert time.monotonic() < deadline, f"no SBOM accessory of {project}/{repo} 120 s after the request"
        time.sleep(0.5)
    [acc] = accs
    sbom_manifest = v2.pull(f"{project}/{repo}", acc["digest"]).json()
    return v2.req("GET", f"/v2/{project}/{repo}/blobs/{sbom_manifest['layers'][0]['digest']}").json()


def tools_env() -> dict[str, str]:
    tools = os.environ.get("BERTH_TOOLS", str(pathlib.Path.home() / ".cache" / "berth-tools"))
    return {**os.environ, "PATH": f"{tools}/bin:{os.environ['PATH']}", "SYFT_CHECK_FOR_APP_UPDATE": "false"}


def need(tool: str, env: dict[str, str]) -> None:
    if shutil.which(tool, path=env["PATH"]) is None:
        pytest.fail(f"{tool} is not installed (tests/setup.sh installs it)")


def site_packages() -> pathlib.Path:
    return pathlib.Path(
        subprocess.check_output([sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip()
    )


def npm_root() -> pathlib.Path:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not installed (tests/setup.sh installs it)")
    return pathlib.Path(subprocess.check_output(["npm", "root", "-g"], text=True).strip()) / "npm"


def test_sbom_of_python_node_and_rust_content(admin: berthlib.Api, berth: berthlib.Berth, tmp_path: pathlib.Path):
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
    v2 = push_image(berth, "lang/app", layers, tmp_path / "layout")
    spdx = sbom_spdx(admin, v2, "lang", "app")
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

    env = tools_env()
    need("syft", env)
    ours = {(pep503(p["name"]) if purl_of(p).startswith("pkg:pypi/") else p["name"], p["versionInfo"]) for p in spdx["packages"]}
    share = agreement(ours, syft_pairs(tmp_path / "layout", env, ("pypi", "npm", "cargo")))
    assert share >= 0.99


def build_go(work: pathlib.Path, env: dict[str, str]) -> tuple[pathlib.Path, set]:
    """A Go program needing github.com/google/uuid, and what `go version -m` says it holds."""
    src = work / "go"
    src.mkdir()
    (src / "go.mod").write_text("module example.com/berth-sbom-test\n\ngo 1.22\n\nrequire github.com/google/uuid v1.6.0\n")
    (src / "main.go").write_text(
        textwrap.dedent(
            """\
            package main

            import (
            \t"fmt"

            \t"github.com/google/uuid"
            )

            func main() { fmt.Println(uuid.NewString()) }
            """
        )
    )
    out = work / "hello-go"
    go_env = {**env, "GOFLAGS": "-mod=mod -buildvcs=false"}
    subprocess.run(["go", "build", "-o", str(out), "."], cwd=src, env=go_env, check=True, timeout=600)
    want = set()
    lines = subprocess.check_output(["go", "version", "-m", str(out)], text=True, env=go_env).splitlines()
    want.add(("stdlib", lines[0].split(": ", 1)[1].strip()))
    for line in lines[1:]:
        f = line.strip().split("\t")
        if f[0] in ("mod", "dep"):
            want.add((f[1], f[2]))
        elif f[0] == "=>":
            pytest.fail(f"the test module has no replacements: {line}")
    return out, want


def build_rust(work: pathlib.Path, env: dict[str, str]) -> tuple[pathlib.Path, set]:
    """A Rust program built with cargo-auditable needing itoa, and the crates.io packages
    `cargo metadata` resolves for it."""
    src = work / "rs"
    (src / "src").mkdir(parents=True)
    (src / "Cargo.toml").write_text('[package]\nname = "hello-rs"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nitoa = "1"\n')
    (src / "src" / "main.rs").write_text('fn main() { println!("{}", itoa::Buffer::new().format(42)); }\n')
    cargo_env = {**env, "CARGO_TARGET_DIR": str(src / "target")}
    subprocess.run(["cargo", "auditable", "build", "--release", "--offline", "--quiet"], cwd=src, env=cargo_env, check=True, timeout=600)
    meta = json.loads(subprocess.check_output(["cargo", "metadata", "--offline", "--format-version", "1"], cwd=src, env=cargo_env, text=True))
    want = {(p["name"], p["version"]) for p in meta["packages"] if (p.get("source") or "").startswith("registry+")}
    return src / "target" / "release" / "hello-rs", want


def build_rpmdb(work: pathlib.Path) -> tuple[pathlib.Path, set]:
    """A root with an rpm SQLite database holding two packages built here, and `rpm -qa`."""
    top = work / "rpmbuild"
    for name, version, release, epoch in [("berth-hello", "1.2.3", "4.fc40", None), ("berth-epoch", "2.0", "1.fc40", 3)]:
        spec = work / f"{name}.spec"
        spec.write_text(
            f"Name: {name}\nVersion: {version}\nRelease: {release}\n"
            + (f"Epoch: {epoch}\n" if epoch is not None else "")
            + "Summary: a package for Berth's SBOM test\nLicense: MIT\nBuildArch: noarch\n"
            + "%description\nA package for Berth's SBOM test.\n%files\n"
        )
        subprocess.run(["rpmbuild", "--quiet", "--define", f"_topdir {top}", "-bb", str(spec)], check=True, timeout=300)
    root = work / "rpmroot"
    root.mkdir()
    rpm = ["rpm", "--root", str(root), "--dbpath", "/var/lib/rpm", "--define", "_db_backend sqlite"]
    subprocess.run([*rpm, "--initdb"], check=True, timeout=60)
    subprocess.run([*rpm, "-i", "--nodeps", "--justdb", *map(str, sorted(top.rglob("*.rpm")))], check=True, timeout=60, capture_output=True)
    listed = subprocess.check_output([*rpm, "-qa", "--qf", "%{NAME} %{EPOCH}:%{VERSION}-%{RELEASE}\\n"], text=True)
    want = {tuple(line.replace("(none):", "").split(" ")) for line in listed.splitlines()}
    db = root / "var/lib/rpm/rpmdb.sqlite"
    assert db.is_file(), "rpm wrote its database in SQLite form"
    return db, want


def test_sbom_of_go_rust_and_rpm_content(admin: berthlib.Api, berth: berthlib.Berth, tmp_path: pathlib.Path):
    env = tools_env()
    for tool in ("go", "cargo", "cargo-auditable", "rpm", "rpmbuild", "syft"):
        need(tool, env)
    go_bin, want_go = build_go(tmp_path, env)
    rs_bin, want_cargo = build_rust(tmp_path, env)
    rpmdb, want_rpm = build_rpmdb(tmp_path)
    assert len(want_go) == 3 and {n for n, _ in want_cargo} == {"itoa"} and len(want_rpm) == 2, (want_go, want_cargo, want_rpm)
    os_release = tmp_path / "os-release"
    os_release.write_text("ID=fedora\nVERSION_ID=40\n")
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho not an ELF file, not a package\n" * 10)
    script.chmod(0o755)
    files = {
        "opt/tools/hello-go": go_bin,
        "usr/local/bin/hello-rs": rs_bin,
        "usr/local/bin/script.sh": script,
        "var/lib/rpm/rpmdb.sqlite": rpmdb,
        "etc/os-release": os_release,
    }
    layers = [
        layer_files({k: v for k, v in files.items() if k.startswith(("opt/", "usr/"))}),
        layer_files({k: v for k, v in files.items() if k.startswith(("var/", "etc/"))}),
    ]
    admin.create_project("bins")
    v2 = push_image(berth, "bins/app", layers, tmp_path / "layout")
    spdx = sbom_spdx(admin, v2, "bins", "app")

    got: dict[str, set] = {}
    for p in spdx["packages"]:
        purl = p["externalRefs"][0]["referenceLocator"]
        kind, rest = purl.split(":", 1)[1].split("/", 1)
        name = urllib.parse.unquote(rest.rsplit("@", 1)[0])
        if kind == "rpm":
            namespace, name = name.split("/", 1)
            assert namespace == "fedora", purl
        assert name == p["name"], purl
        got.setdefault(kind, set()).add((p["name"], p["versionInfo"]))
    assert got.get("golang") == want_go
    assert got.get("cargo") == want_cargo
    assert got.get("rpm") == want_rpm
    assert set(got) == {"golang", "cargo", "rpm"}, "nothing else was invented"
    purls = {p["externalRefs"][0]["referenceLocator"] for p in spdx["packages"]}
    assert "pkg:rpm/fedora/berth-epoch@2.0-1.fc40?arch=noarch&epoch=3" in purls, purls
    assert "pkg:golang/github.com/google/uuid@v1.6.0" in purls, purls

    # Syft on the same image.
    syft = syft_pairs(tmp_path / "layout", env, ("golang", "cargo", "rpm"))
    ours = set().union(*got.values())
    # Known differences: Syft lists the root crate (source "local", not a crates.io package) and
    # gives the main Go module no version where `go version -m` says (devel).
    explained_syft = {("hello-rs", "0.1.0"), ("example.com/berth-sbom-test", "UNKNOWN")}
    explained_ours = {("example.com/berth-sbom-test", "(devel)")}
    agreement(ours, syft)
    assert ours - syft == explained_ours
    assert syft - ours == explained_syft
