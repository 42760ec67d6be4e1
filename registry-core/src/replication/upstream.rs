//! The client of a remote registry: one per registry endpoint, built on `oci-client` (bearer
//! challenges and token caching, redirects to blob storage without leaking credentials) with
//! plain `reqwest` for the ping, whose answer must be judged status by status.

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;

use crate::blob::ByteStream;
use crate::error::{Error, Result};
use crate::meta::replication::RegistryRow;
use crate::oci::Digest;
// The largest manifest taken from an upstream: the same bound as a pushed one.
use crate::oci::manifest::MAX_MANIFEST_BYTES;

/// Manifest types asked of an upstream, most specific first.
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// How an upstream call failed, as the proxy and replication need to tell them apart.
#[derive(Debug)]
pub(crate) enum UpstreamError {
    /// The upstream answered that the manifest or blob does not exist.
    NotFound,
    /// Rate limited (429): serve what is cached.
    RateLimited,
    /// Credentials refused.
    Unauthorized(String),
    /// Unreachable, timed out, a 5xx, or an answer that makes no sense.
    Unavailable(String),
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound => f.write_str("not found upstream"),
            Self::RateLimited => f.write_str("the upstream registry rate-limits this client (429)"),
            Self::Unauthorized(m) => {
                write!(f, "the upstream registry refused the credentials: {m}")
            }
            Self::Unavailable(m) => write!(f, "the upstream registry is unavailable: {m}"),
        }
    }
}

impl From<OciDistributionError> for UpstreamError {
    fn from(e: OciDistributionError) -> Self {
        use OciDistributionError as E;
        match e {
            E::ImageManifestNotFoundError(_) => Self::NotFound,
            E::UnauthorizedError { url } => Self::Unauthorized(format!("401 from {url}")),
            E::AuthenticationFailure(m) => Self::Unauthorized(m),
            E::ServerError { code: 404, .. } => Self::NotFound,
            E::ServerError { code: 429, .. } => Self::RateLimited,
            E::ServerError { code, url, .. } => Self::Unavailable(format!("{code} from {url}")),
            E::RegistryError { envelope, url } => {
                let codes: Vec<String> = envelope
                    .errors
                    .iter()
                    .map(|e| format!("{:?}", e.code))
                    .collect();
                let joined = codes.join(", ");
                if joined.contains("Unknown") || joined.contains("NotFound") {
                    Self::NotFound
                } else if joined.contains("Toomanyrequests") || joined.contains("TooManyRequests") {
                    Self::RateLimited
                } else if joined.contains("Unauthorized") || joined.contains("Denied") {
                    Self::Unauthorized(format!("{joined} from {url}"))
                } else {
                    Self::Unavailable(format!("{joined} from {url}"))
                }
            }
            other => Self::Unavailable(other.to_string()),
        }
    }
}

impl From<UpstreamError> for Error {
    fn from(e: UpstreamError) -> Self {
        match e {
            UpstreamError::RateLimited => Error::TooManyRequests,
            other => Error::Unavailable {
                reason: other.to_string(),
            },
        }
    }
}

/// One remote registry, ready to call.
pub(crate) struct Upstream {
    client: oci_client::Client,
    http: reqwest::Client,
    auth: RegistryAuth,
    /// `host[:port]` as the client addresses it.
    host: String,
    base: url::Url,
    kind: String,
    /// Bearer tokens by scope, with when they were issued (see [`TOKEN_TTL`]).
    tokens: std::sync::Mutex<std::collections::HashMap<String, (String, std::time::Instant)>>,
}

/// How long a token from an upstream's token service is reused (Docker's minimum lifetime is
/// 60 s).
const TOKEN_TTL: std::time::Duration = std::time::Duration::from_secs(50);

/// The PEM blocks of a bundle, one certificate each.
fn pem_blocks(bundle: &str) -> Vec<String> {
    const END: &str = "-----END CERTIFICATE-----";
    bundle
        .split_inclusive(END)
        .filter(|b| b.contains("-----BEGIN CERTIFICATE-----"))
        .map(|b| b.trim_start().to_owned())
        .collect()
}

