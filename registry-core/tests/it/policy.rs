//! Immutable tag rules and tag retention on the `Registry` facade, on a fake clock, on SQLite and
//! on PostgreSQL (each scenario runs on both backends).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use registry_core::clock::{Clock, FakeClock};
use registry_core::image::{Content, ImageRef, NewImage, NewLayer};
use registry_core::model::{PolicyRule, ProjectReq, RetentionPolicy, RetentionScope, RuleSelector};
use registry_core::oci::{Digest, Reference, RepoName};
use registry_core::{ErrorCode, ListQuery, Principal, Registry};

use crate::service_url;

const DAY: i64 = 86_400_000;
const SYS: &Principal = &Principal::System;

/// A registry on the named backend with a fake clock; `None` when PostgreSQL is not configured.
async fn registry(backend: &str) -> Option<(Registry, Arc<FakeClock>)> {
    let meta = match backend {
        "sqlite" => registry_core::registry::open_metadata("memory://")
            .await
            .unwrap(),
        _ => {
            let admin = service_url("BERTH_TEST_PG_URL")?;
            let url = crate::backends::fresh_pg_database(&admin).await;
            registry_core::registry::open_metadata(&url).await.unwrap()
        }
    };
    let clock = Arc::new(FakeClock::new(1_700_000_000_000));
    let reg = Registry::builder()
        .blobs(Arc::new(registry_core::blob::memory::MemoryBlobStore::new()))
        .meta(meta)
        .clock(clock.clone())
        .build()
        .unwrap();
    reg.bootstrap(Some("Admin-Pass-1")).await.unwrap();
    Some((reg, clock))
}

/// Each scenario as two tests: `<name>_sqlite` and `<name>_postgres`.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => { $(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let (reg, clock) = super::registry("sqlite").await.unwrap();
                super::$name(reg, clock).await;
            }
            #[tokio::test]
            #[ignore = "needs PostgreSQL (BERTH_TEST_PG_URL); tests/run.sh starts it and runs ignored tests"]
            async fn postgres() {
                let Some((reg, clock)) = super::registry("postgres").await else { return };
                super::$name(reg, clock).await;
            }
        }
    )+ };
}

on_both_backends!(
    immutable_tags,
    immutable_first_pushes_race,
    retention_templates,
    dry_run_lists_exactly_what_a_real_run_deletes,
    retention_input_is_validated,
    accessories_and_content_trust
);

async fn project(reg: &Registry, name: &str) -> i64 {
    let req = ProjectReq {
        project_name: name.into(),
        ..Default::default()
    };
    reg.create_project(SYS, req).await.unwrap().project_id
}

/// A user holding `role_id` in `project`, signed in.
async fn member(reg: &Registry, project: &str, name: &str, role_id: i64) -> Principal {
    let p = crate::access::user(reg, name).await;
    crate::access::member(reg, project, name, role_id).await;
    p
}

/// Push a small image whose content depends on `seed`; returns its digest.
async fn push(reg: &Registry, image: &str, seed: &str) -> registry_core::Result<Digest> {
    let layer = NewLayer {
        content: Content::Bytes(Bytes::from(format!("layer of {seed}"))),
        media_type: None,
    };
    let img = NewImage {
        layers: vec![layer],
        ..Default::default()
    };
    Ok(reg
        .push_image(&ImageRef::parse(image).unwrap(), img)
        .await?
        .digest)
}

fn sel(kind: &str, decoration: &str, pattern: &str) -> RuleSelector {
    RuleSelector {
        kind: kind.into(),
        decoration: decoration.into(),
        pattern: pattern.into(),
        extras: String::new(),
    }
}

fn rule(tags: RuleSelector, repos: Option<RuleSelector>) -> PolicyRule {
    PolicyRule {
        tag_selectors: vec![tags],
        scope_selectors: repos
            .map(|r| [("repository".to_owned(), vec![r])].into_iter().collect())
            .unwrap_or_default(),
        ..Default::default()
    }
}

fn retain(
    template: &str,
    param: Option<i64>,
    tags: RuleSelector,
    repos: Option<RuleSelector>,
) -> PolicyRule {
    PolicyRule::retain(template, param, vec![tags], repos.into_iter().collect())
}

fn policy(project_id: i64, rules: Vec<PolicyRule>) -> RetentionPolicy {
    RetentionPolicy {
        algorithm: "or".into(),
        rules,
        scope: RetentionScope {
            level: "project".into(),
            reference: project_id,
        },
        ..Default::default()
    }
}

fn refused(r: registry_core::Result<impl std::fmt::Debug>, code: ErrorCode, needle: &str) {
    let e = r.expect_err("should be refused");
    assert_eq!(e.code(), code, "{e}");
    assert!(
        e.to_string().contains(needle),
        "{e:?} should mention {needle:?}"
    );
}

async fn tags_of(reg: &Registry, project: &str, repo: &str) -> BTreeMap<String, bool> {
    let arts = reg
        .artifacts(SYS, project, repo, &ListQuery::new().page(1, 100))
        .await
        .unwrap()
        .items;
    arts.into_iter()
        .flat_map(|a| a.tags)
        .map(|t| (t.name, t.immutable))
        .collect()
}

