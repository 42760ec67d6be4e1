//! Scanning: software bills of materials (SBOMs) built from an image's layers, the first part of
//! Harbor's scanning.
//!
//! - [`layers`]: an image's files as its layers leave them: each layer streamed from the blob
//!   store, decompressed and read as a tar archive once, whiteouts (`.wh.<name>`,
//!   `.wh..wh..opq`) applied in layer order; only the files a caller asks for are kept.
//! - [`packages`]: package databases read from those files: dpkg's `status` and `status.d/`
//!   (distroless), and apk's `installed`.
//! - [`sbom`]: the SBOM as SPDX 2.3 JSON and CycloneDX 1.5 JSON, stored as an `sbom.harbor`
//!   accessory of the image ([`Registry::generate_sbom`]), so it is pulled like any artifact and
//!   goes with the image.
//!
//! Not yet: rpm, language packages, vulnerability matching, scanners and scan jobs.
//!
//! [`Registry::generate_sbom`]: crate::Registry::generate_sbom

pub mod layers;
pub mod packages;
pub mod sbom;
