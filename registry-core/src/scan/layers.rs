//! An image's files, as its layers leave them.
//!
//! Layers are applied in order. Each is streamed from the blob store through a decompressor into
//! a tar reader on a blocking thread (no layer is held in memory); a file is kept only when the
//! caller's filter wants its path and it is at most [`MAX_FILE`] bytes. Every other regular file
//! that starts with the ELF magic, wherever it is, is handed to the filter's
//! [`FileFilter::executable`] as a stream (files above [`MAX_BINARY`] are skipped), and only
//! what that returns is kept, so executables can be read for what they were built from without
//! holding one in memory. Whiteouts of a layer
//! hide what lower layers had: `.wh.<name>` removes `<name>` (and everything under it), and
//! `.wh..wh..opq` empties its directory, before the layer's own files are added.

use std::collections::BTreeMap;
use std::io::Read;

use futures::TryStreamExt;

use super::binaries::{ELF_MAGIC, MAX_BINARY};
use crate::error::{Error, Result};
use crate::oci::Digest;
use crate::registry::Registry;

/// Largest file kept (a package database; rpm's can be tens of MiB).
pub const MAX_FILE: u64 = 64 << 20;
/// Most bytes of kept files in all.
const MAX_KEPT: u64 = 256 << 20;

/// How a layer's bytes are compressed, from its media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
}

impl Compression {
    /// The compression of a layer media type; `None` for a type that is not a filesystem layer.
    pub fn of(media_type: &str) -> Option<Self> {
        match media_type {
            "application/vnd.oci.image.layer.v1.tar"
            | "application/vnd.docker.image.rootfs.diff.tar" => Some(Self::None),
            "application/vnd.oci.image.layer.v1.tar+gzip"
            | "application/vnd.docker.image.rootfs.diff.tar.gzip"
            | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
            | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Some(Self::Gzip),
            _ => None,
        }
    }
}

/// Which files of an image a reader keeps, and in what form.
pub(crate) trait FileFilter: Send + Sync {
    /// Whether the file at `path` is read at all.
    fn wants(&self, path: &str) -> bool;
    /// What is kept of a wanted file (the whole file by default). An archive such as a Java jar
    /// can be reduced here to the few lines that matter, so it is not held while the other
    /// layers are read.
    fn keep(&self, _path: &str, data: Vec<u8>) -> Vec<u8> {
        data
    }
    /// What is kept of an ELF file the filter does not want by path, read from `r` once
    /// (`size` bytes, the magic included); `None` keeps nothing (the default).
    fn executable(&self, _path: &str, _r: &mut dyn Read, _size: u64) -> Option<Vec<u8>> {
        None
    }
}

impl<F: Fn(&str) -> bool + Send + Sync> FileFilter for F {
    fn wants(&self, path: &str) -> bool {
        self(path)
    }
}

/// What one layer holds: whiteouts and opaque directories (applied to lower layers) and the
/// wanted files.
#[derive(Debug, Default)]
struct LayerFiles {
    removed: Vec<String>,
    opaque: Vec<String>,
    files: BTreeMap<String, Vec<u8>>,
}

/// A path inside a layer, without `./` or `/` in front and without a trailing `/`.
fn clean(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_owned()
}

fn read_layer(
    reader: impl Read,
    compression: Compression,
    wanted: &dyn FileFilter,
    budget: &mut u64,
) -> std::io::Result<LayerFiles> {
    // The bytes decide, not the label alone: images in the wild carry gzip'd layers labelled
    // as plain tar and the other way round.
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, reader);
    let head = std::io::BufRead::fill_buf(&mut reader)?;
    let gzip =
        head.starts_with(&[0x1f, 0x8b]) || (head.is_empty() && compression == Compression::Gzip);
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Err(std::io::Error::other("zstd layers are not read yet"));
    }
    let reader: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    let mut archive = tar::Archive::new(reader);
    let mut out = LayerFiles::default();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = clean(&String::from_utf8_lossy(&entry.path_bytes()));
        let (dir, base) = match path.rsplit_once('/') {
            Some((d, b)) => (d.to_owned(), b.to_owned()),
            None => (String::new(), path.clone()),
        };
        if base == ".wh..wh..opq" {
            out.opaque.push(dir);
            continue;
        }
        if let Some(name) = base.strip_prefix(".wh.") {
            out.removed.push(if dir.is_empty() {
                name.to_owned()
            } else {
                format!("{dir}/{name}")
            });
            continue;
        }
        // A later entry of the same path in one layer replaces the earlier one.
        out.files.remove(&path);
        let kind = entry.header().entry_type();
        if !kind.is_file() {
            continue;
        }
        let size = entry.size();
        if !wanted.wants(&path) {
            if (64..=MAX_BINARY).contains(&size) {
                let mut magic = [0u8; 4];
                entry.read_exact(&mut magic)?;
                if &magic == ELF_MAGIC
                    && let Some(data) =
                        wanted.executable(&path, &mut (&magic[..]).chain(&mut entry), size)
                    && data.len() as u64 <= *budget
                {
                    *budget -= data.len() as u64;
                    out.files.insert(path, data);
                }
            }
            continue;
        }
        if size > MAX_FILE || size > *budget {
            continue;
        }
        let mut data = Vec::with_capacity(size as usize);
        entry.read_to_end(&mut data)?;
        let data = wanted.keep(&path, data);
        *budget = budget.saturating_sub(data.len() as u64);
        out.files.insert(path, data);
    }
    Ok(out)
}

