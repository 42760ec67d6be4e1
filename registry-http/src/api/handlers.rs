//! One handler per operation: extract, one `Registry` call, respond.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
#[allow(unused_imports)]
use registry_core::model;
use registry_core::model::{Label, MemberReq, ProjectReq, RobotReq, UserCreate, UserProfile};
use registry_core::{Error, Registry};
use serde::Deserialize;

use super::{Body, Params, Who, created, is_name, ok, paged, repo_param};
use crate::error::ApiResult;

pub(super) type R = ApiResult<Response>;

pub(super) fn json<T: serde::Serialize>(v: T) -> R {
    Ok(Json(v).into_response())
}

fn required<'a>(p: &'a Params, k: &str) -> ApiResult<&'a str> {
    Ok(p.get(k).ok_or_else(|| Error::BadRequest {
        reason: format!("query parameter {k} is required"),
    })?)
}

pub(super) fn id_param(s: &str) -> ApiResult<i64> {
    Ok(s.parse().map_err(|_| Error::BadRequest {
        reason: format!("{s:?} is not an id"),
    })?)
}

// ---- system ------------------------------------------------------------------------------------

#[utoipa::path(get, path = "/systeminfo", tag = "system", summary = "System information (a subset for anonymous callers)", responses((status = 200, body = serde_json::Value), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn systeminfo(State(reg): State<Registry>, Who(p): Who, headers: HeaderMap) -> R {
    json(
        reg.system_info(&p, &crate::auth::request_base(&headers))
            .await?,
    )
}

#[utoipa::path(get, path = "/statistics", tag = "system", summary = "Project and repository counts visible to the caller", responses((status = 200, body = registry_core::model::Statistics), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn statistics(State(reg): State<Registry>, Who(p): Who) -> R {
    json(reg.statistics(&p).await?)
}

#[utoipa::path(get, path = "/search", tag = "search", summary = "Search projects and repositories by name", responses((status = 200, body = registry_core::model::Search), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn search(State(reg): State<Registry>, Who(p): Who, q: Params) -> R {
    json(reg.search(&p, q.get("q").unwrap_or("")).await?)
}

// ---- projects ----------------------------------------------------------------------------------

#[utoipa::path(get, path = "/projects", tag = "project", summary = "List projects (paged; q, sort, name, public)", responses((status = 200, body = Vec<registry_core::model::Project>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn list_projects(State(reg): State<Registry>, Who(p): Who, uri: Uri, q: Params) -> R {
    let mut list = q.list()?;
    // Harbor's dedicated filters fold into q.
    let mut extra = Vec::new();
    if let Some(name) = q.get("name") {
        extra.push(format!("name=~{name}"));
    }
    if let Some(public) = q.get("public") {
        extra.push(format!("public={public}"));
    }
    if !extra.is_empty() {
        let joined = list
            .q
            .take()
            .into_iter()
            .chain(extra)
            .collect::<Vec<_>>()
            .join(",");
        list.q = Some(joined);
    }
    Ok(paged(&uri, reg.projects(&p, &list).await?))
}

#[utoipa::path(post, path = "/projects", tag = "project", summary = "Create a project", request_body = ProjectReq, responses((status = 201, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn create_project(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Body(req): Body<ProjectReq>,
) -> R {
    let project = reg.create_project(&p, req).await?;
    let by_name = headers
        .get("x-resource-name-in-location")
        .is_some_and(|v| v == "true");
    let key = if by_name {
        project.name.clone()
    } else {
        project.project_id.to_string()
    };
    Ok(created(format!("/api/v2.0/projects/{key}")))
}

#[utoipa::path(head, path = "/projects", tag = "project", summary = "Whether a project exists (project_name=)", responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn head_project(State(reg): State<Registry>, Who(p): Who, q: Params) -> R {
    let name = required(&q, "project_name")?;
    Ok(if reg.project_exists(&p, name).await? {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    }
    .into_response())
}

#[utoipa::path(get, path = "/projects/{project}", tag = "project", summary = "Get a project by name or id", responses((status = 200, body = registry_core::model::Project), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn get_project(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path(project): Path<String>,
) -> R {
    json(reg.project(&p, &project, is_name(&headers)).await?)
}

