//! External identity sources against real servers on loopback: OpenLDAP (`tests/lib/ldap.sh`,
//! `BERTH_TEST_LDAP_*`) and an OpenID Connect provider (`tests/lib/oidc.sh`,
//! `BERTH_TEST_OIDC_URL`). Skipped with a notice when a server is not given, failed instead
//! under `BERTH_TEST_REQUIRE_ALL=1`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use registry_core::auth::ldap::{LdapAuthenticator, LdapConfig};
use registry_core::auth::oidc::{OidcConfig, OidcProvider};
use registry_core::auth::{Action, Authenticator, ProjectResource, Role};
use registry_core::{Error, Principal, Registry};

use crate::service_url;

async fn registry(auth: Option<Arc<dyn Authenticator>>) -> Registry {
    let mut b = Registry::builder()
        .blobs(Arc::new(registry_core::blob::memory::MemoryBlobStore::new()))
        .meta(
            registry_core::registry::open_metadata("memory://")
                .await
                .unwrap(),
        );
    if let Some(a) = auth {
        b = b.authenticator(a);
    }
    b.build().unwrap()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn user_of(p: &Principal) -> &registry_core::auth::UserIdentity {
    match p {
        Principal::User(u) => u,
        other => panic!("expected a user principal, got {other:?}"),
    }
}

// ---- LDAP ------------------------------------------------------------------------------------

const ALICE_PW: &str = "Alice-pw-1";
const BOB_PW: &str = "Bob-pw-22";
const CAROL_PW: &str = "Carol-pw-333";
const DAVE_PW: &str = "Dave-pw-4444";

/// How the user's groups are found.
#[derive(Debug, Clone, Copy)]
enum GroupMode {
    /// Search the group base DN for groups whose `member` is the user.
    MemberSearch,
    /// Read `memberOf` from the user entry only.
    MemberOf,
}

fn ldap_config(mode: GroupMode) -> Option<LdapConfig> {
    let url = service_url("BERTH_TEST_LDAP_URL")?;
    let env = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| {
            panic!("{k} must be set with BERTH_TEST_LDAP_URL (tests/lib/ldap.sh)")
        })
    };
    let base = env("BERTH_TEST_LDAP_BASE_DN");
    let mut cfg = LdapConfig {
        url,
        search_dn: env("BERTH_TEST_LDAP_BIND_DN"),
        search_password: env("BERTH_TEST_LDAP_BIND_PASSWORD"),
        base_dn: format!("ou=people,{base}"),
        filter: "objectClass=inetOrgPerson".into(),
        uid_attribute: "uid".into(),
        timeout: Duration::from_secs(5),
        group_base_dn: format!("ou=groups,{base}"),
        group_filter: "(objectClass=groupOfNames)".into(),
        group_admin_dn: format!("cn=berth-admins,ou=groups,{base}"),
        ..LdapConfig::default()
    };
    match mode {
        GroupMode::MemberSearch => cfg.membership_attribute = String::new(),
        GroupMode::MemberOf => {
            cfg.membership_attribute = "memberOf".into();
            cfg.group_base_dn = String::new();
        }
    }
    Some(cfg)
}

fn ldap(mode: GroupMode) -> Option<Arc<LdapAuthenticator>> {
    Some(Arc::new(
        LdapAuthenticator::new(ldap_config(mode)?).unwrap(),
    ))
}