fn under(path: &str, dir: &str) -> bool {
    dir.is_empty() || path == dir || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

impl Registry {
    /// The files of an image (its layers in order, `(digest, media type)`) that `wanted` picks,
    /// by path without a leading `/`.
    pub(crate) async fn image_files(
        &self,
        layers: &[(Digest, String)],
        wanted: std::sync::Arc<dyn FileFilter>,
    ) -> Result<BTreeMap<String, Vec<u8>>> {
        let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut budget = MAX_KEPT;
        for (digest, media_type) in layers {
            let compression = Compression::of(media_type).ok_or_else(|| Error::Unsupported {
                reason: format!(
                    "layer {digest} has media type {media_type:?}, which is not read yet"
                ),
            })?;
            let stream = self
                .blobs
                .get(digest, None)
                .await?
                .map_err(|e| std::io::Error::other(e.to_string()));
            let reader =
                tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
            let wanted = wanted.clone();
            let mut left = budget;
            let (layer, left) = tokio::task::spawn_blocking(move || {
                read_layer(reader, compression, &*wanted, &mut left).map(|l| (l, left))
            })
            .await
            .map_err(|e| Error::internal(format!("layer reader: {e}")))?
            .map_err(|e| Error::Unsupported {
                reason: format!("layer {digest} is not a readable tar archive: {e}"),
            })?;
            budget = left;
            files.retain(|path, _| {
                !layer.removed.iter().any(|r| under(path, r))
                    && !layer.opaque.iter().any(|d| path != d && under(path, d))
            });
            files.extend(layer.files);
        }
        Ok(files)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A gzip'd tar of (path, content); content `None` makes a directory.
    pub(crate) fn layer(entries: &[(&str, Option<&[u8]>)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (path, content) in entries {
            let mut h = tar::Header::new_gnu();
            match content {
                Some(c) => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(c.len() as u64);
                    h.set_mode(0o644);
                    b.append_data(&mut h, path, *c).unwrap();
                }
                None => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_size(0);
                    h.set_mode(0o755);
                    b.append_data(&mut h, path, std::io::empty()).unwrap();
                }
            }
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn whiteouts_and_opaque_directories() {
        let want = |p: &str| p.starts_with("etc/");
        let mut budget = MAX_KEPT;
        let l = read_layer(
            &layer(&[
                ("./etc/", None),
                ("./etc/a", Some(b"a")),
                ("etc/.wh.b", Some(b"")),
                ("etc/d/.wh..wh..opq", Some(b"")),
                ("usr/x", Some(b"not wanted")),
            ])[..],
            Compression::Gzip,
            &want,
            &mut budget,
        )
        .unwrap();
        assert_eq!(l.files.keys().collect::<Vec<_>>(), ["etc/a"]);
        assert_eq!(l.removed, ["etc/b"]);
        assert_eq!(l.opaque, ["etc/d"]);
        assert_eq!(budget, MAX_KEPT - 1);
        assert!(under("etc/b/c", "etc/b") && under("etc/b", "etc/b") && !under("etc/bc", "etc/b"));
        assert!(under("anything", ""));
    }

    /// Reads each ELF file it is given to the end and keeps its path and size.
    struct Executables;

    impl FileFilter for Executables {
        fn wants(&self, path: &str) -> bool {
            path == "etc/wanted"
        }
        fn executable(&self, path: &str, r: &mut dyn Read, size: u64) -> Option<Vec<u8>> {
            let mut all = Vec::new();
            r.read_to_end(&mut all).ok()?;
            assert_eq!(all.len() as u64, size);
            assert!(all.starts_with(ELF_MAGIC));
            Some(format!("{path} {size}").into_bytes())
        }
    }

    #[test]
    fn elf_files_anywhere_are_handed_to_the_filter() {
        let mut elf = ELF_MAGIC.to_vec();
        elf.resize(100, 7);
        let mut budget = MAX_KEPT;
        let l = read_layer(
            &layer(&[
                ("opt/app/server", Some(&elf)),
                ("usr/bin/script", Some(&[b'#'; 100][..])),
                ("etc/wanted", Some(&elf)),
                ("tiny", Some(ELF_MAGIC)),
            ])[..],
            Compression::Gzip,
            &Executables,
            &mut budget,
        )
        .unwrap();
        assert_eq!(
            l.files
                .iter()
                .map(|(k, v)| (k.as_str(), v.len()))
                .collect::<Vec<_>>(),
            [
                ("etc/wanted", 100),
                ("opt/app/server", "opt/app/server 100".len())
            ]
        );
    }
}
