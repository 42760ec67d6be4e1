//! Immutable tag rules: per-project rules naming tags that, once pushed, may not be overwritten,
//! re-pointed or deleted (Harbor's `immutabletagrules`).
//!
//! A rule has one or more tag selectors and optional repository selectors
//! ([`crate::selector`]); rules are OR-ed and disabled rules are ignored. Enforcement lives here
//! and is called from the write paths of [`Registry`] (manifest push, manifest/tag delete,
//! artifact and repository delete), so every frontend gets it:
//! - pushing a manifest under a tag that exists and matches a rule is `PRECONDITION` (412); the
//!   first push of a new matching tag is allowed;
//! - deleting such a tag, an artifact carrying one, or a repository holding one is refused the
//!   same way.
//!
//! The enabled rules of a project are compiled once and kept for [`RULE_CACHE_TTL`], so a push
//! costs no query unless one of its tags matches a rule (then one lookup of that tag). Changes
//! through this process clear the entry at once; other nodes see them within the TTL.
//!
//! The push check runs inside the manifest transaction (the tag row is only ever inserted), so
//! of two clients pushing the first version of the same protected tag at once, exactly one wins.

use std::sync::Arc;
use std::time::Duration;

use sha2::Digest as _;

use crate::auth::{Action, Principal, ProjectResource as R};
use crate::error::{Error, Result};
use crate::meta::policy::ImmutableRuleRow;
use crate::model::{PolicyRule, RuleSelector};
use crate::oci::{Reference, RepoName};
use crate::query::{Field, Kind, ListQuery, Page, field};
use crate::registry::Registry;
use crate::selector::{RuleSelectors, repo_in_project};

/// How long a project's compiled rules are reused by this process.
pub const RULE_CACHE_TTL: Duration = Duration::from_secs(2);
/// Rules a project may hold.
pub const MAX_IMMUTABLE_RULES: i64 = 15;
pub const IMMUTABLE_ACTION: &str = "immutable";
pub const IMMUTABLE_TEMPLATE: &str = "immutable_template";

const RULE_FIELDS: &[Field] = &[
    field("id", "id", Kind::Int),
    field("priority", "priority", Kind::Int),
];

/// The enabled rules of one project, compiled.
#[derive(Debug, Default)]
pub(crate) struct ProjectRules {
    rules: Vec<(i64, RuleSelectors)>,
}

impl ProjectRules {
    /// The id of the first rule making `tag` of `repo` (without project) immutable.
    pub(crate) fn rule_for(&self, repo: &str, tag: &str) -> Option<i64> {
        self.rules
            .iter()
            .find(|(_, s)| s.repo_matches(repo) && s.tag_matches(tag))
            .map(|(id, _)| *id)
    }

    /// Whether any rule applies to `repo` (without project) at all.
    pub(crate) fn covers_repo(&self, repo: &str) -> bool {
        self.rules.iter().any(|(_, s)| s.repo_matches(repo))
    }

    fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// Compiled rules per project name (`None`: no such project).
pub(crate) struct PolicyCache {
    rules: moka::future::Cache<String, Option<Arc<ProjectRules>>>,
}

impl PolicyCache {
    pub(crate) fn new() -> Self {
        Self {
            rules: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(RULE_CACHE_TTL)
                .build(),
        }
    }
}

/// What is stored in the `selectors` column.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredSelectors {
    tag_selectors: Vec<RuleSelector>,
    scope_selectors: std::collections::BTreeMap<String, Vec<RuleSelector>>,
}

fn stored(row: &ImmutableRuleRow) -> Result<StoredSelectors> {
    serde_json::from_str(&row.selectors)
        .map_err(|e| Error::internal(format!("immutable rule {} is unreadable: {e}", row.id)))
}

fn view(row: &ImmutableRuleRow) -> Result<PolicyRule> {
    let s = stored(row)?;
    Ok(PolicyRule {
        id: row.id,
        priority: row.priority,
        disabled: row.disabled,
        action: IMMUTABLE_ACTION.into(),
        template: IMMUTABLE_TEMPLATE.into(),
        params: Default::default(),
        tag_selectors: s.tag_selectors,
        scope_selectors: s.scope_selectors,
    })
}

