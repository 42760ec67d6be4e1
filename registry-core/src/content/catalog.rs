//! The management views of content: repositories, artifacts, tags, labels, search, statistics.
//! Repository paths under a project are relative (`/projects/team/repositories/app` is
//! `team/app`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::access::{ProjectAccess, refuse};
use crate::auth::{Action, Principal, ProjectResource as R, SystemResource};
use crate::error::{Error, Result};
use crate::meta::identity::{ArtifactRow, LabelRow, RepositoryRow};
use crate::model::{
    Accessory, Artifact, ArtifactReference, Label, Repository, Search, SearchRepository,
    Statistics, Tag, time,
};
use crate::oci::{Digest, Reference, RepoName, validate_tag};
use crate::query::{Field, Kind, ListQuery, Match, Page, Value, field};
use crate::registry::Registry;

const REPO_FIELDS: &[Field] = &[
    field("name", "r.name", Kind::Text),
    field("project_id", "r.project_id", Kind::Int),
    field("creation_time", "r.created_at", Kind::Time),
    field("update_time", "r.updated_at", Kind::Time),
    field("pull_count", "r.pull_count", Kind::Int),
];

const ARTIFACT_FIELDS: &[Field] = &[
    field("digest", "m.digest", Kind::Text),
    field("media_type", "m.media_type", Kind::Text),
    field("artifact_type", "m.artifact_type", Kind::Text),
    field("push_time", "m.created_at", Kind::Time),
    field("pull_time", "m.pulled_at", Kind::Time),
    field("size", ARTIFACT_SIZE, Kind::Int),
    field("tags", "", Kind::Text),
    field("labels", "", Kind::Int),
];

/// The size an artifact is shown with: its manifest plus the blobs it references (summed when
/// it was pushed).
const ARTIFACT_SIZE: &str = "(m.size + m.blob_size)";

const LABEL_FIELDS: &[Field] = &[
    field("name", "name", Kind::Text),
    field("id", "id", Kind::Int),
];

/// Harbor's artifact type from the stored media types.
fn artifact_kind(media_type: &str, artifact_type: Option<&str>) -> &'static str {
    match artifact_type.unwrap_or(media_type) {
        t if t.contains("image.config") || t.contains("container.image") => "IMAGE",
        t if t.contains("image.index") || t.contains("manifest.list") => "IMAGE",
        t if t.contains("helm.config") => "CHART",
        t if t.contains("cnab") => "CNAB",
        t if t.contains("wasm") => "WASM",
        _ => "UNKNOWN",
    }
}

fn label_view(l: LabelRow) -> Label {
    Label {
        id: l.id,
        name: l.name,
        description: l.description,
        color: l.color,
        scope: l.scope,
        project_id: l.project_id,
        creation_time: time(l.created_at),
        update_time: time(l.updated_at),
    }
}

fn repo_view(r: RepositoryRow) -> Repository {
    Repository {
        id: r.id,
        project_id: r.project_id,
        name: r.name,
        description: r.description,
        // Listings and the counted lookup, which give repositories to this view, count.
        artifact_count: r.artifact_count.unwrap_or_default(),
        pull_count: r.pull_count,
        creation_time: time(r.created_at),
        update_time: time(r.updated_at),
    }
}

impl Registry {
    /// The project and full repository name for `(project, relative repository)`, requiring
    /// `action` on `resource`.
    pub(crate) async fn repo_in(
        &self,
        p: &Principal,
        project: &str,
        repo: &str,
        resource: R,
        action: Action,
    ) -> Result<(Arc<ProjectAccess>, RepositoryRow)> {
        self.find_repo(p, project, repo, resource, action, false)
            .await
    }

    /// [`Self::repo_in`], with the repository's artifact count when `counted`.
    async fn find_repo(
        &self,
        p: &Principal,
        project: &str,
        repo: &str,
        resource: R,
        action: Action,
        counted: bool,
    ) -> Result<(Arc<ProjectAccess>, RepositoryRow)> {
        let access = self
            .require_project(p, project, true, resource, action)
            .await?;
        let full = format!("{}/{repo}", access.project.name);
        let row = if counted {
            self.meta.repository_counted(&full).await?
        } else {
            self.meta.repository(&full).await?
        };
        let row = row.ok_or_else(|| Error::NotFound {
            what: format!("repository {full}"),
        })?;
        Ok((access, row))
    }

