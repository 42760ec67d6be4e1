//! Package databases found in an image's files.
//!
//! - dpkg: `var/lib/dpkg/status` (packages whose status is `install ok installed`) and the
//!   files of `var/lib/dpkg/status.d/` (distroless images: one control paragraph each);
//! - apk: `lib/apk/db/installed` (`P:` name, `V:` version, `o:` origin, `A:` architecture);
//! - Python: `*.dist-info/METADATA` and `*.egg-info/PKG-INFO` (`Name:`, `Version:`);
//! - Node: `node_modules/<name>/package.json` and `node_modules/@scope/<name>/package.json`;
//! - Rust: `Cargo.lock` (the packages from a registry, not the workspace's own);
//! - Java: `*.jar`, `*.war`, `*.ear`: `META-INF/maven/<group>/<artifact>/pom.properties`, else
//!   `META-INF/MANIFEST.MF`'s title and version, also of the jars nested one level down (Spring
//!   Boot's `BOOT-INF/lib/`). A jar is reduced to those lines while its layer is read;
//! - rpm: `var/lib/rpm/rpmdb.sqlite` and `usr/lib/sysimage/rpm/rpmdb.sqlite` ([`super::rpm`]),
//!   reduced to its packages while its layer is read;
//! - Go and Rust executables anywhere in the image: Go's build information and cargo-auditable's
//!   `.dep-v0` section ([`super::binaries`]), read from every ELF file as it streams past.
//!
//! A file reduced while its layer is read is kept as [`REDUCED`] and one line per package.

use std::collections::BTreeMap;

use serde::Serialize;

/// A package an image holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Package {
    /// The purl type: `deb`, `apk`, `rpm`, `pypi`, `npm`, `cargo`, `golang`, `maven`.
    pub ecosystem: &'static str,
    pub name: String,
    pub version: String,
    /// The source package, when it differs from the name.
    pub source: Option<String>,
    pub arch: Option<String>,
}

impl Package {
    /// The package URL (purl) of this package in `distro` (`debian`, `alpine`, …).
    pub fn purl(&self, distro: &str) -> String {
        let enc = |s: &str| {
            s.bytes()
                .map(|b| match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        };
        // Distro packages are namespaced by the distro; Maven's by the group; Go's module path
        // is its namespace and name; the others have no namespace (`@scope/name` of npm keeps
        // its scope, encoded).
        let mut version = self.version.as_str();
        let mut epoch = None;
        let name = match self.ecosystem {
            "rpm" => {
                // `epoch:version-release`: the epoch is a qualifier (as Syft and Trivy write it).
                if let Some((e, v)) = version.split_once(':')
                    && !e.is_empty()
                    && e.bytes().all(|b| b.is_ascii_digit())
                {
                    epoch = Some(e);
                    version = v;
                }
                let distro = if distro == "rhel" { "redhat" } else { distro };
                format!("{distro}/{}", enc(&self.name))
            }
            "deb" | "apk" => format!("{distro}/{}", enc(&self.name)),
            "golang" => {
                // The standard library's purl version has no `go` in front (as Syft writes it).
                if self.name == "stdlib" {
                    version = version.strip_prefix("go").unwrap_or(version);
                }
                self.name.split('/').map(enc).collect::<Vec<_>>().join("/")
            }
            "maven" => match self.name.split_once(':') {
                Some((group, artifact)) => format!("{}/{}", enc(group), enc(artifact)),
                None => enc(&self.name),
            },
            _ => enc(&self.name),
        };
        let mut p = format!("pkg:{}/{name}@{}", self.ecosystem, enc(version));
        let mut q = Vec::new();
        if let Some(a) = &self.arch {
            q.push(format!("arch={}", enc(a)));
        }
        if let Some(e) = epoch {
            q.push(format!("epoch={e}"));
        }
        if let Some(s) = &self.source {
            q.push(format!("upstream={}", enc(s)));
        }
        if !q.is_empty() {
            p.push('?');
            p.push_str(&q.join("&"));
        }
        p
    }
}

/// The files a package scan wants.
pub fn wanted(path: &str) -> bool {
    path == DPKG_STATUS
        || path.starts_with(DPKG_STATUS_D)
        || path == APK_INSTALLED
        || path == OS_RELEASE
        || path == "usr/lib/os-release"
        || python_metadata(path)
        || npm_manifest(path)
        || path == "Cargo.lock"
        || path.ends_with("/Cargo.lock")
        || java_archive(path)
        || RPMDB_SQLITE.contains(&path)
}

/// Where rpm keeps its SQLite database (rpm < 4.16's Berkeley DB `Packages` is not read).
const RPMDB_SQLITE: [&str; 2] = [
    "var/lib/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
];

/// The first line of a file reduced to its packages while its layer was read (an rpm database,
/// an executable); each line after it is `ecosystem\tname\tversion\tsource\tarch`.
pub(crate) const REDUCED: &str = "\0berth-packages\n";

fn reduced(packages: &[Package]) -> Vec<u8> {
    let clean = |s: &str| s.replace(['\t', '\n'], " ");
    let mut out = REDUCED.to_owned();
    for p in packages {
        out.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            p.ecosystem,
            clean(&p.name),
            clean(&p.version),
            clean(p.source.as_deref().unwrap_or_default()),
            clean(p.arch.as_deref().unwrap_or_default()),
        ));
    }
    out.into_bytes()
}

