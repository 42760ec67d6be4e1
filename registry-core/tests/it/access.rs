//! Identity and access rules on the `Registry` facade: roles, visibility, robots (expiry,
//! disabling, the subset rule), tokens, login throttling.

use std::sync::Arc;

use registry_core::auth::{Action, ProjectResource as R, throttle};
use registry_core::clock::FakeClock;
use registry_core::model::{MemberReq, MemberUser, ProjectReq, RobotReq, UserCreate};
use registry_core::oci::RepoName;
use registry_core::{ErrorCode, ListQuery, Principal, Registry, RepoAction};

async fn registry() -> (Registry, Arc<FakeClock>) {
    let clock = Arc::new(FakeClock::new(1_700_000_000_000));
    let reg = Registry::builder()
        .blobs(Arc::new(registry_core::blob::memory::MemoryBlobStore::new()))
        .meta(
            registry_core::registry::open_metadata("memory://")
                .await
                .unwrap(),
        )
        .clock(clock.clone())
        .build()
        .unwrap();
    reg.bootstrap(Some("Admin-Pass-1")).await.unwrap();
    (reg, clock)
}

pub async fn user(reg: &Registry, name: &str) -> Principal {
    let req = UserCreate {
        username: name.into(),
        password: "Passw0rd-x".into(),
        ..Default::default()
    };
    reg.create_user(&Principal::System, req).await.unwrap();
    reg.login(name, "Passw0rd-x", name).await.unwrap()
}

async fn project(reg: &Registry, name: &str, public: bool) {
    let metadata = Some(
        [("public".to_owned(), public.to_string())]
            .into_iter()
            .collect(),
    );
    reg.create_project(
        &Principal::System,
        ProjectReq {
            project_name: name.into(),
            metadata,
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

pub(crate) async fn member(reg: &Registry, project: &str, username: &str, role_id: i64) {
    let req = MemberReq {
        role_id,
        member_user: Some(MemberUser {
            username: Some(username.into()),
            user_id: None,
        }),
        member_group: None,
    };
    reg.add_member(&Principal::System, project, true, req)
        .await
        .unwrap();
}

fn robot_req(name: &str, level: &str, perms: serde_json::Value, duration: i64) -> RobotReq {
    RobotReq {
        name: name.into(),
        level: level.into(),
        duration,
        permissions: serde_json::from_value(perms).unwrap(),
        ..Default::default()
    }
}

#[tokio::test]
async fn roles_and_visibility() {
    let (reg, _) = registry().await;
    project(&reg, "alpha", false).await;
    project(&reg, "beta", false).await;
    project(&reg, "open", true).await;
    let dev = user(&reg, "dev").await;
    let guest = user(&reg, "guest").await;
    member(&reg, "alpha", "dev", 2).await;
    member(&reg, "alpha", "guest", 3).await;
    let app = RepoName::parse("alpha/app").unwrap();
    reg.authorize_repo(&dev, None, &app, RepoAction::Push)
        .await
        .unwrap();
    let e = reg
        .authorize_repo(&dev, None, &app, RepoAction::Delete)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Denied, "a developer cannot delete");
    let e = reg
        .authorize_repo(&guest, None, &app, RepoAction::Push)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Denied, "a guest cannot push");
    reg.authorize_repo(&guest, None, &app, RepoAction::Pull)
        .await
        .unwrap();
    // Anonymous: pull public only, and told to authenticate elsewhere.
    let open = RepoName::parse("open/app").unwrap();
    reg.authorize_repo(&Principal::Anonymous, None, &open, RepoAction::Pull)
        .await
        .unwrap();
    let e = reg
        .authorize_repo(&Principal::Anonymous, None, &app, RepoAction::Pull)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unauthorized);
    // A member of alpha sees nothing of beta: the same answer as a project that does not exist.
    let hidden = reg.project(&dev, "beta", true).await.unwrap_err();
    let missing = reg.project(&dev, "gamma", true).await.unwrap_err();
    assert_eq!(
        (hidden.code(), hidden.to_string().replace("beta", "X")),
        (missing.code(), missing.to_string().replace("gamma", "X"))
    );
    let listed = reg
        .projects(&dev, &ListQuery::new().page(1, 100))
        .await
        .unwrap();
    let names: Vec<_> = listed.items.iter().map(|p| p.name.as_str()).collect();
    assert_eq!((names, listed.total), (vec!["alpha", "library", "open"], 3));
    let e = reg
        .authorize_repo(
            &dev,
            None,
            &RepoName::parse("beta/x").unwrap(),
            RepoAction::Pull,
        )
        .await
        .unwrap_err();
    let f = reg
        .authorize_repo(
            &dev,
            None,
            &RepoName::parse("gamma/x").unwrap(),
            RepoAction::Pull,
        )
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), f.to_string());
    // A limited guest cannot list members; a guest can.
    let lg = user(&reg, "lg").await;
    member(&reg, "alpha", "lg", 5).await;
    assert_eq!(
        reg.members(&lg, "alpha", true, &ListQuery::new())
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Denied
    );
    assert_eq!(
        reg.members(&guest, "alpha", true, &ListQuery::new())
            .await
            .unwrap()
            .total,
        3
    );
    // Role changes apply at once.
    let m = reg
        .members(
            &Principal::System,
            "alpha",
            true,
            &ListQuery::new().q("entityname=dev"),
        )
        .await
        .unwrap()
        .items[0]
        .id;
    reg.update_member(&Principal::System, "alpha", true, m, 1)
        .await
        .unwrap();
    reg.authorize_repo(&dev, None, &app, RepoAction::Delete)
        .await
        .unwrap();
}

