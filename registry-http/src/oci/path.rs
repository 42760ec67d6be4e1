//! The `/v2/…` path grammar. Repository names contain `/`, which axum routes cannot express in
//! the middle of a path, so the distribution API sits behind one catch-all and this pure parser:
//! the last segment is a digest, tag or upload id, and the segment(s) before it say which.

use registry_core::oci::{Digest, Reference, RepoName};
use registry_core::{Error, Result};

/// A parsed distribution API route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/v2/`
    Base,
    /// `/v2/_catalog`
    Catalog,
    /// `/v2/<name>/tags/list`
    Tags(RepoName),
    /// `/v2/<name>/manifests/<reference>`
    Manifest(RepoName, Reference),
    /// `/v2/<name>/blobs/<digest>`
    Blob(RepoName, Digest),
    /// `/v2/<name>/blobs/uploads/`
    UploadStart(RepoName),
    /// `/v2/<name>/blobs/uploads/<id>`
    Upload(RepoName, String),
    /// `/v2/<name>/referrers/<digest>`
    Referrers(RepoName, Digest),
}

/// Parse the part of the path after `/v2/`.
pub fn parse(rest: &str) -> Result<Route> {
    let unknown = || Error::NotFound {
        what: format!("route /v2/{rest}"),
    };
    if rest.is_empty() {
        return Ok(Route::Base);
    }
    if rest == "_catalog" {
        return Ok(Route::Catalog);
    }
    let (prefix, last) = rest.rsplit_once('/').ok_or_else(unknown)?;
    if let Some(name) = prefix.strip_suffix("/blobs/uploads") {
        let name = RepoName::parse(name)?;
        return Ok(if last.is_empty() {
            Route::UploadStart(name)
        } else {
            Route::Upload(name, last.to_owned())
        });
    }
    if let Some(name) = prefix.strip_suffix("/tags")
        && last == "list"
    {
        return Ok(Route::Tags(RepoName::parse(name)?));
    }
    if let Some(name) = prefix.strip_suffix("/blobs") {
        if last == "uploads" {
            return Ok(Route::UploadStart(RepoName::parse(name)?));
        }
        return Ok(Route::Blob(RepoName::parse(name)?, Digest::parse(last)?));
    }
    if let Some(name) = prefix.strip_suffix("/manifests") {
        return Ok(Route::Manifest(
            RepoName::parse(name)?,
            Reference::parse(last)?,
        ));
    }
    if let Some(name) = prefix.strip_suffix("/referrers") {
        return Ok(Route::Referrers(
            RepoName::parse(name)?,
            Digest::parse(last)?,
        ));
    }
    Err(unknown())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> RepoName {
        RepoName::parse(s).unwrap()
    }

    #[test]
    fn routes() {
        let d = Digest::sha256_of(b"x");
        assert_eq!(parse("").unwrap(), Route::Base);
        assert_eq!(parse("_catalog").unwrap(), Route::Catalog);
        assert_eq!(parse("a/b/tags/list").unwrap(), Route::Tags(name("a/b")));
        assert_eq!(
            parse("a/blobs/uploads/").unwrap(),
            Route::UploadStart(name("a"))
        );
        assert_eq!(
            parse("a/blobs/uploads").unwrap(),
            Route::UploadStart(name("a"))
        );
        assert_eq!(
            parse("a/blobs/uploads/abc-1").unwrap(),
            Route::Upload(name("a"), "abc-1".into())
        );
        assert_eq!(
            parse(&format!("x/y/blobs/{d}")).unwrap(),
            Route::Blob(name("x/y"), d.clone())
        );
        assert_eq!(
            parse("x/manifests/latest").unwrap(),
            Route::Manifest(name("x"), Reference::Tag("latest".into()))
        );
        assert_eq!(
            parse(&format!("x/referrers/{d}")).unwrap(),
            Route::Referrers(name("x"), d.clone())
        );
        // Names may contain the words the grammar uses as markers.
        assert_eq!(
            parse("a/blobs/b/manifests/v1").unwrap(),
            Route::Manifest(name("a/blobs/b"), Reference::Tag("v1".into()))
        );
        assert_eq!(parse("tags/tags/list").unwrap(), Route::Tags(name("tags")));
    }

    #[test]
    fn bad_paths() {
        assert_eq!(
            parse("A/manifests/x").unwrap_err().code().as_str(),
            "NAME_INVALID"
        );
        assert_eq!(
            parse("../etc/manifests/x").unwrap_err().code().as_str(),
            "NAME_INVALID"
        );
        assert_eq!(
            parse("a//b/manifests/x").unwrap_err().code().as_str(),
            "NAME_INVALID"
        );
        assert_eq!(
            parse("a/blobs/sha256:00").unwrap_err().code().as_str(),
            "DIGEST_INVALID"
        );
        assert_eq!(
            parse("a/manifests/-bad").unwrap_err().code().as_str(),
            "TAG_INVALID"
        );
        assert_eq!(
            parse("a/whatever/x").unwrap_err().code().as_str(),
            "NOT_FOUND"
        );
        assert_eq!(parse("nothing").unwrap_err().code().as_str(), "NOT_FOUND");
    }
}