async fn immutable_tags(reg: Registry, _clock: Arc<FakeClock>) {
    let pid = project(&reg, "imm").await;
    let maintainer = member(&reg, "imm", "maint", 4).await;
    let developer = member(&reg, "imm", "dev", 2).await;
    let any = sel("doublestar", "repoMatches", "**");
    refused(
        reg.create_immutable_rule(
            &developer,
            "imm",
            true,
            rule(sel("doublestar", "matches", "1.*"), None),
        )
        .await,
        ErrorCode::Denied,
        "",
    );
    let r1 = reg
        .create_immutable_rule(
            &maintainer,
            "imm",
            true,
            rule(sel("doublestar", "matches", "1.*"), Some(any.clone())),
        )
        .await
        .unwrap();
    let mut regex_rule = rule(
        sel("regex", "matches", r"rel-\d+"),
        Some(sel("regex", "repoMatches", "app|web/.*")),
    );
    regex_rule.disabled = true;
    let r2 = reg
        .create_immutable_rule(&maintainer, &pid.to_string(), false, regex_rule.clone())
        .await
        .unwrap();
    let listed = reg
        .immutable_rules(&developer, "imm", true, &ListQuery::new())
        .await
        .unwrap();
    assert_eq!(listed.total, 2, "members may read the rules");
    assert_eq!(
        (
            listed.items[0].action.as_str(),
            listed.items[0].template.as_str()
        ),
        ("immutable", "immutable_template")
    );

    // First push of a matching tag is allowed; moving it is not, whatever it would point at.
    let first = push(&reg, "imm/app:1.0", "a").await.unwrap();
    refused(
        push(&reg, "imm/app:1.0", "b").await,
        ErrorCode::PreconditionFailed,
        &format!("\"imm/app:1.0\" is immutable (rule {r1})"),
    );
    refused(
        push(&reg, "imm/app:1.0", "a").await,
        ErrorCode::PreconditionFailed,
        "imm/app:1.0",
    );
    let app = RepoName::parse("imm/app").unwrap();
    assert_eq!(
        reg.get_manifest(&app, &Reference::Tag("1.0".into()))
            .await
            .unwrap()
            .digest,
        first.to_string()
    );
    // Non-matching tags move freely; new matching tags can be added.
    push(&reg, "imm/app:latest", "a").await.unwrap();
    push(&reg, "imm/app:latest", "c").await.unwrap();
    push(&reg, "imm/app:1.1", "d").await.unwrap();
    // Deleting the tag, the artifact carrying it, or the repository is refused.
    refused(
        reg.delete_manifest(&app, &Reference::Tag("1.0".into()))
            .await,
        ErrorCode::PreconditionFailed,
        "imm/app:1.0",
    );
    refused(
        reg.delete_tag(SYS, "imm", "app", &first.to_string(), "1.0")
            .await,
        ErrorCode::PreconditionFailed,
        "immutable",
    );
    refused(
        reg.delete_artifact(SYS, "imm", "app", "1.0").await,
        ErrorCode::PreconditionFailed,
        "cannot be deleted",
    );
    refused(
        reg.delete_manifest(&app, &Reference::Digest(first.clone()))
            .await,
        ErrorCode::PreconditionFailed,
        "imm/app:1.0",
    );
    refused(
        reg.delete_repository(SYS, "imm", "app").await,
        ErrorCode::PreconditionFailed,
        "imm/app:1.0",
    );
    refused(
        reg.delete_manifest(&app, &Reference::Tag("1.9".into()))
            .await,
        ErrorCode::ManifestUnknown,
        "1.9",
    );
    reg.delete_manifest(&app, &Reference::Tag("latest".into()))
        .await
        .unwrap();
    let tags = tags_of(&reg, "imm", "app").await;
    assert_eq!(
        tags,
        [("1.0".to_owned(), true), ("1.1".to_owned(), true)]
            .into_iter()
            .collect(),
        "tags show their status"
    );

    // The disabled regex rule is ignored until enabled; then it applies at once on this node.
    push(&reg, "imm/app:rel-1", "e").await.unwrap();
    push(&reg, "imm/app:rel-1", "f").await.unwrap();
    regex_rule.disabled = false;
    reg.update_immutable_rule(&maintainer, "imm", true, r2, regex_rule.clone())
        .await
        .unwrap();
    refused(
        push(&reg, "imm/app:rel-1", "g").await,
        ErrorCode::PreconditionFailed,
        &format!("(rule {r2})"),
    );
    push(&reg, "imm/app:rel-1x", "g").await.unwrap();
    push(&reg, "imm/app:rel-1x", "h").await.unwrap(); // the regex matches whole tags only
    push(&reg, "imm/db:rel-1", "i").await.unwrap();
    push(&reg, "imm/db:rel-1", "j").await.unwrap(); // the rule's repository selector leaves db alone

    // Bad input changes nothing.
    refused(
        reg.create_immutable_rule(
            &maintainer,
            "imm",
            true,
            rule(sel("doublestar", "matches", "1.*"), Some(any.clone())),
        )
        .await,
        ErrorCode::AlreadyExists,
        "same selectors",
    );
    refused(
        reg.create_immutable_rule(
            &maintainer,
            "imm",
            true,
            rule(sel("regex", "matches", "v(1"), None),
        )
        .await,
        ErrorCode::BadRequest,
        "\"v(1\"",
    );
    refused(
        reg.create_immutable_rule(
            &maintainer,
            "imm",
            true,
            rule(sel("doublestar", "matches", "a[b"), None),
        )
        .await,
        ErrorCode::BadRequest,
        "\"a[b\"",
    );
    for i in 3..=15 {
        reg.create_immutable_rule(
            &maintainer,
            "imm",
            true,
            rule(sel("doublestar", "matches", &format!("x{i}")), None),
        )
        .await
        .unwrap();
    }
    refused(
        reg.create_immutable_rule(
            &maintainer,
            "imm",
            true,
            rule(sel("doublestar", "matches", "x16"), None),
        )
        .await,
        ErrorCode::BadRequest,
        "at most 15",
    );
    assert_eq!(
        reg.immutable_rules(SYS, "imm", true, &ListQuery::new())
            .await
            .unwrap()
            .total,
        15
    );

    // Without the rule the tag moves again.
    reg.delete_immutable_rule(&maintainer, "imm", true, r1)
        .await
        .unwrap();
    push(&reg, "imm/app:1.0", "k").await.unwrap();
    reg.delete_manifest(&app, &Reference::Tag("1.1".into()))
        .await
        .unwrap();
    refused(
        reg.delete_immutable_rule(&maintainer, "imm", true, r1)
            .await,
        ErrorCode::NotFound,
        "",
    );
}