#[tokio::test]
async fn robots_never_exceed_their_creator_and_expire() {
    let (reg, clock) = registry().await;
    project(&reg, "alpha", false).await;
    let dev = user(&reg, "dev").await;
    member(&reg, "alpha", "dev", 2).await;
    let admin = user(&reg, "boss").await;
    member(&reg, "alpha", "boss", 1).await;
    // Developers cannot create robots at all; project admins only within what they hold.
    let push = serde_json::json!([{"kind": "project", "namespace": "alpha", "access": [{"resource": "repository", "action": "push"}]}]);
    assert_eq!(
        reg.create_robot(&dev, robot_req("ci", "project", push.clone(), -1))
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Denied
    );
    let created = reg
        .create_robot(&admin, robot_req("ci", "project", push, 1))
        .await
        .unwrap();
    assert_eq!(created.name, "robot$alpha+ci");
    let robot = reg
        .login(&created.name, &created.secret, "ci")
        .await
        .unwrap();
    let app = RepoName::parse("alpha/app").unwrap();
    reg.authorize_repo(&robot, None, &app, RepoAction::Push)
        .await
        .unwrap();
    reg.authorize_repo(&robot, None, &app, RepoAction::Pull)
        .await
        .unwrap();
    assert_eq!(
        reg.authorize_repo(&robot, None, &app, RepoAction::Delete)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Denied
    );
    // A system robot needs system rights; a project admin has none.
    let all = serde_json::json!([{"kind": "project", "namespace": "*", "access": [{"resource": "repository", "action": "pull"}]}]);
    assert_eq!(
        reg.create_robot(&admin, robot_req("all", "system", all.clone(), -1))
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Denied
    );
    let sys = reg
        .create_robot(&Principal::System, robot_req("all", "system", all, -1))
        .await
        .unwrap();
    let sys = reg.login(&sys.name, &sys.secret, "x").await.unwrap();
    reg.authorize_repo(&sys, None, &app, RepoAction::Pull)
        .await
        .unwrap();
    assert_eq!(
        reg.authorize_repo(&sys, None, &app, RepoAction::Push)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Denied
    );
    // A robot holding robot:create in its project cannot mint a stronger one.
    let maker_perm = serde_json::json!([{"kind": "project", "namespace": "alpha", "access": [
        {"resource": "robot", "action": "create"}, {"resource": "repository", "action": "pull"}]}]);
    let maker = reg
        .create_robot(&admin, robot_req("maker", "project", maker_perm, -1))
        .await
        .unwrap();
    let maker = reg.login(&maker.name, &maker.secret, "m").await.unwrap();
    let stronger = serde_json::json!([{"kind": "project", "namespace": "alpha", "access": [{"resource": "repository", "action": "delete"}]}]);
    assert_eq!(
        reg.create_robot(&maker, robot_req("x", "project", stronger, -1))
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Denied
    );
    // Expiry (one day) and a wrong secret.
    assert_eq!(
        reg.login(&created.name, "Wrong-secret-1", "ci")
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Unauthorized
    );
    clock.advance(86_400_000 + 1);
    assert_eq!(
        reg.login(&created.name, &created.secret, "ci2")
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Unauthorized
    );
    // Secrets are never listed.
    let list = reg
        .robots(&Principal::System, &ListQuery::new().q("Level=system"))
        .await
        .unwrap();
    assert_eq!(list.total, 1);
    assert!(!format!("{:?}", list.items).contains(&created.secret));
}