#[derive(Deserialize)]
pub struct ProjectUpdate {
    #[serde(default)]
    metadata: Option<BTreeMap<String, String>>,
    #[serde(default)]
    public: Option<bool>,
    #[serde(default)]
    #[allow(dead_code)]
    storage_limit: Option<i64>,
    #[serde(default)]
    cve_allowlist: Option<serde_json::Value>,
    #[serde(default)]
    #[allow(dead_code)]
    project_name: Option<String>,
}

#[utoipa::path(put, path = "/projects/{project}", tag = "project", summary = "Update project metadata", request_body = serde_json::Value, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn update_project(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path(project): Path<String>,
    Body(req): Body<ProjectUpdate>,
) -> R {
    let mut metadata = req.metadata.unwrap_or_default();
    if let Some(public) = req.public {
        metadata
            .entry("public".into())
            .or_insert_with(|| public.to_string());
    }
    reg.update_project_and_allowlist(&p, &project, is_name(&headers), metadata, req.cve_allowlist)
        .await?;
    Ok(ok())
}

#[utoipa::path(delete, path = "/projects/{project}", tag = "project", summary = "Delete an empty project", responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn delete_project(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path(project): Path<String>,
) -> R {
    reg.delete_project(&p, &project, is_name(&headers)).await?;
    Ok(ok())
}

#[utoipa::path(get, path = "/projects/{project}/_deletable", tag = "project", summary = "Whether the project can be deleted", responses((status = 200, body = registry_core::model::ProjectDeletable), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn project_deletable(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path(project): Path<String>,
) -> R {
    json(
        reg.project_deletable(&p, &project, is_name(&headers))
            .await?,
    )
}

#[utoipa::path(get, path = "/projects/{project}/summary", tag = "project", summary = "Repository and member counts", responses((status = 200, body = registry_core::model::ProjectSummary), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn project_summary(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path(project): Path<String>,
) -> R {
    json(reg.project_summary(&p, &project, is_name(&headers)).await?)
}

#[utoipa::path(get, path = "/projects/{project}/metadatas", tag = "project", summary = "Project metadata", responses((status = 200, body = BTreeMap<String, String>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn list_metadata(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path(project): Path<String>,
) -> R {
    json(
        reg.project_metadata(&p, &project, is_name(&headers))
            .await?,
    )
}

#[utoipa::path(post, path = "/projects/{project}/metadatas", tag = "project", summary = "Add project metadata", request_body = BTreeMap<String, String>, responses((status = 201, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn add_metadata(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path(project): Path<String>,
    Body(m): Body<BTreeMap<String, String>>,
) -> R {
    reg.update_project(&p, &project, is_name(&headers), m)
        .await?;
    Ok(ok())
}

#[utoipa::path(get, path = "/projects/{project}/metadatas/{key}", tag = "project", summary = "One metadata key", responses((status = 200, body = BTreeMap<String, String>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn get_metadata(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path((project, key)): Path<(String, String)>,
) -> R {
    let all = reg
        .project_metadata(&p, &project, is_name(&headers))
        .await?;
    let v = all.get(&key).ok_or_else(|| Error::NotFound {
        what: format!("metadata {key}"),
    })?;
    json(serde_json::json!({ key: v }))
}

#[utoipa::path(put, path = "/projects/{project}/metadatas/{key}", tag = "project", summary = "Set one metadata key", request_body = BTreeMap<String, String>, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn put_metadata(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path((project, key)): Path<(String, String)>,
    Body(m): Body<BTreeMap<String, String>>,
) -> R {
    if m.len() != 1 || !m.contains_key(&key) {
        return Err(Error::BadRequest {
            reason: format!("the body must be {{\"{key}\": \"value\"}}"),
        }
        .into());
    }
    reg.update_project(&p, &project, is_name(&headers), m)
        .await?;
    Ok(ok())
}

#[utoipa::path(delete, path = "/projects/{project}/metadatas/{key}", tag = "project", summary = "Remove one metadata key", responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn delete_metadata(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path((project, key)): Path<(String, String)>,
) -> R {
    reg.delete_project_metadata(&p, &project, is_name(&headers), &key)
        .await?;
    Ok(ok())
}

// ---- members -----------------------------------------------------------------------------------

