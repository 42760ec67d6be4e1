//! Images as users think of them: a config blob, layers and a manifest, pushed or pulled in one
//! call; blobs to and from files; and OCI image layout directories imported and exported.
//!
//! These are product rules (how an image is assembled, which tag an OCI layout entry gets), so
//! they live here rather than in a frontend: the Python and Node bindings call each method once.
//! Files stream from and to disk in chunks; only the `Bytes` a caller hands in are in memory.
//!
//! An OCI image layout (image-spec `image-layout.md`) is a directory holding
//! ```text
//! oci-layout          {"imageLayoutVersion": "1.0.0"}
//! index.json          an image index; entries may carry org.opencontainers.image.ref.name
//! blobs/<alg>/<hex>   every manifest, config and layer, named by digest
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::blob::ByteStream;
use crate::error::{Error, Result};
use crate::oci::manifest::{self, Descriptor, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST};
use crate::oci::{Digest, Hasher, RefKind, Reference, RepoName, validate_tag};
use crate::registry::{PutManifestOutcome, Registry};

/// Media type of a layer pushed without one: an uncompressed tar.
pub const DEFAULT_LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";
/// Media type of an image config pushed without one.
pub const DEFAULT_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// The annotation naming an entry of an OCI layout's `index.json`.
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";
/// Tag used when an image reference names none.
pub const DEFAULT_TAG: &str = "latest";

/// `repo:tag`, `repo@digest` or `repo` (meaning `repo:latest`), without a registry host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub repo: RepoName,
    pub reference: Reference,
}

impl ImageRef {
    pub fn parse(s: &str) -> Result<Self> {
        if let Some((name, digest)) = s.split_once('@') {
            return Ok(Self {
                repo: RepoName::parse(name)?,
                reference: Reference::Digest(Digest::parse(digest)?),
            });
        }
        let slash = s.rfind('/').map_or(0, |i| i + 1);
        match s[slash..].rfind(':') {
            Some(i) => {
                let (name, tag) = (&s[..slash + i], &s[slash + i + 1..]);
                validate_tag(tag)?;
                Ok(Self {
                    repo: RepoName::parse(name)?,
                    reference: Reference::Tag(tag.to_owned()),
                })
            }
            None => Ok(Self {
                repo: RepoName::parse(s)?,
                reference: Reference::Tag(DEFAULT_TAG.to_owned()),
            }),
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reference {
            Reference::Tag(t) => write!(f, "{}:{t}", self.repo),
            Reference::Digest(d) => write!(f, "{}@{d}", self.repo),
        }
    }
}

/// Where a layer's bytes come from.
#[derive(Debug, Clone)]
pub enum Content {
    Bytes(Bytes),
    /// Streamed from disk; never read whole into memory.
    File(PathBuf),
}

/// A layer to push.
#[derive(Debug, Clone)]
pub struct NewLayer {
    pub content: Content,
    /// Defaults to [`DEFAULT_LAYER_MEDIA_TYPE`].
    pub media_type: Option<String>,
}

/// An image to push with [`Registry::push_image`].
#[derive(Debug, Clone, Default)]
pub struct NewImage {
    /// The config blob; without one the config is `{}` (an artifact-style image).
    pub config: Option<Bytes>,
    /// Defaults to [`DEFAULT_CONFIG_MEDIA_TYPE`] with a config, the OCI empty type without.
    pub config_media_type: Option<String>,
    pub layers: Vec<NewLayer>,
    pub artifact_type: Option<String>,
    pub annotations: BTreeMap<String, String>,
}

/// What [`Registry::push_image`] stored.
#[derive(Debug, Clone)]
pub struct PushedImage {
    pub repo: RepoName,
    /// The manifest digest.
    pub digest: Digest,
    pub config: Digest,
    pub layers: Vec<Digest>,
    /// Every tag now pointing at the manifest.
    pub tags: Vec<String>,
}

/// One layer of a pulled image.
#[derive(Debug, Clone)]
pub struct PulledLayer {
    pub digest: Digest,
    pub media_type: String,
    pub data: Bytes,
}

/// An image read back with [`Registry::pull_image`].
#[derive(Debug, Clone)]
pub struct PulledImage {
    pub digest: Digest,
    pub media_type: String,
    /// The manifest exactly as stored.
    pub manifest: Bytes,
    pub config: Bytes,
    pub config_media_type: String,
    pub layers: Vec<PulledLayer>,
}

#[derive(Deserialize)]
struct ImageDoc {
    config: Descriptor,
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct IndexDoc {
    manifests: Vec<Descriptor>,
}

fn io_err(what: impl fmt::Display, e: std::io::Error) -> Error {
    Error::storage("fs", format!("{what}: {e}"))
}

/// A file as a byte stream, with its length.
async fn file_stream(path: &Path) -> Result<(ByteStream, u64)> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| io_err(path.display(), e))?;
    let len = file
        .metadata()
        .await
        .map_err(|e| io_err(path.display(), e))?
        .len();
    let shown = path.display().to_string();
    let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024)
        .map(move |r| r.map_err(|e| io_err(&shown, e)))
        .boxed();
    Ok((stream, len))
}