    /// Repositories the caller may see, all or in one project.
    pub async fn repositories(
        &self,
        p: &Principal,
        project: Option<&str>,
        q: &ListQuery,
    ) -> Result<Page<Repository>> {
        let spec = q.parse(REPO_FIELDS, &[("r.name", false)])?;
        let project_id = match project {
            Some(name) => Some(
                self.project_for_listing(p, name, true, R::Repository)
                    .await?
                    .project
                    .id,
            ),
            None => None,
        };
        let vis = self.visibility(p).await?;
        let (rows, total) = self.meta.list_repositories(&vis, project_id, &spec).await?;
        Ok(spec.page_of(rows.into_iter().map(repo_view).collect(), total))
    }

    pub async fn repository(&self, p: &Principal, project: &str, repo: &str) -> Result<Repository> {
        Ok(repo_view(
            self.find_repo(p, project, repo, R::Repository, Action::Read, true)
                .await?
                .1,
        ))
    }

    pub async fn update_repository(
        &self,
        p: &Principal,
        project: &str,
        repo: &str,
        description: &str,
    ) -> Result<()> {
        let (_, row) = self
            .repo_in(p, project, repo, R::Repository, Action::Update)
            .await?;
        self.meta
            .set_repository_description(&row.name, description, self.now_ms())
            .await?;
        Ok(())
    }

    /// Delete a repository and everything in it (blob bytes go at garbage collection).
    pub async fn delete_repository(&self, p: &Principal, project: &str, repo: &str) -> Result<()> {
        self.check_writable().await?;
        let (_, row) = self
            .repo_in(p, project, repo, R::Repository, Action::Delete)
            .await?;
        self.check_repository_deletable(&RepoName::parse(&row.name)?)
            .await?;
        let event = crate::meta::governance::NewEvent::new(
            "DELETE_REPOSITORY",
            "repository",
            row.name.clone(),
            "delete",
        );
        self.meta
            .delete_repository(&row.name, self.now_ms(), std::slice::from_ref(&event))
            .await?;
        self.manifests_changed(&RepoName::parse(&row.name)?);
        Ok(())
    }

    async fn artifact_views(
        &self,
        repo: &RepositoryRow,
        rows: Vec<ArtifactRow>,
    ) -> Result<Vec<Artifact>> {
        let digests: Vec<String> = rows.iter().map(|r| r.digest.clone()).collect();
        let mut tags: HashMap<String, Vec<Tag>> = HashMap::new();
        for t in self.meta.artifact_tags(repo.id, &digests).await? {
            let immutable = self.tag_is_immutable(&repo.name, &t.name).await?;
            tags.entry(t.digest).or_default().push(Tag {
                repository_id: repo.id,
                name: t.name,
                push_time: time(t.push_time),
                pull_time: None,
                immutable,
            });
        }
        let mut refs: HashMap<String, Vec<ArtifactReference>> = HashMap::new();
        for (parent, child) in self.meta.artifact_children(repo.id, &digests).await? {
            refs.entry(parent).or_default().push(ArtifactReference {
                parent_id: 0,
                child_digest: child,
            });
        }
        let mut labels: HashMap<String, Vec<Label>> = HashMap::new();
        for (d, l) in self.meta.artifact_labels(repo.id, &digests).await? {
            labels.entry(d).or_default().push(label_view(l));
        }
        let name = RepoName::parse(&repo.name)?;
        let parents = self.meta.artifact_parents(repo.id, &digests).await?;
        let mut wanted = digests.clone();
        wanted.extend(parents.iter().map(|(_, parent)| parent.clone()));
        wanted.sort();
        wanted.dedup();
        let mut accessories: HashMap<String, Vec<Accessory>> = HashMap::new();
        for a in self.meta.accessories_of(repo.id, &wanted).await? {
            let subject = a.subject.clone();
            let mut view = self.accessory_view(&name, a);
            view.verification = self.signature_status(&name, repo.project_id, &view).await?;
            accessories.entry(subject).or_default().push(view);
        }
        let mut scans = self.scan_overviews(repo.project_id, &digests).await?;
        Ok(rows
            .into_iter()
            .map(|a| Artifact {
                project_id: repo.project_id,
                repository_id: repo.id,
                repository_name: repo.name.clone(),
                kind: artifact_kind(&a.media_type, a.artifact_type.as_deref()).into(),
                manifest_media_type: a.media_type.clone(),
                media_type: a
                    .artifact_type
                    .clone()
                    .unwrap_or_else(|| a.media_type.clone()),
                addition_links: crate::content::addition::addition_links(
                    &repo.name,
                    &a.digest,
                    a.artifact_type.as_deref(),
                ),
                artifact_type: a.artifact_type,
                size: a.size,
                push_time: time(a.push_time),
                pull_time: a.pull_time.map(time),
                annotations: a.annotations.and_then(|s| serde_json::from_str(&s).ok()),
                tags: tags.remove(&a.digest).unwrap_or_default(),
                references: refs.remove(&a.digest).unwrap_or_default(),
                labels: labels.remove(&a.digest).unwrap_or_default(),
                inherited_accessories: parents
                    .iter()
                    .filter(|(child, _)| *child == a.digest)
                    .flat_map(|(_, parent)| accessories.get(parent).cloned().unwrap_or_default())
                    .collect(),
                accessories: accessories.get(&a.digest).cloned().unwrap_or_default(),
                scan_overview: scans.remove(&a.digest).unwrap_or_default(),
                sbom_overview: accessories.get(&a.digest).and_then(|acc| {
                    acc.iter()
                        .filter(|x| x.kind == crate::content::accessory::SBOM_HARBOR)
                        .max_by_key(|x| x.creation_time)
                        .map(|x| crate::model::SbomOverview {
                            sbom_digest: x.digest.clone(),
                            scan_status: "Success".into(),
                            end_time: x.creation_time,
                        })
                }),
                digest: a.digest,
            })
            .collect())
    }

