//! OpenID Connect as an identity source (Harbor's `oidc_auth`): the authorization-code flow with
//! PKCE for the portal, ID-token validation against the provider's published keys, and the
//! per-user CLI secret that Docker clients use instead of a password.
//!
//! Discovery, JWKS and token checks are done here with `jsonwebtoken` (`DecodingKey::from_jwk`)
//! and `reqwest`, both already in the tree: the `openidconnect` crate would add about fifty
//! crates (a second RSA/EC stack among them) for the same three HTTP calls and checks.
//!
//! Checked on every ID token: signature (a key from the provider's JWKS, asymmetric algorithms
//! only), `iss` equal to the discovered issuer, `aud` containing our client id (and `azp` when
//! there are several audiences), `exp` (60 s leeway), and the `nonce` we sent.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::Digest as _;

use super::{ExternalGroup, ExternalIdentity, Principal, password};
use crate::error::{Error, Result};
use crate::meta::identity::UserRow;
use crate::registry::Registry;

/// OIDC group type in `user_groups.group_type`.
pub const GROUP_TYPE_OIDC: i64 = 3;
/// `users.source` of users onboarded through OIDC.
pub const SOURCE: &str = "oidc";
/// Length of generated CLI secrets.
const CLI_SECRET_LEN: usize = 32;
/// Leeway for `exp`/`nbf`/`iat` (clock skew between us and the provider).
const LEEWAY_SECS: u64 = 60;
/// Least time between two JWKS downloads triggered by an unknown key id.
const JWKS_REFRESH_MIN: Duration = Duration::from_secs(10);
/// Largest response body we read from the provider.
const MAX_BODY: usize = 1 << 20;

/// Provider settings (Harbor's `oidc_*` configuration keys).
#[derive(Clone)]
pub struct OidcConfig {
    /// Display name (`oidc_name`).
    pub name: String,
    /// The issuer URL; `<endpoint>/.well-known/openid-configuration` must exist (`oidc_endpoint`).
    pub endpoint: String,
    pub client_id: String,
    /// `oidc_client_secret`. Never logged.
    pub client_secret: String,
    /// Claim holding the user's groups, empty for none (`oidc_groups_claim`).
    pub groups_claim: String,
    /// Members of this group are system administrators (`oidc_admin_group`).
    pub admin_group: String,
    /// Requested scopes, comma or space separated (`oidc_scope`; `openid` is always added).
    pub scope: String,
    /// Claim holding the user name (`oidc_user_claim`). Empty: `preferred_username`, then `sub`.
    pub user_claim: String,
    /// Check the provider's TLS certificate (`oidc_verify_cert`).
    pub verify_cert: bool,
    /// Extra query parameters for the authorization request (`oidc_extra_redirect_parms`).
    pub extra_redirect_params: Vec<(String, String)>,
    /// Time limit for each call to the provider.
    pub timeout: Duration,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            name: "OIDC".into(),
            endpoint: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            groups_claim: String::new(),
            admin_group: String::new(),
            scope: "openid,profile,email".into(),
            user_claim: String::new(),
            verify_cert: true,
            extra_redirect_params: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

impl fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcConfig")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &if self.client_secret.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("groups_claim", &self.groups_claim)
            .field("admin_group", &self.admin_group)
            .field("scope", &self.scope)
            .field("user_claim", &self.user_claim)
            .field("verify_cert", &self.verify_cert)
            .field("extra_redirect_params", &self.extra_redirect_params)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What the provider publishes at `.well-known/openid-configuration` (the parts we use).
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// A started login: where to send the browser, and what to keep (in the session) until the
/// provider redirects back.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthRequest {
    /// The provider's authorization URL with all parameters.
    pub url: String,
    /// Must come back unchanged in the callback's `state`.
    pub state: String,
    /// Must appear in the ID token.
    pub nonce: String,
    /// PKCE code verifier, sent with the code exchange.
    pub pkce_verifier: String,
    /// Our callback URL, sent again with the code exchange.
    pub redirect_uri: String,
}

impl fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRequest")
            .field("url", &self.url)
            .field("state", &self.state)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenError {
    error: Option<String>,
    error_description: Option<String>,
}

struct Jwks {
    set: JwkSet,
    fetched: Instant,
}