/// Validate a rule as sent, and turn it into (selectors JSON, fingerprint).
fn validated(rule: &PolicyRule) -> Result<(String, String)> {
    if !(rule.action.is_empty() || rule.action == IMMUTABLE_ACTION) {
        return Err(Error::BadRequest {
            reason: format!(
                "immutable rules take action {IMMUTABLE_ACTION:?}, not {:?}",
                rule.action
            ),
        });
    }
    if !(rule.template.is_empty() || rule.template == IMMUTABLE_TEMPLATE) {
        return Err(Error::BadRequest {
            reason: format!(
                "immutable rules take template {IMMUTABLE_TEMPLATE:?}, not {:?}",
                rule.template
            ),
        });
    }
    if !rule.params.is_empty() {
        return Err(Error::BadRequest {
            reason: "immutable rules take no params".into(),
        });
    }
    RuleSelectors::compile(&rule.tag_selectors, &rule.scope_selectors, false)?;
    let s = StoredSelectors {
        tag_selectors: rule.tag_selectors.clone(),
        scope_selectors: rule.scope_selectors.clone(),
    };
    let json = serde_json::to_string(&s).expect("selectors serialize");
    Ok((
        json.clone(),
        hex::encode(sha2::Sha256::digest(json.as_bytes())),
    ))
}

impl Registry {
    /// The compiled enabled rules of `project` (cached for [`RULE_CACHE_TTL`]).
    pub(crate) async fn immutability(&self, project: &str) -> Result<Option<Arc<ProjectRules>>> {
        if let Some(hit) = self.policies.rules.get(project).await {
            return Ok(hit);
        }
        let found = match self.meta.immutable_rules_of(project).await? {
            None => None,
            Some((_, rows)) => {
                let mut rules = Vec::new();
                for row in rows.iter().filter(|r| !r.disabled) {
                    let s = stored(row)?;
                    rules.push((
                        row.id,
                        RuleSelectors::compile(&s.tag_selectors, &s.scope_selectors, false)?,
                    ));
                }
                Some(Arc::new(ProjectRules { rules }))
            }
        };
        self.policies
            .rules
            .insert(project.to_owned(), found.clone())
            .await;
        Ok(found)
    }

    /// The rules of the project of `repo`, if it has any enabled ones.
    async fn active_rules(&self, repo: &RepoName) -> Result<Option<Arc<ProjectRules>>> {
        Ok(self
            .immutability(repo.project())
            .await?
            .filter(|r| !r.is_empty()))
    }

    /// The tags of a push that immutable rules protect, each with its refusal. The manifest
    /// transaction refuses the push if any of them exists already; a push whose tags match no
    /// rule costs no query.
    pub(crate) async fn immutable_tags(
        &self,
        repo: &RepoName,
        tags: &[String],
    ) -> Result<Vec<(String, String)>> {
        let Some(rules) = self.active_rules(repo).await? else {
            return Ok(Vec::new());
        };
        let short = repo_in_project(repo.as_str());
        Ok(tags
            .iter()
            .filter_map(|tag| {
                let rule = rules.rule_for(short, tag)?;
                let Error::PreconditionFailed { reason } = immutable(repo, tag, rule) else {
                    unreachable!("immutable() is a precondition failure")
                };
                Some((tag.clone(), reason))
            })
            .collect())
    }

