//! The rpm database in its SQLite form (`rpmdb.sqlite`, rpm ≥ 4.16: Fedora ≥ 33, RHEL ≥ 9 and
//! their rebuilds, openSUSE): the `Packages` table holds one rpm header per installed package.
//!
//! A header blob is an index of 16-byte entries (tag, type, offset, count; big-endian) followed
//! by a data store; the fields a package needs are read from it by hand. The blob is untrusted:
//! every entry is checked against the data store before it is read, and nothing is allocated
//! from a count it states.

use super::packages::Package;

/// The largest header index accepted (rpm's own limit is 0xffff entries).
const MAX_ENTRIES: usize = 0xffff;

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_VENDOR: u32 = 1011;
const TAG_LICENSE: u32 = 1014;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;

/// The data types of an index entry that are read: INT32, and the three kinds of text (STRING,
/// STRING_ARRAY, I18NSTRING: the first string is taken).
const TYPE_INT32: u32 = 4;
const TYPE_TEXT: [u32; 3] = [6, 8, 9];

/// The fields of one rpm header that an SBOM uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub version: String,
    pub release: String,
    pub epoch: Option<u32>,
    pub arch: Option<String>,
    pub source_rpm: Option<String>,
    pub license: Option<String>,
    pub vendor: Option<String>,
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(s.try_into().ok()?))
}

/// Parse a header blob as the rpm database stores it (`il`, `dl`, the index, the data store),
/// or as an rpm file has it (the same after an 8-byte magic). `None` when it is malformed or
/// lacks a name, version or release.
pub fn parse_header(blob: &[u8]) -> Option<Header> {
    let blob = match blob.strip_prefix(b"\x8e\xad\xe8\x01") {
        Some(rest) => rest.get(4..)?,
        None => blob,
    };
    let il = usize::try_from(be32(blob, 0)?).ok()?;
    let dl = usize::try_from(be32(blob, 4)?).ok()?;
    if il == 0 || il > MAX_ENTRIES {
        return None;
    }
    let index_end = il.checked_mul(16)?.checked_add(8)?;
    let index = blob.get(8..index_end)?;
    let data = blob.get(index_end..index_end.checked_add(dl)?)?;
    let string = |offset: usize| -> Option<String> {
        let s = data.get(offset..)?;
        let end = s.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&s[..end]).into_owned())
    };
    let mut h = Header::default();
    for e in index.chunks_exact(16) {
        let tag = be32(e, 0)?;
        let kind = be32(e, 4)?;
        let offset = usize::try_from(be32(e, 8)?).ok()?;
        let count = be32(e, 12)?;
        if count == 0 {
            continue;
        }
        let text = || TYPE_TEXT.contains(&kind).then(|| string(offset))?;
        match tag {
            TAG_NAME => h.name = text()?,
            TAG_VERSION => h.version = text()?,
            TAG_RELEASE => h.release = text()?,
            TAG_EPOCH if kind == TYPE_INT32 => h.epoch = Some(be32(data, offset)?),
            TAG_ARCH => h.arch = text(),
            TAG_SOURCERPM => h.source_rpm = text(),
            TAG_LICENSE => h.license = text(),
            TAG_VENDOR => h.vendor = text(),
            _ => {}
        }
    }
    (!h.name.is_empty() && !h.version.is_empty() && !h.release.is_empty()).then_some(h)
}

