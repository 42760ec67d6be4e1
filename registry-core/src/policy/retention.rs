//! Tag retention: one policy per project deciding which artifacts to keep; everything else in
//! the repositories the policy covers is deleted, artifact by artifact (Harbor's tag retention).
//!
//! # Semantics
//! - A rule applies to the repositories its scope selectors match (names without the project).
//!   A repository no enabled rule applies to is left alone.
//! - In a covered repository, each enabled rule picks candidates with its tag (and label)
//!   selectors, then its template keeps some of them ([`Template`]). The rules are OR-ed: an
//!   artifact kept by any rule stays. The rest is deleted with all its tags.
//! - Artifacts carrying an immutable tag are never deleted; they are reported as kept.
//! - Candidates are the artifacts a user sees: tagged manifests and manifests nothing else in the
//!   repository points at. Index children and referrers (signatures, SBOMs) are not judged on
//!   their own: they go when everything pointing at them goes, and a candidate that a surviving
//!   index still references is kept.
//!
//! # Shape
//! [`plan_repository`] is a pure function from a repository's inventory, the compiled rules and
//! the time to the exact set of manifests to delete, so it is testable on a fake clock and fast
//! (see docs/benchmarks.md). A dry run reports the plan; a real run computes the same plan and
//! deletes what it lists.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use sha2::Digest as _;

use crate::ErrorCode;
use crate::auth::{Action, Principal, ProjectResource as R};
use crate::error::{Error, Result};
use crate::events::{Actor, with_actor};
use crate::jobs::{self, JobHandler, MANUAL, TaskContext};
use crate::meta::governance::ExecutionRow;
use crate::meta::policy::{ProjectRepo, RepoInventory, RetentionPolicyRow, RetentionTaskRow};
use crate::model::{
    PolicyRule, RetentionExecution, RetentionMetadata, RetentionPolicy, RetentionRuleMetadata,
    RetentionRuleParamMetadata, RetentionScope, RetentionSelectorMetadata, RetentionTask,
    RuleSelector, time,
};
use crate::oci::{Digest, Reference, RepoName};
use crate::query::{ListQuery, Page};
use crate::registry::Registry;
use crate::selector::{DOUBLESTAR, LABEL, REGEX, RuleSelectors, repo_in_project};

/// Rules a policy may hold.
pub const MAX_RETENTION_RULES: usize = 15;
pub const RETAIN_ACTION: &str = "retain";
const DAY_MS: i64 = 86_400_000;
/// Largest count a template takes (Harbor's bound).
const MAX_COUNT: i64 = 32_766;
/// Largest day count a template takes (Harbor's bound).
const MAX_DAYS: i64 = 20_190_904;

/// What a rule keeps among the candidates its selectors picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// The K most recently pushed.
    LatestPushedK(usize),
    /// The N most recently pulled (never-pulled artifacts rank last).
    LatestPulledN(usize),
    /// Those pushed within the last N days.
    NDaysSinceLastPush(i64),
    /// Those pulled within the last N days.
    NDaysSinceLastPull(i64),
    /// All of them.
    Always,
    /// The K most recently active (latest of push and pull).
    LatestActiveK(usize),
    /// Those pushed within the last X days.
    LastXDays(i64),
}

/// (name, display text, parameter unit or "" for none, listed by `/retentions/metadatas`)
const TEMPLATES: &[(&str, &str, &str, bool)] = &[
    (
        "latestPushedK",
        "the most recently pushed # artifacts",
        "count",
        true,
    ),
    (
        "latestPulledN",
        "the most recently pulled # artifacts",
        "count",
        true,
    ),
    (
        "nDaysSinceLastPush",
        "pushed within the last # days",
        "days",
        true,
    ),
    (
        "nDaysSinceLastPull",
        "pulled within the last # days",
        "days",
        true,
    ),
    ("always", "always", "", true),
    (
        "latestActiveK",
        "the most recently active # artifacts",
        "count",
        false,
    ),
    (
        "lastXDays",
        "pushed within the last # days (legacy)",
        "days",
        false,
    ),
];

impl Template {
    /// Parse a template and its parameter (`params[template]`).
    pub fn parse(template: &str, params: &BTreeMap<String, serde_json::Value>) -> Result<Self> {
        let Some((name, _, unit, _)) = TEMPLATES.iter().find(|t| t.0 == template) else {
            let known: Vec<&str> = TEMPLATES.iter().filter(|t| t.3).map(|t| t.0).collect();
            return Err(Error::BadRequest {
                reason: format!(
                    "unknown retention template {template:?}; known: {}",
                    known.join(", ")
                ),
            });
        };
        if let Some(k) = params
            .keys()
            .find(|k| k.as_str() != *name || unit.is_empty())
        {
            return Err(Error::BadRequest {
                reason: format!("template {name} takes no parameter {k:?}"),
            });
        }
        let value = || -> Result<i64> {
            let v = params.get(*name).ok_or_else(|| Error::BadRequest {
                reason: format!("template {name} needs params.{name}"),
            })?;
            let n = v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()));
            let max = if *unit == "days" { MAX_DAYS } else { MAX_COUNT };
            match n {
                Some(n) if (0..=max).contains(&n) => Ok(n),
                _ => Err(Error::BadRequest {
                    reason: format!(
                        "params.{name} must be a whole number from 0 to {max}, not {v}"
                    ),
                }),
            }
        };
        Ok(match *name {
            "latestPushedK" => Self::LatestPushedK(value()? as usize),
            "latestPulledN" => Self::LatestPulledN(value()? as usize),
            "nDaysSinceLastPush" => Self::NDaysSinceLastPush(value()?),
            "nDaysSinceLastPull" => Self::NDaysSinceLastPull(value()?),
            "latestActiveK" => Self::LatestActiveK(value()? as usize),
            "lastXDays" => Self::LastXDays(value()?),
            _ => Self::Always,
        })
    }

    /// Keep some of `picked` (indices into `all`).
    fn keep(self, all: &[Candidate], mut picked: Vec<usize>, now_ms: i64) -> Vec<usize> {
        let latest = |picked: &mut Vec<usize>, k: usize, key: &dyn Fn(&Candidate) -> i64| {
            // Newest first; ties broken by digest so the answer never depends on input order.
            picked.sort_unstable_by(|&a, &b| {
                key(&all[b])
                    .cmp(&key(&all[a]))
                    .then_with(|| all[a].digest.cmp(&all[b].digest))
            });
            picked.truncate(k);
        };
        match self {
            Self::Always => {}
            Self::LatestPushedK(k) => latest(&mut picked, k, &|c| c.push_time),
            Self::LatestPulledN(k) => latest(&mut picked, k, &|c| c.pull_time.unwrap_or(i64::MIN)),
            Self::LatestActiveK(k) => latest(&mut picked, k, &|c| {
                c.pull_time.map_or(c.push_time, |p| p.max(c.push_time))
            }),
            Self::NDaysSinceLastPush(n) | Self::LastXDays(n) => {
                let since = now_ms.saturating_sub(n.saturating_mul(DAY_MS));
                picked.retain(|&i| all[i].push_time >= since);
            }
            Self::NDaysSinceLastPull(n) => {
                let since = now_ms.saturating_sub(n.saturating_mul(DAY_MS));
                picked.retain(|&i| all[i].pull_time.is_some_and(|t| t >= since));
            }
        }
        picked
    }
}