    /// Refuse deleting `reference` (a tag, or a manifest with all its tags) when an immutable
    /// tag would go.
    pub(crate) async fn check_deletable(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> Result<()> {
        let Some(rules) = self.active_rules(repo).await? else {
            return Ok(());
        };
        let short = repo_in_project(repo.as_str());
        match reference {
            // A missing tag is left to answer MANIFEST_UNKNOWN.
            Reference::Tag(tag) => match rules.rule_for(short, tag) {
                Some(rule) if self.meta.get_manifest(repo, reference).await?.is_some() => {
                    Err(immutable(repo, tag, rule))
                }
                _ => Ok(()),
            },
            Reference::Digest(d) => {
                if !rules.covers_repo(short) {
                    return Ok(());
                }
                let Some(row) = self.meta.repository(repo.as_str()).await? else {
                    return Ok(());
                };
                for t in self.meta.artifact_tags(row.id, &[d.to_string()]).await? {
                    if let Some(rule) = rules.rule_for(short, &t.name) {
                        return Err(Error::PreconditionFailed {
                            reason: format!(
                                "{d} carries the immutable tag \"{repo}:{}\" (rule {rule}); it cannot be deleted",
                                t.name
                            ),
                        });
                    }
                }
                Ok(())
            }
        }
    }

    /// Refuse deleting a repository that holds an immutable tag.
    pub(crate) async fn check_repository_deletable(&self, repo: &RepoName) -> Result<()> {
        let Some(rules) = self.active_rules(repo).await? else {
            return Ok(());
        };
        let short = repo_in_project(repo.as_str());
        if !rules.covers_repo(short) {
            return Ok(());
        }
        let mut last: Option<String> = None;
        loop {
            let page = self
                .meta
                .list_tags(repo, 1000, last.as_deref())
                .await?
                .unwrap_or_default();
            if let Some((tag, rule)) = page
                .iter()
                .find_map(|t| rules.rule_for(short, t).map(|r| (t, r)))
            {
                return Err(Error::PreconditionFailed {
                    reason: format!(
                        "{repo} holds the immutable tag \"{repo}:{tag}\" (rule {rule}); it cannot be deleted"
                    ),
                });
            }
            match page.last() {
                Some(t) if page.len() == 1000 => last = Some(t.clone()),
                _ => return Ok(()),
            }
        }
    }

    /// Whether `tag` of `repo` (full name) is immutable now.
    pub(crate) async fn tag_is_immutable(&self, repo: &str, tag: &str) -> Result<bool> {
        let project = repo.split_once('/').map_or(repo, |(p, _)| p);
        Ok(self
            .immutability(project)
            .await?
            .is_some_and(|r| r.rule_for(repo_in_project(repo), tag).is_some()))
    }

    // ---- rule management --------------------------------------------------------------------

    async fn rules_changed(&self, project: &str) {
        self.policies.rules.invalidate(project).await;
    }

    /// The project's rules (paged; `q`/`sort` on id, priority). Any signed-in caller who can
    /// see the project may read them, so a refused push can be explained.
    pub async fn immutable_rules(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
        q: &ListQuery,
    ) -> Result<Page<PolicyRule>> {
        let access = self.visible_project(p, project, is_name).await?;
        if p.is_anonymous() && !access.allows(R::ImmutableTag, Action::List) {
            return Err(Error::Unauthorized);
        }
        let spec = q.parse(RULE_FIELDS, &[("id", false)])?;
        let (rows, total) = self
            .meta
            .list_immutable_rules(access.project.id, &spec)
            .await?;
        let items = rows.iter().map(view).collect::<Result<Vec<_>>>()?;
        Ok(spec.page_of(items, total))
    }

    /// Add a rule; returns its id. 409 for a duplicate, 400 beyond [`MAX_IMMUTABLE_RULES`].
    pub async fn create_immutable_rule(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
        rule: PolicyRule,
    ) -> Result<i64> {
        let access = self
            .require_project(p, project, is_name, R::ImmutableTag, Action::Create)
            .await?;
        let (selectors, fingerprint) = validated(&rule)?;
        let now = self.now_ms();
        let row = ImmutableRuleRow {
            id: 0,
            project_id: access.project.id,
            priority: rule.priority,
            disabled: rule.disabled,
            selectors,
            fingerprint,
            created_at: now,
            updated_at: now,
        };
        let id = self
            .meta
            .create_immutable_rule(&row, MAX_IMMUTABLE_RULES)
            .await?;
        self.rules_changed(&access.project.name).await;
        Ok(id)
    }

    /// Replace a rule (also how it is enabled or disabled).
    pub async fn update_immutable_rule(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
        id: i64,
        rule: PolicyRule,
    ) -> Result<()> {
        let access = self
            .require_project(p, project, is_name, R::ImmutableTag, Action::Update)
            .await?;
        let old = self
            .meta
            .immutable_rule(access.project.id, id)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!("immutable rule {id}"),
            })?;
        let (selectors, fingerprint) = validated(&rule)?;
        let row = ImmutableRuleRow {
            priority: rule.priority,
            disabled: rule.disabled,
            selectors,
            fingerprint,
            updated_at: self.now_ms(),
            ..old
        };
        self.meta.update_immutable_rule(&row).await?;
        self.rules_changed(&access.project.name).await;
        Ok(())
    }

    pub async fn delete_immutable_rule(
        &self,
        p: &Principal,
        project: &str,
        is_name: bool,
        id: i64,
    ) -> Result<()> {
        let access = self
            .require_project(p, project, is_name, R::ImmutableTag, Action::Delete)
            .await?;
        if !self
            .meta
            .delete_immutable_rule(access.project.id, id)
            .await?
        {
            return Err(Error::NotFound {
                what: format!("immutable rule {id}"),
            });
        }
        self.rules_changed(&access.project.name).await;
        Ok(())
    }
}

fn immutable(repo: &RepoName, tag: &str, rule: i64) -> Error {
    Error::PreconditionFailed {
        reason: format!(
            "\"{repo}:{tag}\" is immutable (rule {rule}); push under a new tag instead"
        ),
    }
}