fn unreduce(text: &str) -> Vec<Package> {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let [eco, name, version, source, arch] = f.as_slice() else {
                return None;
            };
            let ecosystem = match *eco {
                "rpm" => "rpm",
                "golang" => "golang",
                "cargo" => "cargo",
                _ => return None,
            };
            Some(Package {
                ecosystem,
                name: (*name).to_owned(),
                version: (*version).to_owned(),
                source: opt(source),
                arch: opt(arch),
            })
        })
        .collect()
}

fn python_metadata(path: &str) -> bool {
    let mut parts = path.rsplit('/');
    match (parts.next(), parts.next()) {
        (Some("METADATA"), Some(dir)) => dir.ends_with(".dist-info"),
        (Some("PKG-INFO"), Some(dir)) => dir.ends_with(".egg-info"),
        _ => false,
    }
}

/// `…node_modules/<name>/package.json` or `…node_modules/@scope/<name>/package.json`.
fn npm_manifest(path: &str) -> bool {
    let parts: Vec<&str> = path.rsplit('/').take(4).collect();
    match parts.as_slice() {
        ["package.json", name, "node_modules", ..] => {
            !name.starts_with('@') && !name.starts_with('.')
        }
        ["package.json", _, scope, "node_modules"] => scope.starts_with('@'),
        _ => false,
    }
}

fn java_archive(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".jar") || lower.ends_with(".war") || lower.ends_with(".ear")
}

/// The [`super::layers::FileFilter`] of package scans: [`wanted`] files, jars reduced to their
/// Maven coordinates.
pub(crate) struct PackageFiles;

impl super::layers::FileFilter for PackageFiles {
    fn wants(&self, path: &str) -> bool {
        wanted(path)
    }

    fn keep(&self, path: &str, data: Vec<u8>) -> Vec<u8> {
        if RPMDB_SQLITE.contains(&path) {
            match super::rpm::sqlite_packages(&data) {
                Ok(found) => reduced(&found),
                Err(e) => {
                    tracing::warn!(path, error = %e, "rpm database not read");
                    reduced(&[])
                }
            }
        } else if java_archive(path) {
            let name = path.rsplit('/').next().unwrap_or(path);
            let mut out = String::new();
            jar_coordinates(name, &data, 1, &mut out);
            out.into_bytes()
        } else {
            data
        }
    }

