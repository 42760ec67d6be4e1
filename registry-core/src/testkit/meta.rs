//! Scenarios every [`MetadataStore`] must pass. Each scenario uses its own repository names, so
//! they can share one store.

use bytes::Bytes;

use crate::error::ErrorCode;
use crate::meta::{ManifestRecord, MetadataStore, UploadSession};
use crate::oci::{ContentRef, Digest, RefKind, Reference, RepoName};

fn repo(s: &str) -> RepoName {
    RepoName::parse(s).unwrap()
}

fn digest(seed: &str) -> Digest {
    Digest::sha256_of(seed.as_bytes())
}

fn blob_ref(d: &Digest) -> ContentRef {
    ContentRef { digest: d.clone(), size: 1, kind: RefKind::Blob, required: true }
}

fn manifest(body: &str, refs: Vec<ContentRef>, subject: Option<Digest>) -> ManifestRecord {
    ManifestRecord {
        digest: Digest::sha256_of(body.as_bytes()),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        artifact_type: Some("application/x.test".into()),
        subject,
        annotations: Some(r#"{"k":"v"}"#.into()),
        content: Bytes::from(body.to_owned()),
        refs,
    }
}

/// Blob links: link, look up per repository, mount (with and without a source), unlink.
pub async fn blob_links_and_mounts(m: &dyn MetadataStore) {
    let (a, b, c) = (repo("links/a"), repo("links/b"), repo("links/c"));
    let d = digest("links-blob");
    assert_eq!(m.repo_blob(&a, &d).await.unwrap(), None);
    m.link_new_blob(&a, &d, 42, 1).await.unwrap();
    m.link_new_blob(&a, &d, 42, 2).await.unwrap(); // idempotent
    assert_eq!(m.repo_blob(&a, &d).await.unwrap(), Some(42));
    assert_eq!(m.repo_blob(&b, &d).await.unwrap(), None, "links are per repository");
    assert_eq!(m.blob_size(&d).await.unwrap(), Some(42));
    assert_eq!(m.mount_blob(&b, &d, Some(&c), 3).await.unwrap(), None, "source must link it");
    assert_eq!(m.mount_blob(&b, &d, Some(&a), 3).await.unwrap(), Some(42));
    assert_eq!(m.repo_blob(&b, &d).await.unwrap(), Some(42));
    assert_eq!(m.mount_blob(&c, &d, None, 4).await.unwrap(), Some(42), "anonymous mount");
    assert_eq!(m.mount_blob(&c, &digest("nowhere"), None, 4).await.unwrap(), None);
    assert!(m.unlink_blob(&a, &d).await.unwrap());
    assert!(!m.unlink_blob(&a, &d).await.unwrap());
    assert_eq!(m.repo_blob(&a, &d).await.unwrap(), None);
    assert_eq!(m.repo_blob(&b, &d).await.unwrap(), Some(42), "other links stay");
}

/// Upload sessions: create, read, compare-and-set progress, stale listing, delete.
pub async fn upload_sessions(m: &dyn MetadataStore) {
    let id = uuid::Uuid::new_v4().to_string();
    let s = UploadSession {
        id: id.clone(),
        repo: "uploads/x".into(),
        size: 0,
        hash_state: vec![1, 2, 3],
        started_at: 100,
        updated_at: 100,
    };
    m.create_upload(&s).await.unwrap();
    assert_eq!(m.get_upload(&id).await.unwrap(), Some(s.clone()));
    assert!(m.advance_upload(&id, 0, 10, &[4, 5], 200).await.unwrap());
    assert!(!m.advance_upload(&id, 0, 20, &[6], 300).await.unwrap(), "stale offset loses");
    let now = m.get_upload(&id).await.unwrap().unwrap();
    assert_eq!((now.size, now.hash_state.as_slice(), now.updated_at), (10, &[4u8, 5][..], 200));
    let stale = m.stale_uploads(250).await.unwrap();
    assert!(stale.iter().any(|x| x.id == id));
    assert!(!m.stale_uploads(150).await.unwrap().iter().any(|x| x.id == id));
    assert!(m.delete_upload(&id).await.unwrap());
    assert_eq!(m.get_upload(&id).await.unwrap(), None);
    assert!(!m.delete_upload(&id).await.unwrap());
}

/// A manifest naming an unknown blob writes nothing; a good one stores manifest, refs and tags.
pub async fn put_manifest_is_atomic(m: &dyn MetadataStore) {
    let r = repo("atomic/app");
    let (cfg, layer) = (digest("atomic-cfg"), digest("atomic-layer"));
    m.link_new_blob(&r, &cfg, 1, 1).await.unwrap();
    let bad = manifest("atomic-1", vec![blob_ref(&cfg), blob_ref(&layer)], None);
    let e = m.put_manifest(&r, &bad, &["v1".into()], 2).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ManifestBlobUnknown);
    assert!(m.get_manifest(&r, &Reference::Digest(bad.digest.clone())).await.unwrap().is_none());
    assert_eq!(m.list_tags(&r, 100, None).await.unwrap(), Some(vec![]), "no tag written");

    // A layer that lives elsewhere (non-distributable) is recorded but not required.
    let mut external = blob_ref(&layer);
    external.required = false;
    let good = manifest("atomic-2", vec![blob_ref(&cfg), external], None);
    m.put_manifest(&r, &good, &["v1".into(), "latest".into()], 3).await.unwrap();
    m.put_manifest(&r, &good, &["v1".into()], 4).await.unwrap(); // re-put is fine
    let by_tag = m.get_manifest(&r, &Reference::Tag("latest".into())).await.unwrap().unwrap();
    assert_eq!(by_tag.digest, good.digest.to_string());
    assert_eq!(by_tag.content, good.content, "bytes served exactly as stored");
    assert_eq!(by_tag.media_type, good.media_type);

    // An index needs its children in the same repository.
    let index = ManifestRecord {
        media_type: "application/vnd.oci.image.index.v1+json".into(),
        refs: vec![ContentRef { digest: good.digest.clone(), size: 1, kind: RefKind::Manifest, required: true }],
        ..manifest("atomic-index", vec![], None)
    };
    m.put_manifest(&r, &index, &[], 5).await.unwrap();
    let other = repo("atomic/other");
    let e = m.put_manifest(&other, &index, &[], 5).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ManifestBlobUnknown);
}

