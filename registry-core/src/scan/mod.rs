//! Scanning: software bills of materials (SBOMs) and vulnerability scans built from an image's
//! layers, with an offline vulnerability database.
//!
//! - [`layers`]: an image's files as its layers leave them: each layer streamed from the blob
//!   store, decompressed and read as a tar archive once, whiteouts (`.wh.<name>`,
//!   `.wh..wh..opq`) applied in layer order; only the files a caller asks for are kept, and
//!   what a caller extracts from ELF executables as they stream past.
//! - [`packages`]: package databases read from those files: dpkg's `status` and `status.d/`
//!   (distroless), apk's `installed`, rpm's SQLite database ([`rpm`]), Python, Node, Rust
//!   (Cargo.lock) and Java packages, and the modules and crates compiled into Go and Rust
//!   (cargo-auditable) executables ([`binaries`]).
//! - [`sbom`]: the SBOM as SPDX 2.3 JSON and CycloneDX 1.5 JSON, stored as an `sbom.harbor`
//!   accessory of the image ([`Registry::generate_sbom`]), so it is pulled like any artifact and
//!   goes with the image.
//! - [`version`]: version order per ecosystem (dpkg, rpm, apk, semver, Go, PEP 440, Maven,
//!   RubyGems) for matching OSV advisory ranges; [`version::Scheme::for_ecosystem`] maps an OSV
//!   ecosystem name to its order and [`version::compare`] compares two versions in it.
//!
//! - [`cvss`]: CVSS v3 base scores from vectors;
//! - [`vulndb`]: OSV advisories imported into the metadata database and matched against an
//!   image's packages ([`Registry::import_vulndb`]);
//! - [`report`]: scans with the built-in scanner, Harbor's reports and `scan_overview`
//!   ([`Registry::scan`]);
//! - [`jobs`]: scans as job-service tasks: a manual scan and its stop, scan on push, scan all
//!   with its schedule and metrics, and the `SCANNING_*` events;
//! - [`hub`]: the security hub (counts and a filtered list of every finding) and CVE export;
//! - [`scanner`]: scanner registrations (`/scanners`): Harbor's pluggable scanners, the system
//!   default and each project's choice;
//! - [`pluggable`]: the client of the Scanner Adapter API v1.2: a scan through a remote adapter
//!   with a short-lived robot that may pull only the scanned repository;
//! - [`adapter`]: the server side: Berth's built-in scanner as a v1.2 adapter
//!   (`berth scanner serve`), which pulls the artifact from the asking registry.
//!
//! Vulnerable-image prevention and CVE allowlists are policy: [`crate::policy::vulnerability`].
//! Not yet: rpm's Berkeley DB and NDB databases (rpm < 4.16), Rust binaries built without
//! cargo-auditable, SBOMs through adapters.
//!
//! [`Registry::generate_sbom`]: crate::Registry::generate_sbom
//! [`Registry::import_vulndb`]: crate::Registry::import_vulndb
//! [`Registry::scan`]: crate::Registry::scan

pub mod adapter;
pub mod binaries;
pub mod cvss;
pub mod hub;
pub mod jobs;
pub mod layers;
pub mod packages;
pub mod pluggable;
pub mod report;
pub mod rpm;
pub mod sbom;
pub mod scanner;
pub mod version;
pub mod vulndb;