/// Eight clients push the first version of the same protected tag at once: exactly one wins,
/// the others get PRECONDITION, and the tag points at the winner's manifest.
async fn immutable_first_pushes_race(reg: Registry, _clock: Arc<FakeClock>) {
    project(&reg, "race").await;
    let any = sel("doublestar", "repoMatches", "**");
    reg.create_immutable_rule(
        SYS,
        "race",
        true,
        rule(sel("doublestar", "matches", "1.*"), Some(any)),
    )
    .await
    .unwrap();
    let pushes: Vec<_> = (0..8)
        .map(|i| {
            let reg = reg.clone();
            tokio::spawn(async move { push(&reg, "race/app:1.0", &format!("racer {i}")).await })
        })
        .collect();
    let mut won = Vec::new();
    for p in pushes {
        match p.await.unwrap() {
            Ok(d) => won.push(d),
            Err(e) => assert_eq!(e.code(), ErrorCode::PreconditionFailed, "{e}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one first push wins: {won:?}");
    let app = RepoName::parse("race/app").unwrap();
    let m = reg
        .get_manifest(&app, &Reference::Tag("1.0".into()))
        .await
        .unwrap();
    assert_eq!(m.digest, won[0].to_string());
}

/// Wait for an execution to end; returns (status, tasks' logs by repository).
async fn finish(reg: &Registry, id: i64, eid: i64) -> (String, BTreeMap<String, String>) {
    reg.run_jobs_until_idle().await.unwrap();
    for _ in 0..500 {
        let e = reg.retention_execution(SYS, id, eid).await.unwrap();
        if !matches!(e.status.as_str(), "Pending" | "Running") {
            let mut logs = BTreeMap::new();
            for t in reg
                .retention_tasks(SYS, id, eid, &ListQuery::new().page(1, 100))
                .await
                .unwrap()
                .items
            {
                logs.insert(
                    t.repository.clone(),
                    reg.retention_task_log(SYS, id, eid, t.id).await.unwrap(),
                );
            }
            return (e.status, logs);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("retention execution {eid} did not finish");
}

/// Digests a log marks for deletion.
fn deleted_in(log: &str) -> BTreeSet<String> {
    log.lines()
        .filter(|l| l.contains("| DEL"))
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect()
}

async fn digests(reg: &Registry, project: &str, repo: &str) -> BTreeSet<String> {
    match reg
        .artifacts(SYS, project, repo, &ListQuery::new().page(1, 100))
        .await
    {
        // Accessories (the signature) are listed under their subject.
        Ok(page) => page
            .items
            .into_iter()
            .flat_map(|a| {
                let accessories = a.accessories.into_iter().map(|x| x.digest);
                std::iter::once(a.digest).chain(accessories)
            })
            .collect(),
        Err(e) if e.code() == ErrorCode::NotFound => BTreeSet::new(),
        Err(e) => panic!("{e}"),
    }
}

/// One project per template: four artifacts pushed a day apart (a1 oldest), some pulled, then a
/// dry run (nothing goes) and a real run (exactly the expected ones go).
async fn retention_templates(reg: Registry, clock: Arc<FakeClock>) {
    let all = || sel("doublestar", "matches", "**");
    let cases: Vec<(&str, PolicyRule, &[&str])> = vec![
        (
            "pushed",
            retain("latestPushedK", Some(2), all(), None),
            &["a3", "a4"],
        ),
        (
            "pulled",
            retain("latestPulledN", Some(1), all(), None),
            &["a1"],
        ),
        (
            "pushdays",
            retain("nDaysSinceLastPush", Some(2), all(), None),
            &["a3", "a4"],
        ),
        (
            "pulldays",
            retain("nDaysSinceLastPull", Some(3), all(), None),
            &["a1", "a2"],
        ),
        (
            "always",
            retain("always", None, sel("regex", "matches", "v[13]"), None),
            &["a1", "a3"],
        ),
        (
            "active",
            retain("latestActiveK", Some(2), all(), None),
            &["a1", "a4"],
        ),
        ("xdays", retain("lastXDays", Some(1), all(), None), &["a4"]),
    ];
    for (name, rule, keep) in cases {
        let pid = project(&reg, name).await;
        let mut digest_of = BTreeMap::new();
        for i in 1..=4 {
            let d = push(&reg, &format!("{name}/app:v{i}"), &format!("{name}{i}"))
                .await
                .unwrap();
            digest_of.insert(d.to_string(), format!("a{i}"));
            clock.advance(DAY);
        }
        // Pulls: a1 yesterday, a2 three days ago (the clock is now a day past the last push).
        let now = clock.now_ms();
        let pulls: Vec<(String, String, i64)> = digest_of
            .iter()
            .filter_map(|(d, n)| match n.as_str() {
                "a1" => Some((format!("{name}/app"), d.clone(), now - DAY)),
                "a2" => Some((format!("{name}/app"), d.clone(), now - 3 * DAY + 1)),
                _ => None,
            })
            .collect();
        reg.metadata_store().record_pulls(&pulls).await.unwrap();
        let id = reg
            .create_retention(SYS, policy(pid, vec![rule]))
            .await
            .unwrap();
        let before = digests(&reg, name, "app").await;
        let eid = reg.trigger_retention(SYS, id, true).await.unwrap();
        let (status, logs) = finish(&reg, id, eid).await;
        assert_eq!(status, "Success", "{name}");
        assert_eq!(
            digests(&reg, name, "app").await,
            before,
            "{name}: a dry run deletes nothing"
        );
        let dry = deleted_in(&logs[&format!("{name}/app")]);
        let eid = reg.trigger_retention(SYS, id, false).await.unwrap();
        let (status, logs) = finish(&reg, id, eid).await;
        assert_eq!(status, "Success", "{name}: {logs:?}");
        let left: Vec<&str> = digests(&reg, name, "app")
            .await
            .iter()
            .map(|d| digest_of[d].as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(left, keep, "{name}: {}", logs[&format!("{name}/app")]);
        let gone: BTreeSet<String> = before
            .difference(&digests(&reg, name, "app").await)
            .cloned()
            .collect();
        assert_eq!(dry, gone, "{name}: the dry run listed what the run deleted");
        let tasks = reg
            .retention_tasks(SYS, id, eid, &ListQuery::new())
            .await
            .unwrap()
            .items;
        assert_eq!(
            (tasks.len(), tasks[0].total, tasks[0].retained),
            (1, 4, keep.len() as i64),
            "{name}"
        );
    }
    let runs = reg
        .retention_executions(SYS, 1, &ListQuery::new())
        .await
        .unwrap();
    assert_eq!(runs.total, 2);
    assert!(
        runs.items[0].id > runs.items[1].id && !runs.items[0].dry_run && runs.items[1].dry_run,
        "newest first"
    );
}

/// Several repositories, several rules, untagged artifacts, an index with children, a signature,
/// an immutable tag and a label: the dry run's list is exactly what the real run removes.
async fn dry_run_lists_exactly_what_a_real_run_deletes(reg: Registry, clock: Arc<FakeClock>) {
    let pid = project(&reg, "eq").await;
    for repo in ["web", "api", "tools/cli"] {
        for i in 0..12 {
            let tag = match i % 4 {
                0 => format!("v1.{i}.0"),
                1 => format!("dev-{i}"),
                2 => format!("rc{i}"),
                _ => format!("untagged-{i}"),
            };
            let d = push(&reg, &format!("eq/{repo}:{tag}"), &format!("{repo}{i}"))
                .await
                .unwrap();
            if tag.starts_with("untagged") {
                let name = RepoName::parse(&format!("eq/{repo}")).unwrap();
                reg.delete_manifest(&name, &Reference::Tag(tag))
                    .await
                    .unwrap();
            }
            if i == 5 {
                reg.metadata_store()
                    .record_pulls(&[(format!("eq/{repo}"), d.to_string(), clock.now_ms())])
                    .await
                    .unwrap();
            }
            clock.advance(DAY / 2);
        }
    }
    // An index over two web images (children untagged) and a signature on it.
    let web = RepoName::parse("eq/web").unwrap();
    let c1 = push(&reg, "eq/web:child-a", "ca").await.unwrap();
    let c2 = push(&reg, "eq/web:child-b", "cb").await.unwrap();
    for t in ["child-a", "child-b"] {
        reg.delete_manifest(&web, &Reference::Tag(t.into()))
            .await
            .unwrap();
    }
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": c1.to_string(), "size": 1},
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": c2.to_string(), "size": 1}]});
    let index_body = Bytes::from(serde_json::to_vec(&index).unwrap());
    reg.put_manifest(
        &web,
        &Reference::Tag("multi".into()),
        Some("application/vnd.oci.image.index.v1+json"),
        index_body.clone(),
        &[],
    )
    .await
    .unwrap();
    let index_digest = Digest::sha256_of(&index_body);
    let config = reg
        .push_blob_bytes(&web, Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let sig = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config.to_string(), "size": 2},
        "layers": [], "subject": {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": index_digest.to_string(), "size": index_body.len()}});
    let sig_body = Bytes::from(serde_json::to_vec(&sig).unwrap());
    reg.put_manifest(
        &web,
        &Reference::Digest(Digest::sha256_of(&sig_body)),
        Some("application/vnd.oci.image.manifest.v1+json"),
        sig_body.clone(),
        &[],
    )
    .await
    .unwrap();
    // A label keeps one api artifact; an immutable rule protects web's rc tags.
    let label = reg
        .create_label(
            SYS,
            registry_core::model::Label {
                id: 0,
                name: "keep".into(),
                description: String::new(),
                color: String::new(),
                scope: "p".into(),
                project_id: pid,
                creation_time: Default::default(),
                update_time: Default::default(),
            },
        )
        .await
        .unwrap();
    reg.attach_label(SYS, "eq", "api", "dev-1", label.id)
        .await
        .unwrap();
    reg.create_immutable_rule(
        SYS,
        "eq",
        true,
        rule(
            sel("regex", "matches", "rc.*"),
            Some(sel("doublestar", "repoMatches", "web")),
        ),
    )
    .await
    .unwrap();

    let rules = vec![
        retain(
            "latestPushedK",
            Some(2),
            sel("regex", "matches", r"v\d+\.\d+\.\d+"),
            None,
        ),
        retain(
            "nDaysSinceLastPull",
            Some(30),
            sel("doublestar", "matches", "**"),
            None,
        ),
        retain(
            "always",
            None,
            sel("label", "withLabels", "keep"),
            Some(sel("doublestar", "repoMatches", "api")),
        ),
        retain(
            "latestPushedK",
            Some(1),
            sel("doublestar", "excludes", "dev-*"),
            Some(sel("regex", "repoExcludes", "tools/.*")),
        ),
    ];
    let id = reg.create_retention(SYS, policy(pid, rules)).await.unwrap();
    let repos = ["web", "api", "tools/cli"];
    let mut before = BTreeMap::new();
    for r in repos {
        before.insert(format!("eq/{r}"), digests(&reg, "eq", r).await);
    }
    let eid = reg.trigger_retention(SYS, id, true).await.unwrap();
    let (_, dry_logs) = finish(&reg, id, eid).await;
    let preview = reg.retention_preview(SYS, id).await.unwrap();
    for p in &preview {
        let listed: BTreeSet<String> = p.deleted.iter().cloned().collect();
        assert_eq!(
            listed,
            deleted_in(&dry_logs[&p.repository]),
            "the preview is the dry run"
        );
    }
    let eid = reg.trigger_retention(SYS, id, false).await.unwrap();
    let (status, logs) = finish(&reg, id, eid).await;
    assert_eq!(status, "Success");
    let mut total_deleted = 0;
    for r in repos {
        let full = format!("eq/{r}");
        let dry = deleted_in(&dry_logs[&full]);
        let after = digests(&reg, "eq", r).await;
        let gone: BTreeSet<String> = before[&full].difference(&after).cloned().collect();
        assert_eq!(dry, gone, "{full}:\n{}", logs[&full]);
        assert_eq!(
            deleted_in(&logs[&full]),
            gone,
            "the real run's log says the same"
        );
        total_deleted += gone.len();
    }
    assert!(
        total_deleted > 10,
        "the scenario deletes something ({total_deleted})"
    );
    // Both runs were announced as TAG_RETENTION events (webhooks, audit), naming what went.
    let events: Vec<serde_json::Value> = reg
        .metadata_store()
        .events_after(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == registry_core::events::TAG_RETENTION)
        .map(|e| serde_json::from_str(&e.payload).unwrap())
        .collect();
    assert_eq!(events.len(), 2);
    let real = &events[1]["retention"];
    assert_eq!(
        (real["dry_run"].as_bool(), real["result"].as_str()),
        (Some(false), Some("SUCCESS"))
    );
    assert_eq!(
        real["deleted_artifact"].as_array().unwrap().len(),
        total_deleted
    );
    // What had to survive did: the immutable rc tags and the labelled artifact; the index's
    // children and signature share the index's fate.
    let web_after = digests(&reg, "eq", "web").await;
    let tags = tags_of(&reg, "eq", "web").await;
    assert!(
        tags.keys().any(|t| t.starts_with("rc"))
            && tags.keys().filter(|t| t.starts_with("rc")).all(|t| tags[t]),
        "{tags:?}"
    );
    let index_kept = web_after.contains(&index_digest.to_string());
    for dep in [
        c1.to_string(),
        c2.to_string(),
        Digest::sha256_of(&sig_body).to_string(),
    ] {
        assert_eq!(
            web_after.contains(&dep),
            index_kept,
            "dependents share the index's fate"
        );
    }
    assert!(
        tags_of(&reg, "eq", "api").await.contains_key("dev-1"),
        "the labelled artifact stays"
    );
}

async fn retention_input_is_validated(reg: Registry, clock: Arc<FakeClock>) {
    let pid = project(&reg, "val").await;
    let dev = member(&reg, "val", "valdev", 2).await;
    let guest = member(&reg, "val", "valguest", 3).await;
    let all = || sel("doublestar", "matches", "**");
    let ok_rule = || retain("latestPushedK", Some(3), all(), None);
    let cases: Vec<(RetentionPolicy, ErrorCode, &str)> = vec![
        (
            policy(
                pid,
                (0..16)
                    .map(|i| retain("latestPushedK", Some(i), all(), None))
                    .collect(),
            ),
            ErrorCode::BadRequest,
            "at most 15",
        ),
        (
            policy(pid, vec![retain("keepAll", None, all(), None)]),
            ErrorCode::BadRequest,
            "keepAll",
        ),
        (
            policy(pid, vec![retain("latestPushedK", Some(-1), all(), None)]),
            ErrorCode::BadRequest,
            "latestPushedK",
        ),
        (
            policy(
                pid,
                vec![retain("latestPushedK", Some(40_000), all(), None)],
            ),
            ErrorCode::BadRequest,
            "32766",
        ),
        (
            policy(pid, vec![retain("latestPushedK", None, all(), None)]),
            ErrorCode::BadRequest,
            "needs params",
        ),
        (
            policy(
                pid,
                vec![retain(
                    "latestPushedK",
                    Some(1),
                    sel("regex", "matches", "(unclosed"),
                    None,
                )],
            ),
            ErrorCode::BadRequest,
            "\"(unclosed\"",
        ),
        (
            policy(
                pid,
                vec![retain(
                    "latestPushedK",
                    Some(1),
                    all(),
                    Some(sel("doublestar", "repoMatches", "{a,b")),
                )],
            ),
            ErrorCode::BadRequest,
            "\"{a,b\"",
        ),
        (
            policy(
                pid,
                vec![retain(
                    "latestPushedK",
                    Some(1),
                    sel("glob", "matches", "*"),
                    None,
                )],
            ),
            ErrorCode::BadRequest,
            "glob",
        ),
        (
            policy(pid, vec![ok_rule(), ok_rule()]),
            ErrorCode::Conflict,
            "the same",
        ),
        (policy(pid + 1000, vec![ok_rule()]), ErrorCode::NotFound, ""),
        (
            RetentionPolicy {
                algorithm: "and".into(),
                ..policy(pid, vec![ok_rule()])
            },
            ErrorCode::BadRequest,
            "algorithm",
        ),
    ];
    for (p, code, needle) in cases {
        refused(reg.create_retention(SYS, p).await, code, needle);
    }
    let mut cron = policy(pid, vec![ok_rule()]);
    cron.trigger
        .settings
        .insert("cron".into(), serde_json::json!("every night"));
    refused(
        reg.create_retention(SYS, cron).await,
        ErrorCode::BadRequest,
        "invalid cron expression \"every night\"",
    );
    assert!(
        !reg.project_metadata(SYS, "val", true)
            .await
            .unwrap()
            .contains_key("retention_id"),
        "nothing stored"
    );
    refused(
        reg.create_retention(&guest, policy(pid, vec![ok_rule()]))
            .await,
        ErrorCode::Denied,
        "",
    );

    // Developers manage retention (Harbor's matrix); one policy per project.
    let id = reg
        .create_retention(&dev, policy(pid, vec![ok_rule()]))
        .await
        .unwrap();
    assert_eq!(
        reg.project_metadata(SYS, "val", true).await.unwrap()["retention_id"],
        id.to_string()
    );
    refused(
        reg.create_retention(&dev, policy(pid, vec![ok_rule()]))
            .await,
        ErrorCode::BadRequest,
        "already has",
    );
    let got = reg.retention(&dev, id).await.unwrap();
    assert_eq!(
        (
            got.id,
            got.rules.len(),
            got.rules[0].id,
            got.algorithm.as_str()
        ),
        (id, 1, 1, "or")
    );
    refused(reg.retention(&guest, id).await, ErrorCode::Denied, "");
    refused(
        reg.update_retention(
            &dev,
            id,
            policy(
                pid,
                vec![retain("nDaysSinceLastPull", Some(-3), all(), None)],
            ),
        )
        .await,
        ErrorCode::BadRequest,
        "nDaysSinceLastPull",
    );
    assert_eq!(
        reg.retention(&dev, id).await.unwrap(),
        got,
        "a refused update changes nothing"
    );
    let mut disabled = retain("always", None, all(), None);
    disabled.disabled = true;
    reg.update_retention(&dev, id, policy(pid, vec![ok_rule(), disabled]))
        .await
        .unwrap();
    assert_eq!(reg.retention(&dev, id).await.unwrap().rules.len(), 2);
    // Stopping a run that has ended is refused; unknown actions too.
    let eid = reg.trigger_retention(&dev, id, true).await.unwrap();
    finish(&reg, id, eid).await;
    refused(
        reg.operate_retention_execution(&dev, id, eid, "stop").await,
        ErrorCode::PreconditionFailed,
        "finished",
    );
    refused(
        reg.operate_retention_execution(&dev, id, eid, "pause")
            .await,
        ErrorCode::BadRequest,
        "stop",
    );
    refused(
        reg.retention_execution(&dev, id, eid + 100).await,
        ErrorCode::NotFound,
        "",
    );
    // A run stopped before a worker took it does nothing.
    let eid = reg.trigger_retention(&dev, id, false).await.unwrap();
    reg.operate_retention_execution(&dev, id, eid, "stop")
        .await
        .unwrap();
    let (status, logs) = finish(&reg, id, eid).await;
    assert_eq!((status.as_str(), logs.len()), ("Stopped", 0));
    // The trigger's cron becomes a job service schedule; when it fires the policy runs.
    push(&reg, "val/app:a", "a").await.unwrap();
    push(&reg, "val/app:b", "b").await.unwrap();
    let mut scheduled = policy(pid, vec![retain("latestPushedK", Some(1), all(), None)]);
    scheduled
        .trigger
        .settings
        .insert("cron".into(), serde_json::json!("0 0 3 * * *"));
    reg.update_retention(&dev, id, scheduled).await.unwrap();
    assert_eq!(
        reg.schedule("RETENTION", id).await.unwrap().unwrap().cron,
        "0 0 3 * * *"
    );
    assert_eq!(reg.fire_due_schedules().await.unwrap(), 0, "not due yet");
    clock.advance(DAY);
    assert_eq!(reg.fire_due_schedules().await.unwrap(), 1);
    let run = reg
        .retention_executions(&dev, id, &ListQuery::new())
        .await
        .unwrap()
        .items
        .remove(0);
    assert_eq!((run.trigger.as_str(), run.dry_run), ("SCHEDULE", false));
    let (status, logs) = finish(&reg, id, run.id).await;
    assert_eq!(status, "Success", "{logs:?}");
    assert_eq!(
        digests(&reg, "val", "app").await.len(),
        1,
        "the scheduled run deleted the older image"
    );
    reg.delete_retention(&dev, id).await.unwrap();
    assert!(
        reg.schedule("RETENTION", id).await.unwrap().is_none(),
        "the schedule goes with the policy"
    );
    assert!(
        !reg.project_metadata(SYS, "val", true)
            .await
            .unwrap()
            .contains_key("retention_id")
    );
    refused(reg.retention(&dev, id).await, ErrorCode::NotFound, "");
}

/// Signatures as accessories, content trust on pulls, verification with trusted keys, and
/// deletion with the subject.
async fn accessories_and_content_trust(reg: Registry, _clock: Arc<FakeClock>) {
    use registry_core::distribution::Caller;
    use registry_core::policy::trust::{TrustKeyReq, generate_signing_key};
    project(&reg, "sig").await;
    let guest = member(&reg, "sig", "sig-guest", 3).await;
    let dev = member(&reg, "sig", "sig-dev", 2).await;
    let repo = RepoName::parse("sig/app").unwrap();
    let v1 = push(&reg, "sig/app:v1", "v1").await.unwrap();
    let v2 = push(&reg, "sig/app:v2", "v2").await.unwrap();
    let (untrusted, _) = generate_signing_key().unwrap();
    let (trusted, trusted_pub) = generate_signing_key().unwrap();
    let first_sig = reg
        .sign(&repo, &Reference::Tag("v1".into()), &untrusted)
        .await
        .unwrap();

    // The signature is listed under its subject, not beside it.
    let listed = reg
        .artifacts(SYS, "sig", "app", &ListQuery::new())
        .await
        .unwrap();
    assert_eq!(listed.total, 2, "{:?}", listed.items);
    let a1 = listed
        .items
        .iter()
        .find(|a| a.digest == v1.to_string())
        .unwrap();
    assert_eq!(a1.accessories.len(), 1);
    assert_eq!(a1.accessories[0].kind, "signature.cosign");
    assert_eq!(a1.accessories[0].digest, first_sig.to_string());
    assert_eq!(a1.accessories[0].subject_artifact_digest, v1.to_string());
    assert_eq!(a1.accessories[0].verification, None, "no keys, no verdict");
    let page = reg
        .accessories(
            &guest,
            "sig",
            "app",
            "v1",
            &ListQuery::new().q("type=signature.cosign"),
        )
        .await
        .unwrap();
    assert_eq!(
        (page.total, page.items[0].digest.clone()),
        (1, first_sig.to_string())
    );
    let none = reg
        .accessories(
            &guest,
            "sig",
            "app",
            "v1",
            &ListQuery::new().q("type=sbom.harbor"),
        )
        .await
        .unwrap();
    assert_eq!(none.total, 0);
    refused(
        reg.accessories(
            &guest,
            "sig",
            "app",
            "v1",
            &ListQuery::new().q("type=bogus"),
        )
        .await,
        ErrorCode::BadRequest,
        "unknown accessory type",
    );

    // Content trust: the unsigned image is refused, the signed one and the signature pull.
    let policy = |k: &str, v: &str| [(k.to_owned(), v.to_owned())].into_iter().collect();
    reg.update_project(
        SYS,
        "sig",
        true,
        policy("enable_content_trust_cosign", "true"),
    )
    .await
    .unwrap();
    let as_guest = Caller::new(guest.clone());
    let pull = |caller: &Caller, r: Reference| {
        let reg = reg.clone();
        let caller = caller.clone();
        let repo = repo.clone();
        async move {
            reg.v2(&caller)
                .get_manifest(&repo, &r)
                .await
                .map(|m| m.digest.clone())
        }
    };
    refused(
        pull(&as_guest, Reference::Tag("v2".into())).await,
        ErrorCode::ProjectPolicyViolation,
        "not signed by cosign",
    );
    assert_eq!(
        pull(&as_guest, Reference::Tag("v1".into())).await.unwrap(),
        v1.to_string()
    );
    assert_eq!(
        pull(&as_guest, Reference::Digest(first_sig.clone()))
            .await
            .unwrap(),
        first_sig.to_string(),
        "the signature itself pulls"
    );
    // Unlike Harbor, a runnable image gets no accessory bypass: tagged as a `.sig`, it stays
    // refused.
    let sneaky = push(
        &reg,
        &format!("sig/app:sha256-{}.sig", "a".repeat(64)),
        "sneaky",
    )
    .await
    .unwrap();
    refused(
        pull(&as_guest, Reference::Digest(sneaky.clone())).await,
        ErrorCode::ProjectPolicyViolation,
        "not signed",
    );
    reg.delete_manifest(&repo, &Reference::Digest(sneaky))
        .await
        .unwrap();
    // Signing clients that may push read the unsigned manifest; a guest's cosign may not.
    let cosign = |p: &Principal| Caller {
        user_agent: Some("cosign/v2.6.5 (linux; amd64) go-containerregistry/v0.20.7".into()),
        ..Caller::new(p.clone())
    };
    assert_eq!(
        pull(&cosign(&dev), Reference::Tag("v2".into()))
            .await
            .unwrap(),
        v2.to_string()
    );
    refused(
        pull(&cosign(&guest), Reference::Tag("v2".into())).await,
        ErrorCode::ProjectPolicyViolation,
        "not signed",
    );

    // Verification: only a signature by a trusted key counts.
    reg.update_project(SYS, "sig", true, policy("content_trust_verify", "true"))
        .await
        .unwrap();
    refused(
        pull(&as_guest, Reference::Tag("v1".into())).await,
        ErrorCode::ProjectPolicyViolation,
        "with a key project sig trusts",
    );
    refused(
        reg.add_trust_key(
            &guest,
            "sig",
            true,
            TrustKeyReq {
                name: "k".into(),
                pem: trusted_pub.clone(),
            },
        )
        .await,
        ErrorCode::Denied,
        "",
    );
    refused(
        reg.add_trust_key(
            SYS,
            "sig",
            true,
            TrustKeyReq {
                name: "k".into(),
                pem: trusted.clone(),
            },
        )
        .await,
        ErrorCode::BadRequest,
        "PUBLIC KEY",
    );
    let key = reg
        .add_trust_key(
            SYS,
            "sig",
            true,
            TrustKeyReq {
                name: "release".into(),
                pem: trusted_pub.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (key.kind.as_str(), key.algorithm.as_str()),
        ("cosign", "ecdsa-p256")
    );
    refused(
        reg.add_trust_key(
            SYS,
            "sig",
            true,
            TrustKeyReq {
                name: "again".into(),
                pem: trusted_pub,
            },
        )
        .await,
        ErrorCode::AlreadyExists,
        "",
    );
    refused(
        pull(&as_guest, Reference::Tag("v1".into())).await,
        ErrorCode::ProjectPolicyViolation,
        "trusts",
    );
    let status = |reg: Registry| async move {
        let a = reg.artifact(SYS, "sig", "app", "v1").await.unwrap();
        a.accessories
            .into_iter()
            .map(|x| (x.digest, x.verification.unwrap_or_default()))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(
        status(reg.clone()).await[&first_sig.to_string()],
        "unknown_key"
    );
    let second_sig = reg
        .sign(&repo, &Reference::Tag("v1".into()), &trusted)
        .await
        .unwrap();
    assert_eq!(
        pull(&as_guest, Reference::Tag("v1".into())).await.unwrap(),
        v1.to_string()
    );
    let seen = status(reg.clone()).await;
    assert_eq!(seen[&second_sig.to_string()], "verified", "{seen:?}");
    assert_eq!(seen.len(), 2, "{seen:?}");
    // A signature whose payload names another image does not verify for this one.
    let v2_sig = reg
        .sign(&repo, &Reference::Tag("v2".into()), &trusted)
        .await
        .unwrap();
    assert_eq!(
        pull(&as_guest, Reference::Tag("v2".into())).await.unwrap(),
        v2.to_string()
    );
    assert_ne!(v2_sig, second_sig);

    // Copying an artifact brings its signatures along (both `.sig` manifests), and they still
    // verify there once the destination trusts the key; a guest of the source may not copy.
    project(&reg, "sig2").await;
    assert!(
        reg.copy_artifact(&guest, "sig2", "app", "sig/app:v1")
            .await
            .is_err()
    );
    assert!(
        reg.copy_artifact(&dev, "sig2", "app", "sig/app:v1")
            .await
            .is_err(),
        "no push in sig2"
    );
    let copied = reg
        .copy_artifact(SYS, "sig2", "app", "sig/app:v1")
        .await
        .unwrap();
    assert_eq!(copied, v1);
    let there = reg
        .artifacts(SYS, "sig2", "app", &ListQuery::new())
        .await
        .unwrap();
    assert_eq!(there.total, 1, "{:?}", there.items);
    let copied_sigs: BTreeSet<String> = there.items[0]
        .accessories
        .iter()
        .map(|a| a.digest.clone())
        .collect();
    assert_eq!(
        copied_sigs,
        [first_sig.to_string(), second_sig.to_string()]
            .into_iter()
            .collect()
    );
    assert_eq!(there.items[0].tags[0].name, "v1");
    refused(
        reg.copy_artifact(SYS, "sig2", "app", "sig/app:nope").await,
        ErrorCode::ManifestUnknown,
        "",
    );

    // Deleting the subject takes its signatures along; the other image keeps its own.
    reg.delete_artifact(SYS, "sig", "app", "v1").await.unwrap();
    for gone in [&first_sig, &second_sig] {
        refused(
            reg.get_manifest(&repo, &Reference::Digest(gone.clone()))
                .await
                .map(|_| ()),
            ErrorCode::ManifestUnknown,
            "",
        );
    }
    let left = reg
        .artifacts(SYS, "sig", "app", &ListQuery::new())
        .await
        .unwrap();
    assert_eq!(left.total, 1);
    assert_eq!(left.items[0].accessories.len(), 1);
    // An index of v2, signed: the images it lists inherit its signature.
    let child = |d: &Digest| {
        let reg = reg.clone();
        let repo = repo.clone();
        let d = d.clone();
        async move {
            let m = reg
                .get_manifest(&repo, &Reference::Digest(d.clone()))
                .await
                .unwrap();
            serde_json::json!({"mediaType": m.media_type, "digest": d.to_string(), "size": m.content.len()})
        }
    };
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [child(&v2).await],
    });
    reg.put_manifest(
        &repo,
        &Reference::Tag("multi".into()),
        Some("application/vnd.oci.image.index.v1+json"),
        serde_json::to_vec(&index).unwrap().into(),
        &[],
    )
    .await
    .unwrap();
    let index_sig = reg
        .sign(&repo, &Reference::Tag("multi".into()), &trusted)
        .await
        .unwrap();
    let a2 = reg.artifact(SYS, "sig", "app", "v2").await.unwrap();
    assert_eq!(
        a2.inherited_accessories
            .iter()
            .map(|a| a.digest.clone())
            .collect::<Vec<_>>(),
        [index_sig.to_string()]
    );
    assert!(
        a2.accessories
            .iter()
            .all(|a| a.digest != index_sig.to_string())
    );

    reg.delete_trust_key(SYS, "sig", true, key.id)
        .await
        .unwrap();
    refused(
        pull(&as_guest, Reference::Tag("v2".into())).await,
        ErrorCode::ProjectPolicyViolation,
        "trusts",
    );
}