/// Tags: moves, lexical (bytewise) order, `last` is exclusive, deletes.
pub async fn tags_order_and_delete(m: &dyn MetadataStore) {
    let r = repo("tags/app");
    let m1 = manifest("tags-1", vec![], None);
    let m2 = manifest("tags-2", vec![], None);
    let names: Vec<String> = ["b", "a", "B", "a-1", "_x", "a.0", "10", "9"].iter().map(|s| s.to_string()).collect();
    m.put_manifest(&r, &m1, &names, 1).await.unwrap();
    let mut sorted = names.clone();
    sorted.sort(); // bytewise, as the distribution spec's lexical order
    assert_eq!(m.list_tags(&r, 100, None).await.unwrap().unwrap(), sorted);
    assert_eq!(m.list_tags(&r, 3, None).await.unwrap().unwrap(), sorted[..3]);
    assert_eq!(m.list_tags(&r, 100, Some(&sorted[3])).await.unwrap().unwrap(), sorted[4..]);
    assert_eq!(m.list_tags(&repo("tags/none"), 10, None).await.unwrap(), None);

    // Moving a tag.
    m.put_manifest(&r, &m2, &["a".into()], 2).await.unwrap();
    let got = m.get_manifest(&r, &Reference::Tag("a".into())).await.unwrap().unwrap();
    assert_eq!(got.digest, m2.digest.to_string());
    // Deleting a tag keeps the manifest.
    assert!(m.delete_tag(&r, "b").await.unwrap());
    assert!(!m.delete_tag(&r, "b").await.unwrap());
    assert!(m.get_manifest(&r, &Reference::Digest(m1.digest.clone())).await.unwrap().is_some());
    // Deleting a manifest takes its tags.
    assert!(m.delete_manifest(&r, &m1.digest).await.unwrap());
    assert!(!m.delete_manifest(&r, &m1.digest).await.unwrap());
    assert_eq!(m.list_tags(&r, 100, None).await.unwrap().unwrap(), vec!["a".to_string()]);
}

/// Referrers are indexed by subject, present or not.
pub async fn referrers(m: &dyn MetadataStore) {
    let r = repo("refs/app");
    let subject = digest("refs-missing-subject");
    let sig = manifest("refs-sig", vec![], Some(subject.clone()));
    let sbom = manifest("refs-sbom", vec![], Some(subject.clone()));
    m.put_manifest(&r, &sig, &[], 1).await.unwrap();
    m.put_manifest(&r, &sbom, &[], 1).await.unwrap();
    let got = m.referrers(&r, &subject).await.unwrap();
    let mut want = vec![sig.digest.to_string(), sbom.digest.to_string()];
    want.sort();
    assert_eq!(got.iter().map(|x| x.digest.clone()).collect::<Vec<_>>(), want);
    assert!(got.iter().all(|x| x.artifact_type.as_deref() == Some("application/x.test")));
    assert!(got.iter().all(|x| x.annotations.as_deref() == Some(r#"{"k":"v"}"#)));
    let size_of = |d: &Digest| got.iter().find(|x| x.digest == d.to_string()).map(|x| x.size);
    assert_eq!(size_of(&sig.digest), Some(8));
    assert_eq!(size_of(&sbom.digest), Some(9));
    assert!(m.referrers(&repo("refs/other"), &subject).await.unwrap().is_empty());
    m.delete_manifest(&r, &sig.digest).await.unwrap();
    assert_eq!(m.referrers(&r, &subject).await.unwrap().len(), 1);
}

/// Catalog pagination is lexical with an exclusive `last`.
pub async fn catalog(m: &dyn MetadataStore) {
    for n in ["cat/c", "cat/a", "cat/b"] {
        m.link_new_blob(&repo(n), &digest("cat"), 1, 1).await.unwrap();
    }
    let page = m.catalog(2, Some("cat/")).await.unwrap();
    assert_eq!(page, vec!["cat/a".to_string(), "cat/b".to_string()]);
    let next = m.catalog(2, Some("cat/b")).await.unwrap();
    assert_eq!(next.first().map(String::as_str), Some("cat/c"));
    assert!(m.repo_exists(&repo("cat/a")).await.unwrap());
    assert!(!m.repo_exists(&repo("cat/zzz")).await.unwrap());
}

/// Run every scenario.
pub async fn run_all(m: &dyn MetadataStore) {
    blob_links_and_mounts(m).await;
    upload_sessions(m).await;
    put_manifest_is_atomic(m).await;
    tags_order_and_delete(m).await;
    referrers(m).await;
    catalog(m).await;
}
