//! Shared backend conformance suites (feature `testkit`).
//!
//! Plain async scenario functions run against every [`crate::blob::BlobStore`] and every
//! [`crate::meta::MetadataStore`]; a new backend is accepted when the whole suite passes on it.
//! Not semver-stable, and the scenarios delete everything they touch: point them only at
//! throw-away stores.

pub mod blob;
pub mod faults;
pub mod meta;

use bytes::Bytes;

/// Create projects (ignoring ones that exist): content only enters existing projects.
pub async fn ensure_projects(m: &dyn crate::meta::MetadataStore, names: &[&str]) {
    for name in names {
        match m.create_project(name, None, false, &[], -1, 1).await {
            Ok(_) | Err(crate::Error::AlreadyExists { .. }) => {}
            Err(e) => panic!("creating project {name}: {e}"),
        }
    }
}

/// Create projects through a registry's store.
pub async fn registry_projects(reg: &crate::Registry, names: &[&str]) {
    ensure_projects(reg.metadata_store().as_ref(), names).await;
}

/// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
pub fn data(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Split `data` into a stream of `chunk`-sized pieces.
pub fn chunks(data: &[u8], chunk: usize) -> Vec<crate::Result<Bytes>> {
    data.chunks(chunk.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect()
}

/// A strict RFC 4180 reader for the checks (quoted fields, doubled quotes, CRLF rows).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "CR without LF");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        !quoted && field.is_empty() && row.is_empty(),
        "CSV ends mid-row"
    );
    rows
}