#[tokio::test]
#[ignore = "needs OpenLDAP (BERTH_TEST_LDAP_URL); tests/run.sh starts it and runs ignored tests"]
async fn ldap_login_onboards_user_with_profile_and_groups() {
    for mode in [GroupMode::MemberSearch, GroupMode::MemberOf] {
        let Some(auth) = ldap(mode) else { return };
        let reg = registry(Some(auth)).await;
        let p = reg
            .login("alice", ALICE_PW, "10.0.0.1")
            .await
            .unwrap_or_else(|e| panic!("{mode:?}: alice login: {e}"));
        let alice = user_of(&p).clone();
        assert!(!alice.sysadmin, "{mode:?}");
        assert_eq!(alice.group_ids.len(), 1, "{mode:?}: alice is in devs only");

        let meta = reg.metadata_store();
        let row = meta
            .user_by_name("alice")
            .await
            .unwrap()
            .expect("alice onboarded");
        assert_eq!(row.source, "ldap");
        assert_eq!(row.email, "alice@berth.test");
        assert_eq!(row.realname, "Alice Liddell");
        assert!(
            row.password_hash.is_none(),
            "the directory password is never stored"
        );
        let base = std::env::var("BERTH_TEST_LDAP_BASE_DN").unwrap();
        assert_eq!(
            row.external_id.as_deref(),
            Some(format!("uid=alice,ou=people,{base}").as_str())
        );
        let group = meta.group_by_id(alice.group_ids[0]).await.unwrap().unwrap();
        assert_eq!((group.name.as_str(), group.group_type), ("devs", 1));
        assert_eq!(
            group.ldap_dn.to_ascii_lowercase(),
            format!("cn=devs,ou=groups,{base}")
        );

        // bob is imported into the same group row.
        let bob = reg.login("bob", BOB_PW, "10.0.0.1").await.unwrap();
        assert_eq!(user_of(&bob).group_ids, alice.group_ids, "{mode:?}");
        // A second login finds the same user.
        let again = reg.login("alice", ALICE_PW, "10.0.0.2").await.unwrap();
        assert_eq!(user_of(&again).id, alice.id);
    }
}