#[utoipa::path(get, path = "/projects/{project}/members", tag = "member", summary = "List members (paged; entityname)", responses((status = 200, body = Vec<registry_core::model::Member>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn list_members(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    uri: Uri,
    q: Params,
    Path(project): Path<String>,
) -> R {
    let mut list = q.list()?;
    if let Some(name) = q.get("entityname") {
        list.q = Some(format!("entityname=~{name}"));
    }
    Ok(paged(
        &uri,
        reg.members(&p, &project, is_name(&headers), &list).await?,
    ))
}

#[utoipa::path(post, path = "/projects/{project}/members", tag = "member", summary = "Add a user or group as a member", request_body = MemberReq, responses((status = 201, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn add_member(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    uri: Uri,
    Path(project): Path<String>,
    Body(req): Body<MemberReq>,
) -> R {
    let id = reg.add_member(&p, &project, is_name(&headers), req).await?;
    Ok(created(format!("{}/{id}", super::api_path(&uri))))
}

#[utoipa::path(get, path = "/projects/{project}/members/{mid}", tag = "member", summary = "Get a member", responses((status = 200, body = registry_core::model::Member), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn get_member(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path((project, mid)): Path<(String, String)>,
) -> R {
    json(
        reg.member(&p, &project, is_name(&headers), id_param(&mid)?)
            .await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleReq {
    role_id: i64,
}

#[utoipa::path(put, path = "/projects/{project}/members/{mid}", tag = "member", summary = "Change a member role ({\"role_id\":N})", request_body = serde_json::Value, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn update_member(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path((project, mid)): Path<(String, String)>,
    Body(r): Body<RoleReq>,
) -> R {
    reg.update_member(&p, &project, is_name(&headers), id_param(&mid)?, r.role_id)
        .await?;
    Ok(ok())
}

#[utoipa::path(delete, path = "/projects/{project}/members/{mid}", tag = "member", summary = "Remove a member", responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn delete_member(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path((project, mid)): Path<(String, String)>,
) -> R {
    reg.delete_member(&p, &project, is_name(&headers), id_param(&mid)?)
        .await?;
    Ok(ok())
}

// ---- content trust keys ----------------------------------------------------------------------

#[utoipa::path(get, path = "/projects/{project}/trust-keys", tag = "project", summary = "Keys the project trusts for content trust verification (Berth)", responses((status = 200, body = Vec<registry_core::policy::trust::TrustKey>), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn list_trust_keys(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path(project): Path<String>,
) -> R {
    json(reg.trust_keys(&p, &project, is_name(&headers)).await?)
}

#[utoipa::path(post, path = "/projects/{project}/trust-keys", tag = "project", summary = "Trust a cosign public key or a notation root certificate (PEM) (Berth)", request_body = registry_core::policy::trust::TrustKeyReq, responses((status = 201, body = registry_core::policy::trust::TrustKey), (status = 400, description = "not a supported PEM key or CA certificate"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible"), (status = 409, description = "trusted already")))]
pub async fn add_trust_key(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    uri: Uri,
    Path(project): Path<String>,
    Body(req): Body<registry_core::policy::trust::TrustKeyReq>,
) -> R {
    let key = reg
        .add_trust_key(&p, &project, is_name(&headers), req)
        .await?;
    let mut res = (StatusCode::CREATED, Json(&key)).into_response();
    if let Ok(v) =
        axum::http::HeaderValue::from_str(&format!("{}/{}", super::api_path(&uri), key.id))
    {
        res.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    Ok(res)
}

#[utoipa::path(delete, path = "/projects/{project}/trust-keys/{id}", tag = "project", summary = "Stop trusting a key (Berth)", responses((status = 200, description = "done"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn delete_trust_key(
    State(reg): State<Registry>,
    Who(p): Who,
    headers: HeaderMap,
    Path((project, id)): Path<(String, String)>,
) -> R {
    reg.delete_trust_key(&p, &project, is_name(&headers), id_param(&id)?)
        .await?;
    Ok(ok())
}

// ---- repositories, artifacts, tags -------------------------------------------------------------

#[utoipa::path(get, path = "/repositories", tag = "repository", summary = "All repositories visible to the caller", responses((status = 200, body = Vec<registry_core::model::Repository>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn all_repositories(State(reg): State<Registry>, Who(p): Who, uri: Uri, q: Params) -> R {
    Ok(paged(&uri, reg.repositories(&p, None, &q.list()?).await?))
}

