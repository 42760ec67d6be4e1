//! SQL statements per operation, on SQLite, counted from sqlx's own statement log: an added
//! query shows up here as a failing number to update on purpose (docs/benchmarks.md keeps the
//! table). The counts are of the queries sqlx logs, not `BEGIN`/`COMMIT`: round trips to the
//! database, where a batch of statements sent as one query (`meta::sql::Batch`) counts once.

use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures::StreamExt;
use registry_core::distribution::Caller;
use registry_core::oci::{Digest, Reference, RepoName};
use registry_core::{Principal, Registry};
use tracing_subscriber::layer::SubscriberExt;

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

struct Count;

/// Counts the statements made inside a `counted` span: those of the measured call, not of the
/// registry's background tasks (such as the flush of pull times) running meanwhile.
impl<S> tracing_subscriber::Layer<S> for Count
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_event(&self, e: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let measured = ctx
            .event_scope(e)
            .is_some_and(|mut scope| scope.any(|span| span.name() == "counted"));
        if e.metadata().target() != "sqlx::query" || !measured {
            return;
        }
        struct Summary(String);
        impl tracing::field::Visit for Summary {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                if f.name() == "summary" {
                    self.0 = format!("{v:?}");
                }
            }
        }
        let mut summary = Summary(String::new());
        e.record(&mut summary);
        // A connection the pool opens meanwhile sets itself up first: not the operation's.
        if summary.0.trim_start_matches('"').starts_with("PRAGMA") {
            return;
        }
        STATEMENTS.fetch_add(1, Ordering::SeqCst);
        if std::env::var_os("SQL_COUNTS_VERBOSE").is_some() {
            eprintln!("      {}", summary.0);
        }
    }
}

async fn count<T>(f: impl std::future::Future<Output = T>) -> (T, usize) {
    use tracing::Instrument as _;
    let before = STATEMENTS.load(Ordering::SeqCst);
    let out = f
        .instrument(tracing::info_span!(target: "sql_counts", "counted"))
        .await;
    (out, STATEMENTS.load(Ordering::SeqCst) - before)
}

fn manifest(config: &Digest, clen: usize, layer: &Digest, llen: usize) -> Bytes {
    Bytes::from(
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.to_string(), "size": clen},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer.to_string(), "size": llen}],
        }))
        .unwrap(),
    )
}

