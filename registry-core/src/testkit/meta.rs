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
    ContentRef {
        digest: d.clone(),
        size: 1,
        kind: RefKind::Blob,
        required: true,
    }
}

fn manifest(body: &str, refs: Vec<ContentRef>, subject: Option<Digest>) -> ManifestRecord {
    ManifestRecord {
        digest: Digest::sha256_of(body.as_bytes()),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        artifact_type: Some("application/x.test".into()),
        subject: subject.clone(),
        annotations: Some(r#"{"k":"v"}"#.into()),
        content: Bytes::from(body.to_owned()),
        refs,
        immutable_tags: Vec::new(),
        accessory: subject.map(|subject| crate::meta::AccessoryLink {
            subject,
            kind: "subject.accessory",
            via: "subject",
        }),
    }
}

/// A protected tag is created once and then refused, inside the manifest transaction.
pub async fn immutable_tags_in_the_transaction(m: &dyn MetadataStore) {
    super::ensure_projects(m, &["immut"]).await;
    let r = repo("immut/app");
    let refusal = "\"immut/app:v1\" is immutable".to_owned();
    let first = ManifestRecord {
        immutable_tags: vec![("v1".into(), refusal.clone())],
        ..manifest("immut-first", vec![], None)
    };
    m.put_manifest(&r, &first, &["v1".into()], 1, &[])
        .await
        .unwrap();
    let second = ManifestRecord {
        immutable_tags: vec![("v1".into(), refusal.clone())],
        ..manifest("immut-second", vec![], None)
    };
    let e = m
        .put_manifest(&r, &second, &["v1".into(), "other".into()], 2, &[])
        .await
        .unwrap_err();
    assert_eq!(e.code().as_str(), "PRECONDITION");
    assert!(e.to_string().contains(&refusal), "{e}");
    let now = m
        .get_manifest(&r, &Reference::Tag("v1".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.digest, first.digest.to_string(), "the tag did not move");
    assert!(
        m.get_manifest(&r, &Reference::Tag("other".into()))
            .await
            .unwrap()
            .is_none(),
        "nothing of the refused push was stored"
    );
}

/// Blob links: link, look up per repository, mount (with and without a source), unlink.
pub async fn blob_links_and_mounts(m: &dyn MetadataStore) {
    super::ensure_projects(m, &["links"]).await;
    let (a, b, c) = (repo("links/a"), repo("links/b"), repo("links/c"));
    let d = digest("links-blob");
    assert_eq!(m.repo_blob(&a, &d).await.unwrap(), None);
    link(m, &a, &d, 42, 1).await.unwrap();
    link(m, &a, &d, 42, 2).await.unwrap(); // idempotent
    assert_eq!(m.repo_blob(&a, &d).await.unwrap(), Some(42));
    assert_eq!(
        m.repo_blob(&b, &d).await.unwrap(),
        None,
        "links are per repository"
    );
    assert_eq!(m.blob_size(&d).await.unwrap(), Some(42));
    assert_eq!(
        m.mount_blob(&b, &d, Some(&c), 3).await.unwrap(),
        None,
        "source must link it"
    );
    assert_eq!(m.mount_blob(&b, &d, Some(&a), 3).await.unwrap(), Some(42));
    assert_eq!(m.repo_blob(&b, &d).await.unwrap(), Some(42));
    assert_eq!(
        m.mount_blob(&c, &d, None, 4).await.unwrap(),
        Some(42),
        "anonymous mount"
    );
    assert_eq!(
        m.mount_blob(&c, &digest("nowhere"), None, 4).await.unwrap(),
        None
    );
    assert!(m.unlink_blob(&a, &d, 5).await.unwrap());
    assert!(!m.unlink_blob(&a, &d, 5).await.unwrap());
    assert_eq!(m.repo_blob(&a, &d).await.unwrap(), None);
    assert_eq!(
        m.repo_blob(&b, &d).await.unwrap(),
        Some(42),
        "other links stay"
    );
}

/// Blob links written together (group commit): all or none, each digest charged once, and the
/// stored usage equal to a recount.
pub async fn batched_blob_links(m: &dyn MetadataStore) {
    use crate::meta::NewBlobLink;
    super::ensure_projects(m, &["batch"]).await;
    let project = m.project_by_name("batch").await.unwrap().unwrap().id;
    let (a, b) = (repo("batch/a"), repo("batch/b"));
    let (d1, d2, d3) = (digest("batch-1"), digest("batch-2"), digest("batch-3"));
    for (d, size) in [(&d1, 10), (&d2, 20), (&d3, 30)] {
        m.claim_blob(&d.to_string(), size, 1).await.unwrap();
    }
    let l = |r: &RepoName, d: &Digest, size| NewBlobLink {
        repo: r.clone(),
        digest: d.clone(),
        size,
    };
    let used = || async { m.quota_by_project(project).await.unwrap().unwrap() };
    let recounted = || async {
        let audit = m.quota_check().await.unwrap();
        let row = audit.iter().find(|q| q.project_id == project).unwrap();
        assert_eq!(row.stored, row.recount, "stored usage equals a recount");
    };

    // d1 twice into a (two clients pushing one layer), into b as well, and d2 into b.
    let batch = [
        l(&a, &d1, 10),
        l(&a, &d1, 10),
        l(&b, &d1, 10),
        l(&b, &d2, 20),
    ];
    assert!(m.link_new_blobs(&batch, 2).await.unwrap());
    assert_eq!(m.repo_blob(&a, &d1).await.unwrap(), Some(10));
    assert_eq!(m.repo_blob(&b, &d1).await.unwrap(), Some(10));
    assert_eq!(m.repo_blob(&b, &d2).await.unwrap(), Some(20));
    assert_eq!(m.repo_blob(&a, &d2).await.unwrap(), None);
    assert_eq!(used().await.used, 30, "each digest charged once");
    recounted().await;

    // One blob of the batch was collected meanwhile (no row): nothing is linked.
    let gone = digest("batch-gone");
    let batch = [l(&a, &d3, 30), l(&a, &gone, 5)];
    assert!(!m.link_new_blobs(&batch, 3).await.unwrap());
    assert_eq!(m.repo_blob(&a, &d3).await.unwrap(), None, "all or none");
    assert_eq!(used().await.used, 30);

    // A quota that cannot hold the batch: nothing is linked; one at a time, the link that does
    // not fit is refused as it always was.
    let q = used().await;
    assert!(m.set_quota_hard(q.id, 50, 4).await.unwrap());
    let batch = [l(&a, &d3, 30), l(&b, &d2, 20)];
    assert!(!m.link_new_blobs(&batch, 5).await.unwrap());
    assert_eq!(m.repo_blob(&a, &d3).await.unwrap(), None);
    let refused = m.link_new_blob(&a, &d3, 30, 5).await.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::Denied, "{refused}");
    assert!(m.set_quota_hard(q.id, -1, 6).await.unwrap());
    assert!(m.link_new_blobs(&batch, 7).await.unwrap());
    assert_eq!(m.repo_blob(&a, &d3).await.unwrap(), Some(30));
    assert_eq!(used().await.used, 60);
    recounted().await;

    // Links of two projects are never written together.
    super::ensure_projects(m, &["batch2"]).await;
    let other = repo("batch2/x");
    assert!(
        !m.link_new_blobs(&[l(&a, &d1, 10), l(&other, &d1, 10)], 8)
            .await
            .unwrap()
    );
    assert_eq!(m.repo_blob(&other, &d1).await.unwrap(), None);
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
    assert!(
        !m.advance_upload(&id, 0, 20, &[6], 300).await.unwrap(),
        "stale offset loses"
    );
    let now = m.get_upload(&id).await.unwrap().unwrap();
    assert_eq!(
        (now.size, now.hash_state.as_slice(), now.updated_at),
        (10, &[4u8, 5][..], 200)
    );
    let stale = m.stale_uploads(250).await.unwrap();
    assert!(stale.iter().any(|x| x.id == id));
    assert!(
        !m.stale_uploads(150)
            .await
            .unwrap()
            .iter()
            .any(|x| x.id == id)
    );
    assert!(m.delete_upload(&id).await.unwrap());
    assert_eq!(m.get_upload(&id).await.unwrap(), None);
    assert!(!m.delete_upload(&id).await.unwrap());
}

/// A manifest naming an unknown blob writes nothing; a good one stores manifest, refs and tags.
pub async fn put_manifest_is_atomic(m: &dyn MetadataStore) {
    super::ensure_projects(m, &["atomic"]).await;
    let r = repo("atomic/app");
    let (cfg, layer) = (digest("atomic-cfg"), digest("atomic-layer"));
    link(m, &r, &cfg, 1, 1).await.unwrap();
    let bad = manifest("atomic-1", vec![blob_ref(&cfg), blob_ref(&layer)], None);
    let e = m
        .put_manifest(&r, &bad, &["v1".into()], 2, &[])
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ManifestBlobUnknown);
    assert!(
        m.get_manifest(&r, &Reference::Digest(bad.digest.clone()))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        m.list_tags(&r, 100, None).await.unwrap(),
        Some(vec![]),
        "no tag written"
    );

    // A layer that lives elsewhere (non-distributable) is recorded but not required.
    let mut external = blob_ref(&layer);
    external.required = false;
    let good = manifest("atomic-2", vec![blob_ref(&cfg), external], None);
    m.put_manifest(&r, &good, &["v1".into(), "latest".into()], 3, &[])
        .await
        .unwrap();
    m.put_manifest(&r, &good, &["v1".into()], 4, &[])
        .await
        .unwrap(); // re-put is fine
    let by_tag = m
        .get_manifest(&r, &Reference::Tag("latest".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_tag.digest, good.digest.to_string());
    assert_eq!(
        by_tag.content, good.content,
        "bytes served exactly as stored"
    );
    assert_eq!(by_tag.media_type, good.media_type);

    // An index needs its children in the same repository.
    let index = ManifestRecord {
        media_type: "application/vnd.oci.image.index.v1+json".into(),
        refs: vec![ContentRef {
            digest: good.digest.clone(),
            size: 1,
            kind: RefKind::Manifest,
            required: true,
        }],
        ..manifest("atomic-index", vec![], None)
    };
    m.put_manifest(&r, &index, &[], 5, &[]).await.unwrap();
    let other = repo("atomic/other");
    let e = m
        .put_manifest(&other, &index, &[], 5, &[])
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::ManifestBlobUnknown);
}