#[tokio::test]
async fn login_failures_look_alike_and_are_throttled() {
    let (reg, _) = registry().await;
    user(&reg, "alice").await;
    let wrong = reg.login("alice", "nope", "1.1.1.1").await.unwrap_err();
    let unknown = reg.login("mallory", "nope", "1.1.1.1").await.unwrap_err();
    assert_eq!(
        (wrong.code(), wrong.to_string()),
        (unknown.code(), unknown.to_string())
    );
    for _ in 0..10 {
        let e = reg.login("alice", "nope", "2.2.2.2").await.unwrap_err();
        assert!(
            matches!(
                e.code(),
                ErrorCode::Unauthorized | ErrorCode::TooManyRequests
            ),
            "{e}"
        );
    }
    assert_eq!(
        reg.login("alice", "Passw0rd-x", "2.2.2.2")
            .await
            .unwrap_err()
            .code(),
        ErrorCode::TooManyRequests
    );
    reg.login("alice", "Passw0rd-x", "3.3.3.3").await.unwrap();
}

/// Two nodes on one database share the throttle; a success clears only its own account; an
/// account under attack from many addresses stays open to a client that never failed on it.
#[tokio::test]
async fn the_login_throttle_is_shared_by_nodes_and_locks_out_only_guessers() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let clock = Arc::new(FakeClock::new(1_700_000_000_000));
    let node = |clock: Arc<FakeClock>| {
        let url = url.clone();
        async move {
            Registry::builder()
                .blobs(Arc::new(registry_core::blob::memory::MemoryBlobStore::new()))
                .meta(registry_core::registry::open_metadata(&url).await.unwrap())
                .clock(clock)
                .build()
                .unwrap()
        }
    };
    let a = node(clock.clone()).await;
    let b = node(clock.clone()).await;
    a.bootstrap(Some("Admin-Pass-1")).await.unwrap();
    user(&a, "alice").await;
    user(&a, "bob").await;
    let code = |r: registry_core::Result<Principal>| r.map(|_| ()).map_err(|e| e.code());
    // Five failures spread over both nodes: the pair now waits, on either node.
    for i in 0..throttle::PAIR_FREE {
        let n = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            code(n.login("alice", "nope", "6.6.6.6").await),
            Err(ErrorCode::Unauthorized)
        );
    }
    for n in [&a, &b] {
        assert_eq!(
            code(n.login("alice", "Passw0rd-x", "6.6.6.6").await),
            Err(ErrorCode::TooManyRequests)
        );
    }
    // The same client's success on another account does not reset alice's counter.
    assert_eq!(code(b.login("bob", "Passw0rd-x", "6.6.6.6").await), Ok(()));
    assert_eq!(
        code(a.login("alice", "Passw0rd-x", "6.6.6.6").await),
        Err(ErrorCode::TooManyRequests)
    );
    // The wait grows with each failure and then ends.
    clock.advance(1_001);
    assert_eq!(
        code(a.login("alice", "nope", "6.6.6.6").await),
        Err(ErrorCode::Unauthorized)
    );
    clock.advance(1_001);
    assert_eq!(
        code(b.login("alice", "Passw0rd-x", "6.6.6.6").await),
        Err(ErrorCode::TooManyRequests),
        "the second wait is two seconds"
    );
    clock.advance(1_000);
    assert_eq!(
        code(b.login("alice", "Passw0rd-x", "6.6.6.6").await),
        Ok(())
    );
    // Guesses from many addresses: each guesser waits; alice from a fresh address does not.
    for i in 0..throttle::ACCOUNT_FREE {
        let _ = a.login("alice", "nope", &format!("10.0.0.{i}")).await;
    }
    assert_eq!(
        code(b.login("alice", "Passw0rd-x", "10.0.0.3").await),
        Err(ErrorCode::TooManyRequests)
    );
    assert_eq!(
        code(b.login("alice", "Passw0rd-x", "192.0.2.1").await),
        Ok(())
    );
}

