//! Scenarios every [`BlobStore`] must pass.

use futures::StreamExt;
use futures::stream;

use super::{chunks, data};
use crate::blob::{BlobStore, collect};
use crate::error::ErrorCode;
use crate::oci::{Algorithm, Digest, Hasher};

fn uid(tag: &str) -> String {
    format!("{tag}-{}", uuid::Uuid::new_v4().simple())
}

async fn append(
    store: &dyn BlobStore,
    id: &str,
    offset: u64,
    bytes: &[u8],
    chunk: usize,
) -> crate::Result<u64> {
    let mut s = stream::iter(chunks(bytes, chunk));
    store.append(id, offset, &mut s).await
}

async fn read_all(
    store: &dyn BlobStore,
    d: &Digest,
    range: Option<std::ops::Range<u64>>,
) -> Vec<u8> {
    collect(store.get(d, range).await.expect("get"), usize::MAX)
        .await
        .expect("read")
}

/// Upload in one append, commit, read back whole and in ranges (longer than a few of the
/// filesystem store's read batches, and ranges across their boundaries).
pub async fn roundtrip_and_ranges(store: &dyn BlobStore) {
    let bytes = data(1, 300_000);
    let d = Digest::sha256_of(&bytes);
    let id = uid("rt");
    assert_eq!(
        append(store, &id, 0, &bytes, 7_919).await.unwrap(),
        bytes.len() as u64
    );
    store.commit(&id, bytes.len() as u64, &d).await.unwrap();
    assert_eq!(store.stat(&d).await.unwrap(), Some(bytes.len() as u64));
    assert!(read_all(store, &d, None).await == bytes, "content differs");
    assert!(read_all(store, &d, Some(10..20)).await == bytes[10..20]);
    assert!(read_all(store, &d, Some(99_000..100_000)).await == bytes[99_000..100_000]);
    assert!(read_all(store, &d, Some(131_000..263_000)).await == bytes[131_000..263_000]);
    assert!(read_all(store, &d, Some(262_144..300_000)).await == bytes[262_144..]);
    assert!(
        !store.list_uploads().await.unwrap().contains(&id),
        "commit drops staging"
    );
    assert!(store.delete(&d).await.unwrap());
    assert_eq!(store.stat(&d).await.unwrap(), None);
}

/// Several appends at increasing offsets, then commit; a wrong offset is `RangeInvalid`.
pub async fn chunked_upload_in_order(store: &dyn BlobStore) {
    let bytes = data(2, 30_001);
    let d = Digest::sha256_of(&bytes);
    let id = uid("chunked");
    let mut off = 0u64;
    for part in bytes.chunks(10_000) {
        off = append(store, &id, off, part, 4096).await.unwrap();
    }
    assert_eq!(off, 30_001);
    let err = append(store, &id, 40_000, b"x", 1).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::RangeInvalid);
    let staged = collect(store.read_staged(&id, off).await.unwrap(), usize::MAX)
        .await
        .unwrap();
    assert!(staged == bytes, "staged content differs");
    store.commit(&id, off, &d).await.unwrap();
    assert!(read_all(store, &d, None).await == bytes, "content differs");
    store.delete(&d).await.unwrap();
}

/// A retried append at an earlier offset replaces what was staged after it.
pub async fn retry_overwrites_tail(store: &dyn BlobStore) {
    let good = data(3, 5000);
    let id = uid("retry");
    append(store, &id, 0, &good[..3000], 1000).await.unwrap();
    append(store, &id, 3000, &data(99, 1500), 1000)
        .await
        .unwrap(); // the "failed" tail
    let end = append(store, &id, 3000, &good[3000..], 700).await.unwrap();
    assert_eq!(end, 5000);
    let d = Digest::sha256_of(&good);
    store.commit(&id, 5000, &d).await.unwrap();
    assert!(read_all(store, &d, None).await == good, "content differs");
    store.delete(&d).await.unwrap();
}

/// Commit publishes only the first `size` bytes.
pub async fn commit_truncates_to_size(store: &dyn BlobStore) {
    let bytes = data(4, 2048);
    let id = uid("trunc");
    append(store, &id, 0, &bytes, 512).await.unwrap();
    let d = Digest::sha256_of(&bytes[..1000]);
    store.commit(&id, 1000, &d).await.unwrap();
    assert!(read_all(store, &d, None).await == bytes[..1000]);
    store.delete(&d).await.unwrap();
}

/// Abort leaves nothing; staged bytes are never visible as a blob.
pub async fn abort_leaves_nothing(store: &dyn BlobStore) {
    let bytes = data(5, 4000);
    let d = Digest::sha256_of(&bytes);
    let id = uid("abort");
    append(store, &id, 0, &bytes, 1000).await.unwrap();
    assert_eq!(
        store.stat(&d).await.unwrap(),
        None,
        "staged bytes are not a blob"
    );
    assert!(store.list_uploads().await.unwrap().contains(&id));
    store.abort(&id).await.unwrap();
    store.abort(&id).await.unwrap(); // twice is fine
    assert!(!store.list_uploads().await.unwrap().contains(&id));
    assert_eq!(
        store.get(&d, None).await.err().map(|e| e.code()),
        Some(ErrorCode::BlobUnknown)
    );
}