/// A discovered OpenID Connect provider.
pub struct OidcProvider {
    cfg: OidcConfig,
    meta: ProviderMetadata,
    http: reqwest::Client,
    jwks: tokio::sync::RwLock<Jwks>,
}

impl fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcProvider")
            .field("cfg", &self.cfg)
            .field("issuer", &self.meta.issuer)
            .finish_non_exhaustive()
    }
}

fn unavailable(what: &str, e: impl fmt::Display) -> Error {
    Error::Unavailable {
        reason: format!("OIDC provider: {what}: {e}"),
    }
}

/// URL-safe base64 of `n` random bytes.
fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn pkce_challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()))
}

fn same_secret(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

async fn read_body(resp: reqwest::Response, what: &str) -> Result<(reqwest::StatusCode, Vec<u8>)> {
    let status = resp.status();
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(unavailable(what, "response too large"));
    }
    let body = resp.bytes().await.map_err(|e| unavailable(what, e))?;
    if body.len() > MAX_BODY {
        return Err(unavailable(what, "response too large"));
    }
    Ok((status, body.to_vec()))
}

impl OidcProvider {
    /// Fetch the provider's metadata and keys. The issuer it announces must be `endpoint`.
    pub async fn discover(cfg: OidcConfig) -> Result<Self> {
        let bad = |reason: String| Error::BadRequest { reason };
        if cfg.client_id.is_empty() {
            return Err(bad("OIDC client id is required".into()));
        }
        let endpoint = cfg.endpoint.trim_end_matches('/').to_owned();
        let parsed = url::Url::parse(&endpoint)
            .map_err(|e| bad(format!("OIDC endpoint {:?}: {e}", cfg.endpoint)))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(bad(format!(
                "OIDC endpoint must be an http(s) URL, not {:?}",
                cfg.endpoint
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::limited(5))
            .tls_danger_accept_invalid_certs(!cfg.verify_cert)
            .build()
            .map_err(|e| Error::internal(format!("building the OIDC HTTP client: {e}")))?;
        let well_known = format!("{endpoint}/.well-known/openid-configuration");
        let meta: ProviderMetadata = Self::get_json(&http, &well_known).await?;
        if meta.issuer.trim_end_matches('/') != endpoint {
            return Err(bad(format!(
                "OIDC provider at {endpoint} announces issuer {:?}; the endpoint must be the issuer",
                meta.issuer
            )));
        }
        let set: JwkSet = Self::get_json(&http, &meta.jwks_uri).await?;
        tracing::info!(issuer = %meta.issuer, keys = set.keys.len(), "OIDC provider discovered");
        Ok(Self {
            cfg,
            meta,
            http,
            jwks: tokio::sync::RwLock::new(Jwks {
                set,
                fetched: Instant::now(),
            }),
        })
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        http: &reqwest::Client,
        url: &str,
    ) -> Result<T> {
        let resp = http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| unavailable(&format!("GET {url}"), e))?;
        let (status, body) = read_body(resp, &format!("GET {url}")).await?;
        if !status.is_success() {
            return Err(unavailable(&format!("GET {url}"), format!("HTTP {status}")));
        }
        serde_json::from_slice(&body)
            .map_err(|e| unavailable(&format!("GET {url}"), format!("unreadable JSON: {e}")))
    }

    pub fn config(&self) -> &OidcConfig {
        &self.cfg
    }

    pub fn metadata(&self) -> &ProviderMetadata {
        &self.meta
    }

    pub fn issuer(&self) -> &str {
        &self.meta.issuer
    }

    fn scopes(&self) -> String {
        let mut scopes = vec!["openid"];
        for s in self
            .cfg
            .scope
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        scopes.join(" ")
    }

    /// Start a login: the URL to redirect the browser to, with fresh `state`, `nonce` and PKCE
    /// verifier to keep until the callback.
    pub fn authorize_url(&self, redirect_uri: &str) -> Result<AuthRequest> {
        let mut url = url::Url::parse(&self.meta.authorization_endpoint).map_err(|e| {
            unavailable(
                "authorization endpoint",
                format!("{:?}: {e}", self.meta.authorization_endpoint),
            )
        })?;
        let (state, nonce, pkce_verifier) = (random_token(24), random_token(24), random_token(32));
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.cfg.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", &self.scopes())
                .append_pair("state", &state)
                .append_pair("nonce", &nonce)
                .append_pair("code_challenge", &pkce_challenge(&pkce_verifier))
                .append_pair("code_challenge_method", "S256");
            for (k, v) in &self.cfg.extra_redirect_params {
                q.append_pair(k, v);
            }
        }
        Ok(AuthRequest {
            url: url.into(),
            state,
            nonce,
            pkce_verifier,
            redirect_uri: redirect_uri.to_owned(),
        })
    }

