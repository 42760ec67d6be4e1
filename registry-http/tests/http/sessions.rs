//! Portal sessions over HTTP: `POST /c/login`, the `sid` cookie, the CSRF token on cookie
//! writes, sign-out, and the embedded portal's pages.

use axum::Router;
use axum::http::{Method, StatusCode};

use super::{ADMIN_PASSWORD, Res, app_mem, call};

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const ANON: (&str, &str) = ("authorization", "");

async fn sign_in(app: &Router, user: &str, password: &str) -> Res {
    let body = format!("principal={user}&password={}", password.replace('-', "%2D"));
    call(
        app,
        Method::POST,
        "/c/login",
        &[FORM, ANON],
        body.into_bytes(),
    )
    .await
}

/// `GET /api/v2.0/users/current` with only a `Cookie` header.
async fn current_user(app: &Router, cookie: &str) -> Res {
    call(
        app,
        Method::GET,
        "/api/v2.0/users/current",
        &[ANON, ("cookie", cookie)],
        vec![],
    )
    .await
}

/// Create a local user through the API (as the admin).
async fn create_user(app: &Router, name: &str, password: &str) {
    let body = format!(
        r#"{{"username":"{name}","email":"{name}@example.com","realname":"{name}","password":"{password}"}}"#
    );
    let r = call(
        app,
        Method::POST,
        "/api/v2.0/users",
        &[("content-type", "application/json")],
        body.into_bytes(),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
}

/// `sid=…` out of a sign-in's `Set-Cookie`, and the CSRF token.
fn session_of(res: &Res) -> (String, String) {
    let set = res.header("set-cookie").expect("a Set-Cookie header");
    let sid = set.split(';').next().unwrap().to_owned();
    assert!(sid.starts_with("sid=") && sid.len() > 40, "{set}");
    let csrf = res
        .header("x-harbor-csrf-token")
        .expect("a CSRF token")
        .to_owned();
    (sid, csrf)
}

fn project(name: &str) -> Vec<u8> {
    format!(r#"{{"project_name":"{name}","metadata":{{"public":"false"}}}}"#).into_bytes()
}

#[tokio::test]
async fn sign_in_sets_a_strict_cookie_and_the_cookie_authenticates() {
    let app = app_mem().await;
    let bad = sign_in(&app, "admin", "wrong-password-1").await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.code(), "UNAUTHORIZED");
    assert!(bad.header("set-cookie").is_none());

    let ok = sign_in(&app, "admin", ADMIN_PASSWORD).await;
    assert_eq!(ok.status, StatusCode::OK);
    let set = ok.header("set-cookie").unwrap().to_owned();
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(attr), "{attr} missing from {set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: {set}");
    let (sid, csrf) = session_of(&ok);

    let me = current_user(&app, &sid).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["username"], "admin");
    assert_eq!(me.header("x-harbor-csrf-token"), Some(csrf.as_str()));
    // Among other cookies, quoted or not.
    let other = format!("theme=dark; {sid}; lang=zh");
    let me = current_user(&app, &other).await;
    assert_eq!(me.status, StatusCode::OK);

    // Over HTTPS the cookie is Secure.
    let body = format!("principal=admin&password={ADMIN_PASSWORD}");
    let tls = call(
        &app,
        Method::POST,
        "/c/login",
        &[FORM, ANON, ("x-forwarded-proto", "https")],
        body.into_bytes(),
    )
    .await;
    assert!(tls.header("set-cookie").unwrap().contains("; Secure"));

    // A made-up session id is no one: anonymous, and a write is refused as anonymous.
    let fake = "sid=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let anon = current_user(&app, fake).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    assert!(anon.header("x-harbor-csrf-token").is_none());
}

/// `POST /api/v2.0/projects` with these headers.
async fn create_project(app: &Router, headers: &[(&str, &str)], name: &str) -> Res {
    call(
        app,
        Method::POST,
        "/api/v2.0/projects",
        headers,
        project(name),
    )
    .await
}

#[tokio::test]
async fn cookie_writes_need_the_csrf_token_and_basic_writes_do_not() {
    let app = app_mem().await;
    let (sid, csrf) = session_of(&sign_in(&app, "admin", ADMIN_PASSWORD).await);
    let json = ("content-type", "application/json");
    for (label, token) in [("no token", None), ("a wrong token", Some("not-the-token"))] {
        let mut headers = vec![ANON, json, ("cookie", sid.as_str())];
        if let Some(t) = token {
            headers.push(("x-harbor-csrf-token", t));
        }
        let r = create_project(&app, &headers, "csrf1").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{label}");
        assert!(String::from_utf8_lossy(&r.body).contains("CSRF"), "{label}");
        // A /v2 write with the cookie is refused the same way.
        let up = call(
            &app,
            Method::POST,
            "/v2/p/app/blobs/uploads/",
            &headers,
            vec![],
        )
        .await;
        assert_eq!(up.status, StatusCode::FORBIDDEN, "{label}: /v2");
    }
    let gone = call(&app, Method::GET, "/api/v2.0/projects/csrf1", &[], vec![]).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "nothing was created");

    let r = create_project(
        &app,
        &[ANON, json, ("cookie", &sid), ("x-harbor-csrf-token", &csrf)],
        "csrf1",
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // Basic callers carry their own credentials: no token needed.
    let r = create_project(&app, &[json], "csrf2").await;
    assert_eq!(r.status, StatusCode::CREATED);
}