#[tokio::test]
async fn tokens_grant_what_rbac_allows_now() {
    let (reg, _) = registry().await;
    project(&reg, "alpha", false).await;
    let guest = user(&reg, "guest").await;
    member(&reg, "alpha", "guest", 3).await;
    let t = reg
        .issue_token(
            &guest,
            Some("harbor-registry"),
            &["repository:alpha/app:pull,push,delete".into()],
        )
        .await
        .unwrap();
    assert_eq!(t.access[0].actions, vec!["pull".to_owned()]);
    let (who, claims) = reg.verify_token(&t.token).await.unwrap();
    assert_eq!(who, guest);
    let app = RepoName::parse("alpha/app").unwrap();
    reg.authorize_repo(&who, Some(&claims), &app, RepoAction::Pull)
        .await
        .unwrap();
    // Access is re-checked: removing the member takes the pull away from the same token.
    let m = reg
        .members(
            &Principal::System,
            "alpha",
            true,
            &ListQuery::new().q("entityname=guest"),
        )
        .await
        .unwrap()
        .items[0]
        .id;
    reg.delete_member(&Principal::System, "alpha", true, m)
        .await
        .unwrap();
    assert!(
        reg.authorize_repo(&who, Some(&claims), &app, RepoAction::Pull)
            .await
            .is_err()
    );
    // Anonymous without a scope is how docker login probes: refused.
    assert_eq!(
        reg.issue_token(&Principal::Anonymous, None, &[])
            .await
            .unwrap_err()
            .code(),
        ErrorCode::Unauthorized
    );
    assert!(reg.verify_token("not.a.token").await.is_err());
    // Permissions listing for the UI.
    let access = reg
        .project_access(&Principal::System, "alpha")
        .await
        .unwrap()
        .unwrap();
    assert!(access.allows(R::Member, Action::Create));
}

/// The token signing key is sealed at rest; a node with another key refuses to start, naming
/// both keys; a rotation (new key, old one as previous) reseals and keeps every token valid.
#[tokio::test]
async fn secrets_are_sealed_at_rest_and_keys_rotate() {
    use registry_core::registry::secrets::{SecretBox, SecretKey};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let open = |key: SecretKey, previous: Vec<SecretKey>| {
        let url = url.clone();
        async move {
            let reg = Registry::builder()
                .blobs(Arc::new(registry_core::blob::memory::MemoryBlobStore::new()))
                .meta(registry_core::registry::open_metadata(&url).await.unwrap())
                .secret_key(key)
                .previous_secret_keys(previous)
                .build()
                .unwrap();
            reg.reseal_secrets().await.map(|()| reg)
        }
    };
    let (k1, k2) = (SecretKey::generate(), SecretKey::generate());
    let a = open(k1.clone(), vec![]).await.unwrap();
    a.bootstrap(Some("Admin-Pass-1")).await.unwrap();
    let admin = a.login("admin", "Admin-Pass-1", "t").await.unwrap();
    let token = a
        .issue_token(&admin, None, &["repository:library/x:pull".into()])
        .await
        .unwrap()
        .token;
    let raw = || async {
        a.metadata_store()
            .get_setting("token_signing_key")
            .await
            .unwrap()
            .unwrap()
    };
    let sealed = raw().await;
    assert_eq!(SecretBox::sealed_with(&sealed), Some(k1.id()), "{sealed}");
    let e = open(k2.clone(), vec![]).await.unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains(k1.id()) && msg.contains(k2.id()), "{msg}");
    let b = open(k2.clone(), vec![k1.clone()]).await.unwrap();
    assert_eq!(SecretBox::sealed_with(&raw().await), Some(k2.id()));
    assert_eq!(b.verify_token(&token).await.unwrap().0, admin);
    let c = open(k2.clone(), vec![]).await.unwrap();
    assert_eq!(c.verify_token(&token).await.unwrap().0, admin);
}