fn layout_blob_path(dir: &Path, digest: &Digest) -> PathBuf {
    dir.join("blobs")
        .join(digest.algorithm().as_str())
        .join(digest.hex())
}

/// The tag an OCI layout entry's `ref.name` stands for: the name itself when it is a tag, or the
/// tag part of a full reference (`example.com/app:1.0`).
fn tag_of_ref_name(name: &str) -> Option<String> {
    if validate_tag(name).is_ok() {
        return Some(name.to_owned());
    }
    let after_slash = &name[name.rfind('/').map_or(0, |i| i + 1)..];
    let tag = after_slash.rsplit_once(':')?.1;
    validate_tag(tag).ok().map(|_| tag.to_owned())
}

impl Registry {
    /// Upload a file as a blob in one streaming pass, hashing while it is written; returns its
    /// digest and size. Uses an upload session, so a crash leaves nothing but a purgeable session.
    pub async fn push_blob_file(&self, repo: &RepoName, path: &Path) -> Result<(Digest, u64)> {
        let (body, len) = file_stream(path).await?;
        let session = self.start_upload(repo).await?;
        let result = async {
            self.append_upload(repo, &session.id, Some(0), body, Some(len))
                .await?;
            let status = self.upload_status(repo, &session.id).await?;
            let digest = Hasher::restore(&status.hash_state)?.finish();
            let size = self
                .finish_upload(repo, &session.id, &digest, None, None, None)
                .await?;
            Ok((digest, size))
        }
        .await;
        if result.is_err() {
            let _ = self.cancel_upload(repo, &session.id).await;
        }
        result
    }

    /// A whole blob in memory. For small blobs (configs, test data); stream big ones with
    /// [`Registry::get_blob`] or [`Registry::save_blob`].
    pub async fn read_blob(&self, repo: &RepoName, digest: &Digest) -> Result<Bytes> {
        let read = self.get_blob(repo, digest, None).await?;
        Ok(crate::blob::collect(read.body, usize::MAX).await?.into())
    }

    /// Stream a blob into a file (written beside it, then renamed into place). Returns its size.
    pub async fn save_blob(&self, repo: &RepoName, digest: &Digest, path: &Path) -> Result<u64> {
        let read = self.get_blob(repo, digest, None).await?;
        write_stream(path, read.body).await
    }

