//! Manifests, tags, referrers and the catalog.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use registry_core::Error;
use registry_core::oci::manifest::{MAX_MANIFEST_BYTES, OCI_INDEX};
use registry_core::oci::{Digest, Reference, RepoName};

use super::{Ctx, DOCKER_CONTENT_DIGEST, OCI_FILTERS_APPLIED, OCI_SUBJECT, OCI_TAG, hv};
use crate::error::ApiResult;

pub async fn get(ctx: Ctx, name: RepoName, reference: Reference) -> ApiResult<Response> {
    let m = ctx.v2().get_manifest(&name, &reference).await?;
    if ctx.method == Method::GET {
        ctx.registry.record_pull(&name, &reference, &m.digest);
    }
    let len = m.content.len();
    let body = if ctx.method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(m.content.clone())
    };
    let mut res = Response::new(body);
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, hv(&m.media_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ETAG, hv(&format!("\"{}\"", m.digest)));
    h.insert(DOCKER_CONTENT_DIGEST, hv(&m.digest));
    Ok(res)
}

pub async fn put(ctx: Ctx, name: RepoName, reference: Reference) -> ApiResult<Response> {
    let content_type = ctx.header(header::CONTENT_TYPE).map(str::to_owned);
    let extra_tags = ctx.query.all("tag");
    let body = axum::body::to_bytes(ctx.body, MAX_MANIFEST_BYTES)
        .await
        .map_err(|e| Error::ManifestInvalid {
            reason: format!(
                "manifest body unreadable or larger than {MAX_MANIFEST_BYTES} bytes: {e}"
            ),
        })?;
    let out = ctx
        .registry
        .v2(&ctx.caller)
        .put_manifest(
            &name,
            &reference,
            content_type.as_deref(),
            body,
            &extra_tags,
        )
        .await?;
    let mut res = StatusCode::CREATED.into_response();
    let h = res.headers_mut();
    h.insert(
        header::LOCATION,
        hv(&format!("/v2/{name}/manifests/{}", out.digest)),
    );
    h.insert(DOCKER_CONTENT_DIGEST, hv(&out.digest.to_string()));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    if let Some(subject) = &out.subject {
        h.insert(OCI_SUBJECT, hv(&subject.to_string()));
    }
    for t in &out.tags {
        h.append(OCI_TAG, hv(t));
    }
    Ok(res)
}

pub async fn delete(ctx: Ctx, name: RepoName, reference: Reference) -> ApiResult<Response> {
    ctx.v2().delete_manifest(&name, &reference).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

/// Parse `n` (page size); `n=0` is a valid, empty page.
fn page_size(ctx: &Ctx) -> Result<Option<u32>, Error> {
    ctx.query
        .get("n")
        .map(|n| {
            n.parse::<u32>()
                .map_err(|_| Error::PaginationNumberInvalid {
                    reason: format!("n={n:?}"),
                })
        })
        .transpose()
}

/// A JSON page with a `Link: <…?n=N&last=X>; rel="next"` header when the page is full.
fn page(path: &str, n: Option<u32>, items: &[String], body: serde_json::Value) -> Response {
    let mut res = (StatusCode::OK, axum::Json(body)).into_response();
    if let (Some(n), Some(last)) = (n, items.last())
        && n > 0
        && items.len() as u32 >= n
    {
        let last: String = form_urlencoded::byte_serialize(last.as_bytes()).collect();
        res.headers_mut().insert(
            header::LINK,
            hv(&format!("<{path}?n={n}&last={last}>; rel=\"next\"")),
        );
    }
    res
}

pub async fn tags(ctx: Ctx, name: RepoName) -> ApiResult<Response> {
    let n = page_size(&ctx)?;
    let tags = ctx.v2().list_tags(&name, n, ctx.query.get("last")).await?;
    let body = serde_json::json!({ "name": name.as_str(), "tags": tags });
    Ok(page(&format!("/v2/{name}/tags/list"), n, &tags, body))
}

pub async fn catalog(ctx: Ctx) -> ApiResult<Response> {
    let n = page_size(&ctx)?;
    let repos = ctx.v2().catalog(n, ctx.query.get("last")).await?;
    let body = serde_json::json!({ "repositories": repos });
    Ok(page("/v2/_catalog", n, &repos, body))
}

pub async fn referrers(ctx: Ctx, name: RepoName, digest: Digest) -> ApiResult<Response> {
    let filter = ctx.query.get("artifactType").filter(|t| !t.is_empty());
    let index = ctx.v2().referrers(&name, &digest, filter).await?;
    let mut res = Response::new(Body::from(index.body));
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(OCI_INDEX));
    if index.filtered {
        res.headers_mut().insert(
            OCI_FILTERS_APPLIED,
            HeaderValue::from_static("artifactType"),
        );
    }
    Ok(res)
}
