//! Repository names, tags and manifest references, per the distribution spec grammar:
//!
//! ```text
//! name      = component ("/" component)*            (at most 255 characters)
//! component = [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
//! tag       = [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
//! ```
//!
//! The grammar alone rules out traversal (`..`), empty segments, upper case and absolute paths,
//! so a validated name is safe to use in storage keys.

use std::fmt;

use crate::error::{Error, Result};
use crate::oci::digest::Digest;

/// Longest repository name accepted.
pub const MAX_NAME_LEN: usize = 255;

/// A validated repository name such as `library/nginx`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName(String);

fn component_ok(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator run: ".", "_", "__" or one or more "-".
        let start = i;
        match b[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if i < b.len() && b[i] == b'_' {
                    i += 1;
                }
            }
            b'-' => {
                while i < b.len() && b[i] == b'-' {
                    i += 1;
                }
            }
            _ => return false,
        }
        if i == start || i >= b.len() || !alnum(b[i]) {
            return false;
        }
    }
    true
}

impl RepoName {
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |reason: &str| Error::NameInvalid {
            reason: format!("{reason}: {s:?}"),
        };
        if s.is_empty() {
            return Err(bad("empty name"));
        }
        if s.len() > MAX_NAME_LEN {
            return Err(Error::NameInvalid {
                reason: format!(
                    "name is {} characters, the limit is {MAX_NAME_LEN}",
                    s.len()
                ),
            });
        }
        for c in s.split('/') {
            if !component_ok(c) {
                return Err(bad(
                    "each path component must match [a-z0-9]+((.|_|__|-+)[a-z0-9]+)*",
                ));
            }
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first path component: the project the repository belongs to.
    pub fn project(&self) -> &str {
        self.0.split('/').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Validate a tag.
pub fn validate_tag(t: &str) -> Result<()> {
    let b = t.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::TagInvalid {
            reason: format!("tag must match [a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}}: {t:?}"),
        })
    }
}

/// The `<reference>` of a manifest path: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reference {
    Tag(String),
    Digest(Digest),
}

impl Reference {
    pub fn parse(s: &str) -> Result<Self> {
        if s.contains(':') {
            Ok(Self::Digest(Digest::parse(s)?))
        } else {
            validate_tag(s)?;
            Ok(Self::Tag(s.to_owned()))
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tag(t) => f.write_str(t),
            Self::Digest(d) => d.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in [
            "a",
            "library/nginx",
            "a-b/c__d/e.f",
            "a--b",
            "x/y/z/0",
            "conformance/distribution-test",
        ] {
            assert!(RepoName::parse(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(256);
        for bad in [
            "",
            "A",
            "Library/nginx",
            "a//b",
            "/a",
            "a/",
            "..",
            "a/../b",
            "a/./b",
            "-a",
            "a-",
            "a___b",
            "a_.b",
            "a b",
            "a/b%2F",
            long.as_str(),
            "a\\b",
            "a..b",
        ] {
            let e = RepoName::parse(bad).unwrap_err();
            assert_eq!(e.code().as_str(), "NAME_INVALID", "{bad}");
        }
        assert_eq!(RepoName::parse("team/app/x").unwrap().project(), "team");
    }

    #[test]
    fn tags_and_references() {
        assert!(validate_tag("v1.0_rc-1").is_ok());
        assert!(validate_tag("_x").is_ok());
        assert!(validate_tag(&"a".repeat(128)).is_ok());
        for bad in ["", ".a", "-a", "a/b", &"a".repeat(129)] {
            assert_eq!(
                validate_tag(bad).unwrap_err().code().as_str(),
                "TAG_INVALID"
            );
        }
        assert!(matches!(
            Reference::parse("latest").unwrap(),
            Reference::Tag(_)
        ));
        let d = Digest::sha256_of(b"x").to_string();
        assert!(matches!(
            Reference::parse(&d).unwrap(),
            Reference::Digest(_)
        ));
        assert_eq!(
            Reference::parse("sha256:zz").unwrap_err().code().as_str(),
            "DIGEST_INVALID"
        );
    }
}