    fn executable(&self, path: &str, r: &mut dyn std::io::Read, size: u64) -> Option<Vec<u8>> {
        match super::binaries::inspect(r, size) {
            Ok(found) if !found.is_empty() => Some(reduced(&found)),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(path, error = %e, "executable not read");
                None
            }
        }
    }
}

/// The largest entry of a jar read (pom.properties, MANIFEST.MF; a nested jar).
const MAX_JAR_ENTRY: u64 = 64 << 20;

/// Append one line `group:artifact|version` per Maven module the jar `name` holds (its
/// pom.properties files), else one `|title|version` line from its manifest; then the same for
/// the jars inside it, `depth` levels down.
fn jar_coordinates(name: &str, data: &[u8], depth: u8, out: &mut String) {
    let Ok(mut zip) = zip::ZipArchive::new(std::io::Cursor::new(data)) else {
        return;
    };
    let mut found = false;
    let mut manifest = None;
    let mut nested: Vec<String> = Vec::new();
    let names: Vec<String> = zip
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect();
    for entry in names {
        let read = |zip: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>, limit: u64| {
            let f = zip.by_name(&entry).ok()?;
            if f.size() > limit {
                return None;
            }
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::Read::take(f, limit), &mut buf).ok()?;
            Some(buf)
        };
        if entry.starts_with("META-INF/maven/") && entry.ends_with("/pom.properties") {
            let Some(text) = read(&mut zip, 1 << 16) else {
                continue;
            };
            let text = String::from_utf8_lossy(&text);
            let field = |k: &str| {
                text.lines()
                    .find_map(|l| l.trim().strip_prefix(k)?.trim_start().strip_prefix('='))
                    .map(|v| v.trim().to_owned())
            };
            if let (Some(g), Some(a), Some(v)) =
                (field("groupId"), field("artifactId"), field("version"))
            {
                out.push_str(&format!("{g}:{a}|{v}\n"));
                found = true;
            }
        } else if entry == "META-INF/MANIFEST.MF" {
            manifest = read(&mut zip, 1 << 16);
        } else if depth > 0 && java_archive(&entry) {
            nested.push(entry);
        }
    }
    if !found && let Some(m) = manifest {
        let text = String::from_utf8_lossy(&m);
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix(':'))
                .map(|v| v.trim().to_owned())
        };
        let title = field("Implementation-Title").or_else(|| field("Bundle-SymbolicName"));
        let version = field("Implementation-Version").or_else(|| field("Bundle-Version"));
        if let Some(v) = version {
            let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
            out.push_str(&format!(
                "|{}|{v}\n",
                title.unwrap_or_else(|| stem.to_owned())
            ));
        }
    }
    for entry in nested {
        let Ok(f) = zip.by_name(&entry) else { continue };
        if f.size() > MAX_JAR_ENTRY {
            continue;
        }
        let mut buf = Vec::new();
        if std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_JAR_ENTRY), &mut buf).is_ok()
        {
            let inner = entry.rsplit('/').next().unwrap_or(&entry).to_owned();
            jar_coordinates(&inner, &buf, depth - 1, out);
        }
    }
}

/// `Name:` and `Version:` of a Python core metadata file (RFC 822 headers).
fn python_package(text: &str) -> Option<Package> {
    let mut name = None;
    let mut version = None;
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Name:") {
            name = Some(v.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("Version:") {
            version = Some(v.trim().to_owned());
        }
    }
    Some(language("pypi", name?, version?))
}

fn npm_package(text: &str) -> Option<Package> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let name = v["name"].as_str()?.to_owned();
    let version = v["version"].as_str()?.to_owned();
    Some(language("npm", name, version))
}