/// Portal sessions end after an idle hour, and 12 hours after sign-in however busy; each use
/// moves the idle end (at most one write a minute). A deleted user's sessions are nobody.
#[tokio::test]
async fn sessions_expire_idle_and_absolute() {
    use registry_core::auth::session::{SESSION_IDLE_MS, SESSION_MAX_MS};
    let (reg, clock) = registry().await;
    user(&reg, "sam").await;
    let s = reg
        .open_session("sam", "Passw0rd-x", "10.0.0.1")
        .await
        .unwrap();
    let who = |r: Option<registry_core::auth::session::SessionCaller>| {
        r.map(|c| c.principal.name().to_owned())
    };
    assert_eq!(
        who(reg.session_caller(&s.cookie, false, None).await.unwrap()).as_deref(),
        Some("sam")
    );
    // Writes need the token.
    let e = reg.session_caller(&s.cookie, true, None).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Denied);
    let e = reg
        .session_caller(&s.cookie, true, Some("x"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Denied);
    assert!(
        reg.session_caller(&s.cookie, true, Some(&s.csrf))
            .await
            .unwrap()
            .is_some()
    );

    // Used every 50 minutes, it outlives the idle hour many times over...
    let mut used = 0;
    while used + 50 * 60_000 < SESSION_MAX_MS {
        clock.advance(50 * 60_000);
        used += 50 * 60_000;
        assert!(
            reg.session_caller(&s.cookie, false, None)
                .await
                .unwrap()
                .is_some(),
            "after {used} ms"
        );
    }
    // ...but not its 12 hours.
    clock.advance(SESSION_MAX_MS - used);
    assert!(
        reg.session_caller(&s.cookie, false, None)
            .await
            .unwrap()
            .is_none()
    );

    // Left alone, it ends after the idle hour.
    let s = reg
        .open_session("sam", "Passw0rd-x", "10.0.0.1")
        .await
        .unwrap();
    clock.advance(SESSION_IDLE_MS - 1);
    assert!(
        reg.session_caller(&s.cookie, false, None)
            .await
            .unwrap()
            .is_some()
    );
    clock.advance(SESSION_IDLE_MS + 1);
    assert!(
        reg.session_caller(&s.cookie, false, None)
            .await
            .unwrap()
            .is_none()
    );

    // A wrong password is the usual 401.
    let e = reg
        .open_session("sam", "wrong", "10.0.0.1")
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Unauthorized);

    // A deleted user's session is no one.
    let s = reg
        .open_session("sam", "Passw0rd-x", "10.0.0.1")
        .await
        .unwrap();
    let id = reg
        .users(&Principal::System, &ListQuery::default())
        .await
        .unwrap()
        .items
        .iter()
        .find(|u| u.username == "sam")
        .unwrap()
        .user_id;
    reg.delete_user(&Principal::System, id).await.unwrap();
    assert!(
        reg.session_caller(&s.cookie, false, None)
            .await
            .unwrap()
            .is_none()
    );
    reg.close_session(&s.cookie).await.unwrap();
}