#[test]
fn sql_statements_per_operation() {
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("sqlx::query", tracing::Level::DEBUG)
        .with_target("sql_counts", tracing::Level::INFO);
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(Count.with_filter(filter)),
    )
    .unwrap();
    use tracing_subscriber::Layer as _;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::open(dir.path().to_str().unwrap()).await.unwrap();
        reg.bootstrap(Some("Admin-Pass-1")).await.unwrap();
        registry_core::testkit::registry_projects(&reg, &["sq"]).await;
        let user = registry_core::model::UserCreate {
            username: "dev".into(),
            password: "Passw0rd-x".into(),
            ..Default::default()
        };
        reg.create_user(&Principal::System, user).await.unwrap();
        let repo = RepoName::parse("sq/app").unwrap();
        let mut table = Vec::new();
        let mut row = |what: &str, n: usize| {
            println!("{n:>3}  {what}");
            table.push((what.to_owned(), n));
        };

        let cfg = Bytes::from_static(b"{\"a\":1}");
        let (d, n) = count(reg.push_blob_bytes(&repo, cfg.clone())).await;
        let cfg_d = d.unwrap();
        row("monolithic blob push (first blob of a repository)", n);
        let layer = Bytes::from(registry_core::testkit::data(7, 100_000));
        let (d, n) = count(reg.push_blob_bytes(&repo, layer.clone())).await;
        let layer_d = d.unwrap();
        row("monolithic blob push", n);
        let ((), n) = count(async {
            let s = reg.start_upload(&repo).await.unwrap();
            let chunk = Bytes::from(registry_core::testkit::data(8, 50_000));
            let d = Digest::sha256_of(&chunk);
            let body = futures::stream::once(async move { Ok(chunk) }).boxed();
            reg.append_upload(&repo, &s.id, Some(0), body, Some(50_000))
                .await
                .unwrap();
            reg.finish_upload(&repo, &s.id, &d, Some(50_000), None, Some(0))
                .await
                .unwrap();
        })
        .await;
        row("chunked upload: start, one PATCH, PUT", n);
        let body = manifest(&cfg_d, cfg.len(), &layer_d, layer.len());
        let (r, n) = count(reg.put_manifest(
            &repo,
            &Reference::Tag("v1".into()),
            Some("application/vnd.oci.image.manifest.v1+json"),
            body,
            &[],
        ))
        .await;
        r.unwrap();
        row("manifest push (tag, config + one layer)", n);
        let caller = Caller::system();
        let (r, n) = count(
            reg.v2(&caller)
                .get_manifest(&repo, &Reference::Tag("v1".into())),
        )
        .await;
        r.unwrap();
        row("manifest GET by tag (first read)", n);
        let (r, n) = count(reg.login("dev", "Passw0rd-x", "192.0.2.1")).await;
        let dev = r.unwrap();
        row(
            "login, first time from a client (user, groups, throttle)",
            n,
        );
        let (r, n) = count(reg.login("dev", "Passw0rd-x", "192.0.2.1")).await;
        r.unwrap();
        row("login again from the same client (cached)", n);
        let (r, n) = count(reg.login("dev", "wrong", "192.0.2.1")).await;
        assert!(r.is_err());
        row("failed login (throttle read, failure recorded)", n);
        let dev = Caller::new(dev);
        let (r, n) = count(reg.v2(&dev).head_blob(&repo, &layer_d)).await;
        assert!(r.is_err(), "dev is no member");
        row("HEAD blob refused (permissions of a non-member)", n);
        let admin = Caller::new(reg.login("admin", "Admin-Pass-1", "t").await.unwrap());
        let (r, n) = count(reg.v2(&admin).head_blob(&repo, &layer_d)).await;
        r.unwrap();
        row("HEAD blob as admin", n);
        let other = RepoName::parse("sq/other").unwrap();
        let (r, n) = count(reg.v2(&admin).mount_blob(&other, &layer_d, None)).await;
        assert_eq!(r.unwrap(), Some(100_000));
        row("mount without from (sources checked)", n);
        // As a registry client does it: a Bearer token checked on each request, then two blobs
        // and the manifest through the authorizing handle (after a first image warmed the caches).
        let img = RepoName::parse("sq/img").unwrap();
        let admin_p = reg.login("admin", "Admin-Pass-1", "t").await.unwrap();
        let token = reg
            .issue_token(&admin_p, None, &["repository:sq/img:pull,push".to_owned()])
            .await
            .unwrap()
            .token;
        for round in 0..2u8 {
            let ((), n) = count(async {
                let mut digests = Vec::new();
                for part in 0..2u8 {
                    let (principal, claims) = reg.verify_token(&token).await.unwrap();
                    let caller = Caller {
                        principal,
                        claims: Some(claims),
                        user_agent: None,
                    };
                    let data = Bytes::from(registry_core::testkit::data(
                        u64::from(100 + round * 2 + part),
                        4096,
                    ));
                    let d = Digest::sha256_of(&data);
                    let len = data.len() as u64;
                    let body = futures::stream::once(async move { Ok(data) }).boxed();
                    reg.v2(&caller)
                        .push_blob(&img, &d, body, Some(len))
                        .await
                        .unwrap();
                    digests.push(d);
                }
                let (principal, claims) = reg.verify_token(&token).await.unwrap();
                let caller = Caller {
                    principal,
                    claims: Some(claims),
                    user_agent: None,
                };
                reg.v2(&caller)
                    .put_manifest(
                        &img,
                        &Reference::Tag(format!("r{round}")),
                        Some("application/vnd.oci.image.manifest.v1+json"),
                        manifest(&digests[0], 4096, &digests[1], 4096),
                        &[],
                    )
                    .await
                    .unwrap();
            })
            .await;
            if round == 1 {
                row("small image push with a token (2 blobs + manifest)", n);
            }
        }
        for round in 0..2 {
            let (r, n) = count(async {
                let (principal, claims) = reg.verify_token(&token).await.unwrap();
                let caller = Caller {
                    principal,
                    claims: Some(claims),
                    user_agent: None,
                };
                reg.v2(&caller)
                    .get_manifest(&img, &Reference::Tag("r1".into()))
                    .await
            })
            .await;
            r.unwrap();
            if round == 1 {
                row("manifest GET by tag with a token (cached)", n);
            }
        }

        let (r, n) = count(reg.artifacts(
            &registry_core::Principal::System,
            "sq",
            "img",
            &registry_core::ListQuery::new(),
        ))
        .await;
        assert_eq!(r.unwrap().total, 2);
        row("artifact listing, one page of 2", n);

        let digest = reg
            .get_manifest(&repo, &Reference::Tag("v1".into()))
            .await
            .unwrap()
            .digest
            .clone();
        let (r, n) =
            count(reg.delete_manifest(&repo, &Reference::Digest(Digest::parse(&digest).unwrap())))
                .await;
        r.unwrap();
        row("manifest delete (releases what nothing else references)", n);

        // The budget: raise a number only on purpose, with the reason in the commit.
        let expected: &[(&str, usize)] = &[
            // + 4: a new repository is made in a transaction of its own, and the link tried
            // again, so that links into existing repositories only look theirs up (on
            // PostgreSQL an upsert locked the repository's row for the whole transaction).
            ("monolithic blob push (first blob of a repository)", 9),
            ("monolithic blob push", 3),
            ("chunked upload: start, one PATCH, PUT", 8),
            ("manifest push (tag, config + one layer)", 3),
            // + the project's content trust switches (then cached like its access).
            ("manifest GET by tag (first read)", 2),
            (
                "login, first time from a client (user, groups, throttle)",
                3,
            ),
            ("login again from the same client (cached)", 0),
            ("failed login (throttle read, failure recorded)", 6),
            ("HEAD blob refused (permissions of a non-member)", 2),
            ("HEAD blob as admin", 3),
            ("mount without from (sources checked)", 7),
            ("small image push with a token (2 blobs + manifest)", 8),
            ("manifest GET by tag with a token (cached)", 0),
            // The repository, the page with its total (one statement), then one batched read per page for tags, children,
            // labels, parents, accessories and (since scanning) scan overviews, and the scanner
            // registrations (which scanner's overviews to show; then cached like the reports).
            ("artifact listing, one page of 2", 9),
            (
                "manifest delete (releases what nothing else references)",
                // + the lookup of accessories deleted with it.
                11,
            ),
        ];
        let mut failures = Vec::new();
        for (what, want) in expected {
            let got = table.iter().find(|(w, _)| w == what).map(|(_, n)| *n);
            if got != Some(*want) {
                failures.push(format!("{what}: expected {want}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    });
}