#[utoipa::path(get, path = "/projects/{project}/repositories", tag = "repository", summary = "Repositories of a project", responses((status = 200, body = Vec<registry_core::model::Repository>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn project_repositories(
    State(reg): State<Registry>,
    Who(p): Who,
    uri: Uri,
    q: Params,
    Path(project): Path<String>,
) -> R {
    Ok(paged(
        &uri,
        reg.repositories(&p, Some(&project), &q.list()?).await?,
    ))
}

#[utoipa::path(get, path = "/projects/{project}/repositories/{repo}", tag = "repository", summary = "Get a repository (name URL-encoded twice)", responses((status = 200, body = registry_core::model::Repository), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn get_repository(
    State(reg): State<Registry>,
    Who(p): Who,
    Path((project, repo)): Path<(String, String)>,
) -> R {
    json(reg.repository(&p, &project, &repo_param(&repo)).await?)
}

#[derive(Deserialize)]
pub struct RepoUpdate {
    #[serde(default)]
    description: String,
}

#[utoipa::path(put, path = "/projects/{project}/repositories/{repo}", tag = "repository", summary = "Set the description", request_body = serde_json::Value, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn update_repository(
    State(reg): State<Registry>,
    Who(p): Who,
    Path((project, repo)): Path<(String, String)>,
    Body(u): Body<RepoUpdate>,
) -> R {
    reg.update_repository(&p, &project, &repo_param(&repo), &u.description)
        .await?;
    Ok(ok())
}

#[utoipa::path(delete, path = "/projects/{project}/repositories/{repo}", tag = "repository", summary = "Delete a repository", responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn delete_repository(
    State(reg): State<Registry>,
    Who(p): Who,
    Path((project, repo)): Path<(String, String)>,
) -> R {
    reg.delete_repository(&p, &project, &repo_param(&repo))
        .await?;
    Ok(ok())
}

#[utoipa::path(get, path = "/projects/{project}/repositories/{repo}/artifacts", tag = "artifact", summary = "List artifacts (paged; q with tags=*|nil|~x, labels=(ids))", responses((status = 200, body = Vec<registry_core::model::Artifact>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn list_artifacts(
    State(reg): State<Registry>,
    Who(p): Who,
    uri: Uri,
    q: Params,
    Path((project, repo)): Path<(String, String)>,
) -> R {
    Ok(paged(
        &uri,
        reg.artifacts(&p, &project, &repo_param(&repo), &q.list()?)
            .await?,
    ))
}

#[utoipa::path(post, path = "/projects/{project}/repositories/{repo}/artifacts", tag = "artifact", summary = "Copy an artifact here from=<project>/<repository>:<tag>|@<digest>, with its index children and accessories", params(("from" = String, Query, description = "the source artifact")), responses((status = 201, description = "copied; Location names the copy"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed, or over quota"), (status = 404, description = "not found or not visible")))]
pub async fn copy_artifact(
    State(reg): State<Registry>,
    Who(p): Who,
    uri: Uri,
    q: Params,
    Path((project, repo)): Path<(String, String)>,
) -> R {
    let from = q.get("from").ok_or_else(|| Error::BadRequest {
        reason: "from=<project>/<repository>:<tag>|@<digest> is required".into(),
    })?;
    let digest = reg
        .copy_artifact(&p, &project, &repo_param(&repo), from)
        .await?;
    Ok(created(format!("{}/{digest}", super::api_path(&uri))))
}

/// `<project>/<repo>` and a tag or digest as an image reference.
pub(crate) fn image_ref(
    project: &str,
    repo: &str,
    reference: &str,
) -> Result<registry_core::ImageRef, Error> {
    registry_core::ImageRef::parse(&format!(
        "{project}/{}{}{reference}",
        repo_param(repo),
        if reference.contains(':') { "@" } else { ":" }
    ))
    .map_err(|e| Error::BadRequest {
        reason: e.to_string(),
    })
}