    /// Artifacts of a repository. `q` also takes `tags=*` (tagged), `tags=nil` (untagged),
    /// `tags=~x`, `tags=x`, and `labels=(id1 id2)`.
    pub async fn artifacts(
        &self,
        p: &Principal,
        project: &str,
        repo: &str,
        q: &ListQuery,
    ) -> Result<Page<Artifact>> {
        let (_, row) = self
            .repo_in(p, project, repo, R::Artifact, Action::List)
            .await?;
        let mut spec = q.parse(ARTIFACT_FIELDS, &[("m.created_at", true)])?;
        let tags = match spec.take("tags") {
            None => None,
            Some(Match::Exact(Value::Text(t))) => Some(t),
            Some(Match::Fuzzy(t)) => Some(format!("~{t}")),
            Some(_) => {
                return Err(Error::BadRequest {
                    reason: "tags takes *, nil, ~part or a tag".into(),
                });
            }
        };
        let labels: Vec<i64> = match spec.take("labels") {
            None => Vec::new(),
            Some(Match::AllOf(v)) => v
                .into_iter()
                .filter_map(|x| if let Value::Int(i) = x { Some(i) } else { None })
                .collect(),
            Some(Match::Exact(Value::Int(i))) => vec![i],
            Some(_) => {
                return Err(Error::BadRequest {
                    reason: "labels takes (id1 id2)".into(),
                });
            }
        };
        if spec.sort.iter().any(|(c, _)| c.is_empty()) {
            return Err(Error::BadRequest {
                reason: "artifacts cannot be sorted by tags or labels".into(),
            });
        }
        let (rows, total) = self
            .meta
            .list_artifacts(row.id, tags.as_deref(), &labels, &spec)
            .await?;
        Ok(spec.page_of(self.artifact_views(&row, rows).await?, total))
    }

    pub(crate) async fn artifact_row(
        &self,
        repo: &RepositoryRow,
        reference: &str,
    ) -> Result<ArtifactRow> {
        // The management API speaks NOT_FOUND/BAD_REQUEST where /v2 would say MANIFEST_UNKNOWN
        // or TAG_INVALID (Harbor's codes).
        let not_found = || Error::NotFound {
            what: format!("artifact {reference}"),
        };
        let name = RepoName::parse(&repo.name)?;
        let parsed = Reference::parse(reference).map_err(|e| Error::BadRequest {
            reason: e.to_string(),
        })?;
        let digest = match parsed {
            Reference::Digest(d) => d.to_string(),
            r @ Reference::Tag(_) => match self.get_manifest(&name, &r).await {
                Ok(m) => m.digest.clone(),
                Err(e) if e.code() == crate::ErrorCode::ManifestUnknown => return Err(not_found()),
                Err(e) => return Err(e),
            },
        };
        self.meta
            .artifact(repo.id, &digest)
            .await?
            .ok_or_else(not_found)
    }

    pub async fn artifact(
        &self,
        p: &Principal,
        project: &str,
        repo: &str,
        reference: &str,
    ) -> Result<Artifact> {
        let (_, row) = self
            .repo_in(p, project, repo, R::Artifact, Action::Read)
            .await?;
        let a = self.artifact_row(&row, reference).await?;
        Ok(self.artifact_views(&row, vec![a]).await?.remove(0))
    }