/// Check a CA bundle: empty, or PEM certificates that parse.
pub(crate) fn check_ca_bundle(bundle: &str) -> Result<()> {
    if bundle.trim().is_empty() {
        return Ok(());
    }
    let blocks = pem_blocks(bundle);
    if blocks.is_empty() {
        return Err(Error::BadRequest {
            reason: "ca_certificate must be PEM certificates".into(),
        });
    }
    for b in &blocks {
        let bad = |e: String| Error::BadRequest {
            reason: format!("ca_certificate: {e}"),
        };
        let (_, pem) =
            x509_parser::pem::parse_x509_pem(b.as_bytes()).map_err(|e| bad(e.to_string()))?;
        pem.parse_x509().map_err(|e| bad(e.to_string()))?;
    }
    Ok(())
}

impl Upstream {
    /// A client for `row`, whose secret is `secret` (opened).
    pub(crate) fn new(row: &RegistryRow, secret: &str) -> Result<Self> {
        let base = url::Url::parse(&row.url).map_err(|e| Error::BadRequest {
            reason: format!("registry url: {e}"),
        })?;
        let host = match (base.host_str(), base.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            _ => {
                return Err(Error::BadRequest {
                    reason: "registry url has no host".into(),
                });
            }
        };
        let certs = pem_blocks(&row.ca_certificate);
        let config = ClientConfig {
            protocol: if base.scheme() == "http" {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            accept_invalid_certificates: row.insecure,
            extra_root_certificates: certs
                .iter()
                .map(|c| Certificate {
                    encoding: CertificateEncoding::Pem,
                    data: c.as_bytes().to_vec(),
                })
                .collect(),
            connect_timeout: Some(std::time::Duration::from_secs(10)),
            read_timeout: Some(std::time::Duration::from_secs(60)),
            user_agent: concat!("berth/", env!("CARGO_PKG_VERSION")),
            // One streamed PUT per blob; copy_by_chunk asks for PATCHes (push_blob_chunked).
            use_monolithic_push: true,
            ..ClientConfig::default()
        };
        let mut http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(30))
            .tls_danger_accept_invalid_certs(row.insecure)
            .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")));
        for c in &certs {
            http = http.add_root_certificate(
                reqwest::Certificate::from_pem(c.as_bytes()).map_err(|e| Error::BadRequest {
                    reason: format!("ca_certificate: {e}"),
                })?,
            );
        }
        let auth = match (
            row.credential_type.as_str(),
            row.access_key.is_empty(),
            secret.is_empty(),
        ) {
            (_, true, true) => RegistryAuth::Anonymous,
            ("oauth", _, false) if row.access_key.is_empty() => {
                RegistryAuth::Bearer(secret.to_owned())
            }
            _ => RegistryAuth::Basic(row.access_key.clone(), secret.to_owned()),
        };
        Ok(Self {
            client: oci_client::Client::new(config),
            http: http
                .build()
                .map_err(|e| Error::internal(format!("http client: {e}")))?,
            auth,
            host,
            base,
            kind: row.kind.clone(),
            tokens: std::sync::Mutex::new(std::collections::HashMap::new()),
        })
    }