#[utoipa::path(get, path = "/projects/{project}/repositories/{repo}/artifacts/{reference}/additions/vulnerabilities", tag = "artifact", summary = "The artifact's vulnerability reports: report MIME type → Harbor's report; {} when it was never scanned", responses((status = 200, body = serde_json::Value), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn artifact_vulnerabilities(
    State(reg): State<Registry>,
    Who(p): Who,
    Path((project, repo, reference)): Path<(String, String, String)>,
) -> R {
    json(
        reg.vulnerabilities(&p, &image_ref(&project, &repo, &reference)?)
            .await?,
    )
}

#[utoipa::path(get, path = "/projects/{project}/repositories/{repo}/artifacts/{reference}/additions/{addition}", tag = "artifact", summary = "An addition of the artifact: build_history (images: the config's history, JSON), readme.md (text/markdown), values.yaml (text/plain) or dependencies (JSON) of a Helm chart", params(("addition" = String, Path, description = "build_history | readme.md | values.yaml | dependencies")), responses((status = 200, description = "the addition, in its content type"), (status = 400, description = "bad input, or an addition this artifact's type does not have"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible, or the chart has no such file"), (status = 413, description = "the content is larger than the server reads")))]
pub async fn artifact_addition(
    State(reg): State<Registry>,
    Who(p): Who,
    Path((project, repo, reference, addition)): Path<(String, String, String, String)>,
) -> R {
    let a = reg
        .addition(&p, &image_ref(&project, &repo, &reference)?, &addition)
        .await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, a.content_type)],
        a.content,
    )
        .into_response())
}

#[utoipa::path(get, path = "/system/CVEAllowlist", tag = "system", summary = "The system's CVE allowlist", responses((status = 200, body = registry_core::policy::vulnerability::CveAllowlist), (status = 401, description = "credentials needed")))]
pub async fn get_system_allowlist(State(reg): State<Registry>, Who(p): Who) -> R {
    json(reg.system_cve_allowlist(&p).await?)
}

#[utoipa::path(put, path = "/system/CVEAllowlist", tag = "system", summary = "Replace the system's CVE allowlist (system administrators)", request_body = registry_core::policy::vulnerability::CveAllowlist, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed")))]
pub async fn put_system_allowlist(
    State(reg): State<Registry>,
    Who(p): Who,
    Body(list): Body<registry_core::policy::vulnerability::CveAllowlist>,
) -> R {
    reg.set_system_cve_allowlist(&p, list).await?;
    Ok(ok())
}

#[utoipa::path(get, path = "/projects/{project}/repositories/{repo}/artifacts/{reference}", tag = "artifact", summary = "Get an artifact by tag or digest", responses((status = 200, body = registry_core::model::Artifact), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn get_artifact(
    State(reg): State<Registry>,
    Who(p): Who,
    Path((project, repo, reference)): Path<(String, String, String)>,
) -> R {
    json(
        reg.artifact(&p, &project, &repo_param(&repo), &reference)
            .await?,
    )
}

#[utoipa::path(get, path = "/projects/{project}/repositories/{repo}/artifacts/{reference}/accessories", tag = "artifact", summary = "Accessories of an artifact: signatures, SBOMs, referrers (paged; q=type=signature.cosign|signature.notation|sbom.harbor|accelerator.nydus|subject.accessory)", responses((status = 200, body = Vec<registry_core::model::Accessory>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn list_accessories(
    State(reg): State<Registry>,
    Who(p): Who,
    uri: Uri,
    q: Params,
    Path((project, repo, reference)): Path<(String, String, String)>,
) -> R {
    Ok(paged(
        &uri,
        reg.accessories(&p, &project, &repo_param(&repo), &reference, &q.list()?)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/projects/{project}/repositories/{repo}/artifacts/{reference}", tag = "artifact", summary = "Delete an artifact and its tags", responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn delete_artifact(
    State(reg): State<Registry>,
    Who(p): Who,
    Path((project, repo, reference)): Path<(String, String, String)>,
) -> R {
    reg.delete_artifact(&p, &project, &repo_param(&repo), &reference)
        .await?;
    Ok(ok())
}

#[utoipa::path(get, path = "/projects/{project}/repositories/{repo}/artifacts/{reference}/tags", tag = "artifact", summary = "Tags of an artifact", responses((status = 200, body = Vec<registry_core::model::Tag>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn list_tags(
    State(reg): State<Registry>,
    Who(p): Who,
    Path((project, repo, reference)): Path<(String, String, String)>,
) -> R {
    let tags = reg
        .artifact_tags(&p, &project, &repo_param(&repo), &reference)
        .await?;
    let total = tags.len() as u64;
    let mut res = json(tags)?;
    res.headers_mut().insert("x-total-count", total.into());
    Ok(res)
}

#[derive(Deserialize)]
pub struct TagReq {
    name: String,
}

#[utoipa::path(post, path = "/projects/{project}/repositories/{repo}/artifacts/{reference}/tags", tag = "artifact", summary = "Add a tag ({\"name\":\"v1\"})", request_body = serde_json::Value, responses((status = 201, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn create_tag(
    State(reg): State<Registry>,
    Who(p): Who,
    uri: Uri,
    Path((project, repo, reference)): Path<(String, String, String)>,
    Body(t): Body<TagReq>,
) -> R {
    reg.create_tag(&p, &project, &repo_param(&repo), &reference, &t.name)
        .await?;
    Ok(created(format!("{}/{}", super::api_path(&uri), t.name)))
}