/// The registry packages of a Cargo.lock (`[[package]]` tables with a `source`).
fn cargo_packages(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    let mut cur: (Option<String>, Option<String>, bool) = (None, None, false);
    let flush = |cur: &mut (Option<String>, Option<String>, bool), out: &mut Vec<Package>| {
        if let (Some(n), Some(v), true) = (cur.0.take(), cur.1.take(), cur.2) {
            out.push(language("cargo", n, v));
        }
        *cur = (None, None, false);
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            flush(&mut cur, &mut out);
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_owned();
        match k.trim() {
            "name" => cur.0 = Some(v),
            "version" => cur.1 = Some(v),
            "source" => cur.2 = v.starts_with("registry+") || v.starts_with("sparse+"),
            _ => {}
        }
    }
    flush(&mut cur, &mut out);
    out
}

fn language(ecosystem: &'static str, name: String, version: String) -> Package {
    Package {
        ecosystem,
        name,
        version,
        source: None,
        arch: None,
    }
}

const DPKG_STATUS: &str = "var/lib/dpkg/status";
const DPKG_STATUS_D: &str = "var/lib/dpkg/status.d/";
const APK_INSTALLED: &str = "lib/apk/db/installed";
const OS_RELEASE: &str = "etc/os-release";

/// Paragraphs of a Debian control file: field name → value (continuation lines joined).
fn control_paragraphs(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut out = Vec::new();
    let mut cur: BTreeMap<String, String> = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            last = None;
        } else if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(k) = &last
                && let Some(v) = cur.get_mut(k)
            {
                v.push('\n');
                v.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            cur.insert(k.to_owned(), v.trim().to_owned());
            last = Some(k.to_owned());
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn dpkg_package(p: &BTreeMap<String, String>, need_installed: bool) -> Option<Package> {
    if need_installed && p.get("Status").map(String::as_str) != Some("install ok installed") {
        return None;
    }
    let name = p.get("Package")?.clone();
    let version = p.get("Version")?.clone();
    // `Source: name (version)` when the source version differs.
    let source = p
        .get("Source")
        .map(|s| s.split_whitespace().next().unwrap_or_default().to_owned())
        .filter(|s| !s.is_empty() && *s != name);
    Some(Package {
        ecosystem: "deb",
        name,
        version,
        source,
        arch: p.get("Architecture").cloned(),
    })
}

fn apk_packages(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let (mut name, mut version, mut origin, mut arch) = (None, None, None, None);
        for line in block.lines() {
            match line.split_once(':') {
                Some(("P", v)) => name = Some(v.to_owned()),
                Some(("V", v)) => version = Some(v.to_owned()),
                Some(("o", v)) => origin = Some(v.to_owned()),
                Some(("A", v)) => arch = Some(v.to_owned()),
                _ => {}
            }
        }
        if let (Some(name), Some(version)) = (name, version) {
            let source = origin.filter(|o| *o != name);
            out.push(Package {
                ecosystem: "apk",
                name,
                version,
                source,
                arch,
            });
        }
    }
    out
}

/// The distribution named by an os-release file: (`ID`, `VERSION_ID`).
pub fn os_release(files: &BTreeMap<String, Vec<u8>>) -> Option<(String, Option<String>)> {
    let text = files
        .get(OS_RELEASE)
        .or_else(|| files.get("usr/lib/os-release"))?;
    let text = String::from_utf8_lossy(text);
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_owned())
    };
    Some((field("ID")?, field("VERSION_ID")))
}

