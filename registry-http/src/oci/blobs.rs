//! `GET|HEAD|DELETE /v2/<name>/blobs/<digest>`

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use registry_core::oci::{Digest, RepoName};
use registry_core::{Error, RangeSpec};

use super::{Ctx, DOCKER_CONTENT_DIGEST, hv};
use crate::error::ApiResult;

/// Parse `Range: bytes=a-b | bytes=a- | bytes=-n`. Anything else is `RangeInvalid`.
pub fn parse_range(v: &str) -> Result<RangeSpec, Error> {
    let bad = || Error::RangeInvalid { offset: 0 };
    let spec = v.trim().strip_prefix("bytes=").ok_or_else(bad)?;
    let (a, b) = spec.split_once('-').ok_or_else(bad)?;
    let num = |s: &str| s.trim().parse::<u64>().map_err(|_| bad());
    match (a.trim().is_empty(), b.trim().is_empty()) {
        (true, false) => Ok(RangeSpec::Suffix(num(b)?)),
        (false, true) => Ok(RangeSpec::From {
            start: num(a)?,
            end: None,
        }),
        (false, false) => Ok(RangeSpec::From {
            start: num(a)?,
            end: Some(num(b)?),
        }),
        (true, true) => Err(bad()),
    }
}

pub async fn get(ctx: Ctx, name: RepoName, digest: Digest) -> ApiResult<Response> {
    let range = ctx.header(header::RANGE).map(parse_range).transpose()?;
    let head = ctx.method == Method::HEAD;
    let mut res = if head {
        let size = ctx.v2().head_blob(&name, &digest).await?;
        let mut r = StatusCode::OK.into_response();
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
        r
    } else {
        let blob = match ctx.v2().get_blob(&name, &digest, range).await {
            Err(Error::RangeInvalid { offset }) => {
                let mut r = crate::error::ApiError(Error::RangeInvalid { offset }).into_response();
                r.headers_mut()
                    .insert(header::CONTENT_RANGE, hv(&format!("bytes */{offset}")));
                r.headers_mut().remove(header::RANGE);
                return Ok(r);
            }
            other => other?,
        };
        let len = blob.range.end - blob.range.start;
        let partial = range.is_some();
        let mut r = Response::new(Body::from_stream(blob.body));
        *r.status_mut() = if partial {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        };
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        if partial {
            let v = format!(
                "bytes {}-{}/{}",
                blob.range.start,
                blob.range.end.saturating_sub(1),
                blob.size
            );
            r.headers_mut().insert(header::CONTENT_RANGE, hv(&v));
        }
        r
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(DOCKER_CONTENT_DIGEST, hv(&digest.to_string()));
    h.insert(header::ETAG, hv(&format!("\"{digest}\"")));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=31536000"),
    );
    Ok(res)
}

pub async fn delete(ctx: Ctx, name: RepoName, digest: Digest) -> ApiResult<Response> {
    ctx.v2().delete_blob(&name, &digest).await?;
    Ok((
        StatusCode::ACCEPTED,
        [(DOCKER_CONTENT_DIGEST, hv(&digest.to_string()))],
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(
            parse_range("bytes=1-2").unwrap(),
            RangeSpec::From {
                start: 1,
                end: Some(2)
            }
        );
        assert_eq!(
            parse_range("bytes=5-").unwrap(),
            RangeSpec::From {
                start: 5,
                end: None
            }
        );
        assert_eq!(parse_range("bytes=-5").unwrap(), RangeSpec::Suffix(5));
        for bad in ["", "bytes=", "bytes=-", "items=1-2", "bytes=a-b", "1-2"] {
            assert!(parse_range(bad).is_err(), "{bad}");
        }
    }
}