/// Tags: moves, lexical (bytewise) order, `last` is exclusive, deletes.
pub async fn tags_order_and_delete(m: &dyn MetadataStore) {
    super::ensure_projects(m, &["tags"]).await;
    let r = repo("tags/app");
    let m1 = manifest("tags-1", vec![], None);
    let m2 = manifest("tags-2", vec![], None);
    let names: Vec<String> = ["b", "a", "B", "a-1", "_x", "a.0", "10", "9"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    m.put_manifest(&r, &m1, &names, 1, &[]).await.unwrap();
    let mut sorted = names.clone();
    sorted.sort(); // bytewise, as the distribution spec's lexical order
    assert_eq!(m.list_tags(&r, 100, None).await.unwrap().unwrap(), sorted);
    assert_eq!(
        m.list_tags(&r, 3, None).await.unwrap().unwrap(),
        sorted[..3]
    );
    assert_eq!(
        m.list_tags(&r, 100, Some(&sorted[3]))
            .await
            .unwrap()
            .unwrap(),
        sorted[4..]
    );
    assert_eq!(
        m.list_tags(&repo("tags/none"), 10, None).await.unwrap(),
        None
    );

    // Moving a tag.
    m.put_manifest(&r, &m2, &["a".into()], 2, &[])
        .await
        .unwrap();
    let got = m
        .get_manifest(&r, &Reference::Tag("a".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.digest, m2.digest.to_string());
    // Deleting a tag keeps the manifest.
    assert!(m.delete_tag(&r, "b").await.unwrap());
    assert!(!m.delete_tag(&r, "b").await.unwrap());
    assert!(
        m.get_manifest(&r, &Reference::Digest(m1.digest.clone()))
            .await
            .unwrap()
            .is_some()
    );
    // Deleting a manifest takes its tags.
    assert!(
        m.delete_manifest(&r, &m1.digest, false, 9, &[])
            .await
            .unwrap()
    );
    assert!(
        !m.delete_manifest(&r, &m1.digest, false, 9, &[])
            .await
            .unwrap()
    );
    assert_eq!(
        m.list_tags(&r, 100, None).await.unwrap().unwrap(),
        vec!["a".to_string()]
    );
}

/// Garbage collection's delete rechecks what it listed: a manifest tagged since, or listed by
/// an index since, stays with its tag; one still untagged goes.
pub async fn collectable_delete_rechecks(m: &dyn MetadataStore) {
    super::ensure_projects(m, &["gcrace"]).await;
    let r = repo("gcrace/app");
    let child = manifest("gcrace-child", vec![], None);
    let loose = manifest("gcrace-loose", vec![], None);
    for x in [&child, &loose] {
        m.put_manifest(&r, x, &[], 1, &[]).await.unwrap();
    }
    let listed = m.gc_untagged(None, 100).await.unwrap();
    let listed: Vec<&str> = listed
        .iter()
        .filter(|(n, _)| n == "gcrace/app")
        .map(|(_, d)| d.as_str())
        .collect();
    assert_eq!(listed.len(), 2, "both are untagged: {listed:?}");
    // A push tags `child` (the same manifest again, with a tag) after the listing.
    m.put_manifest(&r, &child, &["r1".into()], 2, &[])
        .await
        .unwrap();
    assert!(
        !m.delete_manifest(&r, &child.digest, true, 3, &[])
            .await
            .unwrap()
    );
    let got = m
        .get_manifest(&r, &Reference::Tag("r1".into()))
        .await
        .unwrap();
    assert_eq!(got.map(|g| g.digest), Some(child.digest.to_string()));
    // An index that lists it keeps it too, once the tag is gone.
    assert!(m.delete_tag(&r, "r1").await.unwrap());
    let index = manifest(
        "gcrace-index",
        vec![ContentRef {
            digest: child.digest.clone(),
            size: 1,
            kind: RefKind::Manifest,
            required: true,
        }],
        None,
    );
    m.put_manifest(&r, &index, &["i".into()], 4, &[])
        .await
        .unwrap();
    assert!(
        !m.delete_manifest(&r, &child.digest, true, 5, &[])
            .await
            .unwrap()
    );
    // Still untagged and unreferenced: deleted, once.
    assert!(
        m.delete_manifest(&r, &loose.digest, true, 6, &[])
            .await
            .unwrap()
    );
    assert!(
        !m.delete_manifest(&r, &loose.digest, true, 7, &[])
            .await
            .unwrap()
    );
}

/// Referrers are indexed by subject, present or not.
pub async fn referrers(m: &dyn MetadataStore) {
    super::ensure_projects(m, &["refs"]).await;
    let r = repo("refs/app");
    let subject = digest("refs-missing-subject");
    let sig = manifest("refs-sig", vec![], Some(subject.clone()));
    let sbom = manifest("refs-sbom", vec![], Some(subject.clone()));
    m.put_manifest(&r, &sig, &[], 1, &[]).await.unwrap();
    m.put_manifest(&r, &sbom, &[], 1, &[]).await.unwrap();
    let got = m.referrers(&r, &subject).await.unwrap();
    let mut want = vec![sig.digest.to_string(), sbom.digest.to_string()];
    want.sort();
    assert_eq!(
        got.iter().map(|x| x.digest.clone()).collect::<Vec<_>>(),
        want
    );
    assert!(
        got.iter()
            .all(|x| x.artifact_type.as_deref() == Some("application/x.test"))
    );
    assert!(
        got.iter()
            .all(|x| x.annotations.as_deref() == Some(r#"{"k":"v"}"#))
    );
    let size_of = |d: &Digest| {
        got.iter()
            .find(|x| x.digest == d.to_string())
            .map(|x| x.size)
    };
    assert_eq!(size_of(&sig.digest), Some(8));
    assert_eq!(size_of(&sbom.digest), Some(9));
    assert!(
        m.referrers(&repo("refs/other"), &subject)
            .await
            .unwrap()
            .is_empty()
    );
    m.delete_manifest(&r, &sig.digest, false, 9, &[])
        .await
        .unwrap();
    assert_eq!(m.referrers(&r, &subject).await.unwrap().len(), 1);
}

/// Catalog pagination is lexical with an exclusive `last`.
pub async fn catalog(m: &dyn MetadataStore) {
    super::ensure_projects(m, &["cat"]).await;
    for n in ["cat/c", "cat/a", "cat/b"] {
        link(m, &repo(n), &digest("cat"), 1, 1).await.unwrap();
    }
    let page = m.catalog(2, Some("cat/")).await.unwrap();
    assert_eq!(page, vec!["cat/a".to_string(), "cat/b".to_string()]);
    let next = m.catalog(2, Some("cat/b")).await.unwrap();
    assert_eq!(next.first().map(String::as_str), Some("cat/c"));
    assert!(m.repo_exists(&repo("cat/a")).await.unwrap());
    assert!(!m.repo_exists(&repo("cat/zzz")).await.unwrap());
}

/// Artifact pages: newest first across pages with ties, the tag filters, the exact total, a
/// page past the end; repository search with its project.
pub async fn artifact_pages(m: &dyn MetadataStore) {
    use crate::meta::identity::Visibility;
    use crate::query::ListSpec;
    super::ensure_projects(m, &["pages"]).await;
    let r = repo("pages/app");
    // 14 artifacts pushed at 1..=13 (13 and 14 share a push time), tagged v<i> except 4 and 8.
    let mut pushed = Vec::new();
    for i in 1..=14i64 {
        let man = manifest(&format!("pages-{i}"), vec![], None);
        let tags: Vec<String> = if i == 4 || i == 8 {
            vec![]
        } else {
            vec![format!("v{i}")]
        };
        m.put_manifest(&r, &man, &tags, i.min(13), &[])
            .await
            .unwrap();
        pushed.push((i.min(13), man.digest.to_string()));
    }
    // Newest first; equal times by digest, the way of the sort.
    pushed.sort_by(|a, b| b.cmp(a));
    let newest: Vec<String> = pushed.iter().map(|(_, d)| d.clone()).collect();
    let id = m.repository("pages/app").await.unwrap().unwrap().id;
    let spec = |page: u64, size: u64| ListSpec {
        filters: Vec::new(),
        sort: vec![("m.created_at", true)],
        page,
        page_size: size,
    };
    let mut seen = Vec::new();
    for page in 1..=3 {
        let (rows, total) = m
            .list_artifacts(id, None, &[], &spec(page, 5))
            .await
            .unwrap();
        assert_eq!(total, 14, "page {page}");
        seen.extend(rows.into_iter().map(|a| a.digest));
    }
    assert_eq!(seen, newest, "pages in order, each artifact once");
    let (rows, total) = m.list_artifacts(id, None, &[], &spec(4, 5)).await.unwrap();
    assert_eq!(
        (rows.len(), total),
        (0, 14),
        "past the end: nothing, and still the total"
    );
    let digests = |rows: Vec<crate::meta::identity::ArtifactRow>| -> Vec<String> {
        rows.into_iter().map(|a| a.digest).collect()
    };
    let of = |is: &[i64]| -> Vec<String> {
        is.iter()
            .map(|i| {
                manifest(&format!("pages-{i}"), vec![], None)
                    .digest
                    .to_string()
            })
            .collect()
    };
    let v1 = of(&[1, 10, 11, 12, 13, 14]);
    let want: Vec<String> = newest.iter().filter(|d| v1.contains(d)).cloned().collect();
    let mut got = Vec::new();
    for page in 1..=3 {
        let (rows, total) = m
            .list_artifacts(id, Some("~v1"), &[], &spec(page, 2))
            .await
            .unwrap();
        assert_eq!(total, 6, "v1, v10 … v14");
        got.extend(digests(rows));
    }
    assert_eq!(got, want);
    let (rows, total) = m
        .list_artifacts(id, Some("~v1"), &[], &spec(4, 2))
        .await
        .unwrap();
    assert_eq!((rows.len(), total), (0, 6), "filtered, past the end");
    // Filtered, sorted on two keys, oldest first (the media types are all equal, and the tie
    // at 13 goes by ascending digest).
    let mut oldest = want.clone();
    oldest.reverse();
    let two_keys = |page: u64| ListSpec {
        sort: vec![("m.media_type", false), ("m.created_at", false)],
        ..spec(page, 4)
    };
    let mut got = Vec::new();
    for page in 1..=2 {
        let (rows, total) = m
            .list_artifacts(id, Some("~v1"), &[], &two_keys(page))
            .await
            .unwrap();
        assert_eq!(total, 6);
        got.extend(digests(rows));
    }
    assert_eq!(got, oldest, "two sort keys, ascending");
    let (rows, total) = m
        .list_artifacts(id, Some("~v9"), &[], &spec(1, 2))
        .await
        .unwrap();
    assert_eq!((digests(rows), total), (of(&[9]), 1));
    let (rows, total) = m
        .list_artifacts(id, Some("~zz"), &[], &spec(2, 2))
        .await
        .unwrap();
    assert_eq!((rows.len(), total), (0, 0), "nothing matches");
    // A tag pattern with a field filter: pushed at 12 or later (13 and 14 share 13).
    let recent = ListSpec {
        filters: vec![crate::query::Filter {
            key: "push_time",
            column: "m.created_at",
            matcher: crate::query::Match::Range(Some(crate::query::Value::Int(12)), None),
        }],
        ..spec(1, 2)
    };
    let (rows, total) = m
        .list_artifacts(id, Some("~v1"), &[], &recent)
        .await
        .unwrap();
    assert_eq!(total, 3, "v12, v13, v14");
    assert_eq!(digests(rows), want[..2].to_vec());
    let (rows, total) = m
        .list_artifacts(id, Some("nil"), &[], &spec(1, 10))
        .await
        .unwrap();
    assert_eq!((digests(rows), total), (of(&[8, 4]), 2));
    let (rows, total) = m
        .list_artifacts(id, Some("*"), &[], &spec(1, 100))
        .await
        .unwrap();
    assert_eq!(total, 12);
    assert!(!rows.iter().any(|a| of(&[4, 8]).contains(&a.digest)));
    let (rows, total) = m
        .list_artifacts(id, Some("*"), &[], &spec(3, 10))
        .await
        .unwrap();
    assert_eq!((rows.len(), total), (0, 12), "any tag, past the end");
    let (rows, total) = m
        .list_artifacts(id, Some("v7"), &[], &spec(1, 10))
        .await
        .unwrap();
    assert_eq!((digests(rows), total), (of(&[7]), 1));
    // Oldest first: ties ascending.
    let asc = ListSpec {
        sort: vec![("m.created_at", false)],
        ..spec(1, 100)
    };
    let (rows, _) = m.list_artifacts(id, None, &[], &asc).await.unwrap();
    let mut oldest = newest.clone();
    oldest.reverse();
    assert_eq!(digests(rows), oldest);

    // Search: by name part, with the project joined, by name, at most `limit`.
    super::ensure_projects(m, &["pages2"]).await;
    let other = repo("pages2/app-x");
    m.put_manifest(&other, &manifest("pages-other", vec![], None), &[], 1, &[])
        .await
        .unwrap();
    let all = Visibility {
        all: true,
        ..Visibility::default()
    };
    let found = m.search_repositories(&all, "pages", 100).await.unwrap();
    let names: Vec<(&str, &str)> = found
        .iter()
        .map(|f| (f.repo.name.as_str(), f.project_name.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![("pages/app", "pages"), ("pages2/app-x", "pages2")]
    );
    assert_eq!(found[0].repo.artifact_count, Some(14));
    assert_eq!(
        m.search_repositories(&all, "pages", 1).await.unwrap().len(),
        1
    );
    assert!(
        m.search_repositories(&all, "app-x", 100)
            .await
            .unwrap()
            .len()
            == 1
    );
    let public_only = Visibility {
        public: true,
        ..Visibility::default()
    };
    assert!(
        m.search_repositories(&public_only, "pages", 100)
            .await
            .unwrap()
            .is_empty(),
        "private projects are not found by those who cannot see them"
    );

    // Many matches: the first ones by name, whether the search collects candidates (up to 20
    // per row asked for, on PostgreSQL: 25 overflow a one-row search, not a two-row one) or
    // walks the names in order. Pushed last name first, so the first 20 stored are not the
    // first by name.
    super::ensure_projects(m, &["srch"]).await;
    for i in (0..25).rev() {
        let r = repo(&format!("srch/hit-{i:02}"));
        m.put_manifest(
            &r,
            &manifest(&format!("srch-{i}"), vec![], None),
            &[],
            1,
            &[],
        )
        .await
        .unwrap();
    }
    for (limit, want) in [
        (1, vec!["srch/hit-00"]),
        (2, vec!["srch/hit-00", "srch/hit-01"]),
    ] {
        let found = m.search_repositories(&all, "hit-", limit).await.unwrap();
        let names: Vec<&str> = found.iter().map(|f| f.repo.name.as_str()).collect();
        assert_eq!(names, want, "limit {limit}");
    }
    let found = m.search_repositories(&all, "hit-2", 100).await.unwrap();
    let names: Vec<&str> = found.iter().map(|f| f.repo.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "srch/hit-20",
            "srch/hit-21",
            "srch/hit-22",
            "srch/hit-23",
            "srch/hit-24"
        ]
    );
}

/// Run every scenario.
pub async fn run_all(m: &dyn MetadataStore) {
    artifact_pages(m).await;
    blob_links_and_mounts(m).await;
    batched_blob_links(m).await;
    upload_sessions(m).await;
    put_manifest_is_atomic(m).await;
    immutable_tags_in_the_transaction(m).await;
    tags_order_and_delete(m).await;
    collectable_delete_rechecks(m).await;
    referrers(m).await;
    catalog(m).await;
    identity(m).await;
    scanning(m).await;
    registry_endpoints(m).await;
    scanner_registrations(m).await;
}

/// Scanner registrations: insert, a taken name, update, one default at a time (and none), delete.
pub async fn scanner_registrations(m: &dyn MetadataStore) {
    use crate::meta::scan::ScannerRow;
    let row = |uuid: &str, name: &str| ScannerRow {
        uuid: uuid.into(),
        name: name.into(),
        description: String::new(),
        url: "http://127.0.0.1:8081".into(),
        auth: "Bearer".into(),
        access_credential: "enc:v1:abc".into(),
        skip_cert_verify: false,
        use_internal_addr: true,
        disabled: false,
        is_default: false,
        created_at: 1,
        updated_at: 1,
    };
    let mut a = row("tk-scanner-a", "tk-a");
    m.create_scanner(&a).await.unwrap();
    m.create_scanner(&row("tk-scanner-b", "tk-b"))
        .await
        .unwrap();
    let taken = m
        .create_scanner(&row("tk-scanner-c", "tk-a"))
        .await
        .unwrap_err();
    assert!(
        matches!(taken, crate::Error::AlreadyExists { .. }),
        "{taken}"
    );
    assert_eq!(m.scanner("tk-scanner-a").await.unwrap().unwrap(), a);
    a.description = "changed".into();
    a.disabled = true;
    a.updated_at = 2;
    assert!(m.update_scanner(&a).await.unwrap());
    assert_eq!(m.scanner("tk-scanner-a").await.unwrap().unwrap(), a);
    let defaults = |rows: Vec<ScannerRow>| {
        rows.into_iter()
            .filter(|r| r.is_default)
            .map(|r| r.uuid)
            .collect::<Vec<_>>()
    };
    assert!(m.set_default_scanner(Some("tk-scanner-a")).await.unwrap());
    assert!(m.set_default_scanner(Some("tk-scanner-b")).await.unwrap());
    assert_eq!(defaults(m.scanners().await.unwrap()), ["tk-scanner-b"]);
    assert!(!m.set_default_scanner(Some("tk-missing")).await.unwrap());
    assert_eq!(
        defaults(m.scanners().await.unwrap()),
        ["tk-scanner-b"],
        "a missing uuid changes nothing"
    );
    assert!(m.set_default_scanner(None).await.unwrap());
    assert!(defaults(m.scanners().await.unwrap()).is_empty());
    assert!(m.delete_scanner("tk-scanner-a").await.unwrap());
    assert!(m.delete_scanner("tk-scanner-b").await.unwrap());
    assert!(!m.delete_scanner("tk-scanner-b").await.unwrap());
    assert!(m.scanner("tk-scanner-a").await.unwrap().is_none());
}

/// The vulnerability database (replacing advisories, the same row twice in one import), scan
/// reports (insert, then replace) and CVE allowlists (gone with their project).
pub async fn scanning(m: &dyn MetadataStore) {
    use crate::meta::scan::{AllowlistRow, ScanReportRow, VulnRow};
    let row = |eco: &str, pkg: &str, id: &str, record: &str| VulnRow {
        ecosystem: eco.into(),
        package: pkg.into(),
        id: id.into(),
        seq: 0,
        modified: 1,
        record: record.into(),
    };
    let ids = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    m.replace_vulns(
        &ids(&["SCAN-1", "SCAN-2", "SCAN-2"]),
        &[
            row("Debian:12", "glibc", "SCAN-1", "a"),
            row("Debian:12", "zlib", "SCAN-2", "old"),
            row("Debian:12", "zlib", "SCAN-2", "new"),
            row("PyPI", "glibc", "SCAN-3", "other ecosystem"),
        ],
    )
    .await
    .unwrap();
    let found = m
        .vulns_for(&ids(&["Debian:12"]), &ids(&["glibc", "zlib", "absent"]))
        .await
        .unwrap();
    let got: Vec<(&str, &str)> = found
        .iter()
        .map(|r| (r.id.as_str(), r.record.as_str()))
        .collect();
    assert_eq!(
        got,
        [("SCAN-1", "a"), ("SCAN-2", "new")],
        "the later duplicate wins"
    );
    // Re-importing SCAN-1 without rows removes it (a withdrawn advisory).
    m.replace_vulns(&ids(&["SCAN-1"]), &[]).await.unwrap();
    let found = m
        .vulns_for(&ids(&["Debian:12", "PyPI"]), &ids(&["glibc"]))
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["SCAN-3"]
    );
    let (advisories, rows) = m.vuln_counts().await.unwrap();
    assert!(advisories >= 2 && rows >= 2, "{advisories} {rows}");
    assert!(m.vulns_for(&[], &ids(&["glibc"])).await.unwrap().is_empty());

    let mut report = ScanReportRow {
        digest: digest("scanned").to_string(),
        registration: "builtin".into(),
        mime_type: "application/vnd.security.vulnerability.report; version=1.1".into(),
        report_id: "r1".into(),
        status: "Success".into(),
        severity: "High".into(),
        summary: "{}".into(),
        report: Some("{}".into()),
        start_time: 1,
        end_time: Some(2),
    };
    m.put_scan_report(&report, None).await.unwrap();
    report.report_id = "r2".into();
    report.severity = "None".into();
    m.put_scan_report(&report, None).await.unwrap();
    let stored = m
        .scan_reports(&[report.digest.clone(), digest("never").to_string()])
        .await
        .unwrap();
    assert_eq!(
        stored,
        [report.clone()],
        "one report per (digest, registration, type)"
    );

    scan_findings_and_exports(m).await;

    let p = m
        .create_project("scanned-project", None, false, &[], -1, 1)
        .await
        .unwrap();
    assert!(m.cve_allowlist(p.id).await.unwrap().is_none());
    let list = AllowlistRow {
        project_id: p.id,
        expires_at: Some(99),
        items: "[\"CVE-1\"]".into(),
        updated_at: 5,
    };
    m.set_cve_allowlist(&list).await.unwrap();
    m.set_cve_allowlist(&AllowlistRow {
        expires_at: None,
        ..list.clone()
    })
    .await
    .unwrap();
    assert_eq!(
        m.cve_allowlist(p.id).await.unwrap().map(|l| l.expires_at),
        Some(None)
    );
    m.delete_project(p.id).await.unwrap();
    assert!(m.cve_allowlist(p.id).await.unwrap().is_none());
}

/// Findings written with their report, the security hub's queries, scan all's walk, report
/// states and CVE exports.
async fn scan_findings_and_exports(m: &dyn MetadataStore) {
    use crate::meta::scan::{FindingFilter, FindingRow, ScanReportRow};
    super::ensure_projects(m, &["hub"]).await;
    let project = m.project_by_name("hub").await.unwrap().unwrap().id;
    let (web, db) = (repo("hub/web"), repo("hub/db"));
    let image = manifest("hub-image", vec![], None);
    let other = manifest("hub-other", vec![], None);
    let sig = manifest("hub-sig", vec![], Some(image.digest.clone()));
    let mut index = manifest(
        "hub-index",
        vec![ContentRef {
            digest: other.digest.clone(),
            size: 9,
            kind: RefKind::Manifest,
            required: true,
        }],
        None,
    );
    index.media_type = "application/vnd.oci.image.index.v1+json".into();
    m.put_manifest(&web, &image, &["v1".into()], 1, &[])
        .await
        .unwrap();
    m.put_manifest(&web, &sig, &[], 1, &[]).await.unwrap();
    m.put_manifest(&db, &other, &[], 1, &[]).await.unwrap();
    m.put_manifest(&db, &index, &["multi".into()], 1, &[])
        .await
        .unwrap();
    // The same image in a second repository is listed there too.
    m.put_manifest(&db, &image, &[], 1, &[]).await.unwrap();

    // Scan all walks images and indexes, not accessories or an index's children.
    let mut walked = Vec::new();
    let mut after: Option<(String, String)> = None;
    loop {
        let page = m
            .scan_targets(after.as_ref().map(|(r, d)| (r.as_str(), d.as_str())), 2)
            .await
            .unwrap();
        let Some(last) = page.last().cloned() else {
            break;
        };
        walked.extend(page.into_iter().filter(|(r, _)| r.starts_with("hub/")));
        after = Some(last);
    }
    let mut want = vec![
        ("hub/db".to_owned(), image.digest.to_string()),
        ("hub/db".to_owned(), index.digest.to_string()),
        ("hub/web".to_owned(), image.digest.to_string()),
    ];
    want.sort();
    assert_eq!(walked, want);
    assert!(m.scan_target_count().await.unwrap() >= 3);

    let finding =
        |cve: &str, package: &str, severity: &str, rank: i64, score: Option<f64>, fix: &str| {
            FindingRow {
                digest: image.digest.to_string(),
                registration: "builtin".into(),
                cve_id: cve.into(),
                package: package.into(),
                version: "1.0".into(),
                fix_version: fix.into(),
                severity: severity.into(),
                severity_rank: rank,
                score_v3: score,
                description: format!("{cve} in {package}"),
                links: "[]".into(),
            }
        };
    let report = ScanReportRow {
        digest: image.digest.to_string(),
        registration: "builtin".into(),
        mime_type: "application/vnd.security.vulnerability.report; version=1.1".into(),
        report_id: "hub-1".into(),
        status: "Success".into(),
        severity: "Critical".into(),
        summary: "{}".into(),
        report: Some("{\"vulnerabilities\":[]}".into()),
        start_time: 100,
        end_time: Some(200),
    };
    let stale = [finding("CVE-OLD", "gone", "Low", 3, None, "")];
    m.put_scan_report(&report, Some(&stale)).await.unwrap();
    let findings = [
        finding("CVE-H", "openssl", "High", 5, Some(7.5), "1.1"),
        finding("CVE-C", "zlib", "Critical", 6, Some(9.8), ""),
        finding("CVE-C", "zlib", "Critical", 6, Some(9.8), ""),
        finding("CVE-M", "bash", "Medium", 4, None, "5.2"),
    ];
    m.put_scan_report(&report, Some(&findings)).await.unwrap();
    let in_hub = |f: FindingFilter| FindingFilter {
        registration: "builtin".into(),
        project_ids: Some(vec![project]),
        ..f
    };
    let all = m
        .hub_findings(&in_hub(FindingFilter::default()), 0, 100)
        .await
        .unwrap();
    // A new report replaces the findings; a duplicate is kept once; the image is in two
    // repositories; most severe first.
    let got: Vec<(&str, &str)> = all
        .iter()
        .map(|f| (f.finding.cve_id.as_str(), f.repository_name.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("CVE-C", "hub/db"),
            ("CVE-C", "hub/web"),
            ("CVE-H", "hub/db"),
            ("CVE-H", "hub/web"),
            ("CVE-M", "hub/db"),
            ("CVE-M", "hub/web"),
        ]
    );
    assert!(all.iter().all(|f| f.project_id == project));
    assert_eq!(
        m.hub_findings_count(&in_hub(FindingFilter::default()))
            .await
            .unwrap(),
        6
    );
    let one = |f: FindingFilter| async move {
        m.hub_findings(&in_hub(f), 0, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|x| format!("{}@{}", x.finding.cve_id, x.repository_name))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        one(FindingFilter {
            severity: Some("High".into()),
            repository_name: Some("hub/web".into()),
            ..Default::default()
        })
        .await,
        ["CVE-H@hub/web"]
    );
    assert_eq!(
        one(FindingFilter {
            score_min: Some(9.0),
            tag: Some("v1".into()),
            ..Default::default()
        })
        .await,
        ["CVE-C@hub/web"]
    );
    assert_eq!(
        one(FindingFilter {
            cve_ids: Some(vec!["CVE-M".into(), "CVE-X".into()]),
            package: Some("bash".into()),
            digest: Some(image.digest.to_string()),
            ..Default::default()
        })
        .await
        .len(),
        2
    );
    assert!(
        m.hub_findings(
            &FindingFilter {
                registration: "builtin".into(),
                project_ids: Some(vec![]),
                ..Default::default()
            },
            0,
            10
        )
        .await
        .unwrap()
        .is_empty()
    );
    let counts = m.hub_counts("builtin").await.unwrap();
    let sev = |name: &str| {
        counts
            .by_severity
            .iter()
            .find(|(s, _)| s == name)
            .map_or(0, |(_, n)| *n)
    };
    assert!(sev("Critical") >= 1 && sev("High") >= 1 && counts.fixable >= 2);
    assert!(counts.scanned >= 1 && counts.artifacts >= 3);
    let dangerous = m.dangerous_artifacts("builtin", 100).await.unwrap();
    assert!(dangerous.iter().any(|d| d.repository_name == "hub/web"
        && d.critical_cnt == 1
        && d.high_cnt == 1
        && d.medium_cnt == 1));

    // A state change keeps the report and its findings, and applies to every report type of
    // the (digest, registration).
    m.put_scan_report(
        &ScanReportRow {
            mime_type: "application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0"
                .into(),
            ..report.clone()
        },
        None,
    )
    .await
    .unwrap();
    m.set_scan_status(&ScanReportRow {
        report_id: "hub-2".into(),
        status: "Running".into(),
        severity: "None".into(),
        summary: "{}".into(),
        report: None,
        start_time: 300,
        end_time: None,
        ..report.clone()
    })
    .await
    .unwrap();
    let stored = m.scan_reports(&[image.digest.to_string()]).await.unwrap();
    assert_eq!(stored.len(), 2);
    for r in &stored {
        assert_eq!(
            (
                r.status.as_str(),
                r.severity.as_str(),
                r.report.is_some(),
                r.start_time
            ),
            ("Running", "Critical", true, 300)
        );
    }
    assert_eq!(
        m.scan_status_counts(300, None).await.unwrap(),
        [("Running".to_owned(), 2)]
    );
    assert!(m.scan_status_counts(301, None).await.unwrap().is_empty());
    // A state for a digest never scanned inserts a report-less row.
    m.set_scan_status(&ScanReportRow {
        digest: other.digest.to_string(),
        status: "Pending".into(),
        report: Some("ignored".into()),
        ..report.clone()
    })
    .await
    .unwrap();
    let pending = m.scan_reports(&[other.digest.to_string()]).await.unwrap();
    assert_eq!(
        (pending[0].status.as_str(), pending[0].report.as_deref()),
        ("Pending", None)
    );

    // CVE exports: stored, read, trimmed by age.
    m.put_cve_export(41, "alice", 1000, "a,b\r\n")
        .await
        .unwrap();
    m.put_cve_export(42, "bob", 5000, "c\r\n").await.unwrap();
    assert_eq!(
        m.cve_export(41).await.unwrap(),
        Some(("alice".to_owned(), 1000, "a,b\r\n".to_owned()))
    );
    assert_eq!(m.trim_cve_exports(2000).await.unwrap(), 1);
    assert!(m.cve_export(41).await.unwrap().is_none());
    assert!(m.cve_export(42).await.unwrap().is_some());
}

/// Identity rows: projects with metadata and members, users and groups, robots, labels,
/// settings, listings with filters, sort and paging, and the repository/artifact views.
pub async fn identity(m: &dyn MetadataStore) {
    use crate::query::{Field, Kind, ListQuery, field};
    let now = 1_000;
    let u = m
        .create_user(
            &crate::meta::identity::NewUser {
                username: "id-alice".into(),
                source: "local".into(),
                password_hash: Some("h".into()),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
    assert!(!u.sysadmin);
    let dup = m
        .create_user(
            &crate::meta::identity::NewUser {
                username: "id-alice".into(),
                source: "local".into(),
                ..Default::default()
            },
            now,
        )
        .await;
    assert_eq!(dup.unwrap_err().code(), ErrorCode::AlreadyExists);
    assert!(m.set_sysadmin(u.id, true, now).await.unwrap());
    assert!(m.user_by_name("id-alice").await.unwrap().unwrap().sysadmin);

    let p = m
        .create_project(
            "id-proj",
            Some(u.id),
            false,
            &[("auto_scan".into(), "true".into())],
            -1,
            now,
        )
        .await
        .unwrap();
    assert_eq!(p.owner_name.as_deref(), Some("id-alice"));
    assert_eq!(
        m.create_project("id-proj", None, false, &[], -1, now)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::AlreadyExists
    );
    let public = m
        .create_project("id-pub", None, true, &[], -1, now)
        .await
        .unwrap();
    assert!(public.public);
    m.set_project_metadata(p.id, &[("public".into(), "true".into())], now + 1)
        .await
        .unwrap();
    assert!(m.project_by_id(p.id).await.unwrap().unwrap().public);
    m.set_project_metadata(p.id, &[("public".into(), "false".into())], now + 2)
        .await
        .unwrap();
    let meta = m.project_metadata(p.id).await.unwrap();
    assert!(meta.contains(&("auto_scan".into(), "true".into())));

    // The owner is a project admin; groups add roles.
    assert_eq!(m.member_roles(p.id, u.id, &[]).await.unwrap(), vec![1]);
    let bob = m
        .create_user(
            &crate::meta::identity::NewUser {
                username: "id-bob".into(),
                source: "ldap".into(),
                external_id: Some("cn=bob".into()),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        m.user_by_external("ldap", "cn=bob")
            .await
            .unwrap()
            .unwrap()
            .id,
        bob.id
    );
    let groups = m
        .set_user_groups(bob.id, &[(1, "devs".into(), "cn=devs".into())], now)
        .await
        .unwrap();
    assert_eq!(m.user_group_ids(bob.id).await.unwrap(), groups);
    let gm = m.add_member(p.id, "g", groups[0], 2, now).await.unwrap();
    assert_eq!(
        m.add_member(p.id, "g", groups[0], 3, now)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::AlreadyExists
    );
    assert_eq!(
        m.member_roles(p.id, bob.id, &groups).await.unwrap(),
        vec![2]
    );
    assert_eq!(
        m.get_member(p.id, gm).await.unwrap().unwrap().entity_name,
        "devs"
    );
    assert!(m.update_member(p.id, gm, 4, now).await.unwrap());
    const MF: &[Field] = &[field(
        "entityname",
        "COALESCE(u.username, g.name, '')",
        Kind::Text,
    )];
    let spec = ListQuery::new()
        .q("entityname=~dev")
        .parse(MF, &[])
        .unwrap();
    let (rows, total) = m.list_members(p.id, &spec).await.unwrap();
    assert_eq!((rows.len(), total, rows[0].role), (1, 1, 4));
    assert_eq!(m.member_counts(p.id).await.unwrap(), vec![(1, 1), (4, 1)]);

    // Visibility: bob sees the private project through his group; nobody else does.
    const PF: &[Field] = &[field("name", "p.name", Kind::Text)];
    let spec = ListQuery::new()
        .q("name=~id-")
        .parse(PF, &[("p.name", false)])
        .unwrap();
    let vis = crate::meta::identity::Visibility {
        public: true,
        member: Some((bob.id, groups.clone())),
        ..Default::default()
    };
    let (rows, total) = m.list_projects(&vis, &spec).await.unwrap();
    assert_eq!(
        (
            total,
            rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>()
        ),
        (2, vec!["id-proj", "id-pub"])
    );
    let anon = crate::meta::identity::Visibility {
        public: true,
        ..Default::default()
    };
    assert_eq!(m.list_projects(&anon, &spec).await.unwrap().1, 1);
    let paged = ListQuery::new()
        .q("name=~id-")
        .sort("-name")
        .page(2, 1)
        .parse(PF, &[])
        .unwrap();
    let (rows, total) = m.list_projects(&vis, &paged).await.unwrap();
    assert_eq!((total, rows[0].name.as_str()), (2, "id-proj"));

    // Robots.
    let robot = crate::meta::identity::RobotRow {
        id: 0,
        name: "id-proj+ci".into(),
        description: String::new(),
        level: "project".into(),
        project_id: Some(p.id),
        secret_hash: "s".into(),
        disabled: false,
        duration: -1,
        expires_at: -1,
        creator_type: "local".into(),
        creator_ref: "id-alice".into(),
        permissions: "[]".into(),
        created_at: now,
        updated_at: now,
    };
    let rid = m.create_robot(&robot).await.unwrap();
    assert_eq!(
        m.create_robot(&robot).await.unwrap_err().code(),
        ErrorCode::AlreadyExists
    );
    assert_eq!(
        m.robot_by_name("id-proj+ci").await.unwrap().unwrap().id,
        rid
    );
    let all = ListQuery::new().parse(&[], &[]).unwrap();
    assert_eq!(m.list_robots(Some(p.id), &all).await.unwrap().1, 1);
    assert!(m.set_robot_secret(rid, "s2", now).await.unwrap());

    // Labels on artifacts, and the repository/artifact views.
    let r = repo("id-proj/app");
    let cfg = digest("id-config");
    link(m, &r, &cfg, 10, now).await.unwrap();
    let man = manifest("id-manifest", vec![blob_ref(&cfg)], None);
    m.put_manifest(&r, &man, &["v1".into()], now, &[])
        .await
        .unwrap();
    let repo_row = m.repository("id-proj/app").await.unwrap().unwrap();
    assert_eq!((repo_row.project_id, repo_row.artifact_count), (p.id, None));
    let counted = m.repository_counted("id-proj/app").await.unwrap().unwrap();
    assert_eq!(
        counted,
        crate::meta::identity::RepositoryRow {
            artifact_count: Some(1),
            ..repo_row.clone()
        }
    );
    let (arts, n) = m
        .list_artifacts(repo_row.id, Some("*"), &[], &all)
        .await
        .unwrap();
    assert_eq!(
        (n, arts[0].size),
        (1, 10 + man.content.len() as i64),
        "size counts the manifest and its blobs"
    );
    assert_eq!(
        m.list_artifacts(repo_row.id, Some("nil"), &[], &all)
            .await
            .unwrap()
            .1,
        0
    );
    m.create_tag(repo_row.id, &man.digest.to_string(), "v2", now)
        .await
        .unwrap();
    assert_eq!(
        m.create_tag(repo_row.id, &man.digest.to_string(), "v2", now)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::AlreadyExists
    );
    let tags = m
        .artifact_tags(repo_row.id, &[man.digest.to_string()])
        .await
        .unwrap();
    assert_eq!(
        tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        vec!["v1", "v2"]
    );
    let label = crate::meta::identity::LabelRow {
        id: 0,
        name: "id-l".into(),
        description: String::new(),
        color: "#fff".into(),
        scope: "p".into(),
        project_id: p.id,
        created_at: now,
        updated_at: now,
    };
    let lid = m.create_label(&label).await.unwrap();
    m.attach_label(lid, repo_row.id, &man.digest.to_string(), now)
        .await
        .unwrap();
    assert_eq!(
        m.list_artifacts(repo_row.id, None, &[lid], &all)
            .await
            .unwrap()
            .1,
        1
    );
    assert_eq!(
        m.artifact_labels(repo_row.id, &[man.digest.to_string()])
            .await
            .unwrap()[0]
            .1
            .name,
        "id-l"
    );
    m.record_pulls(&[("id-proj/app".into(), man.digest.to_string(), now + 5)])
        .await
        .unwrap();
    let a = m
        .artifact(repo_row.id, &man.digest.to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.pull_time, Some(now + 5));
    let st = m
        .statistics(&crate::meta::identity::Visibility {
            all: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(st.total_repo_count >= 1 && st.total_storage_consumption >= 10);

    // A project with repositories cannot go; a pushed repository needs its project.
    assert_eq!(
        m.delete_project(p.id).await.unwrap_err().code(),
        ErrorCode::PreconditionFailed
    );
    let orphan = link(m, &repo("id-none/app"), &cfg, 10, now).await;
    assert_eq!(orphan.unwrap_err().code(), ErrorCode::Denied);
    assert!(m.delete_repository("id-proj/app", now, &[]).await.unwrap());
    assert!(m.delete_project(p.id).await.unwrap());
    assert!(m.user_by_id(u.id).await.unwrap().is_some());
    assert!(m.delete_user(bob.id).await.unwrap());

    // Settings: the first writer wins.
    assert_eq!(m.init_setting("id-key", "a").await.unwrap(), "a");
    assert_eq!(m.init_setting("id-key", "b").await.unwrap(), "a");
}

/// Publish a blob the way the registry does: claim its row, then link it.
async fn link(
    m: &dyn MetadataStore,
    repo: &RepoName,
    digest: &Digest,
    size: u64,
    now: i64,
) -> crate::error::Result<()> {
    m.claim_blob(&digest.to_string(), size as i64, now).await?;
    m.link_new_blob(repo, digest, size, now).await
}

/// Registry endpoints: insert, a taken name, list with a filter, update, status, the proxy
/// projects that use one, delete.
pub async fn registry_endpoints(m: &dyn MetadataStore) {
    use crate::meta::replication::RegistryRow;
    let mut row = RegistryRow {
        id: 0,
        name: "tk-upstream".into(),
        url: "http://127.0.0.1:5000".into(),
        kind: "docker-registry".into(),
        credential_type: "basic".into(),
        access_key: "puller".into(),
        access_secret: "sealed:v1:abc".into(),
        insecure: false,
        ca_certificate: String::new(),
        description: "d".into(),
        status: "unknown".into(),
        created_at: 1,
        updated_at: 1,
    };
    row.id = m.create_registry(&row).await.unwrap();
    assert!(row.id > 0);
    let taken = m.create_registry(&row).await.unwrap_err();
    assert!(
        matches!(taken, crate::Error::AlreadyExists { .. }),
        "{taken}"
    );
    let again = m.registry_endpoint(row.id).await.unwrap().unwrap();
    assert_eq!(again, row);
    let spec = crate::ListQuery::new()
        .q("name=tk-upstream")
        .parse(
            &[crate::query::field(
                "name",
                "name",
                crate::query::Kind::Text,
            )],
            &[("id", false)],
        )
        .unwrap();
    let (found, total) = m.list_registries(&spec).await.unwrap();
    assert_eq!((found.len(), total), (1, 1));
    row.url = "https://mirror.example".into();
    row.updated_at = 2;
    assert!(m.update_registry(&row).await.unwrap());
    m.set_registry_status(row.id, "healthy").await.unwrap();
    let again = m.registry_endpoint(row.id).await.unwrap().unwrap();
    assert_eq!(
        (again.url.as_str(), again.status.as_str()),
        ("https://mirror.example", "healthy")
    );
    let p = m
        .create_project(
            "tk-proxy",
            None,
            false,
            &[("registry_id".into(), row.id.to_string())],
            -1,
            1,
        )
        .await
        .unwrap();
    assert_eq!(
        m.registry_users(row.id).await.unwrap(),
        ["project tk-proxy"]
    );
    m.delete_project(p.id).await.unwrap();
    assert!(m.registry_users(row.id).await.unwrap().is_empty());

    // Policies: insert, the trigger kind read out of the JSON, update, users, delete.
    let mut policy = crate::meta::replication::PolicyRow {
        id: 0,
        name: "tk-policy".into(),
        description: String::new(),
        src_registry_id: None,
        dest_registry_id: Some(row.id),
        dest_namespace: "ns".into(),
        dest_namespace_replace_count: -1,
        trigger_spec: r#"{"type":"event_based"}"#.into(),
        filters: "[]".into(),
        replicate_deletion: false,
        override_existing: true,
        enabled: true,
        speed: -1,
        copy_by_chunk: false,
        single_active_replication: false,
        creator: "admin".into(),
        created_at: 1,
        updated_at: 1,
    };
    policy.id = m.create_replication_policy(&policy).await.unwrap();
    assert_eq!(
        m.replication_policy(policy.id).await.unwrap().unwrap(),
        policy
    );
    let on_event = m
        .replication_policies_triggered_by("event_based")
        .await
        .unwrap();
    assert!(on_event.iter().any(|p| p.id == policy.id));
    assert!(
        m.replication_policies_triggered_by("scheduled")
            .await
            .unwrap()
            .iter()
            .all(|p| p.id != policy.id)
    );
    assert_eq!(
        m.registry_users(row.id).await.unwrap(),
        ["policy tk-policy"]
    );
    policy.enabled = false;
    policy.updated_at = 2;
    assert!(m.update_replication_policy(&policy).await.unwrap());
    assert!(
        m.replication_policies_triggered_by("event_based")
            .await
            .unwrap()
            .iter()
            .all(|p| p.id != policy.id)
    );
    let all = crate::ListQuery::new()
        .parse(&[], &[("id", false)])
        .unwrap();
    assert!(m.list_replication_policies(&all).await.unwrap().1 >= 1);
    assert!(m.delete_replication_policy(policy.id).await.unwrap());

    // The event cursor: a compare-and-set on a setting.
    m.init_setting("tk-cursor", "5").await.unwrap();
    assert!(m.swap_setting("tk-cursor", "5", "9").await.unwrap());
    assert!(
        !m.swap_setting("tk-cursor", "5", "12").await.unwrap(),
        "a stale cursor loses"
    );
    assert_eq!(
        m.get_setting("tk-cursor").await.unwrap().as_deref(),
        Some("9")
    );
    assert!(m.last_event_id().await.unwrap() >= 0);
    assert!(
        m.all_registries()
            .await
            .unwrap()
            .iter()
            .any(|r| r.id == row.id)
    );
    assert!(m.delete_registry(row.id).await.unwrap());
    assert!(!m.delete_registry(row.id).await.unwrap());
    assert!(m.registry_endpoint(row.id).await.unwrap().is_none());
}