#[utoipa::path(delete, path = "/projects/{project}/repositories/{repo}/artifacts/{reference}/tags/{tag}", tag = "artifact", summary = "Remove a tag", responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn delete_tag(
    State(reg): State<Registry>,
    Who(p): Who,
    Path((project, repo, reference, tag)): Path<(String, String, String, String)>,
) -> R {
    reg.delete_tag(&p, &project, &repo_param(&repo), &reference, &tag)
        .await?;
    Ok(ok())
}

#[derive(Deserialize)]
pub struct LabelRef {
    id: i64,
}

#[utoipa::path(post, path = "/projects/{project}/repositories/{repo}/artifacts/{reference}/labels", tag = "label", summary = "Attach a label ({\"id\":N})", request_body = serde_json::Value, responses((status = 201, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn attach_label(
    State(reg): State<Registry>,
    Who(p): Who,
    Path((project, repo, reference)): Path<(String, String, String)>,
    Body(l): Body<LabelRef>,
) -> R {
    reg.attach_label(&p, &project, &repo_param(&repo), &reference, l.id)
        .await?;
    Ok(ok())
}

#[utoipa::path(delete, path = "/projects/{project}/repositories/{repo}/artifacts/{reference}/labels/{label}", tag = "label", summary = "Detach a label", responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn detach_label(
    State(reg): State<Registry>,
    Who(p): Who,
    Path((project, repo, reference, label)): Path<(String, String, String, String)>,
) -> R {
    reg.detach_label(
        &p,
        &project,
        &repo_param(&repo),
        &reference,
        id_param(&label)?,
    )
    .await?;
    Ok(ok())
}

// ---- users and groups --------------------------------------------------------------------------

#[utoipa::path(get, path = "/users", tag = "user", summary = "List users (system admins)", responses((status = 200, body = Vec<registry_core::model::User>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn list_users(State(reg): State<Registry>, Who(p): Who, uri: Uri, q: Params) -> R {
    Ok(paged(&uri, reg.users(&p, &q.list()?).await?))
}

#[utoipa::path(post, path = "/users", tag = "user", summary = "Create a local user", request_body = UserCreate, responses((status = 201, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn create_user(State(reg): State<Registry>, Who(p): Who, Body(u): Body<UserCreate>) -> R {
    let user = reg.create_user(&p, u).await?;
    Ok(created(format!("/api/v2.0/users/{}", user.user_id)))
}

#[utoipa::path(get, path = "/users/current", tag = "user", summary = "The signed-in user", responses((status = 200, body = registry_core::model::User), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn current_user(State(reg): State<Registry>, Who(p): Who) -> R {
    json(reg.current_user(&p).await?)
}

#[utoipa::path(get, path = "/users/current/permissions", tag = "user", summary = "What the caller may do (scope=/system or /project/ID)", responses((status = 200, body = Vec<registry_core::model::Permission>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn current_permissions(State(reg): State<Registry>, Who(p): Who, q: Params) -> R {
    json(
        reg.permissions(&p, q.get("scope").unwrap_or("/system"))
            .await?,
    )
}

#[utoipa::path(get, path = "/users/search", tag = "user", summary = "Find users by name (username=)", responses((status = 200, body = Vec<registry_core::model::User>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn search_users(State(reg): State<Registry>, Who(p): Who, uri: Uri, q: Params) -> R {
    let name = required(&q, "username")?.to_owned();
    Ok(paged(&uri, reg.search_users(&p, &name, &q.list()?).await?))
}