    /// The callback's `state` must be the one we sent (else: a forged or replayed callback).
    pub fn check_state(pending: &AuthRequest, returned_state: &str) -> Result<()> {
        if !pending.state.is_empty() && same_secret(&pending.state, returned_state) {
            Ok(())
        } else {
            tracing::warn!(
                "OIDC callback with a state that does not match the login it claims to finish"
            );
            Err(Error::Unauthorized)
        }
    }

    /// Exchange an authorization code for tokens and return who logged in. The ID token must
    /// carry `nonce`. A code the provider refuses is `UNAUTHORIZED`; an unreachable provider
    /// is `UNAVAILABLE`.
    pub async fn exchange_code(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
        redirect_uri: &str,
    ) -> Result<ExternalIdentity> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("code_verifier", pkce_verifier)
            .finish();
        let post_only = self
            .meta
            .token_endpoint_auth_methods_supported
            .as_ref()
            .is_some_and(|m| {
                !m.iter().any(|x| x == "client_secret_basic")
                    && m.iter().any(|x| x == "client_secret_post")
            });
        let mut req = self
            .http
            .post(&self.meta.token_endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json");
        let body = if post_only {
            let creds = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("client_id", &self.cfg.client_id)
                .append_pair("client_secret", &self.cfg.client_secret)
                .finish();
            format!("{body}&{creds}")
        } else {
            // RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding.
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            req = req.basic_auth(enc(&self.cfg.client_id), Some(enc(&self.cfg.client_secret)));
            body
        };
        let what = "token request";
        let resp = req
            .body(body)
            .send()
            .await
            .map_err(|e| unavailable(what, e))?;
        let (status, bytes) = read_body(resp, what).await?;
        if !status.is_success() {
            let err: Option<TokenError> = serde_json::from_slice(&bytes).ok();
            let (code, desc) = err
                .map(|e| {
                    (
                        e.error.unwrap_or_default(),
                        e.error_description.unwrap_or_default(),
                    )
                })
                .unwrap_or_default();
            if status.is_client_error() {
                tracing::info!(%status, error = %code, description = %desc, "OIDC provider refused the authorization code");
                return Err(Error::Unauthorized);
            }
            return Err(unavailable(what, format!("HTTP {status} {code} {desc}")));
        }
        let tokens: TokenResponse = serde_json::from_slice(&bytes)
            .map_err(|e| unavailable(what, format!("unreadable token response: {e}")))?;
        let id_token = tokens.id_token.ok_or_else(|| {
            unavailable(
                what,
                "the token response has no id_token (is `openid` an allowed scope?)",
            )
        })?;
        self.verify_id_token(&id_token, Some(nonce)).await
    }

    /// Validate an ID token (signature, issuer, audience, expiry and, when given, nonce) and
    /// read the identity from it. Any failure is `UNAUTHORIZED`.
    pub async fn verify_id_token(
        &self,
        token: &str,
        nonce: Option<&str>,
    ) -> Result<ExternalIdentity> {
        let claims = self.validated_claims(token).await.map_err(|e| match e {
            Error::BadRequest { reason } => {
                tracing::info!(%reason, "OIDC ID token refused");
                Error::Unauthorized
            }
            other => other,
        })?;
        if let Some(expected) = nonce {
            let got = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
            if expected.is_empty() || !same_secret(expected, got) {
                tracing::warn!("OIDC ID token nonce does not match the login request");
                return Err(Error::Unauthorized);
            }
        }
        self.identity(&claims)
    }

