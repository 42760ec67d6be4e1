//! Portal sessions: a browser signs in once with a password and then carries a cookie.
//!
//! - The cookie holds 32 random bytes (base64url); the database keeps only their SHA-256, with
//!   the user, the client address, and the session's CSRF token. Rows live in the metadata
//!   database, so every node of a deployment honours a session any node opened.
//! - A session ends after [`SESSION_IDLE_MS`] without use, and in any case [`SESSION_MAX_MS`]
//!   after it was opened; using it moves the idle end forward (at most one write a minute).
//! - Writes made with the cookie (`POST`, `PUT`, `PATCH`, `DELETE`) must carry the session's
//!   CSRF token (Harbor's `X-Harbor-CSRF-Token` contract): a page on another site can make the
//!   browser send the cookie, but cannot read the token. Basic and Bearer callers carry their
//!   credentials themselves and need no token.
//! - Sign-in goes through [`Registry::login`], so it counts against the same throttle as every
//!   other password check. Robots cannot open sessions.

use sha2::Digest as _;

use crate::error::{Error, Result};
use crate::identity::Principal;
use crate::meta::identity::SessionRow;
use crate::registry::Registry;

/// A session ends this long after its last use (Harbor's default session timeout: 60 min).
pub const SESSION_IDLE_MS: i64 = 60 * 60 * 1000;
/// ... and this long after it was opened, used or not.
pub const SESSION_MAX_MS: i64 = 12 * 60 * 60 * 1000;
/// A use moves the idle end forward only when it has moved this much (one write a minute).
const EXTEND_STEP_MS: i64 = 60 * 1000;

/// A session just opened: the cookie value (shown to the browser once, never stored) and the
/// CSRF token its writes must carry.
#[derive(Clone)]
pub struct NewSession {
    pub cookie: String,
    pub csrf: String,
    pub principal: Principal,
    /// Seconds until the session ends if unused (the cookie's `Max-Age`).
    pub max_age_s: i64,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

/// The caller behind a session cookie, and the CSRF token that session's writes must carry.
#[derive(Debug, Clone)]
pub struct SessionCaller {
    pub principal: Principal,
    pub csrf: String,
}

fn hash(cookie: &str) -> String {
    hex::encode(sha2::Sha256::digest(cookie.as_bytes()))
}

fn random_token() -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Registry {
    /// Sign in with a password and open a session. Fails as [`Registry::login`] does (wrong
    /// credentials, throttled); robots are refused.
    pub async fn open_session(
        &self,
        username: &str,
        password: &str,
        client: &str,
    ) -> Result<NewSession> {
        let principal = self.login(username, password, client).await?;
        if !matches!(principal, Principal::User(_)) {
            tracing::info!(
                client,
                user = username,
                "portal sign-in refused: not a user"
            );
            return Err(Error::Unauthorized);
        }
        self.start_session(principal, client).await
    }

    /// Finish an OIDC code flow ([`Registry::oidc_login`]) and open a session for the user.
    #[cfg(feature = "oidc")]
    pub async fn oidc_session(
        &self,
        provider: &crate::identity::oidc::OidcProvider,
        pending: &crate::identity::oidc::AuthRequest,
        returned_state: &str,
        code: &str,
        client: &str,
    ) -> Result<(crate::identity::oidc::OidcLogin, NewSession)> {
        let login = self
            .oidc_login(provider, pending, returned_state, code)
            .await?;
        let principal = self.user_principal(&login.user).await?;
        let session = self.start_session(principal, client).await?;
        Ok((login, session))
    }

    async fn start_session(&self, principal: Principal, client: &str) -> Result<NewSession> {
        let Principal::User(user) = &principal else {
            return Err(Error::Unauthorized);
        };
        let now = self.now_ms();
        let cookie = random_token();
        let csrf = random_token();
        let row = SessionRow {
            id_hash: hash(&cookie),
            user_id: user.id,
            csrf: csrf.clone(),
            client: client.chars().take(64).collect(),
            created_at: now,
            expires_at: now + SESSION_IDLE_MS,
            max_until: now + SESSION_MAX_MS,
        };
        self.meta.create_session(&row, now).await?;
        tracing::info!(client, user = user.username, "portal session opened");
        Ok(NewSession {
            cookie,
            csrf,
            principal,
            max_age_s: SESSION_MAX_MS / 1000,
        })
    }

    /// The caller behind a session cookie, or `None` when the session does not exist or has
    /// ended (the request is then anonymous). `write` says the request changes something: it
    /// must then present the session's CSRF token (`csrf`), or it is refused (`Denied`, 403).
    pub async fn session_caller(
        &self,
        cookie: &str,
        write: bool,
        csrf: Option<&str>,
    ) -> Result<Option<SessionCaller>> {
        let id_hash = hash(cookie);
        let Some(row) = self.meta.session(&id_hash).await? else {
            return Ok(None);
        };
        let now = self.now_ms();
        if row.expires_at <= now || row.max_until <= now {
            return Ok(None);
        }
        if write {
            let ok = csrf.is_some_and(|c| {
                aws_lc_rs::constant_time::verify_slices_are_equal(c.as_bytes(), row.csrf.as_bytes())
                    .is_ok()
            });
            if !ok {
                return Err(Error::Denied {
                    reason: "CSRF token invalid: a write made with the session cookie must send \
                             the session's X-Harbor-CSRF-Token header"
                        .into(),
                });
            }
        }
        let Some(user) = self.meta.user_by_id(row.user_id).await? else {
            return Ok(None);
        };
        let next = (now + SESSION_IDLE_MS).min(row.max_until);
        if next - row.expires_at >= EXTEND_STEP_MS {
            self.meta.extend_session(&id_hash, next).await?;
        }
        Ok(Some(SessionCaller {
            principal: self.user_principal(&user).await?,
            csrf: row.csrf,
        }))
    }

    /// End the session behind a cookie (sign out). Ending one that is gone is not an error.
    pub async fn close_session(&self, cookie: &str) -> Result<()> {
        if self.meta.delete_session(&hash(cookie)).await? {
            tracing::info!("portal session closed");
        }
        Ok(())
    }
}
