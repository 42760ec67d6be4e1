//! Portal sign-in (Harbor's paths): `POST /c/login` opens a session and sets the `sid` cookie,
//! `GET /c/log_out` ends it. What a session is and when it ends is core's
//! (`registry_core::identity::session`); [`crate::auth`] honours the cookie on every request.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use registry_core::auth::session::NewSession;
use registry_core::{Error, Registry};

use crate::auth::{client_of, request_base};
use crate::error::{ApiError, ApiResult};

/// The session cookie's name (Harbor's).
pub const COOKIE: &str = "sid";
/// The header carrying a session's CSRF token, both ways (Harbor's).
pub const CSRF_HEADER: &str = "x-harbor-csrf-token";
/// A sign-in form is two short fields.
const FORM_LIMIT: usize = 16 * 1024;

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

fn set_cookie(headers: &HeaderMap, value: &str, max_age_s: i64) -> HeaderValue {
    // `Secure` when the browser came over HTTPS (the server sets X-Forwarded-Proto itself on
    // TLS connections; a trusted proxy sets it in front).
    let secure = if request_base(headers).starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_s}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("sid=; Path=/; Max-Age=0"))
}

/// A sign-in posted by a page of another origin is refused (login CSRF: it would sign the
/// browser in as someone else). Browsers send `Origin` on every POST.
fn same_origin(headers: &HeaderMap) -> bool {
    match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        None => true,
        Some(origin) => origin == request_base(headers),
    }
}

/// `POST /c/login` with a form `principal=…&password=…`: 200 with the `sid` cookie and the
/// session's CSRF token; 401 for wrong credentials (and for robots), 429 when throttled.
pub async fn login(State(reg): State<Registry>, req: Request) -> ApiResult<Response> {
    let client = client_of(&reg, &req);
    let (parts, body) = req.into_parts();
    if !same_origin(&parts.headers) {
        return Err(ApiError(Error::Denied {
            reason: "sign-in from another origin".into(),
        }));
    }
    let form =
        axum::body::to_bytes(body, FORM_LIMIT)
            .await
            .map_err(|_| Error::PayloadTooLarge {
                what: "the sign-in form".into(),
                limit: FORM_LIMIT as u64,
            })?;
    let (mut user, mut password) = (None, None);
    for (k, v) in form_urlencoded::parse(&form) {
        match k.as_ref() {
            "principal" => user = Some(v.into_owned()),
            "password" => password = Some(v.into_owned()),
            _ => {}
        }
    }
    let (Some(user), Some(password)) = (user, password) else {
        return Err(ApiError(Error::BadRequest {
            reason: "the sign-in form needs principal and password".into(),
        }));
    };
    let session = reg.open_session(&user, &password, &client).await?;
    let mut res = StatusCode::OK.into_response();
    attach(&mut res, &parts.headers, &session);
    Ok(res)
}

/// Give the browser a session just opened: its cookie and CSRF token (never cached).
pub fn attach(res: &mut Response, request: &HeaderMap, session: &NewSession) {
    let h = res.headers_mut();
    h.insert(
        header::SET_COOKIE,
        set_cookie(request, &session.cookie, session.max_age_s),
    );
    if let Ok(v) = HeaderValue::from_str(&session.csrf) {
        h.insert(CSRF_HEADER, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// `GET /c/log_out`: end the session (if any) and clear the cookie.
pub async fn log_out(State(reg): State<Registry>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(c) = cookie(&headers, COOKIE) {
        reg.close_session(c).await?;
    }
    let mut res = Response::new(Body::empty());
    res.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(&headers, "", 0));
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