    /// Push an image: the config, each layer (bytes or a file), then the manifest under
    /// `image.reference`.
    pub async fn push_image(&self, image_ref: &ImageRef, image: NewImage) -> Result<PushedImage> {
        let repo = &image_ref.repo;
        let config_media_type = image.config_media_type.clone().unwrap_or_else(|| {
            if image.config.is_some() {
                DEFAULT_CONFIG_MEDIA_TYPE
            } else {
                OCI_EMPTY
            }
            .to_owned()
        });
        let config_bytes = image.config.unwrap_or_else(|| Bytes::from_static(b"{}"));
        let config_len = config_bytes.len();
        let config = self.push_blob_bytes(repo, config_bytes).await?;
        let mut layers = Vec::with_capacity(image.layers.len());
        let mut descriptors = Vec::with_capacity(image.layers.len());
        for layer in image.layers {
            let (digest, size) = match layer.content {
                Content::Bytes(b) => {
                    let len = b.len() as u64;
                    (self.push_blob_bytes(repo, b).await?, len)
                }
                Content::File(path) => self.push_blob_file(repo, &path).await?,
            };
            let media_type = layer
                .media_type
                .unwrap_or_else(|| DEFAULT_LAYER_MEDIA_TYPE.to_owned());
            descriptors.push(serde_json::json!({"mediaType": media_type, "digest": digest.to_string(), "size": size}));
            layers.push(digest);
        }
        let mut doc = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": config_media_type, "digest": config.to_string(), "size": config_len},
            "layers": descriptors,
        });
        if let Some(t) = image.artifact_type {
            doc["artifactType"] = t.into();
        }
        if !image.annotations.is_empty() {
            doc["annotations"] =
                serde_json::to_value(&image.annotations).expect("a string map serializes");
        }
        let body = Bytes::from(serde_json::to_vec(&doc).expect("json serializes"));
        let out = self
            .put_manifest(repo, &image_ref.reference, Some(OCI_MANIFEST), body, &[])
            .await?;
        Ok(PushedImage {
            repo: repo.clone(),
            digest: out.digest,
            config,
            layers,
            tags: out.tags,
        })
    }

    /// Read an image manifest with its config and layers into memory. An index is refused with
    /// `MANIFEST_INVALID`; pull one of its children by digest.
    pub async fn pull_image(&self, image_ref: &ImageRef) -> Result<PulledImage> {
        let repo = &image_ref.repo;
        let stored = self.get_manifest(repo, &image_ref.reference).await?;
        let parsed = manifest::parse(&stored.content, Some(&stored.media_type))?;
        if parsed.kind != manifest::ManifestKind::Image {
            return Err(Error::ManifestInvalid {
                reason: format!(
                    "{image_ref} is an index ({}); pull one of its manifests by digest",
                    stored.media_type
                ),
            });
        }
        let doc: ImageDoc =
            serde_json::from_slice(&stored.content).map_err(|e| Error::ManifestInvalid {
                reason: format!("image manifest: {e}"),
            })?;
        let config_digest = Digest::parse(&doc.config.digest)?;
        let config = self.read_blob(repo, &config_digest).await?;
        let mut layers = Vec::with_capacity(doc.layers.len());
        for l in doc.layers {
            let digest = Digest::parse(&l.digest)?;
            let data = self.read_blob(repo, &digest).await?;
            layers.push(PulledLayer {
                digest,
                media_type: l.media_type,
                data,
            });
        }
        Ok(PulledImage {
            digest: Digest::parse(&stored.digest)?,
            media_type: stored.media_type.clone(),
            manifest: stored.content.clone(),
            config,
            config_media_type: doc.config.media_type,
            layers,
        })
    }

    /// Import an OCI image layout directory into `repo`, streaming each blob from disk.
    ///
    /// Without `tag`, every entry of `index.json` is imported, tagged with the tag of its
    /// `org.opencontainers.image.ref.name` (entries without one are stored by digest). With
    /// `tag`, only the entry so named is imported (or the only entry, when there is just one),
    /// and it is tagged `tag`. Indexes are imported with all their child manifests.
    pub async fn import_layout(
        &self,
        dir: &Path,
        repo: &RepoName,
        tag: Option<&str>,
    ) -> Result<Vec<PutManifestOutcome>> {
        if let Some(t) = tag {
            validate_tag(t)?;
        }
        let index_path = dir.join("index.json");
        let raw = tokio::fs::read(&index_path)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Error::NotFound {
                    what: format!("OCI layout index {}", index_path.display()),
                },
                _ => io_err(index_path.display(), e),
            })?;
        let index: IndexDoc = serde_json::from_slice(&raw).map_err(|e| Error::BadRequest {
            reason: format!("{}: not an OCI index: {e}", index_path.display()),
        })?;
        let ref_name = |d: &Descriptor| {
            d.annotations
                .as_ref()
                .and_then(|a| a.get(REF_NAME_ANNOTATION))
                .cloned()
        };
        let selected: Vec<(&Descriptor, Option<String>)> = match tag {
            None => index
                .manifests
                .iter()
                .map(|d| (d, ref_name(d).and_then(|n| tag_of_ref_name(&n))))
                .collect(),
            Some(t) => {
                let named: Vec<_> = index
                    .manifests
                    .iter()
                    .filter(|d| ref_name(d).and_then(|n| tag_of_ref_name(&n)).as_deref() == Some(t))
                    .collect();
                let all: Vec<&Descriptor> = index.manifests.iter().collect();
                let pick = match (named.as_slice(), all.as_slice()) {
                    ([one], _) | ([], [one]) => *one,
                    _ => {
                        return Err(Error::NotFound {
                            what: format!("an entry named {t:?} in {}", index_path.display()),
                        });
                    }
                };
                vec![(pick, Some(t.to_owned()))]
            }
        };
        let mut out = Vec::with_capacity(selected.len());
        for (desc, tag) in selected {
            let digest = Digest::parse(&desc.digest)?;
            out.push(
                self.import_manifest(dir, repo, digest, Some(desc.media_type.clone()), tag)
                    .await?,
            );
        }
        Ok(out)
    }

    /// Import one manifest of a layout after everything it references (children first).
    fn import_manifest<'a>(
        &'a self,
        dir: &'a Path,
        repo: &'a RepoName,
        digest: Digest,
        media_type: Option<String>,
        tag: Option<String>,
    ) -> BoxFuture<'a, Result<PutManifestOutcome>> {
        Box::pin(async move {
            let path = layout_blob_path(dir, &digest);
            let body = tokio::fs::read(&path)
                .await
                .map_err(|e| io_err(path.display(), e))?;
            let media_type = media_type.filter(|m| !m.is_empty());
            let parsed = manifest::parse(&body, media_type.as_deref())?;
            for r in parsed.refs.iter().filter(|r| r.required) {
                match r.kind {
                    RefKind::Manifest => {
                        self.import_manifest(dir, repo, r.digest.clone(), None, None)
                            .await?;
                    }
                    RefKind::Blob => {
                        if self.stat_blob(repo, &r.digest).await.is_err() {
                            let (stream, len) =
                                file_stream(&layout_blob_path(dir, &r.digest)).await?;
                            self.push_blob(repo, &r.digest, stream, Some(len)).await?;
                        }
                    }
                }
            }
            let reference = match tag {
                Some(t) => Reference::Tag(t),
                None => Reference::Digest(digest),
            };
            self.put_manifest(
                repo,
                &reference,
                Some(&parsed.media_type),
                Bytes::from(body),
                &[],
            )
            .await
        })
    }

    /// Export an image (or index, with its children) into an OCI image layout directory,
    /// creating it or adding to it. The entry is named by the tag when `image_ref` has one.
    /// Returns the manifest digest.
    pub async fn export_layout(&self, image_ref: &ImageRef, dir: &Path) -> Result<Digest> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| io_err(dir.display(), e))?;
        let (digest, media_type, size) = self
            .export_manifest(dir, &image_ref.repo, image_ref.reference.clone())
            .await?;
        let marker = dir.join("oci-layout");
        tokio::fs::write(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#)
            .await
            .map_err(|e| io_err(marker.display(), e))?;
        let index_path = dir.join("index.json");
        let mut index = match tokio::fs::read(&index_path).await {
            Ok(raw) => serde_json::from_slice::<serde_json::Value>(&raw).map_err(|e| {
                Error::BadRequest {
                    reason: format!("{}: {e}", index_path.display()),
                }
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
            }
            Err(e) => return Err(io_err(index_path.display(), e)),
        };
        let mut entry = serde_json::json!({"mediaType": media_type, "digest": digest.to_string(), "size": size});
        let name = match &image_ref.reference {
            Reference::Tag(t) => Some(t.clone()),
            Reference::Digest(_) => None,
        };
        if let Some(n) = &name {
            entry["annotations"] = serde_json::json!({ REF_NAME_ANNOTATION: n });
        }
        let Some(entries) = index.get_mut("manifests").and_then(|m| m.as_array_mut()) else {
            return Err(Error::BadRequest {
                reason: format!("{}: no manifests array", index_path.display()),
            });
        };
        // A new entry replaces one of the same name (or, unnamed, of the same digest).
        entries.retain(|e| match &name {
            Some(n) => e["annotations"][REF_NAME_ANNOTATION].as_str() != Some(n),
            None => {
                e["digest"].as_str() != Some(&digest.to_string()) || e.get("annotations").is_some()
            }
        });
        entries.push(entry);
        write_stream(
            &index_path,
            futures::stream::once(async move { Ok(Bytes::from(index.to_string())) }).boxed(),
        )
        .await?;
        Ok(digest)
    }

    /// Write one manifest and everything it references under `blobs/`; returns its digest,
    /// media type and size.
    fn export_manifest<'a>(
        &'a self,
        dir: &'a Path,
        repo: &'a RepoName,
        reference: Reference,
    ) -> BoxFuture<'a, Result<(Digest, String, usize)>> {
        Box::pin(async move {
            let stored = self.get_manifest(repo, &reference).await?;
            let digest = Digest::parse(&stored.digest)?;
            let parsed = manifest::parse(&stored.content, Some(&stored.media_type))?;
            for r in parsed.refs.iter().filter(|r| r.required) {
                match r.kind {
                    RefKind::Manifest => {
                        self.export_manifest(dir, repo, Reference::Digest(r.digest.clone()))
                            .await?;
                    }
                    RefKind::Blob => {
                        let path = layout_blob_path(dir, &r.digest);
                        if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
                            self.save_blob(repo, &r.digest, &path).await?;
                        }
                    }
                }
            }
            let content = stored.content.clone();
            let size = content.len();
            write_stream(
                &layout_blob_path(dir, &digest),
                futures::stream::once(async move { Ok(content) }).boxed(),
            )
            .await?;
            Ok((digest, stored.media_type.clone(), size))
        })
    }
}