    /// Delete an artifact with all its tags.
    pub async fn delete_artifact(
        &self,
        p: &Principal,
        project: &str,
        repo: &str,
        reference: &str,
    ) -> Result<()> {
        let (_, row) = self
            .repo_in(p, project, repo, R::Artifact, Action::Delete)
            .await?;
        let a = self.artifact_row(&row, reference).await?;
        let name = RepoName::parse(&row.name)?;
        self.delete_manifest(&name, &Reference::Digest(Digest::parse(&a.digest)?))
            .await
    }

    pub async fn artifact_tags(
        &self,
        p: &Principal,
        project: &str,
        repo: &str,
        reference: &str,
    ) -> Result<Vec<Tag>> {
        let (_, row) = self.repo_in(p, project, repo, R::Tag, Action::List).await?;
        let a = self.artifact_row(&row, reference).await?;
        Ok(self.artifact_views(&row, vec![a]).await?.remove(0).tags)
    }

    /// Point a new tag at an artifact (`CONFLICT` if the tag exists).
    pub async fn create_tag(
        &self,
        p: &Principal,
        project: &str,
        repo: &str,
        reference: &str,
        tag: &str,
    ) -> Result<()> {
        let (_, row) = self
            .repo_in(p, project, repo, R::Tag, Action::Create)
            .await?;
        validate_tag(tag).map_err(|e| Error::BadRequest {
            reason: e.to_string(),
        })?;
        let a = self.artifact_row(&row, reference).await?;
        self.meta
            .create_tag(row.id, &a.digest, tag, self.now_ms())
            .await?;
        self.manifests_changed(&RepoName::parse(&row.name)?);
        Ok(())
    }

    pub async fn delete_tag(
        &self,
        p: &Principal,
        project: &str,
        repo: &str,
        reference: &str,
        tag: &str,
    ) -> Result<()> {
        let (_, row) = self
            .repo_in(p, project, repo, R::Tag, Action::Delete)
            .await?;
        let a = self.artifact_row(&row, reference).await?;
        let name = RepoName::parse(&row.name)?;
        let on_artifact = self
            .meta
            .artifact_tags(row.id, std::slice::from_ref(&a.digest))
            .await?
            .iter()
            .any(|t| t.name == tag);
        if !on_artifact {
            return Err(Error::NotFound {
                what: format!("tag {tag} on {}", a.digest),
            });
        }
        self.delete_manifest(&name, &Reference::Tag(tag.to_owned()))
            .await
    }

    // ---- labels ------------------------------------------------------------------------------

    async fn label_scope_check(
        &self,
        p: &Principal,
        scope: &str,
        project_id: i64,
        action: Action,
    ) -> Result<()> {
        match scope {
            "g" => {
                if action == Action::List || action == Action::Read {
                    if p.is_anonymous() {
                        Err(refuse(p))
                    } else {
                        Ok(())
                    }
                } else {
                    self.require_system(p, SystemResource::Label, action)
                }
            }
            "p" => self
                .require_project(p, &project_id.to_string(), false, R::Label, action)
                .await
                .map(|_| ()),
            s => Err(Error::BadRequest {
                reason: format!("label scope must be g or p, not {s:?}"),
            }),
        }
    }

    pub async fn create_label(&self, p: &Principal, label: Label) -> Result<Label> {
        let project_id = if label.scope == "g" {
            0
        } else {
            label.project_id
        };
        self.label_scope_check(p, &label.scope, project_id, Action::Create)
            .await?;
        if label.name.is_empty() || label.name.len() > 128 {
            return Err(Error::BadRequest {
                reason: "label names are 1-128 characters".into(),
            });
        }
        let now = self.now_ms();
        let mut row = LabelRow {
            id: 0,
            name: label.name,
            description: label.description,
            color: label.color,
            scope: label.scope,
            project_id,
            created_at: now,
            updated_at: now,
        };
        row.id = self.meta.create_label(&row).await?;
        Ok(label_view(row))
    }

    pub async fn labels(
        &self,
        p: &Principal,
        scope: &str,
        project_id: i64,
        q: &ListQuery,
    ) -> Result<Page<Label>> {
        let project_id = if scope == "g" { 0 } else { project_id };
        self.label_scope_check(p, scope, project_id, Action::List)
            .await?;
        let spec = q.parse(LABEL_FIELDS, &[("name", false)])?;
        let (rows, total) = self.meta.list_labels(scope, project_id, &spec).await?;
        Ok(spec.page_of(rows.into_iter().map(label_view).collect(), total))
    }