impl PolicyRule {
    /// A retention rule: `template` with its parameter (`None` for `always`), picking with
    /// `tag_selectors` in the repositories `repo_selectors` match (every repository when empty).
    pub fn retain(
        template: &str,
        param: Option<i64>,
        tag_selectors: Vec<RuleSelector>,
        repo_selectors: Vec<RuleSelector>,
    ) -> Self {
        let mut scope_selectors = BTreeMap::new();
        if !repo_selectors.is_empty() {
            scope_selectors.insert("repository".to_owned(), repo_selectors);
        }
        Self {
            action: RETAIN_ACTION.into(),
            template: template.into(),
            params: param
                .map(|n| {
                    [(template.to_owned(), serde_json::json!(n))]
                        .into_iter()
                        .collect()
                })
                .unwrap_or_default(),
            tag_selectors,
            scope_selectors,
            ..Self::default()
        }
    }
}

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub id: i64,
    pub template: Template,
    pub selectors: RuleSelectors,
}

/// Validate a rule and compile it.
pub fn compile_rule(rule: &PolicyRule) -> Result<CompiledRule> {
    if !(rule.action.is_empty() || rule.action == RETAIN_ACTION) {
        return Err(Error::BadRequest {
            reason: format!(
                "retention rules take action {RETAIN_ACTION:?}, not {:?}",
                rule.action
            ),
        });
    }
    Ok(CompiledRule {
        id: rule.id,
        template: Template::parse(&rule.template, &rule.params)?,
        selectors: RuleSelectors::compile(&rule.tag_selectors, &rule.scope_selectors, true)?,
    })
}

/// One artifact as retention judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub digest: String,
    pub tags: Vec<String>,
    pub labels: Vec<String>,
    pub push_time: i64,
    pub pull_time: Option<i64>,
    /// Carries a tag an immutable rule protects.
    pub immutable: bool,
}

/// Why a candidate stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    Rule(i64),
    Immutable,
    /// A surviving index or subject still points at it.
    Referenced,
}

/// Which candidates the rules keep: `None` for each one to delete. `None` overall when no
/// enabled rule applies to the repository (then nothing is touched).
pub fn evaluate(
    rules: &[CompiledRule],
    repo: &str,
    candidates: &[Candidate],
    now_ms: i64,
) -> Option<Vec<Option<Kept>>> {
    let short = repo_in_project(repo);
    let applicable: Vec<&CompiledRule> = rules
        .iter()
        .filter(|r| r.selectors.repo_matches(short))
        .collect();
    if applicable.is_empty() {
        return None;
    }
    let mut kept: Vec<Option<Kept>> = candidates
        .iter()
        .map(|c| c.immutable.then_some(Kept::Immutable))
        .collect();
    for rule in applicable {
        let picked: Vec<usize> = (0..candidates.len())
            .filter(|&i| {
                rule.selectors
                    .selects(&candidates[i].tags, &candidates[i].labels)
            })
            .collect();
        for i in rule.template.keep(candidates, picked, now_ms) {
            kept[i].get_or_insert(Kept::Rule(rule.id));
        }
    }
    Some(kept)
}

/// [`Registry::retention_preview`]: what a run would do to one repository.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RetentionPreview {
    pub repository: String,
    pub total: usize,
    pub retained: usize,
    /// Digests a run would delete, sorted.
    pub deleted: Vec<String>,
}

/// What retention decided for one manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub digest: String,
    pub tags: Vec<String>,
    pub push_time: i64,
    pub pull_time: Option<i64>,
    /// `None`: deleted.
    pub kept: Option<Kept>,
    /// Not a candidate itself: an index child or a referrer, judged with what points at it.
    pub dependent: bool,
}

/// The decision for one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoPlan {
    /// Full repository name.
    pub repository: String,
    /// Candidates judged.
    pub total: usize,
    /// Candidates kept.
    pub retained: usize,
    /// Every manifest, candidates first, in digest order within each group.
    pub verdicts: Vec<Verdict>,
}

impl RepoPlan {
    /// Digests to delete, sorted.
    pub fn deletions(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .verdicts
            .iter()
            .filter(|v| v.kept.is_none())
            .map(|v| v.digest.clone())
            .collect();
        out.sort();
        out
    }

    /// The task log: one line per manifest.
    pub fn log(&self) -> String {
        let mut out = format!(
            "repository {}: {} artifacts, {} retained\n",
            self.repository, self.total, self.retained
        );
        let _ = writeln!(
            out,
            "{:<71} | {:<30} | {:<20} | {:<20} | retention",
            "digest", "tags", "pushed", "pulled"
        );
        for v in &self.verdicts {
            let when = |ms: i64| {
                crate::model::time(ms)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            };
            let action = match v.kept {
                None if v.dependent => "DEL (with what pointed at it)".to_owned(),
                None => "DEL".to_owned(),
                Some(Kept::Rule(id)) => format!("RETAIN (rule {id})"),
                Some(Kept::Immutable) => "RETAIN (immutable)".to_owned(),
                Some(Kept::Referenced) if v.dependent => {
                    "RETAIN (with what points at it)".to_owned()
                }
                Some(Kept::Referenced) => "RETAIN (referenced)".to_owned(),
            };
            let _ = writeln!(
                out,
                "{:<71} | {:<30} | {:<20} | {:<20} | {action}",
                v.digest,
                v.tags.join(","),
                when(v.push_time),
                v.pull_time.map(when).unwrap_or_else(|| "-".into())
            );
        }
        out
    }
}