/// Committing a digest that already exists succeeds and keeps the content.
pub async fn commit_existing_is_idempotent(store: &dyn BlobStore) {
    let bytes = data(6, 3000);
    let d = Digest::sha256_of(&bytes);
    for n in 0..2 {
        let id = uid(&format!("dup{n}"));
        append(store, &id, 0, &bytes, 3000).await.unwrap();
        store.commit(&id, 3000, &d).await.unwrap();
        assert!(!store.list_uploads().await.unwrap().contains(&id));
    }
    assert!(read_all(store, &d, None).await == bytes, "content differs");
    store.delete(&d).await.unwrap();
}

/// Zero-byte blobs work (the empty layer).
pub async fn empty_blob(store: &dyn BlobStore) {
    let d = Digest::sha256_of(b"");
    let id = uid("empty");
    assert_eq!(append(store, &id, 0, b"", 1).await.unwrap(), 0);
    store.commit(&id, 0, &d).await.unwrap();
    assert_eq!(store.stat(&d).await.unwrap(), Some(0));
    assert!(read_all(store, &d, None).await.is_empty());
    store.delete(&d).await.unwrap();
}

/// Blobs larger than one multipart part (object stores) survive chunked staging.
pub async fn large_blob(store: &dyn BlobStore) {
    let bytes = data(7, 20 * 1024 * 1024 + 123);
    let d = Digest::sha256_of(&bytes);
    let id = uid("large");
    let mut off = 0;
    // Uneven chunk sizes, one smaller than S3's 5 MiB part minimum.
    for part in [&bytes[..3 << 20], &bytes[3 << 20..]] {
        off = append(store, &id, off, part, 256 * 1024).await.unwrap();
    }
    store.commit(&id, off, &d).await.unwrap();
    let back = read_all(store, &d, None).await;
    assert_eq!(back.len(), bytes.len());
    assert!(back == bytes, "large blob content differs");
    store.delete(&d).await.unwrap();
}

/// Whole blobs in one stream ([`BlobStore::stage_whole`] then [`BlobStore::commit_whole`]):
/// empty, small, and past one multipart part; hashed on the way, published intact, nothing left
/// staged, and publishing over an existing blob is fine.
pub async fn whole_blobs(store: &dyn BlobStore) {
    for (seed, len) in [(20, 0), (21, 5_000), (22, 9 * 1024 * 1024 + 7)] {
        let bytes = data(seed, len);
        let d = Digest::sha256_of(&bytes);
        for round in 0..2 {
            let id = uid("whole");
            let mut s = stream::iter(chunks(&bytes, 64 * 1024 + 1));
            let (whole, hasher) = store
                .stage_whole(&id, &mut s, Hasher::new(Algorithm::Sha256))
                .await
                .unwrap();
            assert_eq!(whole.size, len as u64);
            assert_eq!(hasher.finish(), d, "len {len}: hash of the streamed bytes");
            store.commit_whole(&id, whole, &d).await.unwrap();
            assert_eq!(
                store.stat(&d).await.unwrap(),
                Some(len as u64),
                "round {round}"
            );
            let back = read_all(store, &d, None).await;
            assert!(back == bytes, "len {len}: content differs");
            assert!(
                !store.list_uploads().await.unwrap().contains(&id),
                "len {len}: staging left behind"
            );
        }
        store.delete(&d).await.unwrap();
    }
}

/// `list` shows published blobs (for GC); deleting a missing blob reports false.
pub async fn list_and_delete(store: &dyn BlobStore) {
    let mut want = Vec::new();
    for seed in 10..13 {
        let bytes = data(seed, 100);
        let d = Digest::sha256_of(&bytes);
        let id = uid("list");
        append(store, &id, 0, &bytes, 100).await.unwrap();
        store.commit(&id, 100, &d).await.unwrap();
        want.push(d);
    }
    let listed: Vec<Digest> = store.list().map(|r| r.unwrap()).collect().await;
    for d in &want {
        assert!(listed.contains(d), "list misses {d}");
        assert!(store.delete(d).await.unwrap());
        assert!(!store.delete(d).await.unwrap());
    }
}

/// An upload id that could escape the staging area is refused.
pub async fn hostile_upload_ids(store: &dyn BlobStore) {
    for id in ["../x", "a/b", "", ".."] {
        let r = append(store, id, 0, b"x", 1).await;
        assert!(r.is_err(), "upload id {id:?} accepted");
    }
}

/// Run every scenario.
pub async fn run_all(store: &dyn BlobStore) {
    roundtrip_and_ranges(store).await;
    chunked_upload_in_order(store).await;
    retry_overwrites_tail(store).await;
    commit_truncates_to_size(store).await;
    abort_leaves_nothing(store).await;
    commit_existing_is_idempotent(store).await;
    empty_blob(store).await;
    large_blob(store).await;
    whole_blobs(store).await;
    list_and_delete(store).await;
    hostile_upload_ids(store).await;
}