    async fn key_for(&self, kid: Option<&str>) -> Result<DecodingKey> {
        for attempt in 0..2 {
            {
                let jwks = self.jwks.read().await;
                let found = match kid {
                    Some(kid) => jwks.set.find(kid),
                    // No key id: acceptable only when there is exactly one signing key.
                    None if jwks.set.keys.len() == 1 => jwks.set.keys.first(),
                    None => None,
                };
                if let Some(jwk) = found {
                    return DecodingKey::from_jwk(jwk).map_err(|e| Error::BadRequest {
                        reason: format!("unusable key in the provider's JWKS: {e}"),
                    });
                }
                if attempt == 1 || jwks.fetched.elapsed() < JWKS_REFRESH_MIN {
                    break;
                }
            }
            // Unknown key id: the provider may have rotated its keys.
            let set: JwkSet = Self::get_json(&self.http, &self.meta.jwks_uri).await?;
            let mut jwks = self.jwks.write().await;
            *jwks = Jwks {
                set,
                fetched: Instant::now(),
            };
        }
        Err(Error::BadRequest {
            reason: format!("no key {kid:?} in the provider's JWKS"),
        })
    }

    async fn validated_claims(&self, token: &str) -> Result<Map<String, Value>> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| Error::BadRequest {
            reason: format!("malformed ID token: {e}"),
        })?;
        let alg = header.alg;
        if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
            return Err(Error::BadRequest {
                reason: format!("ID tokens signed with {alg:?} are not accepted"),
            });
        }
        let key = self.key_for(header.kid.as_deref()).await?;
        let mut v = Validation::new(alg);
        v.leeway = LEEWAY_SECS;
        v.set_issuer(&[self.meta.issuer.as_str()]);
        v.set_audience(&[self.cfg.client_id.as_str()]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &v).map_err(|e| {
            Error::BadRequest {
                reason: format!("ID token: {e}"),
            }
        })?;
        let claims = data.claims;
        // OIDC Core 3.1.3.7: with several audiences, azp must be us.
        let several = claims
            .get("aud")
            .and_then(Value::as_array)
            .is_some_and(|a| a.len() > 1);
        if let Some(azp) = claims.get("azp").and_then(Value::as_str) {
            if azp != self.cfg.client_id {
                return Err(Error::BadRequest {
                    reason: format!("ID token azp {azp:?} is not this client"),
                });
            }
        } else if several {
            return Err(Error::BadRequest {
                reason: "ID token has several audiences and no azp".into(),
            });
        }
        Ok(claims)
    }

    fn identity(&self, claims: &Map<String, Value>) -> Result<ExternalIdentity> {
        let text = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let sub = text("sub").ok_or(Error::Unauthorized)?;
        let username = if self.cfg.user_claim.is_empty() {
            text("preferred_username").unwrap_or(sub)
        } else {
            text(&self.cfg.user_claim).ok_or_else(|| {
                tracing::warn!(claim = %self.cfg.user_claim, "OIDC ID token lacks the configured user-name claim");
                Error::Unauthorized
            })?
        };
        let mut groups: Vec<String> = Vec::new();
        if !self.cfg.groups_claim.is_empty() {
            match claims.get(&self.cfg.groups_claim) {
                Some(Value::Array(items)) => {
                    groups.extend(items.iter().filter_map(Value::as_str).map(str::to_owned))
                }
                Some(Value::String(s)) => groups.extend(s.split(',').map(|g| g.trim().to_owned())),
                _ => {}
            }
        }
        groups.retain(|g| !g.is_empty());
        groups.sort();
        groups.dedup();
        let sysadmin =
            !self.cfg.admin_group.is_empty() && groups.iter().any(|g| g == &self.cfg.admin_group);
        Ok(ExternalIdentity {
            source: SOURCE.into(),
            external_id: format!("{}|{sub}", self.meta.issuer),
            username: username.to_owned(),
            email: text("email").unwrap_or_default().to_owned(),
            realname: text("name").unwrap_or_default().to_owned(),
            groups: groups
                .into_iter()
                .map(|name| ExternalGroup {
                    group_type: GROUP_TYPE_OIDC,
                    name,
                    dn: String::new(),
                })
                .collect(),
            sysadmin,
        })
    }
}

/// The result of a finished OIDC login.
#[derive(Clone)]
pub struct OidcLogin {
    pub user: UserRow,
    /// The CLI secret, generated on this login because the user had none; shown once.
    pub cli_secret: Option<String>,
}