#[utoipa::path(get, path = "/users/{id}", tag = "user", summary = "Get a user", responses((status = 200, body = registry_core::model::User), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn get_user(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    json(reg.user(&p, id_param(&id)?).await?)
}

#[utoipa::path(put, path = "/users/{id}", tag = "user", summary = "Update a profile", request_body = UserProfile, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn update_user(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
    Body(u): Body<UserProfile>,
) -> R {
    reg.update_user(&p, id_param(&id)?, u).await?;
    Ok(ok())
}

#[utoipa::path(delete, path = "/users/{id}", tag = "user", summary = "Delete a user", responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn delete_user(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    reg.delete_user(&p, id_param(&id)?).await?;
    Ok(ok())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordReq {
    #[serde(default)]
    old_password: Option<String>,
    new_password: String,
}

#[utoipa::path(put, path = "/users/{id}/password", tag = "user", summary = "Change a password ({old_password,new_password})", request_body = serde_json::Value, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn change_password(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
    Body(r): Body<PasswordReq>,
) -> R {
    reg.change_password(
        &p,
        id_param(&id)?,
        r.old_password.as_deref(),
        &r.new_password,
    )
    .await?;
    Ok(ok())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SysadminReq {
    sysadmin_flag: bool,
}

#[utoipa::path(put, path = "/users/{id}/sysadmin", tag = "user", summary = "Grant or revoke system admin ({sysadmin_flag})", request_body = serde_json::Value, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn set_sysadmin(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
    Body(r): Body<SysadminReq>,
) -> R {
    reg.set_sysadmin(&p, id_param(&id)?, r.sysadmin_flag)
        .await?;
    Ok(ok())
}

#[utoipa::path(get, path = "/usergroups", tag = "usergroup", summary = "List user groups", responses((status = 200, body = Vec<registry_core::model::UserGroup>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn list_groups(State(reg): State<Registry>, Who(p): Who, uri: Uri, q: Params) -> R {
    Ok(paged(&uri, reg.user_groups(&p, &q.list()?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupReq {
    group_name: String,
    #[serde(default = "one")]
    group_type: i64,
    #[serde(default)]
    ldap_group_dn: String,
    #[serde(default)]
    #[allow(dead_code)]
    id: Option<i64>,
}

fn one() -> i64 {
    1
}

#[utoipa::path(post, path = "/usergroups", tag = "usergroup", summary = "Create a user group", request_body = serde_json::Value, responses((status = 201, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn create_group(State(reg): State<Registry>, Who(p): Who, Body(g): Body<GroupReq>) -> R {
    let group = reg
        .create_user_group(&p, &g.group_name, g.group_type, &g.ldap_group_dn)
        .await?;
    Ok(created(format!("/api/v2.0/usergroups/{}", group.id)))
}

#[utoipa::path(get, path = "/usergroups/{id}", tag = "usergroup", summary = "Get a user group", responses((status = 200, body = registry_core::model::UserGroup), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn get_group(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    json(reg.user_group(&p, id_param(&id)?).await?)
}

#[utoipa::path(put, path = "/usergroups/{id}", tag = "usergroup", summary = "Rename a user group", request_body = serde_json::Value, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn update_group(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
    Body(g): Body<GroupReq>,
) -> R {
    reg.rename_user_group(&p, id_param(&id)?, &g.group_name)
        .await?;
    Ok(ok())
}

#[utoipa::path(delete, path = "/usergroups/{id}", tag = "usergroup", summary = "Delete a user group", responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn delete_group(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    reg.delete_user_group(&p, id_param(&id)?).await?;
    Ok(ok())
}

// ---- robots ------------------------------------------------------------------------------------

#[utoipa::path(get, path = "/robots", tag = "robot", summary = "List robots (q=Level=system or Level=project,ProjectID=N)", responses((status = 200, body = Vec<registry_core::model::Robot>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn list_robots(State(reg): State<Registry>, Who(p): Who, uri: Uri, q: Params) -> R {
    Ok(paged(&uri, reg.robots(&p, &q.list()?).await?))
}