/// Every package the files' databases list, sorted, without duplicates.
pub fn packages(files: &BTreeMap<String, Vec<u8>>) -> Vec<Package> {
    let mut out = Vec::new();
    for (path, data) in files {
        let text = String::from_utf8_lossy(data);
        if let Some(lines) = text.strip_prefix(REDUCED) {
            out.extend(unreduce(lines));
        } else if path == DPKG_STATUS {
            out.extend(
                control_paragraphs(&text)
                    .iter()
                    .filter_map(|p| dpkg_package(p, true)),
            );
        } else if path.starts_with(DPKG_STATUS_D) && !path.ends_with(".md5sums") {
            out.extend(
                control_paragraphs(&text)
                    .iter()
                    .filter_map(|p| dpkg_package(p, false)),
            );
        } else if path == APK_INSTALLED {
            out.extend(apk_packages(&text));
        } else if python_metadata(path) {
            out.extend(python_package(&text));
        } else if npm_manifest(path) {
            out.extend(npm_package(&text));
        } else if path == "Cargo.lock" || path.ends_with("/Cargo.lock") {
            out.extend(cargo_packages(&text));
        } else if java_archive(path) {
            // Reduced by PackageFiles::keep to `group:artifact|version` or `|title|version`.
            for line in text.lines() {
                let mut f = line.split('|');
                match (f.next(), f.next(), f.next()) {
                    (Some(""), Some(title), Some(v)) => {
                        out.push(language("maven", title.to_owned(), v.to_owned()))
                    }
                    (Some(ga), Some(v), None) if !ga.is_empty() => {
                        out.push(language("maven", ga.to_owned(), v.to_owned()))
                    }
                    _ => {}
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status_lists_installed_packages() {
        let status = "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u10\nDescription: GNU C Library\n continued line\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\nPackage: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b8\nSource: bash (5.2.15-2)\n";
        let files: BTreeMap<String, Vec<u8>> = [
            (DPKG_STATUS.to_owned(), status.as_bytes().to_vec()),
            (
                "var/lib/dpkg/status.d/tzdata".to_owned(),
                b"Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n".to_vec(),
            ),
            (
                "var/lib/dpkg/status.d/tzdata.md5sums".to_owned(),
                b"abc  usr/share/zoneinfo/UTC\n".to_vec(),
            ),
        ]
        .into_iter()
        .collect();
        let got: Vec<(String, String, Option<String>)> = packages(&files)
            .into_iter()
            .map(|p| (p.name, p.version, p.source))
            .collect();
        assert_eq!(
            got,
            [
                ("bash".into(), "5.2.15-2+b8".into(), None),
                (
                    "libc6".into(),
                    "2.36-9+deb12u10".into(),
                    Some("glibc".into())
                ),
                ("tzdata".into(), "2024a-0+deb12u1".into(), None),
            ]
        );
    }

    fn jar(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, data) in entries {
            w.start_file(*name, opts).unwrap();
            std::io::Write::write_all(&mut w, data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn language_packages() {
        use super::super::layers::FileFilter;
        assert!(wanted(
            "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA"
        ));
        assert!(wanted("app/node_modules/lodash/package.json"));
        assert!(wanted("app/node_modules/@babel/core/package.json"));
        assert!(wanted("app/node_modules/a/node_modules/b/package.json"));
        assert!(!wanted("app/node_modules/lodash/test/package.json"));
        assert!(!wanted("app/package.json"));
        assert!(wanted("src/Cargo.lock") && wanted("opt/app.JAR"));
        assert!(!wanted("usr/lib/python3/METADATA"));

        let lib = jar(&[(
            "META-INF/maven/org.yaml/snakeyaml/pom.properties",
            b"#c\nversion=1.33\ngroupId=org.yaml\nartifactId=snakeyaml\n",
        )]);
        let plain = jar(&[(
            "META-INF/MANIFEST.MF",
            b"Manifest-Version: 1.0\r\nImplementation-Title: tool\r\nImplementation-Version: 2.1\r\n",
        )]);
        let boot = jar(&[
            ("BOOT-INF/lib/snakeyaml-1.33.jar", &lib),
            ("BOOT-INF/lib/tool.jar", &plain),
            ("BOOT-INF/classes/App.class", b"\xca\xfe"),
        ]);
        let kept = PackageFiles.keep("opt/app.jar", boot);
        assert!(kept.len() < 100, "a jar is reduced to its coordinates");
        let cargo = "version = 4\n\n[[package]]\nname = \"serde\"\nversion = \"1.0.228\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"x\"\n\n[[package]]\nname = \"my-app\"\nversion = \"0.1.0\"\ndependencies = [\n \"serde\",\n]\n";
        let files: BTreeMap<String, Vec<u8>> = [
            (
                "usr/lib/python3/site-packages/PyYAML-6.0.1.dist-info/METADATA".to_owned(),
                b"Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0.1\n\nName: not-a-header\n"
                    .to_vec(),
            ),
            (
                "app/node_modules/@babel/core/package.json".to_owned(),
                br#"{"name": "@babel/core", "version": "7.24.0"}"#.to_vec(),
            ),
            ("src/Cargo.lock".to_owned(), cargo.as_bytes().to_vec()),
            ("opt/app.jar".to_owned(), kept),
        ]
        .into_iter()
        .collect();
        let got: Vec<(&str, String, String)> = packages(&files)
            .into_iter()
            .map(|p| (p.ecosystem, p.name, p.version))
            .collect();
        assert_eq!(
            got,
            [
                ("cargo", "serde".to_owned(), "1.0.228".to_owned()),
                ("maven", "org.yaml:snakeyaml".into(), "1.33".into()),
                ("maven", "tool".into(), "2.1".into()),
                ("npm", "@babel/core".into(), "7.24.0".into()),
                ("pypi", "PyYAML".into(), "6.0.1".into()),
            ]
        );
        let purls: Vec<String> = packages(&files).iter().map(|p| p.purl("debian")).collect();
        assert_eq!(
            purls,
            [
                "pkg:cargo/serde@1.0.228",
                "pkg:maven/org.yaml/snakeyaml@1.33",
                "pkg:maven/tool@2.1",
                "pkg:npm/%40babel%2Fcore@7.24.0",
                "pkg:pypi/PyYAML@6.0.1",
            ]
        );
    }

    #[test]
    fn reduced_files_round_trip() {
        use super::super::layers::FileFilter;
        let p = Package {
            ecosystem: "rpm",
            name: "bad\tname".into(),
            version: "1:2-3\n".into(),
            source: Some("src".into()),
            arch: None,
        };
        let kept = reduced(std::slice::from_ref(&p));
        let more = format!(
            "{}\nnot\ta\tpackage\nnpm\ta\t1\t\t\n",
            String::from_utf8_lossy(&kept)
        );
        let files: BTreeMap<String, Vec<u8>> = [("opt/x".to_owned(), more.into_bytes())].into();
        let got = packages(&files);
        assert_eq!(got.len(), 1, "only the ecosystems a reduced file can hold");
        assert_eq!(
            (got[0].name.as_str(), got[0].version.as_str()),
            ("bad name", "1:2-3 ")
        );
        assert_eq!(got[0].source.as_deref(), Some("src"));
        // An rpm database that is not one is kept as no packages, not as its bytes.
        assert!(wanted("usr/lib/sysimage/rpm/rpmdb.sqlite"));
        let kept = PackageFiles.keep("var/lib/rpm/rpmdb.sqlite", b"not sqlite".to_vec());
        assert_eq!(kept, REDUCED.as_bytes());
        let files: BTreeMap<String, Vec<u8>> =
            [("var/lib/rpm/rpmdb.sqlite".to_owned(), kept)].into();
        assert!(packages(&files).is_empty());
    }

    #[test]
    fn apk_and_purls() {
        let db = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n\nP:busybox-binsh\nV:1.36.1-r15\nA:x86_64\no:busybox\n";
        let files = [(APK_INSTALLED.to_owned(), db.as_bytes().to_vec())]
            .into_iter()
            .collect();
        let p = packages(&files);
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[0].purl("alpine"),
            "pkg:apk/alpine/busybox-binsh@1.36.1-r15?arch=x86_64&upstream=busybox"
        );
        assert_eq!(
            p[1].purl("alpine"),
            "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64"
        );
        let deb = Package {
            ecosystem: "deb",
            name: "libstdc++6".into(),
            version: "1:12.2.0-14".into(),
            source: None,
            arch: None,
        };
        assert_eq!(
            deb.purl("debian"),
            "pkg:deb/debian/libstdc%2B%2B6@1%3A12.2.0-14"
        );
    }
}
