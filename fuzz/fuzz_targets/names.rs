//! Repository names, tags, references and digests (`registry_core::oci`): any string is either
//! accepted, and then obeys the grammar, or refused with the matching error code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use registry_core::oci::name::MAX_NAME_LEN;
use registry_core::oci::{Algorithm, Digest, Reference, RepoName, validate_tag};

fn check(s: &str) {
    match RepoName::parse(s) {
        Ok(n) => {
            assert_eq!(n.as_str(), s);
            assert_eq!(n.to_string(), s);
            assert!(!s.is_empty() && s.len() <= MAX_NAME_LEN, "{s:?}");
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'.' | b'_' | b'-' | b'/')),
                "{s:?}"
            );
            assert!(
                !s.starts_with('/') && !s.ends_with('/') && !s.contains("//"),
                "{s:?}"
            );
            assert!(!s.split('/').any(|c| c == "." || c == ".."), "{s:?}");
            assert!(!s.contains(".."), "{s:?}");
            assert_eq!(Some(n.project()), s.split('/').next());
        }
        Err(e) => assert_eq!(e.code().as_str(), "NAME_INVALID", "{s:?}: {e}"),
    }

    let tag_ok = match validate_tag(s) {
        Ok(()) => {
            assert!((1..=128).contains(&s.len()), "{s:?}");
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')),
                "{s:?}"
            );
            assert!(!s.starts_with(['.', '-']), "{s:?}");
            true
        }
        Err(e) => {
            assert_eq!(e.code().as_str(), "TAG_INVALID", "{s:?}: {e}");
            false
        }
    };

    let digest = match Digest::parse(s) {
        Ok(d) => {
            assert_eq!(d.to_string(), s);
            let hex_len = match d.algorithm() {
                Algorithm::Sha256 => 64,
                Algorithm::Sha512 => 128,
            };
            assert_eq!(d.hex().len(), hex_len);
            assert!(
                d.hex()
                    .bytes()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            );
            assert_eq!(Digest::parse(&d.to_string()).ok().as_ref(), Some(&d));
            assert_eq!(s.parse::<Digest>().ok().as_ref(), Some(&d));
            Some(d)
        }
        Err(e) => {
            assert_eq!(e.code().as_str(), "DIGEST_INVALID", "{s:?}: {e}");
            None
        }
    };

    match Reference::parse(s) {
        Ok(r) => {
            assert_eq!(r.to_string(), s);
            match r {
                Reference::Tag(t) => {
                    assert_eq!(t, s);
                    assert!(tag_ok && !s.contains(':'), "{s:?}");
                }
                Reference::Digest(d) => assert_eq!(Some(d), digest, "{s:?}"),
            }
        }
        Err(e) => {
            let want = if s.contains(':') {
                assert!(digest.is_none(), "{s:?}");
                "DIGEST_INVALID"
            } else {
                assert!(!tag_ok, "{s:?}");
                "TAG_INVALID"
            };
            assert_eq!(e.code().as_str(), want, "{s:?}: {e}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    check(s);
    // `name@digest` and `name:tag`, the way clients write image references.
    if let Some((name, digest)) = s.split_once('@') {
        check(name);
        check(digest);
    } else if let Some((name, tag)) = s.rsplit_once(':') {
        check(name);
        check(tag);
    }
});
