//! Package databases found in an image's files.
//!
//! - dpkg: `var/lib/dpkg/status` (packages whose status is `install ok installed`) and the
//!   files of `var/lib/dpkg/status.d/` (distroless images: one control paragraph each);
//! - apk: `lib/apk/db/installed` (`P:` name, `V:` version, `o:` origin, `A:` architecture).

use std::collections::BTreeMap;

use serde::Serialize;

/// A package an image holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Package {
    /// `deb` or `apk` (the purl type).
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
        let mut p = format!(
            "pkg:{}/{}/{}@{}",
            self.ecosystem,
            distro,
            enc(&self.name),
            enc(&self.version)
        );
        let mut q = Vec::new();
        if let Some(a) = &self.arch {
            q.push(format!("arch={}", enc(a)));
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
        if path == DPKG_STATUS {
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