impl fmt::Debug for OidcLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcLogin")
            .field("user", &self.user.username)
            .field(
                "cli_secret",
                &self.cli_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Registry {
    /// The OIDC provider given to [`crate::RegistryBuilder::oidc`], if any.
    pub fn oidc(&self) -> Option<&Arc<OidcProvider>> {
        self.oidc.as_ref()
    }

    /// Finish a portal login: check the callback `state`, exchange `code`, onboard the user
    /// (creating or refreshing the local record and groups) and, if the user has no CLI secret
    /// yet, generate one and return it (only this once: just its hash is kept).
    pub async fn oidc_login(
        &self,
        provider: &OidcProvider,
        pending: &AuthRequest,
        returned_state: &str,
        code: &str,
    ) -> Result<OidcLogin> {
        OidcProvider::check_state(pending, returned_state)?;
        let ext = provider
            .exchange_code(
                code,
                &pending.pkce_verifier,
                &pending.nonce,
                &pending.redirect_uri,
            )
            .await?;
        self.oidc_onboard(ext).await
    }

    /// Onboard an identity an OIDC provider vouched for (from [`OidcProvider::exchange_code`]
    /// or [`OidcProvider::verify_id_token`]), creating the CLI secret when missing.
    pub async fn oidc_onboard(&self, ext: ExternalIdentity) -> Result<OidcLogin> {
        if ext.source != SOURCE {
            return Err(Error::BadRequest {
                reason: format!("not an OIDC identity (source {:?})", ext.source),
            });
        }
        let mut user = self.onboard(ext).await?;
        let mut cli_secret = None;
        if user.cli_secret_hash.is_none() {
            let secret = password::random_secret(CLI_SECRET_LEN);
            self.meta
                .set_cli_secret(user.id, &password::hash(&secret).await?, self.now_ms())
                .await?;
            self.access_changed();
            user = self
                .meta
                .user_by_id(user.id)
                .await?
                .ok_or(Error::Unauthorized)?;
            tracing::info!(user = %user.username, "OIDC user onboarded with a new CLI secret");
            cli_secret = Some(secret);
        }
        Ok(OidcLogin { user, cli_secret })
    }

    /// Replace an OIDC user's CLI secret (Harbor's `PUT /users/{id}/cli_secret`): the user
    /// themself or a system administrator; the secret must be strong enough.
    pub async fn set_cli_secret(&self, p: &Principal, user_id: i64, secret: &str) -> Result<()> {
        if !(p.is_sysadmin() || p.user_id() == Some(user_id)) {
            return Err(crate::access::refuse(p));
        }
        let user = self
            .meta
            .user_by_id(user_id)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!("user {user_id}"),
            })?;
        if user.source != SOURCE {
            return Err(Error::PreconditionFailed {
                reason: format!(
                    "user {} is not an OIDC user; CLI secrets are for OIDC users",
                    user.username
                ),
            });
        }
        password::check_secret_strength(secret)?;
        self.meta
            .set_cli_secret(user_id, &password::hash(secret).await?, self.now_ms())
            .await?;
        self.access_changed();
        Ok(())
    }

    /// Generate a fresh CLI secret for an OIDC user (same rights as [`Self::set_cli_secret`]);
    /// returned once.
    pub async fn regenerate_cli_secret(&self, p: &Principal, user_id: i64) -> Result<String> {
        let secret = password::random_secret(CLI_SECRET_LEN);
        self.set_cli_secret(p, user_id, &secret).await?;
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc7636_example() {
        // RFC 7636 appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let cfg = OidcConfig {
            client_secret: "s3cr3t-Value".into(),
            ..OidcConfig::default()
        };
        assert!(!format!("{cfg:?}").contains("s3cr3t"));
        let req = AuthRequest {
            url: "https://idp/authorize".into(),
            state: "st".into(),
            nonce: "the-nonce".into(),
            pkce_verifier: "the-verifier".into(),
            redirect_uri: "https://berth/c/oidc/callback".into(),
        };
        let dbg = format!("{req:?}");
        assert!(
            !dbg.contains("the-verifier") && !dbg.contains("the-nonce"),
            "{dbg}"
        );
    }

    #[test]
    fn state_check() {
        let req = AuthRequest {
            url: String::new(),
            state: "abc".into(),
            nonce: String::new(),
            pkce_verifier: String::new(),
            redirect_uri: String::new(),
        };
        assert!(OidcProvider::check_state(&req, "abc").is_ok());
        assert!(OidcProvider::check_state(&req, "abd").is_err());
        assert!(OidcProvider::check_state(&req, "").is_err());
    }
}