/// Decide a repository: build candidates from its inventory, evaluate, and carry the decision to
/// index children and referrers. `immutable(tag)` says whether a tag is protected. `None` when no
/// rule applies to the repository.
pub fn plan_repository(
    rules: &[CompiledRule],
    repo: &str,
    inv: &RepoInventory,
    now_ms: i64,
    immutable: impl Fn(&str) -> bool,
) -> Option<RepoPlan> {
    let n = inv.manifests.len();
    let index: HashMap<&str, usize> = inv
        .manifests
        .iter()
        .enumerate()
        .map(|(i, m)| (m.digest.as_str(), i))
        .collect();
    let mut tags: Vec<Vec<String>> = vec![Vec::new(); n];
    for (d, t) in &inv.tags {
        if let Some(&i) = index.get(d.as_str()) {
            tags[i].push(t.clone());
        }
    }
    let mut labels: Vec<Vec<String>> = vec![Vec::new(); n];
    for (d, l) in &inv.labels {
        if let Some(&i) = index.get(d.as_str()) {
            labels[i].push(l.clone());
        }
    }
    // parents[i]: manifests pointing at i (an index listing it, or i's subject).
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (parent, child) in &inv.children {
        if let (Some(&p), Some(&c)) = (index.get(parent.as_str()), index.get(child.as_str()))
            && p != c
        {
            parents[c].push(p);
        }
    }
    for (i, m) in inv.manifests.iter().enumerate() {
        if let Some(&s) = m.subject.as_deref().and_then(|s| index.get(s))
            && s != i
        {
            parents[i].push(s);
        }
    }
    // An accessory whose subject is here follows it, tagged or not (a cosign `.sig` tag is
    // not a version to keep or drop).
    let follows = |i: usize| {
        let m = &inv.manifests[i];
        m.accessory && m.subject.as_deref().is_some_and(|s| index.contains_key(s))
    };
    let is_candidate: Vec<bool> = (0..n)
        .map(|i| !follows(i) && (!tags[i].is_empty() || parents[i].is_empty()))
        .collect();
    let cand_idx: Vec<usize> = (0..n).filter(|&i| is_candidate[i]).collect();
    let candidates: Vec<Candidate> = cand_idx
        .iter()
        .map(|&i| {
            let m = &inv.manifests[i];
            Candidate {
                digest: m.digest.clone(),
                immutable: tags[i].iter().any(|t| immutable(t)),
                tags: std::mem::take(&mut tags[i]),
                labels: std::mem::take(&mut labels[i]),
                push_time: m.push_time,
                pull_time: m.pull_time,
            }
        })
        .collect();
    let decided = evaluate(rules, repo, &candidates, now_ms)?;
    let mut kept: Vec<Option<Kept>> = vec![Some(Kept::Referenced); n];
    for (k, &i) in cand_idx.iter().enumerate() {
        kept[i] = decided[k];
    }
    // Settle dependents and referenced candidates: a dependent goes when everything pointing at
    // it goes; a candidate something surviving points at stays. Candidates only ever move from
    // deleted to kept, so this converges.
    loop {
        let mut changed = false;
        for i in 0..n {
            let parent_survives = parents[i].iter().any(|&p| kept[p].is_some());
            let now = if is_candidate[i] {
                if kept[i].is_none() && parent_survives {
                    Some(Kept::Referenced)
                } else {
                    kept[i]
                }
            } else if parent_survives {
                Some(Kept::Referenced)
            } else {
                None
            };
            if now != kept[i] {
                kept[i] = now;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut verdicts: Vec<Verdict> = Vec::with_capacity(n);
    for (c, &i) in candidates.into_iter().zip(&cand_idx) {
        verdicts.push(Verdict {
            digest: c.digest,
            tags: c.tags,
            push_time: c.push_time,
            pull_time: c.pull_time,
            kept: kept[i],
            dependent: false,
        });
    }
    for (i, m) in inv
        .manifests
        .iter()
        .enumerate()
        .filter(|(i, _)| !is_candidate[*i])
    {
        verdicts.push(Verdict {
            digest: m.digest.clone(),
            tags: Vec::new(),
            push_time: m.push_time,
            pull_time: m.pull_time,
            kept: kept[i],
            dependent: true,
        });
    }
    let retained = cand_idx.iter().filter(|&&i| kept[i].is_some()).count();
    Some(RepoPlan {
        repository: repo.to_owned(),
        total: cand_idx.len(),
        retained,
        verdicts,
    })
}

// ---- policies -------------------------------------------------------------------------------

/// A fingerprint of what a rule does (ignoring id, priority and whether it is enabled).
fn rule_fingerprint(r: &PolicyRule) -> String {
    let key = serde_json::json!([r.template, r.params, r.tag_selectors, r.scope_selectors]);
    hex::encode(sha2::Sha256::digest(key.to_string().as_bytes()))
}

/// The cron expression of a policy's trigger, if it has one.
pub fn policy_cron(p: &RetentionPolicy) -> Option<&str> {
    p.trigger
        .settings
        .get("cron")
        .and_then(|v| v.as_str())
        .map(str::trim)
        .filter(|c| !c.is_empty())
}

/// Validate a policy for `project_id`, giving rules without an id one; returns the compiled rules.
fn validate_policy(p: &mut RetentionPolicy, project_id: i64) -> Result<Vec<CompiledRule>> {
    if !(p.algorithm.is_empty() || p.algorithm == "or") {
        return Err(Error::BadRequest {
            reason: format!("retention algorithm must be \"or\", not {:?}", p.algorithm),
        });
    }
    p.algorithm = "or".into();
    if !(p.scope.level.is_empty() || p.scope.level == "project") || p.scope.reference != project_id
    {
        return Err(Error::BadRequest {
            reason: "scope must be {\"level\":\"project\",\"ref\":<project id>}".into(),
        });
    }
    p.scope = RetentionScope {
        level: "project".into(),
        reference: project_id,
    };
    if p.rules.len() > MAX_RETENTION_RULES {
        return Err(Error::BadRequest {
            reason: format!(
                "a retention policy has at most {MAX_RETENTION_RULES} rules, not {}",
                p.rules.len()
            ),
        });
    }
    if p.trigger.kind != "Schedule" {
        return Err(Error::BadRequest {
            reason: format!(
                "trigger kind must be \"Schedule\", not {:?}",
                p.trigger.kind
            ),
        });
    }
    if let Some(cron) = policy_cron(p) {
        jobs::parse_cron(cron)?;
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut next_id = p.rules.iter().map(|r| r.id).max().unwrap_or(0).max(0) + 1;
    let mut compiled = Vec::with_capacity(p.rules.len());
    for (i, rule) in p.rules.iter_mut().enumerate() {
        if rule.id <= 0 {
            rule.id = next_id;
            next_id += 1;
        }
        rule.action = RETAIN_ACTION.into();
        let c = compile_rule(rule).map_err(|e| match e {
            Error::BadRequest { reason } => Error::BadRequest {
                reason: format!("rule {}: {reason}", i + 1),
            },
            e => e,
        })?;
        if let Some(j) = seen.insert(rule_fingerprint(rule), i) {
            return Err(Error::Conflict {
                reason: format!("rules {} and {} are the same", j + 1, i + 1),
            });
        }
        if !rule.disabled {
            compiled.push(c);
        }
    }
    Ok(compiled)
}

fn policy_view(row: &RetentionPolicyRow) -> Result<RetentionPolicy> {
    let mut p: RetentionPolicy = serde_json::from_str(&row.policy)
        .map_err(|e| Error::internal(format!("retention policy {} is unreadable: {e}", row.id)))?;
    p.id = row.id;
    Ok(p)
}

/// The templates and selectors `/retentions/metadatas` lists.
pub fn metadata() -> RetentionMetadata {
    let selector = |text: &str, kind: &str, decorations: &[&str]| RetentionSelectorMetadata {
        display_text: text.into(),
        kind: kind.into(),
        decorations: decorations.iter().map(|d| (*d).to_owned()).collect(),
    };
    RetentionMetadata {
        templates: TEMPLATES
            .iter()
            .filter(|t| t.3)
            .map(|(name, text, unit, _)| RetentionRuleMetadata {
                rule_template: (*name).into(),
                display_text: (*text).into(),
                action: RETAIN_ACTION.into(),
                params: if unit.is_empty() {
                    Vec::new()
                } else {
                    vec![RetentionRuleParamMetadata {
                        kind: "int".into(),
                        unit: (*unit).into(),
                        required: true,
                    }]
                },
            })
            .collect(),
        scope_selectors: vec![
            selector("Repositories", DOUBLESTAR, &["repoMatches", "repoExcludes"]),
            selector(
                "Repositories (regular expression)",
                REGEX,
                &["repoMatches", "repoExcludes"],
            ),
        ],
        tag_selectors: vec![
            selector("Tags", DOUBLESTAR, &["matches", "excludes"]),
            selector("Tags (regular expression)", REGEX, &["matches", "excludes"]),
            selector("Labels", LABEL, &["withLabels", "withoutLabels"]),
        ],
    }
}

impl Registry {
    /// The policy row and its project, requiring `action` on the project's tag retention.
    pub(crate) async fn retention_row(
        &self,
        p: &Principal,
        id: i64,
        action: Action,
    ) -> Result<RetentionPolicyRow> {
        let not_found = || Error::NotFound {
            what: format!("retention policy {id}"),
        };
        let row = self
            .meta
            .retention_policy(id)
            .await?
            .ok_or_else(not_found)?;
        match self
            .require_project(
                p,
                &row.project_id.to_string(),
                false,
                R::TagRetention,
                action,
            )
            .await
        {
            Err(Error::NotFound { .. }) => Err(not_found()),
            other => other.map(|_| row),
        }
    }

    /// Create the project's policy (`scope.ref` names the project). Returns its id.
    pub async fn create_retention(
        &self,
        p: &Principal,
        mut policy: RetentionPolicy,
    ) -> Result<i64> {
        let project_id = policy.scope.reference;
        self.require_project(
            p,
            &project_id.to_string(),
            false,
            R::TagRetention,
            Action::Create,
        )
        .await?;
        validate_policy(&mut policy, project_id)?;
        let json = serde_json::to_string(&policy).expect("a policy serializes");
        let id = self
            .meta
            .create_retention_policy(project_id, &json, self.now_ms())
            .await?;
        if let Err(e) = self.sync_schedule(id, &policy).await {
            // The policy is useless half-made: take it back.
            self.meta.delete_retention_policy(id).await?;
            return Err(e);
        }
        Ok(id)
    }

    pub async fn retention(&self, p: &Principal, id: i64) -> Result<RetentionPolicy> {
        policy_view(&self.retention_row(p, id, Action::Read).await?)
    }

    /// Replace a policy (it stays with its project).
    pub async fn update_retention(
        &self,
        p: &Principal,
        id: i64,
        mut policy: RetentionPolicy,
    ) -> Result<()> {
        let row = self.retention_row(p, id, Action::Update).await?;
        if policy.scope.reference == 0 {
            policy.scope.reference = row.project_id;
        }
        validate_policy(&mut policy, row.project_id)?;
        policy.id = id;
        let json = serde_json::to_string(&policy).expect("a policy serializes");
        self.meta
            .update_retention_policy(id, &json, self.now_ms())
            .await?;
        self.sync_schedule(id, &policy).await
    }

    pub async fn delete_retention(&self, p: &Principal, id: i64) -> Result<()> {
        self.retention_row(p, id, Action::Delete).await?;
        self.remove_schedule(RETENTION_JOB, id).await?;
        self.meta.delete_retention_policy(id).await?;
        Ok(())
    }

    /// The policy's enabled rules, compiled.
    fn policy_rules(row: &RetentionPolicyRow) -> Result<Vec<CompiledRule>> {
        let mut policy = policy_view(row)?;
        validate_policy(&mut policy, row.project_id)
    }

    /// Decide one repository now, deleting nothing (`None`: no rule applies to it).
    async fn plan_repo(
        &self,
        rules: &[CompiledRule],
        repo: &ProjectRepo,
    ) -> Result<Option<RepoPlan>> {
        let project = repo
            .name
            .split_once('/')
            .map_or(repo.name.as_str(), |(p, _)| p);
        let protected = self.immutability(project).await?;
        let short = repo_in_project(&repo.name);
        let inv = self.meta.repo_inventory(repo.id).await?;
        let immutable = |tag: &str| {
            protected
                .as_ref()
                .is_some_and(|r| r.rule_for(short, tag).is_some())
        };
        Ok(plan_repository(
            rules,
            &repo.name,
            &inv,
            self.now_ms(),
            immutable,
        ))
    }

    /// Start a run of policy `id` (a dry run deletes nothing) on the job service; a worker
    /// carries it out. Returns the execution id.
    pub async fn trigger_retention(&self, p: &Principal, id: i64, dry_run: bool) -> Result<i64> {
        let row = self.retention_row(p, id, Action::Operate).await?;
        Self::policy_rules(&row)?;
        self.start_execution(RETENTION_JOB, id, MANUAL, run_params(id, dry_run))
            .await
    }

    /// What a run of policy `id` would delete now, decided in this call (no job, nothing
    /// deleted): per repository the artifacts judged, kept, and the digests that would go. The
    /// same decision a run makes (it calls the same planner).
    pub async fn retention_preview(&self, p: &Principal, id: i64) -> Result<Vec<RetentionPreview>> {
        let row = self.retention_row(p, id, Action::Read).await?;
        let rules = Self::policy_rules(&row)?;
        let mut out = Vec::new();
        for repo in self.meta.project_repositories(row.project_id).await? {
            if let Some(plan) = self.plan_repo(&rules, &repo).await? {
                out.push(RetentionPreview {
                    repository: plan.repository.clone(),
                    total: plan.total,
                    retained: plan.retained,
                    deleted: plan.deletions(),
                });
            }
        }
        Ok(out)
    }

    /// Keep the policy's cron schedule in step with its trigger.
    async fn sync_schedule(&self, id: i64, policy: &RetentionPolicy) -> Result<()> {
        match policy_cron(policy) {
            Some(cron) => self
                .set_schedule(RETENTION_JOB, id, cron, run_params(id, false))
                .await
                .map(|_| ()),
            None => self.remove_schedule(RETENTION_JOB, id).await.map(|_| ()),
        }
    }

    /// One run: each repository is decided and (unless a dry run) cleaned, then recorded with its
    /// log. A stop request is honoured between repositories.
    async fn run_retention(&self, task: &mut TaskContext, params: RunParams) -> Result<()> {
        let row = self
            .meta
            .retention_policy(params.policy_id)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!("retention policy {}", params.policy_id),
            })?;
        let rules = Self::policy_rules(&row)?;
        task.log(format_args!(
            "retention policy {} ({} enabled rules), dry_run={}",
            row.id,
            rules.len(),
            params.dry_run
        ));
        let (mut repos, mut total, mut retained, mut deleted, mut failed) = (0, 0, 0, 0, 0);
        // For the TAG_RETENTION event (bounded: a huge run names its first artifacts only).
        let mut deleted_artifacts: Vec<serde_json::Value> = Vec::new();
        for repo in self.meta.project_repositories(row.project_id).await? {
            if task.stopped() {
                task.log("stopped");
                break;
            }
            let start = self.now_ms();
            let Some(plan) = self.plan_repo(&rules, &repo).await? else {
                continue;
            };
            let mut log = plan.log();
            let doomed = plan.deletions();
            let mut status = TASK_SUCCESS;
            if !params.dry_run {
                let name = RepoName::parse(&repo.name)?;
                for digest in &doomed {
                    let outcome = match Digest::parse(digest) {
                        Ok(d) => self.delete_manifest(&name, &Reference::Digest(d)).await,
                        Err(e) => Err(e),
                    };
                    match outcome {
                        // Already gone counts as done.
                        Err(e) if e.code() != ErrorCode::ManifestUnknown => {
                            status = TASK_ERROR;
                            failed += 1;
                            let _ =
                                writeln!(log, "failed to delete {digest}: {}", e.public_message());
                        }
                        _ => {}
                    }
                }
            }
            task.log(format_args!(
                "{}: {} artifacts, {} retained, {} manifests {}",
                repo.name,
                plan.total,
                plan.retained,
                doomed.len(),
                if params.dry_run {
                    "would be deleted"
                } else {
                    "deleted"
                }
            ));
            for digest in doomed
                .iter()
                .take(1000usize.saturating_sub(deleted_artifacts.len()))
            {
                deleted_artifacts.push(serde_json::json!({
                    "type": "artifact",
                    "status": if params.dry_run { "dry_run" } else { "deleted" },
                    "name_tag": format!("{}@{digest}", repo.name),
                }));
            }
            (repos, total, retained, deleted) = (
                repos + 1,
                total + plan.total,
                retained + plan.retained,
                deleted + doomed.len(),
            );
            let t = RetentionTaskRow {
                id: 0,
                execution_id: task.execution_id,
                repository: repo.name.clone(),
                status: status.into(),
                total: plan.total as i64,
                retained: plan.retained as i64,
                start_time: start,
                end_time: self.now_ms(),
                log,
            };
            self.meta.add_retention_task(&t).await?;
        }
        for (k, v) in [
            ("repositories", repos),
            ("total", total),
            ("retained", retained),
            ("deleted", deleted),
        ] {
            task.set_execution(k, v);
            task.set(k, v);
        }
        task.set_execution("dry_run", params.dry_run);
        let project = self
            .meta
            .project_by_id(row.project_id)
            .await?
            .map(|p| p.name)
            .unwrap_or_default();
        let result = if failed > 0 { "FAILED" } else { "SUCCESS" };
        self.record(
            crate::events::NewEvent::new(
                crate::events::TAG_RETENTION,
                "retention",
                project.clone(),
                "execute",
            )
            .project(row.project_id)
            .payload(serde_json::json!({
                "retention": {
                    "total": total,
                    "retained": retained,
                    "project_name": project,
                    "retention_policy_id": row.id,
                    "dry_run": params.dry_run,
                    "result": result,
                    "deleted_artifact": deleted_artifacts,
                }
            })),
        )
        .await;
        if failed > 0 {
            return Err(Error::internal(format!(
                "{failed} manifests could not be deleted; see the repositories' logs"
            )));
        }
        Ok(())
    }

    /// The execution `eid` of policy `id`, after checking `action` on the policy.
    async fn execution_row(
        &self,
        p: &Principal,
        id: i64,
        eid: i64,
        action: Action,
    ) -> Result<ExecutionRow> {
        self.retention_row(p, id, action).await?;
        match self.execution(eid).await {
            Ok(e) if e.vendor_type == RETENTION_JOB && e.vendor_id == id => Ok(e),
            Ok(_) | Err(Error::NotFound { .. }) => Err(Error::NotFound {
                what: format!("retention execution {eid}"),
            }),
            Err(e) => Err(e),
        }
    }

    /// Runs of a policy, newest first (paged).
    pub async fn retention_executions(
        &self,
        p: &Principal,
        id: i64,
        q: &ListQuery,
    ) -> Result<Page<RetentionExecution>> {
        self.retention_row(p, id, Action::List).await?;
        Ok(self
            .executions(RETENTION_JOB, Some(id), q)
            .await?
            .map(execution_view))
    }

    pub async fn retention_execution(
        &self,
        p: &Principal,
        id: i64,
        eid: i64,
    ) -> Result<RetentionExecution> {
        Ok(execution_view(
            self.execution_row(p, id, eid, Action::Read).await?,
        ))
    }

    /// Stop a running execution (`action` must be `stop`); repositories already done stay done.
    pub async fn operate_retention_execution(
        &self,
        p: &Principal,
        id: i64,
        eid: i64,
        action: &str,
    ) -> Result<()> {
        if action != "stop" {
            return Err(Error::BadRequest {
                reason: format!("the only action is \"stop\", not {action:?}"),
            });
        }
        self.execution_row(p, id, eid, Action::Operate).await?;
        self.stop_execution(eid).await
    }

    /// The tasks (one per repository) of an execution.
    pub async fn retention_tasks(
        &self,
        p: &Principal,
        id: i64,
        eid: i64,
        q: &ListQuery,
    ) -> Result<Page<RetentionTask>> {
        self.execution_row(p, id, eid, Action::List).await?;
        let spec = q.parse(&[], &[])?;
        let (rows, total) = self.meta.list_retention_tasks(eid, &spec).await?;
        Ok(spec.page_of(rows.into_iter().map(task_view).collect(), total))
    }

    /// A task's log: the kept/deleted table of its repository.
    pub async fn retention_task_log(
        &self,
        p: &Principal,
        id: i64,
        eid: i64,
        tid: i64,
    ) -> Result<String> {
        self.execution_row(p, id, eid, Action::Read).await?;
        let t = self
            .meta
            .retention_task(eid, tid)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!("retention task {tid}"),
            })?;
        Ok(t.log)
    }
}