#[tokio::test]
#[ignore = "needs OpenLDAP (BERTH_TEST_LDAP_URL); tests/run.sh starts it and runs ignored tests"]
async fn ldap_wrong_credentials_fail() {
    let Some(auth) = ldap(GroupMode::MemberSearch) else {
        return;
    };
    // Direct answers from the authenticator: None, never an error, never a match.
    for (user, pw) in [
        ("alice", "wrong-Password-1"),
        ("alice", ""),
        ("nobody", ALICE_PW),
        ("", ALICE_PW),
        ("alice", BOB_PW),
    ] {
        assert_eq!(
            auth.authenticate(user, pw).await.unwrap(),
            None,
            "{user:?} / {pw:?}"
        );
    }
    // The test directory, like Active Directory, takes a DN with an empty password as an
    // anonymous bind and says "success": only the client's own check stops that login.
    let cfg = ldap_config(GroupMode::MemberSearch).unwrap();
    let (conn, mut raw) = ldap3::LdapConnAsync::new(&cfg.url).await.unwrap();
    ldap3::drive!(conn);
    let base = std::env::var("BERTH_TEST_LDAP_BASE_DN").unwrap();
    let res = raw
        .simple_bind(&format!("uid=alice,ou=people,{base}"), "")
        .await
        .unwrap();
    assert_eq!(
        res.rc, 0,
        "the server should accept unauthenticated binds (allow bind_anon_dn)"
    );
    raw.unbind().await.unwrap();

    let reg = registry(Some(auth.clone())).await;
    for (i, (user, pw)) in [
        ("alice", "wrong-Password-1"),
        ("alice", ""),
        ("nobody", ALICE_PW),
    ]
    .into_iter()
    .enumerate()
    {
        let err = reg
            .login(user, pw, &format!("10.1.0.{i}"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Unauthorized), "{user:?}: {err:?}");
    }
    assert!(
        reg.metadata_store()
            .user_by_name("alice")
            .await
            .unwrap()
            .is_none(),
        "failed logins onboard nobody"
    );
    assert!(
        reg.metadata_store()
            .user_by_name("nobody")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
#[ignore = "needs OpenLDAP (BERTH_TEST_LDAP_URL); tests/run.sh starts it and runs ignored tests"]
async fn ldap_admin_group_makes_sysadmin() {
    for mode in [GroupMode::MemberSearch, GroupMode::MemberOf] {
        let Some(auth) = ldap(mode) else { return };
        let reg = registry(Some(auth)).await;
        let carol = reg.login("carol", CAROL_PW, "10.2.0.1").await.unwrap();
        assert!(
            user_of(&carol).sysadmin,
            "{mode:?}: carol is in berth-admins"
        );
        assert!(
            reg.metadata_store()
                .user_by_name("carol")
                .await
                .unwrap()
                .unwrap()
                .sysadmin
        );
        let dave = reg.login("dave", DAVE_PW, "10.2.0.1").await.unwrap();
        assert!(!user_of(&dave).sysadmin, "{mode:?}");
        assert!(
            user_of(&dave).group_ids.is_empty(),
            "{mode:?}: dave is in no group"
        );
    }
}

#[tokio::test]
#[ignore = "needs OpenLDAP (BERTH_TEST_LDAP_URL); tests/run.sh starts it and runs ignored tests"]
async fn ldap_injection_attempts_match_nobody() {
    let Some(auth) = ldap(GroupMode::MemberSearch) else {
        return;
    };
    for name in [
        "*",
        ")(uid=*",
        "alice)(uid=*",
        "ali*",
        "*)(|(uid=*",
        "alice\0",
        "alice)(|(objectClass=*",
    ] {
        for pw in [ALICE_PW, BOB_PW, "x"] {
            assert_eq!(
                auth.authenticate(name, pw).await.unwrap(),
                None,
                "{name:?} must not log in"
            );
        }
        assert!(
            auth.search_users(name).await.unwrap().is_empty(),
            "{name:?} is searched as a literal"
        );
    }
    assert!(auth.search_groups("*").await.unwrap().is_empty());
    // The same search with a plain value does find entries, so the empty answers above mean
    // the values were escaped, not that search is broken.
    assert_eq!(auth.search_users("ali").await.unwrap().len(), 1);
}

#[tokio::test]
#[ignore = "needs OpenLDAP (BERTH_TEST_LDAP_URL); tests/run.sh starts it and runs ignored tests"]
async fn ldap_user_and_group_search_and_ping() {
    let Some(auth) = ldap(GroupMode::MemberSearch) else {
        return;
    };
    auth.ping().await.unwrap();
    let all: Vec<String> = auth
        .search_users("")
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(all, ["alice", "bob", "carol", "dave"]);
    let found = auth.search_users("aro").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        (
            found[0].username.as_str(),
            found[0].email.as_str(),
            found[0].realname.as_str()
        ),
        ("carol", "carol@berth.test", "Carol Danvers")
    );
    let groups: Vec<String> = auth
        .search_groups("")
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(groups, ["berth-admins", "devs"]);
    let devs = auth.search_groups("dev").await.unwrap();
    assert_eq!(devs.len(), 1);
    assert_eq!(
        auth.group_by_dn(&devs[0].dn)
            .await
            .unwrap()
            .map(|g| g.name)
            .as_deref(),
        Some("devs")
    );
    let base = std::env::var("BERTH_TEST_LDAP_BASE_DN").unwrap();
    assert_eq!(
        auth.group_by_dn(&format!("cn=nope,ou=groups,{base}"))
            .await
            .unwrap(),
        None
    );

    // A wrong search password is the directory being unusable, not a failed user login.
    let bad = LdapAuthenticator::new(LdapConfig {
        search_password: "not-the-password".into(),
        ..ldap_config(GroupMode::MemberSearch).unwrap()
    })
    .unwrap();
    assert!(matches!(bad.ping().await, Err(Error::Unavailable { .. })));
    assert!(matches!(
        bad.authenticate("alice", ALICE_PW).await,
        Err(Error::Unavailable { .. })
    ));
    let msg = format!("{:?} {}", bad, bad.ping().await.unwrap_err());
    assert!(
        !msg.contains("not-the-password"),
        "the bind password leaked: {msg}"
    );
}

#[tokio::test]
#[ignore = "needs OpenLDAP (BERTH_TEST_LDAP_URL); tests/run.sh starts it and runs ignored tests"]
async fn ldap_timeouts_and_unreachable_servers_are_errors() {
    let Some(cfg) = ldap_config(GroupMode::MemberSearch) else {
        return;
    };
    // A server that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((c, _)) = silent.accept().await {
            conns.push(c);
        }
    });
    let auth = LdapAuthenticator::new(LdapConfig {
        url: format!("ldap://{addr}"),
        timeout: Duration::from_millis(500),
        ..cfg.clone()
    })
    .unwrap();
    let t0 = Instant::now();
    let err = auth.authenticate("alice", ALICE_PW).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err:?}");
    assert!(
        t0.elapsed() < Duration::from_secs(4),
        "the timeout was not applied: {:?}",
        t0.elapsed()
    );
    hold.abort();

    // Nothing listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let auth = LdapAuthenticator::new(LdapConfig {
        url: format!("ldap://{closed}"),
        ..cfg
    })
    .unwrap();
    assert!(matches!(auth.ping().await, Err(Error::Unavailable { .. })));
    // Through the registry the failure stays an error (503), not a wrong password (401).
    let reg = registry(Some(Arc::new(auth))).await;
    assert!(matches!(
        reg.login("alice", ALICE_PW, "10.3.0.1").await,
        Err(Error::Unavailable { .. })
    ));
}