    /// The repository path upstream: Docker Hub's official images live under `library/`.
    pub(crate) fn upstream_repo(&self, path: &str) -> String {
        if self.kind == "docker-hub" && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_owned()
        }
    }

    fn reference(&self, repo: &str, reference: &str) -> oci_client::Reference {
        let repo = self.upstream_repo(repo);
        match reference
            .strip_prefix("sha256:")
            .or(reference.strip_prefix("sha512:"))
        {
            Some(_) => {
                oci_client::Reference::with_digest(self.host.clone(), repo, reference.to_owned())
            }
            None => oci_client::Reference::with_tag(self.host.clone(), repo, reference.to_owned()),
        }
    }

    /// Whether the registry answers and takes the credentials: `GET /v2/`, following a bearer
    /// challenge to its token service.
    pub(crate) async fn ping(&self) -> std::result::Result<(), UpstreamError> {
        let url = self
            .base
            .join("/v2/")
            .map_err(|e| UpstreamError::Unavailable(e.to_string()))?;
        let res = self
            .send_authorized(reqwest::Method::GET, url.clone(), None)
            .await?;
        match res.status().as_u16() {
            200..=299 => Ok(()),
            code @ (401 | 403) => Err(UpstreamError::Unauthorized(format!("{code} from {url}"))),
            429 => Err(UpstreamError::RateLimited),
            code => Err(UpstreamError::Unavailable(format!("{code} from {url}"))),
        }
    }

    /// Send a request with the endpoint's credentials. A `401` with a bearer challenge is
    /// answered once: a token from the challenge's realm (for `scope`, else the challenge's own)
    /// taken with the credentials, and the request sent again with it.
    async fn send_authorized(
        &self,
        method: reqwest::Method,
        url: url::Url,
        scope: Option<&str>,
    ) -> std::result::Result<reqwest::Response, UpstreamError> {
        self.send_with(method, url, scope, reqwest::header::HeaderMap::new(), None)
            .await
    }

    async fn send_with(
        &self,
        method: reqwest::Method,
        url: url::Url,
        scope: Option<&str>,
        headers: reqwest::header::HeaderMap,
        body: Option<Bytes>,
    ) -> std::result::Result<reqwest::Response, UpstreamError> {
        let unavailable =
            |e: reqwest::Error| UpstreamError::Unavailable(e.without_url().to_string());
        let cached = scope.and_then(|sc| {
            let tokens = self.tokens.lock().expect("token cache lock");
            tokens
                .get(sc)
                .filter(|(_, at)| at.elapsed() < TOKEN_TTL)
                .map(|(t, _)| t.clone())
        });
        let mut req = self
            .http
            .request(method.clone(), url.clone())
            .headers(headers.clone());
        if let Some(b) = &body {
            req = req.body(b.clone());
        }
        match (&cached, &self.auth) {
            (Some(t), _) => req = req.bearer_auth(t),
            (None, RegistryAuth::Basic(u, p)) => req = req.basic_auth(u, Some(p)),
            (None, RegistryAuth::Bearer(t)) => req = req.bearer_auth(t),
            (None, RegistryAuth::Anonymous) => {}
        }
        let res = req.send().await.map_err(unavailable)?;
        if res.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(res);
        }
        let challenge = res
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let Some(params) = challenge
            .strip_prefix("Bearer ")
            .or(challenge.strip_prefix("bearer "))
        else {
            return Ok(res);
        };
        let param = |name: &str| {
            params.split(',').find_map(|kv| {
                let (k, v) = kv.trim().split_once('=')?;
                (k == name).then(|| v.trim_matches('"').to_owned())
            })
        };
        let realm = param("realm")
            .ok_or_else(|| UpstreamError::Unavailable("a bearer challenge without realm".into()))?;
        let mut token = self.http.get(&realm);
        if let Some(service) = param("service") {
            token = token.query(&[("service", service)]);
        }
        let scope = scope.map(str::to_owned).or_else(|| param("scope"));
        if let Some(scope) = &scope {
            token = token.query(&[("scope", scope)]);
        }
        if let RegistryAuth::Basic(u, p) = &self.auth {
            token = token.basic_auth(u, Some(p));
        }
        let answer = token.send().await.map_err(unavailable)?;
        match answer.status().as_u16() {
            200..=299 => {}
            429 => return Err(UpstreamError::RateLimited),
            code @ (401 | 403) => {
                return Err(UpstreamError::Unauthorized(format!(
                    "{code} from the token service"
                )));
            }
            code => {
                return Err(UpstreamError::Unavailable(format!(
                    "{code} from the token service"
                )));
            }
        }
        #[derive(serde::Deserialize)]
        struct Token {
            #[serde(default)]
            token: String,
            #[serde(default)]
            access_token: String,
        }
        let answer = read_bounded(answer, 1 << 20).await?;
        let t: Token = serde_json::from_slice(&answer)
            .map_err(|e| UpstreamError::Unavailable(format!("token answer: {e}")))?;
        let t = if t.token.is_empty() {
            t.access_token
        } else {
            t.token
        };
        if let Some(scope) = scope {
            self.tokens
                .lock()
                .expect("token cache lock")
                .insert(scope, (t.clone(), std::time::Instant::now()));
        }
        let mut retry = self
            .http
            .request(method, url)
            .headers(headers)
            .bearer_auth(t);
        if let Some(b) = body {
            retry = retry.body(b);
        }
        retry.send().await.map_err(unavailable)
    }

    /// Delete a manifest by tag or digest: `true` when it was there. A registry that deletes
    /// by digest only (Distribution) gets the digest the tag names, which takes that manifest's
    /// other tags with it, as in Harbor.
    pub(crate) async fn delete_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> std::result::Result<bool, UpstreamError> {
        let path = self.upstream_repo(repo);
        let scope = format!("repository:{path}:delete");
        let delete = |r: String| {
            let url = self.base.join(&format!("/v2/{path}/manifests/{r}"));
            let scope = scope.clone();
            async move {
                let url = url.map_err(|e| UpstreamError::Unavailable(e.to_string()))?;
                self.send_authorized(reqwest::Method::DELETE, url, Some(&scope))
                    .await
            }
        };
        let mut res = delete(reference.to_owned()).await?;
        if !reference.contains(':') && matches!(res.status().as_u16(), 400 | 405) {
            match self.head_manifest(repo, reference).await {
                Ok(d) => res = delete(d.to_string()).await?,
                Err(UpstreamError::NotFound) => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        match res.status().as_u16() {
            200..=299 => Ok(true),
            404 => Ok(false),
            429 => Err(UpstreamError::RateLimited),
            code @ (401 | 403) => Err(UpstreamError::Unauthorized(format!(
                "{code} deleting {path}:{reference}"
            ))),
            code => Err(UpstreamError::Unavailable(format!(
                "{code} deleting {path}:{reference}"
            ))),
        }
    }

    /// The digest `reference` names upstream, by `HEAD` (which Docker Hub does not count as a
    /// pull).
    pub(crate) async fn head_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> std::result::Result<Digest, UpstreamError> {
        let r = self.reference(repo, reference);
        let d = self.client.fetch_manifest_digest(&r, &self.auth).await?;
        Digest::parse(&d).map_err(|e| UpstreamError::Unavailable(format!("digest {d:?}: {e}")))
    }

    /// A manifest's bytes, digest (verified) and media type.
    pub(crate) async fn get_manifest(
        &self,
        repo: &str,
        reference: &str,
    ) -> std::result::Result<(Bytes, Digest, String), UpstreamError> {
        let path = self.upstream_repo(repo);
        let url = self
            .base
            .join(&format!("/v2/{path}/manifests/{reference}"))
            .map_err(|e| UpstreamError::Unavailable(e.to_string()))?;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::ACCEPT,
            reqwest::header::HeaderValue::from_str(&MANIFEST_TYPES.join(", "))
                .expect("media types are header text"),
        );
        let scope = format!("repository:{path}:pull");
        let res = self
            .send_with(
                reqwest::Method::GET,
                url.clone(),
                Some(&scope),
                headers,
                None,
            )
            .await?;
        match res.status().as_u16() {
            200 => {}
            404 => return Err(UpstreamError::NotFound),
            429 => return Err(UpstreamError::RateLimited),
            code @ (401 | 403) => {
                return Err(UpstreamError::Unauthorized(format!("{code} from {url}")));
            }
            code => return Err(UpstreamError::Unavailable(format!("{code} from {url}"))),
        }
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let named = header("docker-content-digest");
        let content_type = header("content-type");
        // Bounded before it is buffered: a manifest is at most 4 MiB here as on push.
        let body = read_bounded(res, MAX_MANIFEST_BYTES).await?;
        let actual = Digest::sha256_of(&body);
        let claimed = named
            .as_deref()
            .or(reference.contains(':').then_some(reference))
            .and_then(|d| Digest::parse(d).ok());
        if claimed
            .as_ref()
            .is_some_and(|d| d.algorithm() == actual.algorithm() && d != &actual)
        {
            return Err(UpstreamError::Unavailable(format!(
                "the manifest's digest is {actual}, not {}",
                claimed.expect("checked above")
            )));
        }
        let media_type = content_type
            .map(|c| c.split(';').next().unwrap_or_default().trim().to_owned())
            .filter(|c| MANIFEST_TYPES.contains(&c.as_str()))
            .unwrap_or_else(|| media_type_of(&body));
        Ok((body, claimed.unwrap_or(actual), media_type))
    }

    /// The referrers of `subject` as an OCI image index (the referrers API, or the tag schema of
    /// registries without it).
    pub(crate) async fn referrers(
        &self,
        repo: &str,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> std::result::Result<Bytes, UpstreamError> {
        let path = self.upstream_repo(repo);
        let mut url = self
            .base
            .join(&format!("/v2/{path}/referrers/{subject}"))
            .map_err(|e| UpstreamError::Unavailable(e.to_string()))?;
        if let Some(t) = artifact_type {
            url.query_pairs_mut().append_pair("artifactType", t);
        }
        let scope = format!("repository:{path}:pull");
        let res = self
            .send_authorized(reqwest::Method::GET, url.clone(), Some(&scope))
            .await?;
        let index = match res.status().as_u16() {
            200 => {
                let body = read_bounded(res, MAX_MANIFEST_BYTES).await?;
                serde_json::from_slice::<serde_json::Value>(&body)
                    .map_err(|e| UpstreamError::Unavailable(format!("referrers index: {e}")))?
            }
            // No referrers API: the tag schema (`sha256-<hex>`), empty when the tag is absent.
            404 => {
                let tag = subject.to_string().replace(':', "-");
                let mut index = match self.get_manifest(repo, &tag).await {
                    Ok((body, _, _)) => serde_json::from_slice::<serde_json::Value>(&body)
                        .unwrap_or_else(|_| empty_index()),
                    Err(UpstreamError::NotFound) => empty_index(),
                    Err(e) => return Err(e),
                };
                if let (Some(t), Some(list)) = (artifact_type, index["manifests"].as_array_mut()) {
                    list.retain(|m| m["artifactType"].as_str() == Some(t));
                }
                index
            }
            429 => return Err(UpstreamError::RateLimited),
            code => return Err(UpstreamError::Unavailable(format!("{code} from {url}"))),
        };
        Ok(Bytes::from(index.to_string()))
    }

    /// A blob as a stream, with its length when the upstream says it.
    pub(crate) async fn get_blob(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> std::result::Result<(ByteStream, Option<u64>), UpstreamError> {
        let r = self.reference(repo, "latest");
        let d = digest.to_string();
        let sized = self.client.pull_blob_stream(&r, d.as_str()).await?;
        let len = sized.content_length;
        let stream = sized
            .stream
            .map_err(|e| Error::Unavailable {
                reason: format!("reading from the upstream registry: {e}"),
            })
            .boxed();
        Ok((stream, len))
    }
}

impl Upstream {
    /// The registry's adapter type.
    pub(crate) fn kind(&self) -> &str {
        &self.kind
    }

    pub(crate) async fn blob_exists(
        &self,
        repo: &str,
        digest: &Digest,
    ) -> std::result::Result<bool, UpstreamError> {
        let r = self.reference(repo, "latest");
        self.client
            .store_auth_if_needed(r.resolve_registry(), &self.auth)
            .await;
        Ok(self.client.blob_exists(&r, &digest.to_string()).await?)
    }

    /// Push a blob of known size: one streamed `PUT`, or `PATCH`es of 4 MiB with `chunked`.
    pub(crate) async fn push_blob(
        &self,
        repo: &str,
        digest: &Digest,
        body: ByteStream,
        size: u64,
        chunked: bool,
    ) -> std::result::Result<(), UpstreamError> {
        let stream = body.map_err(|e| OciDistributionError::GenericError(Some(e.to_string())));
        if chunked {
            // Berth's own upload: it answers the registry's challenge itself.
            self.push_blob_chunked(repo, digest, rechunk(stream, CHUNK).boxed())
                .await?;
        } else {
            let r = self.reference(repo, "latest");
            self.client
                .auth(&r, &self.auth, oci_client::RegistryOperation::Push)
                .await?;
            self.client
                .push_blob_stream(&r, stream, &digest.to_string(), Some(size))
                .await?;
        }
        Ok(())
    }

    /// Upload a blob in 4 MiB `PATCH`es. Each is retried up to [`CHUNK_ATTEMPTS`] times with
    /// backoff from 2 s; after a failed one, the upload's status says whether the chunk landed
    /// after all, so no byte is sent twice past what the registry holds.
    async fn push_blob_chunked(
        &self,
        repo: &str,
        digest: &Digest,
        mut pieces: futures::stream::BoxStream<
            'static,
            std::result::Result<Bytes, OciDistributionError>,
        >,
    ) -> std::result::Result<(), UpstreamError> {
        let path = self.upstream_repo(repo);
        let scope = format!("repository:{path}:pull,push");
        let start = self
            .base
            .join(&format!("/v2/{path}/blobs/uploads/"))
            .map_err(|e| UpstreamError::Unavailable(e.to_string()))?;
        let res = self
            .send_with(
                reqwest::Method::POST,
                start,
                Some(&scope),
                Default::default(),
                Some(Bytes::new()),
            )
            .await?;
        if res.status() != reqwest::StatusCode::ACCEPTED {
            return Err(UpstreamError::Unavailable(format!(
                "{} starting an upload",
                res.status()
            )));
        }
        let mut location = self.location(&res)?;
        let mut offset: u64 = 0;
        while let Some(piece) = pieces.next().await {
            let piece = piece.map_err(|e| UpstreamError::Unavailable(e.to_string()))?;
            let end = offset + piece.len() as u64 - 1;
            let mut wait = std::time::Duration::from_secs(2);
            for attempt in 1..=CHUNK_ATTEMPTS {
                let mut headers = reqwest::header::HeaderMap::new();
                headers.insert(
                    reqwest::header::CONTENT_RANGE,
                    reqwest::header::HeaderValue::from_str(&format!("{offset}-{end}"))
                        .expect("digits"),
                );
                headers.insert(
                    reqwest::header::CONTENT_TYPE,
                    reqwest::header::HeaderValue::from_static("application/octet-stream"),
                );
                let sent = self
                    .send_with(
                        reqwest::Method::PATCH,
                        location.clone(),
                        Some(&scope),
                        headers,
                        Some(piece.clone()),
                    )
                    .await;
                if let Ok(res) = &sent
                    && res.status() == reqwest::StatusCode::ACCEPTED
                {
                    location = self.location(res)?;
                    break;
                }
                // Did it land anyway? The upload's status names the last byte it holds.
                if let Ok(st) = self
                    .send_with(
                        reqwest::Method::GET,
                        location.clone(),
                        Some(&scope),
                        Default::default(),
                        None,
                    )
                    .await
                    && st.status() == reqwest::StatusCode::NO_CONTENT
                    && st
                        .headers()
                        .get(reqwest::header::RANGE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|r| r.rsplit('-').next()?.parse::<u64>().ok())
                        == Some(end)
                {
                    location = self.location(&st)?;
                    break;
                }
                if attempt == CHUNK_ATTEMPTS {
                    let why = match sent {
                        Ok(res) => format!("{}", res.status()),
                        Err(e) => e.to_string(),
                    };
                    return Err(UpstreamError::Unavailable(format!(
                        "bytes {offset}-{end} of {digest}: {why} after {CHUNK_ATTEMPTS} attempts"
                    )));
                }
                tracing::warn!(%digest, offset, attempt, "a chunk did not land; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            offset = end + 1;
        }
        let mut done = location;
        done.query_pairs_mut()
            .append_pair("digest", &digest.to_string());
        let res = self
            .send_with(
                reqwest::Method::PUT,
                done,
                Some(&scope),
                Default::default(),
                Some(Bytes::new()),
            )
            .await?;
        if res.status() == reqwest::StatusCode::CREATED {
            Ok(())
        } else {
            Err(UpstreamError::Unavailable(format!(
                "{} finishing the upload of {digest}",
                res.status()
            )))
        }
    }

    /// An upload's `Location`, absolute.
    fn location(&self, res: &reqwest::Response) -> std::result::Result<url::Url, UpstreamError> {
        let loc = res
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                UpstreamError::Unavailable("an upload answer without Location".into())
            })?;
        self.base
            .join(loc)
            .map_err(|e| UpstreamError::Unavailable(format!("upload location {loc:?}: {e}")))
    }

    pub(crate) async fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: Bytes,
    ) -> std::result::Result<(), UpstreamError> {
        let r = self.reference(repo, reference);
        self.client
            .auth(&r, &self.auth, oci_client::RegistryOperation::Push)
            .await?;
        let ct = reqwest::header::HeaderValue::from_str(media_type)
            .map_err(|e| UpstreamError::Unavailable(format!("media type: {e}")))?;
        self.client.push_manifest_raw(&r, body, ct).await?;
        Ok(())
    }

    /// Every tag of `repo`, page by page.
    pub(crate) async fn list_tags(
        &self,
        repo: &str,
    ) -> std::result::Result<Vec<String>, UpstreamError> {
        let path = self.upstream_repo(repo);
        let scope = format!("repository:{path}:pull");
        self.registry_listing(&format!("/v2/{path}/tags/list"), &scope, "tags")
            .await
    }

    /// Every name of a `last`-paginated registry listing (`tags/list`, `_catalog`), each page
    /// read with a bound.
    async fn registry_listing(
        &self,
        path: &str,
        scope: &str,
        key: &str,
    ) -> std::result::Result<Vec<String>, UpstreamError> {
        all_pages(|last| async move {
            let mut url = self
                .base
                .join(path)
                .map_err(|e| UpstreamError::Unavailable(e.to_string()))?;
            url.query_pairs_mut().append_pair("n", &PAGE.to_string());
            if let Some(last) = &last {
                url.query_pairs_mut().append_pair("last", last);
            }
            let v = self.get_json(url, Some(scope)).await?;
            Ok(v[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect())
        })
        .await
    }

    /// Every repository: `_catalog` (docker-registry), Harbor's `/api/v2.0/repositories`
    /// (harbor), or Docker Hub's listing of the namespace `namespace` (docker-hub).
    pub(crate) async fn list_repositories(
        &self,
        namespace: Option<&str>,
    ) -> std::result::Result<Vec<String>, UpstreamError> {
        match self.kind.as_str() {
            "harbor" => self.harbor_repositories().await,
            "docker-hub" => {
                let ns = namespace.ok_or_else(|| {
                    UpstreamError::Unavailable(
                        "docker-hub lists one namespace: give a name filter that starts with it (ns/**)".into(),
                    )
                })?;
                self.hub_repositories(ns).await
            }
            _ => {
                self.registry_listing("/v2/_catalog", "registry:catalog:*", "repositories")
                    .await
            }
        }
    }

    /// A JSON answer of at most 16 MiB (a bearer challenge is followed for `scope`).
    async fn get_json(
        &self,
        url: url::Url,
        scope: Option<&str>,
    ) -> std::result::Result<serde_json::Value, UpstreamError> {
        let res = self
            .send_authorized(reqwest::Method::GET, url.clone(), scope)
            .await?;
        match res.status().as_u16() {
            200..=299 => {}
            401 | 403 => {
                return Err(UpstreamError::Unauthorized(format!(
                    "{} from {url}",
                    res.status()
                )));
            }
            429 => return Err(UpstreamError::RateLimited),
            code => return Err(UpstreamError::Unavailable(format!("{code} from {url}"))),
        }
        let body = read_bounded(res, 16 << 20).await?;
        serde_json::from_slice(&body).map_err(|e| UpstreamError::Unavailable(format!("{url}: {e}")))
    }

    async fn harbor_repositories(&self) -> std::result::Result<Vec<String>, UpstreamError> {
        let mut out = Vec::new();
        for page in 1.. {
            let mut url = self
                .base
                .join("/api/v2.0/repositories")
                .map_err(|e| UpstreamError::Unavailable(e.to_string()))?;
            url.query_pairs_mut()
                .append_pair("page", &page.to_string())
                .append_pair("page_size", "100");
            let v = self.get_json(url, None).await?;
            let items = v.as_array().cloned().unwrap_or_default();
            out.extend(
                items
                    .iter()
                    .filter_map(|r| r.get("name")?.as_str().map(str::to_owned)),
            );
            if items.len() < 100 || out.len() > MAX_LISTED {
                break;
            }
        }
        Ok(out)
    }

    async fn hub_repositories(&self, ns: &str) -> std::result::Result<Vec<String>, UpstreamError> {
        let mut out = Vec::new();
        let mut url = url::Url::parse(&format!(
            "https://hub.docker.com/v2/namespaces/{ns}/repositories?page_size=100"
        ))
        .map_err(|e| UpstreamError::Unavailable(e.to_string()))?;
        loop {
            let v = self.get_json(url, None).await?;
            for r in v
                .get("results")
                .and_then(|r| r.as_array())
                .into_iter()
                .flatten()
            {
                if let Some(name) = r.get("name").and_then(|n| n.as_str()) {
                    out.push(format!("{ns}/{name}"));
                }
            }
            match v.get("next").and_then(|n| n.as_str()) {
                Some(next) if out.len() <= MAX_LISTED => {
                    url = url::Url::parse(next)
                        .map_err(|e| UpstreamError::Unavailable(e.to_string()))?;
                }
                _ => return Ok(out),
            }
        }
    }

    /// Create the project `name` on a Harbor (or Berth) destination when it is missing.
    pub(crate) async fn ensure_harbor_project(
        &self,
        name: &str,
    ) -> std::result::Result<(), UpstreamError> {
        let url = self
            .base
            .join("/api/v2.0/projects")
            .map_err(|e| UpstreamError::Unavailable(e.to_string()))?;
        let mut req = self
            .http
            .post(url.clone())
            .json(&serde_json::json!({ "project_name": name, "metadata": { "public": "false" } }));
        if let RegistryAuth::Basic(u, p) = &self.auth {
            req = req.basic_auth(u, Some(p));
        }
        let res = req
            .send()
            .await
            .map_err(|e| UpstreamError::Unavailable(e.without_url().to_string()))?;
        match res.status().as_u16() {
            200..=299 | 409 => Ok(()),
            401 | 403 => Err(UpstreamError::Unauthorized(format!(
                "{} creating project {name} at {url}",
                res.status()
            ))),
            code => Err(UpstreamError::Unavailable(format!(
                "{code} creating project {name} at {url}"
            ))),
        }
    }
}

/// A response body of at most `limit` bytes, read chunk by chunk: a larger one is refused before
/// it is buffered.
pub(crate) async fn read_bounded(
    mut res: reqwest::Response,
    limit: usize,
) -> std::result::Result<Bytes, UpstreamError> {
    let too_big = || UpstreamError::Unavailable(format!("an answer of more than {limit} bytes"));
    if res.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_big());
    }
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| UpstreamError::Unavailable(e.without_url().to_string()))?
    {
        if buf.len() + chunk.len() > limit {
            return Err(too_big());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// The most repositories or tags one listing takes.
const MAX_LISTED: usize = 100_000;

/// Entries asked per page of `_catalog` and `tags/list`.
const PAGE: usize = 1000;

/// Every page of a `last`-paginated listing: `next(last)` answers the page after `last`.
async fn all_pages<F, Fut>(mut next: F) -> std::result::Result<Vec<String>, UpstreamError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<Vec<String>, UpstreamError>>,
{
    let mut out: Vec<String> = Vec::new();
    loop {
        let page = next(out.last().cloned()).await?;
        let n = page.len();
        out.extend(page);
        if n < PAGE || out.len() > MAX_LISTED {
            return Ok(out);
        }
    }
}

/// Bytes per PATCH of a chunked copy.
const CHUNK: usize = 4 << 20;

/// Attempts per chunk of a chunked copy (Harbor's `COPY_CHUNK_RETRY_COUNT`).
const CHUNK_ATTEMPTS: u32 = 5;

/// Regroup a byte stream into pieces of `size` bytes (the last one shorter).
fn rechunk<S>(
    stream: S,
    size: usize,
) -> impl futures::Stream<Item = std::result::Result<Bytes, OciDistributionError>> + Send + 'static
where
    S: futures::Stream<Item = std::result::Result<Bytes, OciDistributionError>>
        + Send
        + Unpin
        + 'static,
{
    futures::stream::unfold(
        (stream, bytes::BytesMut::new(), false),
        move |(mut s, mut buf, done)| async move {
            if done {
                return None;
            }
            while buf.len() < size {
                match s.next().await {
                    Some(Ok(b)) => buf.extend_from_slice(&b),
                    Some(Err(e)) => return Some((Err(e), (s, buf, true))),
                    None => {
                        if buf.is_empty() {
                            return None;
                        }
                        let last = buf.split().freeze();
                        return Some((Ok(last), (s, buf, true)));
                    }
                }
            }
            let piece = buf.split_to(size).freeze();
            Some((Ok(piece), (s, buf, false)))
        },
    )
}

/// `body` at no more than `bytes_per_sec` (0: as fast as it comes).
pub(crate) fn pace(body: ByteStream, bytes_per_sec: u64) -> ByteStream {
    if bytes_per_sec == 0 {
        return body;
    }
    let start = tokio::time::Instant::now();
    let mut sent = 0u64;
    body.then(move |chunk| {
        if let Ok(b) = &chunk {
            sent += b.len() as u64;
        }
        let due = start + std::time::Duration::from_secs_f64(sent as f64 / bytes_per_sec as f64);
        async move {
            tokio::time::sleep_until(due).await;
            chunk
        }
    })
    .boxed()
}

fn empty_index() -> serde_json::Value {
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [],
    })
}

/// A manifest's media type from its body: `mediaType`, else OCI's by shape.
pub(crate) fn media_type_of(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Shape {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<Shape>(body) {
        Ok(Shape {
            media_type: Some(m),
            ..
        }) if !m.is_empty() => m,
        Ok(Shape {
            manifests: Some(_), ..
        }) => MANIFEST_TYPES[0].to_owned(),
        _ => MANIFEST_TYPES[2].to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_come_from_the_body() {
        assert_eq!(
            media_type_of(br#"{"schemaVersion":2,"manifests":[]}"#),
            MANIFEST_TYPES[0]
        );
        assert_eq!(
            media_type_of(br#"{"schemaVersion":2,"config":{}}"#),
            MANIFEST_TYPES[2]
        );
        assert_eq!(
            media_type_of(
                br#"{"mediaType":"application/vnd.docker.distribution.manifest.v2+json"}"#
            ),
            "application/vnd.docker.distribution.manifest.v2+json"
        );
    }

    #[test]
    fn ca_bundles_are_checked() {
        assert!(check_ca_bundle("").is_ok());
        assert!(check_ca_bundle("not a certificate").is_err());
        assert!(
            check_ca_bundle("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
                .is_err()
        );
    }
}
