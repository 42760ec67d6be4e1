//! Blob uploads: `POST /v2/<name>/blobs/uploads/` and `GET|PATCH|PUT|DELETE …/uploads/<id>`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use registry_core::Error;
use registry_core::meta::UploadSession;
use registry_core::oci::{Digest, RepoName};

use super::{Ctx, DOCKER_CONTENT_DIGEST, DOCKER_UPLOAD_UUID, hv};
use crate::error::ApiResult;

/// `Content-Range: <start>-<end>` (inclusive; a `bytes ` prefix is tolerated).
fn parse_content_range(v: &str) -> Result<(u64, u64), Error> {
    let bad = || Error::BlobUploadInvalid {
        reason: format!("malformed Content-Range {v:?}"),
    };
    let v = v.trim();
    let v = v
        .strip_prefix("bytes ")
        .or_else(|| v.strip_prefix("bytes="))
        .unwrap_or(v);
    let v = v.split('/').next().unwrap_or(v);
    let (a, b) = v.split_once('-').ok_or_else(bad)?;
    let (a, b) = (
        a.trim().parse::<u64>().map_err(|_| bad())?,
        b.trim().parse::<u64>().map_err(|_| bad())?,
    );
    if b < a {
        return Err(Error::RangeInvalid { offset: a });
    }
    Ok((a, b))
}

/// The chunk a request declares: its start offset (from Content-Range) and length.
fn declared_chunk(ctx: &Ctx) -> Result<(Option<u64>, Option<u64>), Error> {
    let range = ctx
        .header(header::CONTENT_RANGE)
        .map(parse_content_range)
        .transpose()?;
    let length = ctx.content_length().or(range.map(|(a, b)| b - a + 1));
    Ok((range.map(|(a, _)| a), length))
}

fn session_headers(name: &RepoName, id: &str, size: u64, status: StatusCode) -> Response {
    let end = size.saturating_sub(1);
    (
        status,
        [
            (
                header::LOCATION,
                hv(&format!("/v2/{name}/blobs/uploads/{id}")),
            ),
            (header::RANGE, hv(&format!("0-{end}"))),
            (DOCKER_UPLOAD_UUID, hv(id)),
            (header::CONTENT_LENGTH, HeaderValue::from_static("0")),
        ],
    )
        .into_response()
}

fn created(name: &RepoName, digest: &Digest) -> Response {
    (
        StatusCode::CREATED,
        [
            (header::LOCATION, hv(&format!("/v2/{name}/blobs/{digest}"))),
            (DOCKER_CONTENT_DIGEST, hv(&digest.to_string())),
            (header::CONTENT_LENGTH, HeaderValue::from_static("0")),
        ],
    )
        .into_response()
}

fn digest_param(ctx: &Ctx) -> Result<Option<Digest>, Error> {
    ctx.query.get("digest").map(Digest::parse).transpose()
}

pub async fn start(ctx: Ctx, name: RepoName) -> ApiResult<Response> {
    if let Some(mount) = ctx.query.get("mount") {
        let digest = Digest::parse(mount)?;
        let from = ctx
            .query
            .get("from")
            .filter(|f| !f.is_empty())
            .map(RepoName::parse)
            .transpose()?;
        if ctx
            .v2()
            .mount_blob(&name, &digest, from.as_ref())
            .await?
            .is_some()
        {
            return Ok(created(&name, &digest));
        }
        // Nothing to mount: fall back to a regular upload session.
    } else if let Some(digest) = digest_param(&ctx)? {
        let length = ctx.content_length();
        ctx.registry
            .v2(&ctx.caller)
            .push_blob(&name, &digest, Ctx::stream(ctx.body), length)
            .await?;
        return Ok(created(&name, &digest));
    }
    let s: UploadSession = ctx.v2().start_upload(&name).await?;
    Ok(session_headers(&name, &s.id, 0, StatusCode::ACCEPTED))
}

pub async fn status(ctx: Ctx, name: RepoName, id: String) -> ApiResult<Response> {
    let s = ctx.v2().upload_status(&name, &id).await?;
    Ok(session_headers(
        &name,
        &s.id,
        s.size,
        StatusCode::NO_CONTENT,
    ))
}

pub async fn patch(ctx: Ctx, name: RepoName, id: String) -> ApiResult<Response> {
    let (start, length) = declared_chunk(&ctx)?;
    let size = ctx
        .registry
        .v2(&ctx.caller)
        .append_upload(&name, &id, start, Ctx::stream(ctx.body), length)
        .await?;
    Ok(session_headers(&name, &id, size, StatusCode::ACCEPTED))
}

pub async fn put(ctx: Ctx, name: RepoName, id: String) -> ApiResult<Response> {
    let digest = digest_param(&ctx)?.ok_or_else(|| Error::DigestMalformed {
        reason: "the digest query parameter is required".into(),
    })?;
    let (start, length) = declared_chunk(&ctx)?;
    let body = (length != Some(0)).then(|| Ctx::stream(ctx.body));
    ctx.registry
        .v2(&ctx.caller)
        .finish_upload(&name, &id, &digest, start, body, length)
        .await?;
    Ok(created(&name, &digest))
}

pub async fn cancel(ctx: Ctx, name: RepoName, id: String) -> ApiResult<Response> {
    ctx.v2().cancel_upload(&name, &id).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::CONTENT_LENGTH, HeaderValue::from_static("0"))],
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges() {
        assert_eq!(parse_content_range("0-1023").unwrap(), (0, 1023));
        assert_eq!(parse_content_range("bytes 5-9/10").unwrap(), (5, 9));
        assert_eq!(
            parse_content_range("9-5").unwrap_err().code().as_str(),
            "RANGE_INVALID"
        );
        assert_eq!(
            parse_content_range("x").unwrap_err().code().as_str(),
            "BLOB_UPLOAD_INVALID"
        );
    }
}