#[tokio::test]
#[ignore = "needs OpenLDAP (BERTH_TEST_LDAP_URL); tests/run.sh starts it and runs ignored tests"]
async fn ldap_group_membership_grants_project_permissions() {
    let Some(auth) = ldap(GroupMode::MemberSearch) else {
        return;
    };
    // On a fake clock: the permission cache's lifetime passes when the test says so.
    let clock = Arc::new(registry_core::clock::FakeClock::new(now_ms()));
    let reg = Registry::builder()
        .blobs(Arc::new(registry_core::blob::memory::MemoryBlobStore::new()))
        .meta(
            registry_core::registry::open_metadata("memory://")
                .await
                .unwrap(),
        )
        .authenticator(auth)
        .clock(clock.clone())
        .build()
        .unwrap();
    let meta = reg.metadata_store();
    let project = meta
        .create_project("proj", None, false, &[], -1, now_ms())
        .await
        .unwrap();
    let alice = reg.login("alice", ALICE_PW, "10.4.0.1").await.unwrap();
    let dave = reg.login("dave", DAVE_PW, "10.4.0.1").await.unwrap();
    assert!(
        reg.project_access(&alice, "proj").await.unwrap().is_none(),
        "private project, no membership yet"
    );

    let base = std::env::var("BERTH_TEST_LDAP_BASE_DN").unwrap();
    let devs = meta
        .find_group(1, "devs", &format!("cn=devs,ou=groups,{base}"))
        .await
        .unwrap()
        .expect("devs imported at login");
    meta.add_member(project.id, "g", devs.id, Role::Developer as i64, now_ms())
        .await
        .unwrap();
    // bob logs in only now: the group row is shared, so he gets the grant too.
    let bob = reg.login("bob", BOB_PW, "10.4.0.1").await.unwrap();
    // The permission cache keeps answers for up to 2 s; membership changes made directly in
    // the store (not through the registry) are seen after that.
    clock.advance(registry_core::access::ACCESS_CACHE_TTL.as_millis() as i64 + 1);
    for p in [&alice, &bob] {
        let access = reg
            .project_access(p, "proj")
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{} sees proj", p.name()));
        assert!(
            access.allows(ProjectResource::Repository, Action::Push),
            "developers push"
        );
        assert!(access.allows(ProjectResource::Repository, Action::Pull));
        assert!(
            !access.allows(ProjectResource::Repository, Action::Delete),
            "developers do not delete"
        );
    }
    assert!(
        reg.project_access(&dave, "proj").await.unwrap().is_none(),
        "dave is not in devs"
    );
}