    async fn label_row(&self, p: &Principal, id: i64, action: Action) -> Result<LabelRow> {
        let row = self
            .meta
            .label_by_id(id)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!("label {id}"),
            })?;
        match self
            .label_scope_check(p, &row.scope, row.project_id, action)
            .await
        {
            Err(Error::NotFound { .. }) => Err(Error::NotFound {
                what: format!("label {id}"),
            }),
            other => other.map(|_| row),
        }
    }

    pub async fn label(&self, p: &Principal, id: i64) -> Result<Label> {
        Ok(label_view(self.label_row(p, id, Action::Read).await?))
    }

    pub async fn update_label(&self, p: &Principal, id: i64, label: Label) -> Result<()> {
        let mut row = self.label_row(p, id, Action::Update).await?;
        row.name = label.name;
        row.description = label.description;
        row.color = label.color;
        row.updated_at = self.now_ms();
        self.meta.update_label(&row).await?;
        Ok(())
    }

    pub async fn delete_label(&self, p: &Principal, id: i64) -> Result<()> {
        self.label_row(p, id, Action::Delete).await?;
        self.meta.delete_label(id).await?;
        Ok(())
    }

    pub async fn attach_label(
        &self,
        p: &Principal,
        project: &str,
        repo: &str,
        reference: &str,
        label_id: i64,
    ) -> Result<()> {
        let (access, row) = self
            .repo_in(p, project, repo, R::ArtifactLabel, Action::Create)
            .await?;
        let label = self
            .meta
            .label_by_id(label_id)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!("label {label_id}"),
            })?;
        if label.scope == "p" && label.project_id != access.project.id {
            return Err(Error::BadRequest {
                reason: "a project label can only go on artifacts of its project".into(),
            });
        }
        let a = self.artifact_row(&row, reference).await?;
        self.meta
            .attach_label(label_id, row.id, &a.digest, self.now_ms())
            .await
    }

    pub async fn detach_label(
        &self,
        p: &Principal,
        project: &str,
        repo: &str,
        reference: &str,
        label_id: i64,
    ) -> Result<()> {
        let (_, row) = self
            .repo_in(p, project, repo, R::ArtifactLabel, Action::Delete)
            .await?;
        let a = self.artifact_row(&row, reference).await?;
        if !self.meta.detach_label(label_id, row.id, &a.digest).await? {
            return Err(Error::NotFound {
                what: format!("label {label_id} on {}", a.digest),
            });
        }
        Ok(())
    }

    // ---- search and statistics --------------------------------------------------------------

    /// Projects and repositories whose names contain `q`, among those the caller may see.
    pub async fn search(&self, p: &Principal, q: &str) -> Result<Search> {
        let query = ListQuery::new()
            .q(format!("name=~\"{}\"", q.replace('"', "")))
            .page(1, 100);
        let projects = self.projects(p, &query).await?.items;
        let vis = self.visibility(p).await?;
        // One statement with the projects joined, and no count: the answer has no total.
        let repos = self
            .meta
            .search_repositories(&vis, &q.replace('"', ""), 100)
            .await?;
        let repository = repos
            .into_iter()
            .map(|r| SearchRepository {
                project_id: r.repo.project_id,
                project_name: r.project_name,
                project_public: r.project_public,
                repository_name: r.repo.name,
                pull_count: r.repo.pull_count,
                artifact_count: r.repo.artifact_count.unwrap_or_default(),
            })
            .collect();
        Ok(Search {
            project: projects,
            repository,
        })
    }

    /// Counts over what the caller may see; totals and storage for system administrators only.
    pub async fn statistics(&self, p: &Principal) -> Result<Statistics> {
        if p.is_anonymous() {
            return Err(refuse(p));
        }
        let vis = self.visibility(p).await?;
        let s = self.meta.statistics(&vis).await?;
        let admin = p.is_sysadmin();
        Ok(Statistics {
            private_project_count: s.private_project_count,
            private_repo_count: s.private_repo_count,
            public_project_count: s.public_project_count,
            public_repo_count: s.public_repo_count,
            total_project_count: admin.then_some(s.total_project_count),
            total_repo_count: admin.then_some(s.total_repo_count),
            total_storage_consumption: admin.then_some(s.total_storage_consumption),
        })
    }
}