#[tokio::test]
async fn sign_out_ends_the_session_everywhere() {
    let app = app_mem().await;
    let (sid, _) = session_of(&sign_in(&app, "admin", ADMIN_PASSWORD).await);
    let out = call(
        &app,
        Method::GET,
        "/c/log_out",
        &[ANON, ("cookie", &sid)],
        vec![],
    )
    .await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    // The old cookie, replayed, is nobody.
    let me = current_user(&app, &sid).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    // Signing out twice, or without a session, is fine.
    let again = call(
        &app,
        Method::GET,
        "/c/log_out",
        &[ANON, ("cookie", &sid)],
        vec![],
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
}

#[tokio::test]
async fn sign_in_refuses_robots_other_origins_and_bad_forms_and_is_throttled() {
    let app = app_mem().await;
    let json = ("content-type", "application/json");
    let robot = call(&app, Method::POST, "/api/v2.0/robots", &[json], br#"{"name":"ci","level":"project","duration":-1,
        "permissions":[{"kind":"project","namespace":"p","access":[{"resource":"repository","action":"pull"}]}]}"#.to_vec()).await;
    assert_eq!(
        robot.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&robot.body)
    );
    let (name, secret) = (
        robot.json()["name"].as_str().unwrap().to_owned(),
        robot.json()["secret"].as_str().unwrap().to_owned(),
    );
    let r = sign_in(&app, &name.replace('$', "%24").replace('+', "%2B"), &secret).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "a robot cannot open a session"
    );

    let body = format!("principal=admin&password={ADMIN_PASSWORD}");
    let r = call(
        &app,
        Method::POST,
        "/c/login",
        &[
            FORM,
            ANON,
            ("origin", "https://evil.example"),
            ("host", "registry.example"),
        ],
        body.into_bytes(),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "a sign-in posted by another site"
    );
    assert!(r.header("set-cookie").is_none());

    let r = call(
        &app,
        Method::POST,
        "/c/login",
        &[FORM, ANON],
        b"principal=admin".to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = call(
        &app,
        Method::POST,
        "/c/login",
        &[FORM, ANON],
        vec![b'a'; 64 * 1024],
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);

    // The same throttle as every password check: the right password waits too.
    create_user(&app, "carol", "Carol-Pass-1").await;
    let mut codes = Vec::new();
    for _ in 0..8 {
        codes.push(sign_in(&app, "carol", "Wrong-Pass-9").await.status.as_u16());
    }
    assert!(codes.contains(&429), "{codes:?}");
    assert_eq!(
        sign_in(&app, "carol", "Carol-Pass-1").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_password_change_ends_the_users_sessions() {
    let app = app_mem().await;
    let json = ("content-type", "application/json");
    create_user(&app, "bob", "Bob-Pass-123").await;
    let (sid, _) = session_of(&sign_in(&app, "bob", "Bob-Pass-123").await);
    let me = current_user(&app, &sid).await;
    assert_eq!(me.status, StatusCode::OK);
    let id = me.json()["user_id"].as_i64().unwrap();
    let r = call(
        &app,
        Method::PUT,
        &format!("/api/v2.0/users/{id}/password"),
        &[json],
        br#"{"new_password":"Bob-Pass-456"}"#.to_vec(),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    let me = current_user(&app, &sid).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
}

/// The embedded portal (built by build.rs; required under `BERTH_TEST_REQUIRE_ALL=1`).
#[tokio::test]
async fn the_portal_pages_and_assets() {
    if !registry_http::portal::available() {
        assert_ne!(
            std::env::var("BERTH_TEST_REQUIRE_ALL").as_deref(),
            Ok("1"),
            "the portal was not built into this binary (npm missing when it was compiled?)"
        );
        eprintln!("the portal is not built into this test binary: skipping its pages");
        return;
    }
    let app = app_mem().await;
    for page in ["/", "/harbor/projects", "/harbor/projects/1/repositories"] {
        let r = call(&app, Method::GET, page, &[ANON], vec![]).await;
        assert_eq!(r.status, StatusCode::OK, "{page}");
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
        let csp = r.header("content-security-policy").unwrap();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
        assert!(String::from_utf8_lossy(&r.body).contains("/assets/app.js"));
    }
    let js = call(&app, Method::GET, "/assets/app.js", &[ANON], vec![]).await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.header("content-type").unwrap().contains("javascript"));
    let etag = js.header("etag").unwrap().to_owned();
    let again = call(
        &app,
        Method::GET,
        "/assets/app.js",
        &[ANON, ("if-none-match", &etag)],
        vec![],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    let missing = call(&app, Method::GET, "/assets/nope.js", &[ANON], vec![]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}