// ---- OIDC ------------------------------------------------------------------------------------

const REDIRECT: &str = "http://127.0.0.1:9/c/oidc/callback";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// Register a client with the provider; (client id, client secret).
async fn register_client(issuer: &str) -> (String, String) {
    let body = serde_json::json!({ "redirect_uris": [REDIRECT] }).to_string();
    let resp = http()
        .post(format!("{issuer}/oauth2/clients"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let v: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    (
        v["client_id"].as_str().unwrap().to_owned(),
        v["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// Give user `sub` these claims at the provider.
async fn set_user(issuer: &str, sub: &str, claims: serde_json::Value) {
    let resp = http()
        .put(format!("{issuer}/users/{sub}"))
        .header("content-type", "application/json")
        .body(claims.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
}

/// Play the browser: open the authorization URL as `sub` and return the callback's (code, state).
async fn authorize_as(auth_url: &str, sub: &str) -> (String, String) {
    let resp = http()
        .post(auth_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[("sub", sub)]))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        302,
        "authorization must redirect back: {:?}",
        resp.text().await
    );
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(REDIRECT), "{location}");
    let url = url::Url::parse(&location).unwrap();
    let get = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no {k} in {location}"))
    };
    (get("code"), get("state"))
}

struct Oidc {
    issuer: String,
    provider: Arc<OidcProvider>,
    cfg: OidcConfig,
}

async fn oidc() -> Option<Oidc> {
    let issuer = service_url("BERTH_TEST_OIDC_URL")?;
    let (client_id, client_secret) = register_client(&issuer).await;
    let cfg = OidcConfig {
        endpoint: issuer.clone(),
        client_id,
        client_secret,
        groups_claim: "groups".into(),
        admin_group: "berth-admins".into(),
        scope: "openid,profile,email".into(),
        ..OidcConfig::default()
    };
    let provider = Arc::new(OidcProvider::discover(cfg.clone()).await.unwrap());
    Some(Oidc {
        issuer,
        provider,
        cfg,
    })
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
#[ignore = "needs an OIDC provider (BERTH_TEST_OIDC_URL); tests/run.sh starts it and runs ignored tests"]
async fn oidc_code_flow_onboards_and_hands_out_a_cli_secret_once() {
    let Some(o) = oidc().await else { return };
    let sub = unique("sub");
    let name = unique("erin");
    set_user(
        &o.issuer,
        &sub,
        serde_json::json!({ "preferred_username": name, "email": "erin@idp.test", "name": "Erin Example", "groups": ["team-a", "berth-admins"] }),
    )
    .await;
    let reg = Registry::builder()
        .blobs(Arc::new(registry_core::blob::memory::MemoryBlobStore::new()))
        .meta(
            registry_core::registry::open_metadata("memory://")
                .await
                .unwrap(),
        )
        .oidc(o.provider.clone())
        .build()
        .unwrap();
    let provider = reg.oidc().expect("provider wired").clone();

    let pending = provider.authorize_url(REDIRECT).unwrap();
    assert!(pending.url.contains("code_challenge_method=S256") && pending.url.contains("nonce="));
    let (code, state) = authorize_as(&pending.url, &sub).await;
    let login = reg
        .oidc_login(&provider, &pending, &state, &code)
        .await
        .unwrap();
    let user = &login.user;
    assert_eq!(user.username, name);
    assert_eq!(
        (
            user.email.as_str(),
            user.realname.as_str(),
            user.source.as_str()
        ),
        ("erin@idp.test", "Erin Example", "oidc")
    );
    assert_eq!(
        user.external_id.as_deref(),
        Some(format!("{}|{sub}", o.issuer).as_str())
    );
    assert!(user.sysadmin, "member of the admin group");
    let secret = login
        .cli_secret
        .clone()
        .expect("first login hands out a CLI secret");
    assert!(
        !format!("{login:?}").contains(&secret),
        "the CLI secret must not reach Debug output"
    );
    let groups = reg.metadata_store().user_group_ids(user.id).await.unwrap();
    let mut names = Vec::new();
    for g in groups {
        let g = reg.metadata_store().group_by_id(g).await.unwrap().unwrap();
        assert_eq!(g.group_type, 3);
        names.push(g.name);
    }
    names.sort();
    assert_eq!(names, ["berth-admins", "team-a"]);

    // docker login with the CLI secret.
    let p = reg.login(&name, &secret, "10.5.0.1").await.unwrap();
    assert_eq!(user_of(&p).id, user.id);
    assert!(user_of(&p).sysadmin);
    assert!(matches!(
        reg.login(&name, "Wrong-secret-123", "10.5.0.2").await,
        Err(Error::Unauthorized)
    ));

    // The second portal login shows no secret again; the first one keeps working.
    let pending = provider.authorize_url(REDIRECT).unwrap();
    let (code, state) = authorize_as(&pending.url, &sub).await;
    let again = reg
        .oidc_login(&provider, &pending, &state, &code)
        .await
        .unwrap();
    assert_eq!(again.user.id, user.id);
    assert!(again.cli_secret.is_none(), "the secret is shown once");
    reg.login(&name, &secret, "10.5.0.3").await.unwrap();

    // Changing the secret: weak ones are refused; the old one stops working at once.
    assert!(matches!(
        reg.set_cli_secret(&p, user.id, "short").await,
        Err(Error::BadRequest { .. })
    ));
    reg.set_cli_secret(&p, user.id, "New-cli-Secret-42")
        .await
        .unwrap();
    assert!(matches!(
        reg.login(&name, &secret, "10.5.0.4").await,
        Err(Error::Unauthorized)
    ));
    reg.login(&name, "New-cli-Secret-42", "10.5.0.4")
        .await
        .unwrap();
    let fresh = reg.regenerate_cli_secret(&p, user.id).await.unwrap();
    reg.login(&name, &fresh, "10.5.0.5").await.unwrap();
}

#[tokio::test]
#[ignore = "needs an OIDC provider (BERTH_TEST_OIDC_URL); tests/run.sh starts it and runs ignored tests"]
async fn oidc_cli_secret_rules_and_plain_users() {
    let Some(o) = oidc().await else { return };
    let reg = registry(None).await;
    // An ordinary member: no admin group, no preferred_username in scope → the subject is the name.
    let sub = unique("frank");
    set_user(&o.issuer, &sub, serde_json::json!({ "groups": ["team-b"] })).await;
    let narrow = Arc::new(
        OidcProvider::discover(OidcConfig {
            scope: "openid".into(),
            ..o.cfg.clone()
        })
        .await
        .unwrap(),
    );
    let pending = narrow.authorize_url(REDIRECT).unwrap();
    let (code, state) = authorize_as(&pending.url, &sub).await;
    let frank = reg
        .oidc_login(&narrow, &pending, &state, &code)
        .await
        .unwrap();
    assert_eq!(
        frank.user.username, sub,
        "falls back to sub without preferred_username"
    );
    assert!(!frank.user.sysadmin);
    let frank_p = reg
        .login(&sub, frank.cli_secret.as_deref().unwrap(), "10.6.0.1")
        .await
        .unwrap();

    let other_sub = unique("gina");
    set_user(
        &o.issuer,
        &other_sub,
        serde_json::json!({ "preferred_username": other_sub }),
    )
    .await;
    let pending = o.provider.authorize_url(REDIRECT).unwrap();
    let (code, state) = authorize_as(&pending.url, &other_sub).await;
    let gina = reg
        .oidc_login(&o.provider, &pending, &state, &code)
        .await
        .unwrap();
    // Only the user themself or a system administrator may set a user's CLI secret.
    assert!(matches!(
        reg.set_cli_secret(&frank_p, gina.user.id, "Strong-Secret-1")
            .await,
        Err(Error::Denied { .. })
    ));
    assert!(matches!(
        reg.set_cli_secret(&Principal::Anonymous, gina.user.id, "Strong-Secret-1")
            .await,
        Err(Error::Unauthorized)
    ));
    reg.set_cli_secret(&Principal::System, gina.user.id, "Strong-Secret-1")
        .await
        .unwrap();
    reg.login(&other_sub, "Strong-Secret-1", "10.6.0.2")
        .await
        .unwrap();
}

#[tokio::test]
#[ignore = "needs an OIDC provider (BERTH_TEST_OIDC_URL); tests/run.sh starts it and runs ignored tests"]
async fn oidc_state_nonce_and_code_checks() {
    let Some(o) = oidc().await else { return };
    let reg = registry(None).await;
    let sub = unique("hank");
    set_user(
        &o.issuer,
        &sub,
        serde_json::json!({ "preferred_username": sub }),
    )
    .await;

    // A callback whose state is not ours is refused before the code is used...
    let pending = o.provider.authorize_url(REDIRECT).unwrap();
    let (code, state) = authorize_as(&pending.url, &sub).await;
    let forged = format!("{state}x");
    assert!(matches!(
        reg.oidc_login(&o.provider, &pending, &forged, &code).await,
        Err(Error::Unauthorized)
    ));
    assert!(
        reg.metadata_store()
            .user_by_name(&sub)
            .await
            .unwrap()
            .is_none()
    );
    // ...and an ID token whose nonce is not the one we sent is refused too.
    let err = o
        .provider
        .exchange_code(&code, &pending.pkce_verifier, "another-nonce", REDIRECT)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized), "{err:?}");
    // That code is spent: using it again is refused by the provider.
    assert!(matches!(
        reg.oidc_login(&o.provider, &pending, &state, &code).await,
        Err(Error::Unauthorized)
    ));
    assert!(
        reg.metadata_store()
            .user_by_name(&sub)
            .await
            .unwrap()
            .is_none(),
        "nothing onboarded"
    );

    // A login started for one request cannot be finished with another request's secrets.
    let first = o.provider.authorize_url(REDIRECT).unwrap();
    let second = o.provider.authorize_url(REDIRECT).unwrap();
    assert_ne!(
        (&first.state, &first.nonce, &first.pkce_verifier),
        (&second.state, &second.nonce, &second.pkce_verifier)
    );
    let (code, state) = authorize_as(&first.url, &sub).await;
    assert!(matches!(
        reg.oidc_login(&o.provider, &second, &state, &code).await,
        Err(Error::Unauthorized)
    ));

    // A made-up code and a wrong client secret fail as "unauthorized", not as an outage.
    assert!(matches!(
        o.provider
            .exchange_code("not-a-code", &first.pkce_verifier, &first.nonce, REDIRECT)
            .await,
        Err(Error::Unauthorized)
    ));
    let wrong_secret = OidcProvider::discover(OidcConfig {
        client_secret: "wrong-client-secret".into(),
        ..o.cfg.clone()
    })
    .await
    .unwrap();
    let pending = wrong_secret.authorize_url(REDIRECT).unwrap();
    let (code, _) = authorize_as(&pending.url, &sub).await;
    assert!(matches!(
        wrong_secret
            .exchange_code(&code, &pending.pkce_verifier, &pending.nonce, REDIRECT)
            .await,
        Err(Error::Unauthorized)
    ));
    assert!(!format!("{wrong_secret:?}").contains("wrong-client-secret"));

    // The honest path still works.
    let pending = o.provider.authorize_url(REDIRECT).unwrap();
    let (code, state) = authorize_as(&pending.url, &sub).await;
    reg.oidc_login(&o.provider, &pending, &state, &code)
        .await
        .unwrap();
}

/// The code flow done by hand, to get the raw ID token.
async fn raw_id_token(
    o: &Oidc,
    client_id: &str,
    client_secret: &str,
    sub: &str,
    nonce: &str,
) -> String {
    let mut auth = url::Url::parse(&o.provider.metadata().authorization_endpoint).unwrap();
    auth.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "openid profile")
        .append_pair("state", "s")
        .append_pair("nonce", nonce);
    let (code, _) = authorize_as(auth.as_str(), sub).await;
    let resp = http()
        .post(&o.provider.metadata().token_endpoint)
        .basic_auth(client_id, Some(client_secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    v["id_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
#[ignore = "needs an OIDC provider (BERTH_TEST_OIDC_URL); tests/run.sh starts it and runs ignored tests"]
async fn oidc_id_token_validation() {
    let Some(o) = oidc().await else { return };
    let sub = unique("ivy");
    set_user(
        &o.issuer,
        &sub,
        serde_json::json!({ "preferred_username": sub, "groups": ["berth-admins"] }),
    )
    .await;
    let token = raw_id_token(&o, &o.cfg.client_id, &o.cfg.client_secret, &sub, "n-1").await;

    let id = o
        .provider
        .verify_id_token(&token, Some("n-1"))
        .await
        .unwrap();
    assert_eq!(id.username, sub);
    assert!(id.sysadmin);
    // As a bearer token on the API (no nonce to compare).
    o.provider.verify_id_token(&token, None).await.unwrap();
    assert!(matches!(
        o.provider.verify_id_token(&token, Some("n-2")).await,
        Err(Error::Unauthorized)
    ));

    // Any change to the signed payload breaks the signature.
    let parts: Vec<&str> = token.split('.').collect();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["preferred_username"] = serde_json::json!("admin");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        parts[2]
    );
    assert!(matches!(
        o.provider.verify_id_token(&forged, None).await,
        Err(Error::Unauthorized)
    ));
    // An unsigned token ("alg": "none") is refused.
    let none_header = b64.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{}.", parts[1]);
    assert!(o.provider.verify_id_token(&unsigned, None).await.is_err());

    // A token the provider issued to another client is not for us (aud).
    let (other_id, other_secret) = register_client(&o.issuer).await;
    let foreign = raw_id_token(&o, &other_id, &other_secret, &sub, "n-3").await;
    assert!(matches!(
        o.provider.verify_id_token(&foreign, Some("n-3")).await,
        Err(Error::Unauthorized)
    ));
}

#[tokio::test]
#[ignore = "needs an OIDC provider (BERTH_TEST_OIDC_URL); tests/run.sh starts it and runs ignored tests"]
async fn oidc_discovery_errors() {
    let Some(issuer) = service_url("BERTH_TEST_OIDC_URL") else {
        return;
    };
    let cfg = OidcConfig {
        endpoint: format!("{issuer}/not-here"),
        client_id: "c".into(),
        ..OidcConfig::default()
    };
    assert!(matches!(
        OidcProvider::discover(cfg).await,
        Err(Error::Unavailable { .. })
    ));
    // The issuer the provider announces must be the configured endpoint.
    let other_name = issuer.replace("127.0.0.1", "localhost");
    let cfg = OidcConfig {
        endpoint: other_name,
        client_id: "c".into(),
        ..OidcConfig::default()
    };
    match OidcProvider::discover(cfg).await {
        // The provider derives its issuer from the Host header, so this one may well match.
        Ok(p) => assert!(p.issuer().contains("localhost")),
        Err(e) => assert!(matches!(e, Error::BadRequest { .. }), "{e:?}"),
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let cfg = OidcConfig {
        endpoint: format!("http://{closed}"),
        client_id: "c".into(),
        ..OidcConfig::default()
    };
    assert!(matches!(
        OidcProvider::discover(cfg).await,
        Err(Error::Unavailable { .. })
    ));
}