/// Stream into `path` through a temporary file beside it, renamed into place when complete.
async fn write_stream(path: &Path, mut body: ByteStream) -> Result<u64> {
    if let Some(parent) = path.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| io_err(parent.display(), e))?;
    }
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        uuid::Uuid::new_v4().simple()
    ));
    let result = async {
        let mut file = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| io_err(tmp.display(), e))?;
        let mut written = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            file.write_all(&chunk)
                .await
                .map_err(|e| io_err(tmp.display(), e))?;
            written += chunk.len() as u64;
        }
        file.flush().await.map_err(|e| io_err(tmp.display(), e))?;
        drop(file);
        tokio::fs::rename(&tmp, path)
            .await
            .map_err(|e| io_err(path.display(), e))?;
        Ok(written)
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Content only enters existing projects.
    async fn projects(reg: &Registry) {
        for name in ["team", "mirror"] {
            reg.metadata_store()
                .create_project(name, None, false, &[], -1, 0)
                .await
                .unwrap();
        }
    }
    use crate::ErrorCode;

    fn new_image(layers: &[&'static [u8]]) -> NewImage {
        NewImage {
            config: Some(Bytes::from_static(
                br#"{"architecture":"amd64","os":"linux"}"#,
            )),
            layers: layers
                .iter()
                .map(|l| NewLayer {
                    content: Content::Bytes(Bytes::from_static(l)),
                    media_type: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn image_refs_parse() {
        let r = ImageRef::parse("team/app:1.0").unwrap();
        assert_eq!(
            (r.repo.as_str(), r.reference.to_string().as_str()),
            ("team/app", "1.0")
        );
        assert_eq!(
            ImageRef::parse("team/app").unwrap().reference,
            Reference::Tag("latest".into())
        );
        let d = Digest::sha256_of(b"x");
        let r = ImageRef::parse(&format!("a/b@{d}")).unwrap();
        assert_eq!(r.reference, Reference::Digest(d.clone()));
        assert_eq!(r.to_string(), format!("a/b@{d}"));
        assert_eq!(
            ImageRef::parse("Team/app:1").unwrap_err().code(),
            ErrorCode::NameInvalid
        );
        assert_eq!(
            ImageRef::parse("team/app:bad tag").unwrap_err().code(),
            ErrorCode::TagInvalid
        );
        assert_eq!(
            ImageRef::parse("team/app@sha256:zz").unwrap_err().code(),
            ErrorCode::DigestInvalid
        );
        assert_eq!(
            tag_of_ref_name("example.com:5000/app:2.1").as_deref(),
            Some("2.1")
        );
        assert_eq!(tag_of_ref_name("v1").as_deref(), Some("v1"));
    }

    #[tokio::test]
    async fn push_pull_image_roundtrip_with_a_file_layer() {
        let reg = Registry::open("memory://").await.unwrap();
        projects(&reg).await;
        let dir = tempfile::tempdir().unwrap();
        let big = crate::testkit_data(600_000);
        let file = dir.path().join("layer.tar");
        std::fs::write(&file, &big).unwrap();
        let mut image = new_image(&[b"layer one"]);
        image.layers.push(NewLayer {
            content: Content::File(file.clone()),
            media_type: Some("application/x-test".into()),
        });
        image.annotations.insert("org.example".into(), "yes".into());
        let r = ImageRef::parse("team/app:1.0").unwrap();
        let pushed = reg.push_image(&r, image).await.unwrap();
        assert_eq!(pushed.tags, vec!["1.0".to_owned()]);
        assert_eq!(pushed.layers.len(), 2);
        assert_eq!(pushed.layers[1], Digest::sha256_of(&big));
        assert_eq!(
            reg.list_tags(&r.repo, None, None).await.unwrap(),
            vec!["1.0"]
        );

        let pulled = reg.pull_image(&r).await.unwrap();
        assert_eq!(pulled.digest, pushed.digest);
        assert_eq!(
            pulled.config.as_ref(),
            br#"{"architecture":"amd64","os":"linux"}"#
        );
        assert_eq!(pulled.layers[0].data.as_ref(), b"layer one");
        assert_eq!(pulled.layers[0].media_type, DEFAULT_LAYER_MEDIA_TYPE);
        assert_eq!(pulled.layers[1].data.as_ref(), &big[..]);
        assert_eq!(pulled.layers[1].media_type, "application/x-test");
        assert_eq!(Digest::sha256_of(&pulled.manifest), pushed.digest);

        let out = dir.path().join("out.bin");
        assert_eq!(
            reg.save_blob(&r.repo, &pushed.layers[1], &out)
                .await
                .unwrap(),
            big.len() as u64
        );
        assert_eq!(std::fs::read(&out).unwrap(), big);
        // No upload session is left behind by the file push.
        assert_eq!(reg.purge_uploads(-1_000_000).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn missing_things_are_classified() {
        let reg = Registry::open("memory://").await.unwrap();
        projects(&reg).await;
        let r = ImageRef::parse("team/none:1").unwrap();
        assert_eq!(
            reg.pull_image(&r).await.unwrap_err().code(),
            ErrorCode::ManifestUnknown
        );
        let e = reg
            .push_blob_file(&r.repo, Path::new("/nonexistent/berth"))
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::Internal);
        let dir = tempfile::tempdir().unwrap();
        let e = reg
            .import_layout(dir.path(), &r.repo, None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound);
    }

    #[tokio::test]
    async fn layout_export_then_import_elsewhere_keeps_digests() {
        let a = Registry::open("memory://").await.unwrap();
        projects(&a).await;
        let r1 = ImageRef::parse("team/app:1.0").unwrap();
        let r2 = ImageRef::parse("team/app:2.0").unwrap();
        let p1 = a
            .push_image(&r1, new_image(&[b"one", b"shared"]))
            .await
            .unwrap();
        let p2 = a
            .push_image(&r2, new_image(&[b"two", b"shared"]))
            .await
            .unwrap();
        // An index over both, exported with its children.
        let index = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": p1.digest.to_string(), "size": a.get_manifest(&r1.repo, &r1.reference).await.unwrap().content.len()},
            {"mediaType": OCI_MANIFEST, "digest": p2.digest.to_string(), "size": a.get_manifest(&r2.repo, &r2.reference).await.unwrap().content.len()},
        ]});
        let ri = ImageRef::parse("team/app:multi").unwrap();
        let pi = a
            .put_manifest(
                &ri.repo,
                &ri.reference,
                Some(OCI_INDEX),
                Bytes::from(index.to_string()),
                &[],
            )
            .await
            .unwrap();

        let dir = tempfile::tempdir().unwrap();
        assert_eq!(a.export_layout(&r1, dir.path()).await.unwrap(), p1.digest);
        assert_eq!(a.export_layout(&ri, dir.path()).await.unwrap(), pi.digest);
        // Exporting the same name again replaces its entry.
        a.export_layout(&r1, dir.path()).await.unwrap();
        let idx: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
        assert_eq!(idx["manifests"].as_array().unwrap().len(), 2);
        assert!(dir.path().join("oci-layout").exists());

        let b = Registry::open("memory://").await.unwrap();

        projects(&b).await;
        let target = RepoName::parse("mirror/app").unwrap();
        let all = b.import_layout(dir.path(), &target, None).await.unwrap();
        let digests: Vec<_> = all.iter().map(|o| o.digest.clone()).collect();
        assert_eq!(digests, vec![pi.digest.clone(), p1.digest.clone()]);
        assert_eq!(
            b.list_tags(&target, None, None).await.unwrap(),
            vec!["1.0", "multi"]
        );
        // The index's second child came along by digest.
        let child = ImageRef {
            repo: target.clone(),
            reference: Reference::Digest(p2.digest.clone()),
        };
        assert_eq!(
            b.pull_image(&child).await.unwrap().layers[0].data.as_ref(),
            b"two"
        );
        assert_eq!(
            b.pull_image(&ImageRef::parse("mirror/app:multi").unwrap())
                .await
                .unwrap_err()
                .code(),
            ErrorCode::ManifestInvalid
        );

        // One entry under a new tag.
        let c = Registry::open("memory://").await.unwrap();
        projects(&c).await;
        let one = c
            .import_layout(dir.path(), &target, Some("1.0"))
            .await
            .unwrap();
        assert_eq!(one[0].digest, p1.digest);
        let e = c
            .import_layout(dir.path(), &target, Some("nope"))
            .await
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound);
    }
}