#[utoipa::path(post, path = "/robots", tag = "robot", summary = "Create a robot; the secret is returned once", request_body = RobotReq, responses((status = 201, body = registry_core::model::RobotCreated), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn create_robot(State(reg): State<Registry>, Who(p): Who, Body(r): Body<RobotReq>) -> R {
    let robot = reg.create_robot(&p, r).await?;
    let mut res = (StatusCode::CREATED, Json(&robot)).into_response();
    if let Ok(v) = format!("/api/v2.0/robots/{}", robot.id).parse() {
        res.headers_mut().insert("location", v);
    }
    Ok(res)
}

#[utoipa::path(get, path = "/robots/{id}", tag = "robot", summary = "Get a robot", responses((status = 200, body = registry_core::model::Robot), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn get_robot(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    json(reg.robot(&p, id_param(&id)?).await?)
}

#[utoipa::path(put, path = "/robots/{id}", tag = "robot", summary = "Update a robot", request_body = RobotReq, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn update_robot(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
    Body(r): Body<RobotReq>,
) -> R {
    reg.update_robot(&p, id_param(&id)?, r).await?;
    Ok(ok())
}

#[utoipa::path(delete, path = "/robots/{id}", tag = "robot", summary = "Delete a robot", responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn delete_robot(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    reg.delete_robot(&p, id_param(&id)?).await?;
    Ok(ok())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretReq {
    #[serde(default)]
    secret: Option<String>,
}

#[utoipa::path(patch, path = "/robots/{id}", tag = "robot", summary = "Set or generate a new secret", request_body = serde_json::Value, responses((status = 200, body = serde_json::Value), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn refresh_robot(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
    Body(s): Body<SecretReq>,
) -> R {
    let secret = reg
        .refresh_robot_secret(&p, id_param(&id)?, s.secret.filter(|s| !s.is_empty()))
        .await?;
    json(serde_json::json!({ "secret": secret }))
}

// ---- labels ------------------------------------------------------------------------------------

#[utoipa::path(get, path = "/labels", tag = "label", summary = "List labels (scope=g, or scope=p&project_id=N)", responses((status = 200, body = Vec<registry_core::model::Label>), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn list_labels(State(reg): State<Registry>, Who(p): Who, uri: Uri, q: Params) -> R {
    let scope = q.get("scope").unwrap_or("g").to_owned();
    let project_id = match q.get("project_id") {
        Some(v) => id_param(v)?,
        None if scope == "p" => {
            return Err(Error::BadRequest {
                reason: "scope=p needs project_id".into(),
            }
            .into());
        }
        None => 0,
    };
    let mut list = q.list()?;
    if let Some(name) = q.get("name") {
        list.q = Some(format!("name=~{name}"));
    }
    Ok(paged(
        &uri,
        reg.labels(&p, &scope, project_id, &list).await?,
    ))
}

#[utoipa::path(post, path = "/labels", tag = "label", summary = "Create a label", request_body = Label, responses((status = 201, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn create_label(State(reg): State<Registry>, Who(p): Who, Body(l): Body<Label>) -> R {
    let label = reg.create_label(&p, l).await?;
    Ok(created(format!("/api/v2.0/labels/{}", label.id)))
}

#[utoipa::path(get, path = "/labels/{id}", tag = "label", summary = "Get a label", responses((status = 200, body = registry_core::model::Label), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn get_label(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    json(reg.label(&p, id_param(&id)?).await?)
}

#[utoipa::path(put, path = "/labels/{id}", tag = "label", summary = "Update a label", request_body = Label, responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn update_label(
    State(reg): State<Registry>,
    Who(p): Who,
    Path(id): Path<String>,
    Body(l): Body<Label>,
) -> R {
    reg.update_label(&p, id_param(&id)?, l).await?;
    Ok(ok())
}

#[utoipa::path(delete, path = "/labels/{id}", tag = "label", summary = "Delete a label", responses((status = 200, description = "done"), (status = 400, description = "bad input"), (status = 401, description = "credentials needed"), (status = 403, description = "not allowed"), (status = 404, description = "not found or not visible")))]
pub async fn delete_label(State(reg): State<Registry>, Who(p): Who, Path(id): Path<String>) -> R {
    reg.delete_label(&p, id_param(&id)?).await?;
    Ok(ok())
}