impl Header {
    /// `[epoch:]version-release`, the version rpm compares (and advisories state).
    pub fn evr(&self) -> String {
        match self.epoch {
            Some(e) => format!("{e}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }

    /// The source package's name: `bash-5.1.8-6.el9.src.rpm` -> `bash`.
    pub fn source_name(&self) -> Option<String> {
        let s = self.source_rpm.as_deref()?;
        let s = s
            .strip_suffix(".src.rpm")
            .or_else(|| s.strip_suffix(".nosrc.rpm"))?;
        let (s, _release) = s.rsplit_once('-')?;
        let (name, _version) = s.rsplit_once('-')?;
        (!name.is_empty()).then(|| name.to_owned())
    }

    pub fn package(&self) -> Package {
        Package {
            ecosystem: "rpm",
            name: self.name.clone(),
            version: self.evr(),
            source: self.source_name().filter(|s| *s != self.name),
            arch: self.arch.clone().filter(|a| !a.is_empty() && a != "(none)"),
        }
    }
}

/// The packages of an rpm SQLite database (its file's bytes), public keys (`gpg-pubkey`) left
/// out. The bytes are written to a temporary file that SQLite opens read-only and immutable.
pub fn sqlite_packages(db: &[u8]) -> Result<Vec<Package>, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let path = dir.path().join("rpmdb.sqlite");
    std::fs::write(&path, db).map_err(|e| format!("temporary copy: {e}"))?;
    let read = async {
        use futures::TryStreamExt;
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .read_only(true)
            .immutable(true)
            .create_if_missing(false)
            .connect()
            .await
            .map_err(|e| format!("open: {e}"))?;
        let mut out = Vec::new();
        let mut bad = 0usize;
        {
            let mut rows =
                sqlx::query_scalar::<_, Vec<u8>>("SELECT blob FROM Packages").fetch(&mut conn);
            while let Some(blob) = rows.try_next().await.map_err(|e| format!("read: {e}"))? {
                match parse_header(&blob) {
                    Some(h) if h.name != "gpg-pubkey" => out.push(h.package()),
                    Some(_) => {}
                    None => bad += 1,
                }
            }
        }
        if bad > 0 {
            tracing::warn!(bad, "rpm database: headers that do not parse were skipped");
        }
        let _ = sqlx::Connection::close(conn).await;
        Ok(out)
    };
    // Called on a blocking thread of the runtime (the layer reader), or outside any runtime
    // (tests).
    match tokio::runtime::Handle::try_current() {
        Ok(h) => h.block_on(read),
        Err(_) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("runtime: {e}"))?
            .block_on(read),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A header blob of (tag, type, value): strings NUL-terminated, INT32 big-endian.
    pub(crate) fn header(entries: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, kind, value) in entries {
            if *kind == TYPE_INT32 {
                while !data.len().is_multiple_of(4) {
                    data.push(0);
                }
            }
            index.extend_from_slice(&tag.to_be_bytes());
            index.extend_from_slice(&kind.to_be_bytes());
            index.extend_from_slice(&(data.len() as u32).to_be_bytes());
            index.extend_from_slice(&1u32.to_be_bytes());
            data.extend_from_slice(value);
            if *kind != TYPE_INT32 {
                data.push(0);
            }
        }
        let mut out = (entries.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(&index);
        out.extend_from_slice(&data);
        out
    }

    pub(crate) fn sample(name: &str, epoch: Option<u32>) -> Vec<u8> {
        let e = epoch.map(|e| e.to_be_bytes());
        let mut entries: Vec<(u32, u32, &[u8])> = vec![
            (TAG_NAME, TYPE_TEXT[0], name.as_bytes()),
            (TAG_VERSION, TYPE_TEXT[0], b"3.0.7"),
            (TAG_RELEASE, TYPE_TEXT[0], b"24.el9"),
            (TAG_ARCH, TYPE_TEXT[0], b"x86_64"),
            (TAG_SOURCERPM, TYPE_TEXT[0], b"openssl-3.0.7-24.el9.src.rpm"),
            (TAG_LICENSE, TYPE_TEXT[0], b"ASL 2.0"),
            (
                TAG_VENDOR,
                TYPE_TEXT[0],
                b"Rocky Enterprise Software Foundation",
            ),
        ];
        if let Some(e) = &e {
            entries.push((TAG_EPOCH, TYPE_INT32, e));
        }
        header(&entries)
    }

    #[test]
    fn header_fields() {
        let h = parse_header(&sample("openssl-libs", Some(1))).unwrap();
        assert_eq!(h.evr(), "1:3.0.7-24.el9");
        assert_eq!(h.source_name().as_deref(), Some("openssl"));
        assert_eq!(h.license.as_deref(), Some("ASL 2.0"));
        let p = h.package();
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("openssl-libs", "1:3.0.7-24.el9")
        );
        assert_eq!(
            p.purl("rocky"),
            "pkg:rpm/rocky/openssl-libs@3.0.7-24.el9?arch=x86_64&epoch=1&upstream=openssl"
        );
        let h = parse_header(&sample("openssl", None)).unwrap();
        assert_eq!(h.evr(), "3.0.7-24.el9");
        assert_eq!(h.package().source, None);
        // With the magic of an rpm file's header section in front.
        let mut with_magic = b"\x8e\xad\xe8\x01\0\0\0\0".to_vec();
        with_magic.extend_from_slice(&sample("zlib", None));
        assert_eq!(parse_header(&with_magic).unwrap().name, "zlib");
    }

    #[test]
    fn malformed_headers_give_none() {
        let good = sample("openssl-libs", Some(1));
        for cut in 0..good.len() {
            // Cutting into the data store loses a field or its terminator.
            let _ = parse_header(&good[..cut]);
        }
        assert!(parse_header(&good[..good.len() - 1]).is_none());
        for i in 0..good.len() {
            for x in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] = x;
                let _ = parse_header(&bad);
            }
        }
        // Counts and lengths that would overflow or promise more than there is.
        for (il, dl) in [(u32::MAX, u32::MAX), (0x1_0000, 0), (1, u32::MAX), (0, 0)] {
            let mut bad = il.to_be_bytes().to_vec();
            bad.extend_from_slice(&dl.to_be_bytes());
            bad.extend_from_slice(&good[8..]);
            assert!(parse_header(&bad).is_none(), "{il} {dl}");
        }
        // Offsets beyond the data store; an EPOCH that is not an INT32.
        let mut bad = good.clone();
        bad[8 + 8..8 + 12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(parse_header(&bad).is_none());
        let h = header(&[
            (TAG_NAME, TYPE_TEXT[0], b"a"),
            (TAG_VERSION, TYPE_TEXT[0], b"1"),
            (TAG_RELEASE, TYPE_TEXT[0], b"1"),
            (TAG_EPOCH, TYPE_TEXT[0], b"x"),
        ]);
        assert_eq!(parse_header(&h).unwrap().epoch, None);
        assert!(parse_header(b"").is_none() && parse_header(&[0xff; 7]).is_none());
    }

    #[test]
    fn sqlite_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rpmdb.sqlite");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use sqlx::ConnectOptions;
            let mut c = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .connect()
                .await
                .unwrap();
            sqlx::query("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
                .execute(&mut c)
                .await
                .unwrap();
            for blob in [
                sample("openssl-libs", Some(1)),
                sample("gpg-pubkey", None),
                b"garbage".to_vec(),
            ] {
                sqlx::query("INSERT INTO Packages (blob) VALUES (?)")
                    .bind(blob)
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
            sqlx::Connection::close(c).await.unwrap();
        });
        let db = std::fs::read(&path).unwrap();
        let got = sqlite_packages(&db).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].version, "1:3.0.7-24.el9");
        assert!(sqlite_packages(b"not a database").is_err());
        let _ = sqlite_packages(&db[..db.len() / 2]);
    }
}