/// The job service's vendor type of retention runs (vendor id: the policy id).
pub const RETENTION_JOB: &str = "RETENTION";
/// A repository's task status (the job service's words).
const TASK_SUCCESS: &str = "Success";
const TASK_ERROR: &str = "Error";

#[derive(serde::Serialize, serde::Deserialize)]
struct RunParams {
    policy_id: i64,
    #[serde(default)]
    dry_run: bool,
}

fn run_params(policy_id: i64, dry_run: bool) -> serde_json::Value {
    serde_json::to_value(RunParams { policy_id, dry_run }).expect("run parameters serialize")
}

/// Runs a retention policy as one job task.
struct RetentionJob;

#[async_trait::async_trait]
impl JobHandler for RetentionJob {
    async fn run(&self, reg: &Registry, task: &mut TaskContext) -> Result<()> {
        let params: RunParams =
            serde_json::from_value(task.params.clone()).map_err(|e| Error::BadRequest {
                reason: format!("retention run parameters: {e}"),
            })?;
        with_actor(Actor::new("system", ""), reg.run_retention(task, params)).await
    }
}

/// Register the retention job handler.
pub(crate) fn register_builtin(reg: &Registry) {
    reg.register_job(RETENTION_JOB, std::sync::Arc::new(RetentionJob));
}

fn execution_view(e: ExecutionRow) -> RetentionExecution {
    let dry_run = serde_json::from_str::<RunParams>(&e.params).is_ok_and(|p| p.dry_run);
    RetentionExecution {
        id: e.id,
        policy_id: e.vendor_id,
        start_time: time(e.start_time),
        end_time: e.end_time.map(time),
        status: e.status,
        trigger: e.trigger_kind,
        dry_run,
    }
}

fn task_view(t: RetentionTaskRow) -> RetentionTask {
    RetentionTask {
        id: t.id,
        execution_id: t.execution_id,
        repository: t.repository,
        job_id: String::new(),
        status_code: if t.status == TASK_SUCCESS { 3 } else { 4 },
        status: t.status,
        status_revision: t.end_time,
        start_time: time(t.start_time),
        end_time: Some(time(t.end_time)),
        total: t.total,
        retained: t.retained,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::policy::InventoryManifest;

    const NOW: i64 = 1_700_000_000_000;

    fn sel(kind: &str, decoration: &str, pattern: &str) -> RuleSelector {
        RuleSelector {
            kind: kind.into(),
            decoration: decoration.into(),
            pattern: pattern.into(),
            extras: String::new(),
        }
    }

    fn rule(
        id: i64,
        template: &str,
        param: Option<i64>,
        tags: Vec<RuleSelector>,
        repo: Option<RuleSelector>,
    ) -> CompiledRule {
        let r = PolicyRule {
            id,
            ..PolicyRule::retain(template, param, tags, repo.into_iter().collect())
        };
        compile_rule(&r).unwrap()
    }

    fn all_tags() -> Vec<RuleSelector> {
        vec![sel(DOUBLESTAR, "matches", "**")]
    }

    fn cand(
        d: &str,
        tags: &[&str],
        pushed_days_ago: i64,
        pulled_days_ago: Option<i64>,
    ) -> Candidate {
        Candidate {
            digest: d.into(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            labels: Vec::new(),
            push_time: NOW - pushed_days_ago * DAY_MS,
            pull_time: pulled_days_ago.map(|d| NOW - d * DAY_MS),
            immutable: false,
        }
    }

    fn kept_digests(cs: &[Candidate], k: &[Option<Kept>]) -> Vec<String> {
        cs.iter()
            .zip(k)
            .filter(|(_, k)| k.is_some())
            .map(|(c, _)| c.digest.clone())
            .collect()
    }

    fn sample() -> Vec<Candidate> {
        vec![
            cand("a", &["v1"], 10, Some(1)),
            cand("b", &["v2"], 5, None),
            cand("c", &["v3", "latest"], 1, Some(20)),
            cand("d", &[], 2, None),
            cand("e", &["dev-1"], 30, Some(3)),
        ]
    }

    #[test]
    fn templates_keep_what_they_say() {
        let cs = sample();
        let check = |r: CompiledRule, want: &[&str]| {
            let k = evaluate(&[r], "p/app", &cs, NOW).unwrap();
            assert_eq!(
                kept_digests(&cs, &k),
                want.iter().map(|s| s.to_string()).collect::<Vec<_>>()
            );
        };
        check(
            rule(1, "latestPushedK", Some(2), all_tags(), None),
            &["c", "d"],
        );
        check(
            rule(1, "latestPulledN", Some(2), all_tags(), None),
            &["a", "e"],
        );
        check(
            rule(1, "nDaysSinceLastPush", Some(5), all_tags(), None),
            &["b", "c", "d"],
        );
        check(
            rule(1, "nDaysSinceLastPull", Some(3), all_tags(), None),
            &["a", "e"],
        );
        check(
            rule(1, "always", None, all_tags(), None),
            &["a", "b", "c", "d", "e"],
        );
        check(
            rule(1, "latestActiveK", Some(2), all_tags(), None),
            &["a", "c"],
        );
        check(rule(1, "lastXDays", Some(2), all_tags(), None), &["c", "d"]);
        check(rule(1, "latestPushedK", Some(0), all_tags(), None), &[]);
    }

    #[test]
    fn selectors_rules_or_and_scope() {
        let cs = sample();
        let v_tags = vec![sel(REGEX, "matches", r"v\d+")];
        // Only v-tags, latest one: c (v3) — its other tag does not matter.
        let k = evaluate(
            &[rule(1, "latestPushedK", Some(1), v_tags.clone(), None)],
            "p/app",
            &cs,
            NOW,
        )
        .unwrap();
        assert_eq!(kept_digests(&cs, &k), ["c"]);
        // OR with "always keep dev-*": c and e.
        let mut dev_tags = sel(DOUBLESTAR, "matches", "dev-*");
        dev_tags.extras = r#"{"untagged":false}"#.into();
        let dev = rule(2, "always", None, vec![dev_tags], None);
        let k = evaluate(
            &[rule(1, "latestPushedK", Some(1), v_tags, None), dev],
            "p/app",
            &cs,
            NOW,
        )
        .unwrap();
        assert_eq!(kept_digests(&cs, &k), ["c", "e"]);
        assert_eq!(k[4], Some(Kept::Rule(2)));
        // Untagged excluded from the candidate set of a "matches" selector with untagged=false.
        let mut s = sel(DOUBLESTAR, "matches", "**");
        s.extras = r#"{"untagged":false}"#.into();
        let k = evaluate(&[rule(1, "always", None, vec![s], None)], "p/app", &cs, NOW).unwrap();
        assert_eq!(kept_digests(&cs, &k), ["a", "b", "c", "e"]);
        // Scope: a rule for other repositories leaves this one alone.
        let other = rule(
            1,
            "latestPushedK",
            Some(0),
            all_tags(),
            Some(sel(DOUBLESTAR, "repoMatches", "other/**")),
        );
        assert!(evaluate(&[other], "p/app", &cs, NOW).is_none());
        // Immutable candidates stay whatever the rules say.
        let mut cs2 = cs.clone();
        cs2[4].immutable = true;
        let k = evaluate(
            &[rule(1, "latestPushedK", Some(0), all_tags(), None)],
            "p/app",
            &cs2,
            NOW,
        )
        .unwrap();
        assert_eq!(k[4], Some(Kept::Immutable));
        assert_eq!(kept_digests(&cs2, &k), ["e"]);
    }

    #[test]
    fn params_are_validated() {
        let parse = |t: &str, v: serde_json::Value| {
            Template::parse(t, &[(t.to_owned(), v)].into_iter().collect())
        };
        assert_eq!(
            parse("latestPushedK", serde_json::json!(3)).unwrap(),
            Template::LatestPushedK(3)
        );
        assert_eq!(
            parse("latestPushedK", serde_json::json!("3")).unwrap(),
            Template::LatestPushedK(3)
        );
        for bad in [
            serde_json::json!(-1),
            serde_json::json!(32767),
            serde_json::json!("x"),
            serde_json::json!(1.5),
        ] {
            assert!(parse("latestPushedK", bad.clone()).is_err(), "{bad}");
        }
        assert!(parse("nDaysSinceLastPush", serde_json::json!(20_190_905)).is_err());
        assert!(
            Template::parse("latestPushedK", &BTreeMap::new()).is_err(),
            "missing param"
        );
        assert!(Template::parse("always", &BTreeMap::new()).is_ok());
        assert!(
            parse("always", serde_json::json!(1)).is_err(),
            "always takes no parameter"
        );
        let e = Template::parse("keepEverything", &BTreeMap::new()).unwrap_err();
        assert!(e.to_string().contains("keepEverything"), "{e}");
    }

    fn m(d: &str, pushed_days_ago: i64, subject: Option<&str>) -> InventoryManifest {
        InventoryManifest {
            digest: d.into(),
            push_time: NOW - pushed_days_ago * DAY_MS,
            pull_time: None,
            subject: subject.map(Into::into),
            accessory: subject.is_some(),
        }
    }

    #[test]
    fn dependents_follow_what_points_at_them() {
        // idx (tagged, old) lists c1 and c2; sig signs idx; new (tagged) is recent; c2 is also
        // listed by keep-idx (tagged, recent).
        let inv = RepoInventory {
            manifests: vec![
                m("idx", 10, None),
                m("c1", 10, None),
                m("c2", 10, None),
                m("sig", 9, Some("idx")),
                m("new", 1, None),
                m("keep-idx", 1, None),
            ],
            tags: vec![
                ("idx".into(), "old".into()),
                ("new".into(), "new".into()),
                ("keep-idx".into(), "multi".into()),
            ],
            labels: vec![],
            children: vec![
                ("idx".into(), "c1".into()),
                ("idx".into(), "c2".into()),
                ("keep-idx".into(), "c2".into()),
            ],
        };
        let plan = plan_repository(
            &[rule(1, "latestPushedK", Some(2), all_tags(), None)],
            "p/app",
            &inv,
            NOW,
            |_| false,
        )
        .unwrap();
        assert_eq!((plan.total, plan.retained), (3, 2));
        assert_eq!(
            plan.deletions(),
            ["c1", "idx", "sig"],
            "c2 stays: keep-idx still lists it"
        );
        assert!(plan.log().contains("RETAIN (rule 1)"));
        // When the index is immutable, its children and signature stay with it.
        let plan = plan_repository(
            &[rule(1, "latestPushedK", Some(0), all_tags(), None)],
            "p/app",
            &inv,
            NOW,
            |t| t == "old",
        )
        .unwrap();
        assert_eq!(plan.deletions(), ["keep-idx", "new"], "{}", plan.log());
        // A tagged child of a surviving index is kept although no rule keeps it.
        let inv2 = RepoInventory {
            tags: vec![("idx".into(), "old".into()), ("c1".into(), "child".into())],
            ..inv
        };
        let mut old = sel(DOUBLESTAR, "matches", "old");
        old.extras = r#"{"untagged":false}"#.into();
        let plan = plan_repository(
            &[rule(1, "always", None, vec![old], None)],
            "p/app",
            &inv2,
            NOW,
            |_| false,
        )
        .unwrap();
        assert_eq!(
            plan.deletions(),
            ["keep-idx", "new"],
            "c1 stays with idx: {}",
            plan.log()
        );
        assert!(plan.log().contains("RETAIN (referenced)"));
    }

    #[test]
    fn tagged_accessories_follow_their_subject() {
        // app (tagged v1, old) is signed with cosign's tag scheme; v2 is recent. Keeping the
        // latest one must not keep or judge the `.sig` tag on its own.
        let sig_tag = format!("sha256-{}.sig", "a".repeat(64));
        let inv = RepoInventory {
            manifests: vec![
                m("app", 10, None),
                m("sig", 9, Some("app")),
                m("v2", 1, None),
            ],
            tags: vec![
                ("app".into(), "v1".into()),
                ("sig".into(), sig_tag.clone()),
                ("v2".into(), "v2".into()),
            ],
            labels: vec![],
            children: vec![],
        };
        let keep_latest = [rule(1, "latestPushedK", Some(1), all_tags(), None)];
        let plan = plan_repository(&keep_latest, "p/app", &inv, NOW, |_| false).unwrap();
        assert_eq!(plan.deletions(), ["app", "sig"], "{}", plan.log());
        assert_eq!(
            (plan.total, plan.retained),
            (2, 1),
            "the .sig tag is no candidate"
        );
        // Kept with its subject, even by a rule that would not match its tag.
        let keep_v1 = [rule(
            1,
            "always",
            None,
            vec![sel(DOUBLESTAR, "matches", "v1")],
            None,
        )];
        let plan = plan_repository(&keep_v1, "p/app", &inv, NOW, |_| false).unwrap();
        assert_eq!(plan.deletions(), ["v2"], "{}", plan.log());
    }

    /// The evaluation budget: 100,000 tags in one repository, five rules of every selector kind.
    /// Run in release: `cargo test --release -p registry-core --lib -- --ignored --nocapture
    /// retention_bench` (figures in docs/benchmarks.md).
    #[test]
    #[ignore = "benchmark: run it in release (see above); tests/run.sh runs it in debug as a check"]
    fn retention_bench() {
        // 100,000 tagged artifacts (one tag each) and 10,000 untagged ones.
        let (n, untagged) = (100_000usize, 10_000usize);
        let mut inv = RepoInventory::default();
        for i in 0..n + untagged {
            let d = format!("sha256:{i:064x}");
            let pulled = (i % 2 == 0).then(|| NOW - ((i % 90) as i64) * DAY_MS);
            inv.manifests.push(InventoryManifest {
                digest: d.clone(),
                push_time: NOW - (i as i64) * 60_000,
                pull_time: pulled,
                subject: None,
                accessory: false,
            });
            if i >= n {
                continue;
            }
            let tag = match i % 10 {
                0..=5 => format!("{}.{}.{}", i / 10_000, (i / 100) % 100, i % 100),
                6 | 7 => format!("dev-{i}"),
                8 => format!("release-{i}"),
                _ => format!("feature-{i}-x"),
            };
            inv.tags.push((d.clone(), tag));
            if i % 1000 == 3 {
                inv.labels.push((d, "keep".into()));
            }
        }
        let rules = vec![
            rule(
                1,
                "latestPushedK",
                Some(100),
                vec![sel(REGEX, "matches", r"\d+\.\d+\.\d+")],
                None,
            ),
            rule(
                2,
                "nDaysSinceLastPull",
                Some(30),
                vec![sel(DOUBLESTAR, "matches", "**")],
                None,
            ),
            rule(
                3,
                "always",
                None,
                vec![sel(DOUBLESTAR, "matches", "release-*")],
                Some(sel(DOUBLESTAR, "repoMatches", "**")),
            ),
            rule(
                4,
                "latestPushedK",
                Some(10),
                vec![sel(DOUBLESTAR, "excludes", "dev-*")],
                None,
            ),
            rule(
                5,
                "always",
                None,
                vec![sel(LABEL, "withLabels", "keep")],
                None,
            ),
        ];
        let immutable = |t: &str| t.starts_with("0.0.");
        let mut times = Vec::new();
        let mut plan = None;
        for _ in 0..5 {
            let start = std::time::Instant::now();
            plan = plan_repository(&rules, "bench/app", &inv, NOW, immutable);
            times.push(start.elapsed());
        }
        times.sort();
        let plan = plan.unwrap();
        println!(
            "retention_bench: {} manifests, {} tags, {} rules: {} retained, {} deleted; plan_repository median {:?} (min {:?}, max {:?})",
            inv.manifests.len(),
            inv.tags.len(),
            rules.len(),
            plan.retained,
            plan.deletions().len(),
            times[2],
            times[0],
            times[4]
        );
        // Measured, not asserted: the figures go to docs/benchmarks.md from a release run.
    }
}
