//! Content trust: pull policies on signatures, and signature verification.
//!
//! Harbor's two project switches hold: with metadata `enable_content_trust_cosign` (or
//! `enable_content_trust`, for notation) set to `"true"`, a manifest GET or HEAD of an artifact
//! without a signature of that kind answers 412 `PROJECTPOLICYVIOLATION`. An index counts as
//! signed when it is signed itself or when every image it lists is. Harbor's bypasses apply:
//! pulling an accessory itself (a signature, an SBOM), and the signing clients (a `cosign` or
//! `notation` user agent) of a caller with push permission, which read the manifest before they
//! sign it.
//!
//! Beyond Harbor, a project may keep trusted keys ([`Registry::add_trust_key`]): cosign public
//! keys (ECDSA P-256, Ed25519, RSA) and notation root certificates. With metadata
//! `content_trust_verify` set to `"true"`, "a cosign signature exists" becomes "a cosign
//! signature by a trusted key verifies": the simple-signing payload must name the subject's
//! digest (`critical.image.docker-manifest-digest`) and its signature must check out with one of
//! the keys. Verification is a pure function of (subject, signature manifest, key set), so its
//! result is cached by those; a hot pull costs a lookup of the subject's signatures (itself
//! cached until the repository changes, or for the manifest cache's lifetime).
//!
//! Notation signatures verify when their JWS envelope's payload names the subject, the leaf
//! certificate of its chain signs it, and the chain leads to a CA certificate the project trusts.
//! Not yet: COSE envelopes, certificate validity periods and revocation, and sigstore bundles
//! (counted as cosign signatures that do not verify).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::access::RepoAction;
use crate::auth::{Action, Principal, ProjectResource as R};
use crate::content::accessory::{SIGNATURE_COSIGN, SIGNATURE_NOTATION};
use crate::distribution::Caller;
use crate::error::{Error, Result};
use crate::meta::StoredManifest;
use crate::meta::governance::NewEvent;
use crate::meta::policy::TrustKeyRow;
use crate::model::{Accessory, time};
use crate::oci::manifest::{self, RefKind};
use crate::oci::{Digest, Reference, RepoName};
use crate::registry::Registry;

/// How long a project's trust settings and keys may be used before they are read again.
const PROJECT_TTL: Duration = crate::access::ACCESS_CACHE_TTL;
/// Largest simple-signing payload read for a verification.
const MAX_PAYLOAD: u64 = 64 * 1024;
/// The layer media type of cosign's simple-signing payload, and its signature annotation.
const SIMPLESIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// Signatures verified per subject on a cache miss (newest pushes beyond this are not read).
const MAX_SIGNATURES_CHECKED: usize = 32;
/// Most keys a project may trust.
const MAX_KEYS: usize = 64;

/// What a signature verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Signed over the subject's digest by a key the project trusts.
    Verified,
    /// A well-formed signature over the subject, by no key the project trusts.
    UnknownKey,
    /// The payload does not name the subject, or nothing in it could be checked.
    Unverified,
}

impl Verdict {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::UnknownKey => "unknown_key",
            Self::Unverified => "unverified",
        }
    }
}

/// A key a project trusts, as the API shows it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrustKey {
    pub id: i64,
    pub name: String,
    /// `cosign` (a public key) or `notation` (a root certificate).
    pub kind: String,
    /// `ecdsa-p256`, `ed25519` or `rsa`.
    pub algorithm: String,
    pub pem: String,
    /// sha256 of the key's (or certificate's) DER, hex.
    pub fingerprint: String,
    pub creation_time: chrono::DateTime<chrono::Utc>,
}

/// A key to trust: a PEM public key (cosign) or certificate (notation).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Deserialize)]
pub struct TrustKeyReq {
    pub name: String,
    pub pem: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alg {
    EcdsaP256,
    Ed25519,
    Rsa,
}

impl Alg {
    const fn as_str(self) -> &'static str {
        match self {
            Self::EcdsaP256 => "ecdsa-p256",
            Self::Ed25519 => "ed25519",
            Self::Rsa => "rsa",
        }
    }
}

/// A public key ready to verify with.
#[derive(Debug, Clone)]
struct PublicKey {
    alg: Alg,
    /// The key as aws-lc-rs takes it: the EC point, the Ed25519 bytes, or PKCS#1 for RSA.
    raw: Vec<u8>,
}

impl PublicKey {
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        use aws_lc_rs::signature as sig;
        let alg: &dyn sig::VerificationAlgorithm = match self.alg {
            Alg::EcdsaP256 => &sig::ECDSA_P256_SHA256_ASN1,
            Alg::Ed25519 => &sig::ED25519,
            Alg::Rsa => &sig::RSA_PKCS1_2048_8192_SHA256,
        };
        let ok = sig::UnparsedPublicKey::new(alg, &self.raw)
            .verify(message, signature)
            .is_ok();
        // cosign signs RSA keys with PKCS#1 v1.5 by default; PSS signers exist too.
        ok || (self.alg == Alg::Rsa
            && sig::UnparsedPublicKey::new(&sig::RSA_PSS_2048_8192_SHA256, &self.raw)
                .verify(message, signature)
                .is_ok())
    }
}

/// A parsed PEM: what it is, the key inside, and the DER's fingerprint.
#[derive(Debug)]
struct ParsedPem {
    kind: &'static str,
    key: PublicKey,
    fingerprint: String,
    der: Vec<u8>,
}

fn bad_key(reason: impl Into<String>) -> Error {
    Error::BadRequest {
        reason: reason.into(),
    }
}

/// The key of a SubjectPublicKeyInfo.
fn spki_key(spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>) -> Result<PublicKey> {
    use x509_parser::oid_registry as oids;
    let alg_oid = &spki.algorithm.algorithm;
    let raw = spki.subject_public_key.data.to_vec();
    let alg = if *alg_oid == oids::OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok());
        if curve != Some(oids::OID_EC_P256) {
            return Err(bad_key(
                "only P-256 elliptic curve keys are supported (cosign's default)",
            ));
        }
        Alg::EcdsaP256
    } else if *alg_oid == oids::OID_SIG_ED25519 {
        Alg::Ed25519
    } else if *alg_oid == oids::OID_PKCS1_RSAENCRYPTION {
        Alg::Rsa
    } else {
        return Err(bad_key(format!(
            "unsupported key algorithm {alg_oid}; use ECDSA P-256, Ed25519 or RSA"
        )));
    };
    Ok(PublicKey { alg, raw })
}

fn parse_pem(text: &str) -> Result<ParsedPem> {
    use x509_parser::prelude::FromDer;
    let (_, pem) = x509_parser::pem::parse_x509_pem(text.trim().as_bytes())
        .map_err(|_| bad_key("pem is not a PEM block"))?;
    let fingerprint = hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        &pem.contents,
    ));
    match pem.label.as_str() {
        "PUBLIC KEY" => {
            let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(&pem.contents)
                .map_err(|_| bad_key("the PUBLIC KEY block is not a SubjectPublicKeyInfo"))?;
            Ok(ParsedPem {
                kind: "cosign",
                key: spki_key(&spki)?,
                fingerprint,
                der: pem.contents.clone(),
            })
        }
        "CERTIFICATE" => {
            let (_, cert) = x509_parser::certificate::X509Certificate::from_der(&pem.contents)
                .map_err(|_| bad_key("the CERTIFICATE block is not an X.509 certificate"))?;
            if !cert.is_ca() {
                return Err(bad_key(
                    "a notation trust anchor must be a CA certificate (basicConstraints CA:TRUE)",
                ));
            }
            Ok(ParsedPem {
                kind: "notation",
                key: spki_key(cert.public_key())?,
                fingerprint,
                der: pem.contents.clone(),
            })
        }
        other => Err(bad_key(format!(
            "expected a PUBLIC KEY (cosign) or CERTIFICATE (notation) PEM block, not {other:?}"
        ))),
    }
}

/// A project's content trust settings and keys.
#[derive(Debug, Default)]
pub(crate) struct ProjectTrust {
    cosign: bool,
    notation: bool,
    verify: bool,
    /// Cosign keys.
    keys: Vec<PublicKey>,
    /// Notation trust anchors (CA certificates, DER).
    roots: Vec<Vec<u8>>,
    /// Identifies the key set in verification cache keys.
    key_set: String,
    /// Whether `keys` and `key_set` were read.
    keys_loaded: bool,
    /// `prevent_vul` on: the severity from which pulls are refused (policy/vulnerability.rs).
    pub(crate) prevent_vul: Option<crate::scan::vulndb::Severity>,
    /// `reuse_sys_cve_allowlist`: the system's CVE allowlist applies instead of the project's.
    pub(crate) reuse_sys_allowlist: bool,
    /// `auto_scan`: images are scanned when pushed (scan/report.rs).
    pub(crate) auto_scan: bool,
    /// `auto_sbom_generation`: images get their SBOM when pushed.
    pub(crate) auto_sbom: bool,
    /// A proxy-cache project: the registry endpoint it pulls from.
    pub(crate) proxy: Option<i64>,
    /// `proxy_speed_kb`, in bytes per second (0: unlimited).
    pub(crate) proxy_speed: u64,
    /// `max_upstream_conn`: upstream blob fetches at once (0: unlimited).
    pub(crate) proxy_conns: u32,
    /// `proxy_repository_filter`: the upstream repositories the project serves.
    pub(crate) proxy_filter: Option<crate::policy::selector::Pattern>,
    /// `projectScanner`: the scanner registration the project chose.
    pub(crate) scanner: Option<String>,
}

/// Caches of content trust: per project settings, per subject "is it signed", and verdicts.
pub(crate) struct TrustCache {
    projects: moka::future::Cache<i64, Arc<ProjectTrust>>,
    /// (repository, repository generation, digest, kind, key set) → signed.
    signed: moka::future::Cache<(String, u64, String, &'static str, String), bool>,
    /// (subject, signature manifest, key set) → verdict. Pure, so kept until evicted.
    verdicts: moka::future::Cache<(String, String, String), Verdict>,
    /// (registration, digest) → its vulnerability report (`None`: not scanned), for
    /// `prevent_vul`.
    pub(crate) reports:
        moka::future::Cache<(String, String), Option<Arc<crate::meta::scan::ScanReportRow>>>,
    /// Every scanner registration (scan/scanner.rs), for the registration a project scans with.
    pub(crate) scanners: moka::future::Cache<(), Arc<Vec<crate::meta::scan::ScannerRow>>>,
    /// project id (0: the system's) → CVE allowlist, for `prevent_vul`.
    pub(crate) allowlists:
        moka::future::Cache<i64, Arc<crate::policy::vulnerability::CveAllowlist>>,
}

impl TrustCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            projects: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(PROJECT_TTL)
                .build(),
            signed: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl.max(Duration::from_millis(1)))
                .build(),
            verdicts: moka::future::Cache::builder().max_capacity(100_000).build(),
            // Other nodes' scans and allowlist changes show within `ttl`; this node's at once.
            reports: moka::future::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl.max(Duration::from_millis(1)))
                .build(),
            allowlists: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(ttl.max(Duration::from_millis(1)))
                .build(),
            scanners: moka::future::Cache::builder()
                .max_capacity(1)
                .time_to_live(ttl.max(Duration::from_millis(1)))
                .build(),
        }
    }

    pub(crate) async fn forget(&self, project_id: i64) {
        self.projects.invalidate(&project_id).await;
    }
}

impl Caller {
    /// A signing client (cosign, notation) by its user agent.
    fn is_signing_client(&self) -> bool {
        self.user_agent.as_deref().is_some_and(|ua| {
            let ua = ua.to_ascii_lowercase();
            ua.contains("cosign") || ua.contains("notation")
        })
    }
}

impl Registry {
    /// Harbor's bypass of pull policies: a signing client (cosign, notation) whose caller may
    /// push reads what it signs.
    pub(crate) async fn signing_client_may_push(&self, caller: &Caller, repo: &RepoName) -> bool {
        caller.is_signing_client()
            && self
                .authorize_repo(
                    &caller.principal,
                    caller.claims.as_deref(),
                    repo,
                    RepoAction::Push,
                )
                .await
                .is_ok()
    }

    /// The project's trust settings, with its keys when `with_keys` or when it verifies (a
    /// pull of a project that does not verify reads one row set, not two).
    pub(crate) async fn project_trust(
        &self,
        project_id: i64,
        with_keys: bool,
    ) -> Result<Arc<ProjectTrust>> {
        let cached = self.trust.projects.get(&project_id).await;
        if let Some(hit) = &cached
            && (hit.keys_loaded || !with_keys)
        {
            return Ok(hit.clone());
        }
        let mut trust = match cached {
            Some(hit) => ProjectTrust {
                cosign: hit.cosign,
                notation: hit.notation,
                verify: hit.verify,
                prevent_vul: hit.prevent_vul,
                reuse_sys_allowlist: hit.reuse_sys_allowlist,
                auto_scan: hit.auto_scan,
                auto_sbom: hit.auto_sbom,
                proxy: hit.proxy,
                proxy_speed: hit.proxy_speed,
                proxy_conns: hit.proxy_conns,
                proxy_filter: hit.proxy_filter.clone(),
                scanner: hit.scanner.clone(),
                ..ProjectTrust::default()
            },
            None => {
                let meta = self.meta.project_metadata(project_id).await?;
                let on = |k: &str| meta.iter().any(|(key, v)| key == k && v == "true");
                ProjectTrust {
                    cosign: on("enable_content_trust_cosign"),
                    notation: on("enable_content_trust"),
                    verify: on("content_trust_verify"),
                    prevent_vul: on("prevent_vul").then(|| {
                        meta.iter()
                            .find(|(k, _)| k == "severity")
                            .and_then(|(_, v)| crate::scan::vulndb::Severity::parse(v))
                            .unwrap_or(crate::scan::vulndb::Severity::Low)
                    }),
                    reuse_sys_allowlist: on("reuse_sys_cve_allowlist"),
                    auto_scan: on("auto_scan"),
                    auto_sbom: on("auto_sbom_generation"),
                    proxy: meta
                        .iter()
                        .find(|(k, _)| k == crate::proxy::REGISTRY_ID_KEY)
                        .and_then(|(_, v)| v.parse().ok()),
                    proxy_speed: meta
                        .iter()
                        .find(|(k, _)| k == "proxy_speed_kb")
                        .and_then(|(_, v)| v.parse::<i64>().ok())
                        .filter(|kb| *kb > 0)
                        .map_or(0, |kb| kb as u64 * 1024),
                    proxy_conns: meta
                        .iter()
                        .find(|(k, _)| k == "max_upstream_conn")
                        .and_then(|(_, v)| v.parse::<i64>().ok())
                        .filter(|n| *n > 0)
                        .map_or(0, |n| n.min(u32::MAX as i64) as u32),
                    proxy_filter: meta
                        .iter()
                        .find(|(k, v)| k == "proxy_repository_filter" && !v.is_empty())
                        .and_then(|(_, v)| {
                            crate::policy::selector::Pattern::compile(
                                crate::policy::selector::DOUBLESTAR,
                                v,
                            )
                            .ok()
                        }),
                    scanner: meta
                        .iter()
                        .find(|(k, _)| k == crate::scan::scanner::PROJECT_SCANNER_KEY)
                        .map(|(_, v)| v.clone()),
                    ..ProjectTrust::default()
                }
            }
        };
        if with_keys || trust.verify {
            self.load_keys(project_id, &mut trust).await?;
        }
        let trust = Arc::new(trust);
        self.trust.projects.insert(project_id, trust.clone()).await;
        Ok(trust)
    }

    async fn load_keys(&self, project_id: i64, trust: &mut ProjectTrust) -> Result<()> {
        trust.keys_loaded = true;
        let mut fingerprints = Vec::new();
        for k in self.meta.trust_keys(project_id).await? {
            match parse_pem(&k.pem) {
                Ok(p) if p.kind == "notation" => trust.roots.push(p.der),
                Ok(p) => trust.keys.push(p.key),
                Err(e) => {
                    tracing::warn!(project_id, key = k.id, error = %e, "stored trust key does not parse");
                    continue;
                }
            }
            fingerprints.push(k.fingerprint);
        }
        fingerprints.sort();
        trust.key_set = fingerprints.join(",");
        Ok(())
    }

    /// The project's pull policies for `m`: content trust (here), then vulnerable-image
    /// prevention (policy/vulnerability.rs). Called by the `/v2` manifest GET and HEAD after
    /// authorization; the project's settings are read once, from the cache.
    pub(crate) async fn enforce_pull_policies(
        &self,
        caller: &Caller,
        repo: &RepoName,
        m: &StoredManifest,
    ) -> Result<()> {
        let Some(access) = self
            .project_access(&caller.principal, repo.project())
            .await?
        else {
            return Ok(());
        };
        // A scanner's robot reads what it scans, vulnerable or unsigned (Harbor's scanner-pull).
        if caller.principal.scanner_pulls(repo.as_str()) {
            return Ok(());
        }
        let trust = self.project_trust(access.project.id, false).await?;
        self.enforce_content_trust(caller, repo, m, &trust).await?;
        self.enforce_vulnerability(caller, repo, m, access.project.id, &trust)
            .await
    }

    /// Refuse the pull of `m` when the project's content trust policy is not met (see the
    /// module doc).
    async fn enforce_content_trust(
        &self,
        caller: &Caller,
        repo: &RepoName,
        m: &StoredManifest,
        trust: &ProjectTrust,
    ) -> Result<()> {
        if !trust.cosign && !trust.notation {
            return Ok(());
        }
        let mut missing = Vec::new();
        if trust.cosign && !self.is_signed(repo, m, SIGNATURE_COSIGN, trust).await? {
            missing.push("cosign");
        }
        if trust.notation && !self.is_signed(repo, m, SIGNATURE_NOTATION, trust).await? {
            missing.push("notation");
        }
        if missing.is_empty() {
            return Ok(());
        }
        // Harbor's bypasses: the accessories themselves, and signing clients that may push.
        // Unlike Harbor, an "accessory" that is a runnable image (a container filesystem layer,
        // or an index) gets no bypass: a `sha256-<hex>.sig` tag or a `subject` field must not
        // be a way around the policy.
        if !is_runnable(m)
            && self
                .meta
                .accessory(repo.as_str(), &m.digest)
                .await?
                .is_some()
        {
            return Ok(());
        }
        if self.signing_client_may_push(caller, repo).await {
            return Ok(());
        }
        let by = missing.join(" and ");
        let reason = if trust.verify {
            format!(
                "The image is not signed by {by} with a key project {} trusts (content trust policy).",
                repo.project()
            )
        } else {
            format!(
                "The image is not signed by {by} (content trust policy of project {}).",
                repo.project()
            )
        };
        Err(Error::PolicyViolation { reason })
    }

    /// Whether `m` has a signature of `kind` (verified, when the project asks for that); an
    /// index also when every image it lists has one.
    async fn is_signed(
        &self,
        repo: &RepoName,
        m: &StoredManifest,
        kind: &'static str,
        trust: &ProjectTrust,
    ) -> Result<bool> {
        let verify = trust.verify;
        let key = self.manifests.as_ref().map(|c| {
            let (r, generation, _) = c.key(repo, &Reference::Tag(String::new()));
            // "Verified by this key set" and "exists" are different questions.
            let keys = if verify {
                format!("verify:{}", trust.key_set)
            } else {
                String::new()
            };
            (r, generation, m.digest.clone(), kind, keys)
        });
        if let Some(k) = &key
            && let Some(hit) = self.trust.signed.get(k).await
        {
            return Ok(hit);
        }
        let children: Vec<String> = manifest::parse(&m.content, Some(&m.media_type))
            .map(|p| {
                p.refs
                    .into_iter()
                    .filter(|r| r.kind == RefKind::Manifest)
                    .map(|r| r.digest.to_string())
                    .collect()
            })
            .unwrap_or_default();
        let mut subjects = Vec::with_capacity(children.len() + 1);
        subjects.push(m.digest.clone());
        subjects.extend(children.iter().cloned());
        let rows = self
            .meta
            .accessories_by_kind(repo.as_str(), &subjects, Some(kind))
            .await?;
        let mut signed: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut checked: std::collections::HashMap<String, usize> =
            std::collections::HashMap::new();
        for r in rows {
            if signed.contains(&r.subject) {
                continue;
            }
            // Bounded work per subject: whoever may push could attach thousands of signatures.
            let n = checked.entry(r.subject.clone()).or_default();
            *n += 1;
            if verify && *n > MAX_SIGNATURES_CHECKED {
                continue;
            }
            let ok = !verify
                || self
                    .verdict(repo, kind, &r.subject, &r.digest, trust)
                    .await?
                    == Verdict::Verified;
            if ok {
                signed.insert(r.subject);
            }
        }
        let answer = signed.contains(&m.digest)
            || (!children.is_empty() && children.iter().all(|c| signed.contains(c)));
        if let Some(k) = key {
            self.trust.signed.insert(k, answer).await;
        }
        Ok(answer)
    }

    /// The verdict on one signature manifest of `kind` for `subject`, against the project's
    /// keys (cosign) or trust anchors (notation).
    async fn verdict(
        &self,
        repo: &RepoName,
        kind: &str,
        subject: &str,
        signature: &str,
        trust: &ProjectTrust,
    ) -> Result<Verdict> {
        let key = (
            subject.to_owned(),
            signature.to_owned(),
            trust.key_set.clone(),
        );
        if let Some(hit) = self.trust.verdicts.get(&key).await {
            return Ok(hit);
        }
        let verdict = if kind == SIGNATURE_NOTATION {
            self.verify_notation(repo, subject, signature, &trust.roots)
                .await?
        } else {
            self.verify_cosign(repo, subject, signature, &trust.keys)
                .await?
        };
        self.trust.verdicts.insert(key, verdict).await;
        Ok(verdict)
    }

    /// The layers of a signature manifest (`None` when it is not an image manifest).
    async fn signature_layers(
        &self,
        repo: &RepoName,
        signature: &str,
    ) -> Result<Option<Vec<manifest::Descriptor>>> {
        let m = self
            .get_manifest(repo, &Reference::Digest(Digest::parse(signature)?))
            .await?;
        Ok(manifest::layers(&m.content))
    }

    async fn verify_cosign(
        &self,
        repo: &RepoName,
        subject: &str,
        signature: &str,
        keys: &[PublicKey],
    ) -> Result<Verdict> {
        let Some(layers) = self.signature_layers(repo, signature).await? else {
            return Ok(Verdict::Unverified);
        };
        let mut verdict = Verdict::Unverified;
        for layer in layers {
            let Some(sig_b64) = layer
                .annotations
                .as_ref()
                .and_then(|a| a.get(SIGNATURE_ANNOTATION))
            else {
                continue;
            };
            if layer.media_type != SIMPLESIGNING
                || layer.size < 0
                || layer.size as u64 > MAX_PAYLOAD
            {
                continue;
            }
            let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(sig_b64.trim()) else {
                continue;
            };
            let Ok(digest) = Digest::parse(&layer.digest) else {
                continue;
            };
            let payload = match self.read_small_blob(&digest, MAX_PAYLOAD).await {
                Ok(p) => p,
                Err(e) if e.code() == crate::ErrorCode::BlobUnknown => continue,
                Err(e) => return Err(e),
            };
            if !payload_names(&payload, subject) {
                continue;
            }
            if keys.iter().any(|k| k.verify(&payload, &sig)) {
                return Ok(Verdict::Verified);
            }
            verdict = Verdict::UnknownKey;
        }
        Ok(verdict)
    }

    async fn verify_notation(
        &self,
        repo: &RepoName,
        subject: &str,
        signature: &str,
        roots: &[Vec<u8>],
    ) -> Result<Verdict> {
        let Some(layers) = self.signature_layers(repo, signature).await? else {
            return Ok(Verdict::Unverified);
        };
        let Some(envelope) = layers.iter().find(|l| l.media_type == JWS_ENVELOPE) else {
            // COSE envelopes are not read yet.
            return Ok(Verdict::Unverified);
        };
        if envelope.size < 0 || envelope.size as u64 > MAX_PAYLOAD {
            return Ok(Verdict::Unverified);
        }
        let Ok(digest) = Digest::parse(&envelope.digest) else {
            return Ok(Verdict::Unverified);
        };
        let bytes = match self.read_small_blob(&digest, MAX_PAYLOAD).await {
            Ok(b) => b,
            Err(e) if e.code() == crate::ErrorCode::BlobUnknown => return Ok(Verdict::Unverified),
            Err(e) => return Err(e),
        };
        Ok(verify_jws(&bytes, subject, roots))
    }

    async fn read_small_blob(&self, digest: &Digest, max: u64) -> Result<Vec<u8>> {
        use futures::TryStreamExt;
        let mut stream = self.blobs.get(digest, None).await?;
        let mut out = Vec::new();
        while let Some(chunk) = stream.try_next().await? {
            if (out.len() + chunk.len()) as u64 > max {
                return Err(Error::PayloadTooLarge {
                    limit: max,
                    what: "signature payload".into(),
                });
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// How a signature accessory fares against its project's keys, for the API: `None` for
    /// other accessories, or when the project trusts no cosign key.
    pub(crate) async fn signature_status(
        &self,
        repo: &RepoName,
        project_id: i64,
        view: &Accessory,
    ) -> Result<Option<String>> {
        let trust = self.project_trust(project_id, true).await?;
        let anchors = match view.kind.as_str() {
            SIGNATURE_COSIGN => trust.keys.len(),
            SIGNATURE_NOTATION => trust.roots.len(),
            _ => return Ok(None),
        };
        if anchors == 0 {
            return Ok(None);
        }
        let v = self
            .verdict(
                repo,
                &view.kind,
                &view.subject_artifact_digest,
                &view.digest,
                &trust,
            )
            .await?;
        Ok(Some(v.as_str().to_owned()))
    }

    // ---- trusted keys ---------------------------------------------------------------------

    fn key_view(row: TrustKeyRow) -> TrustKey {
        TrustKey {
            id: row.id,
            name: row.name,
            kind: row.kind,
            algorithm: row.algorithm,
            pem: row.pem,
            fingerprint: row.fingerprint,
            creation_time: time(row.created_at),
        }
    }

    /// The keys a project trusts (anyone who may read the project's metadata).
    pub async fn trust_keys(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
    ) -> Result<Vec<TrustKey>> {
        let access = self
            .require_project(p, name_or_id, is_name, R::Metadata, Action::Read)
            .await?;
        Ok(self
            .meta
            .trust_keys(access.project.id)
            .await?
            .into_iter()
            .map(Self::key_view)
            .collect())
    }

    /// Trust a key in a project (who may update the project: its admins). `BAD_REQUEST` for a
    /// PEM that is not a supported public key or CA certificate; `CONFLICT` when it is trusted
    /// already.
    pub async fn add_trust_key(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
        req: TrustKeyReq,
    ) -> Result<TrustKey> {
        let access = self
            .require_project(p, name_or_id, is_name, R::Project, Action::Update)
            .await?;
        let name = req.name.trim();
        if name.is_empty() || name.len() > 255 {
            return Err(bad_key("name must have 1 to 255 characters"));
        }
        if req.pem.len() > 16 * 1024 {
            return Err(bad_key("pem is longer than 16 KiB"));
        }
        let parsed = parse_pem(&req.pem)?;
        let project_id = access.project.id;
        if self.meta.trust_keys(project_id).await?.len() >= MAX_KEYS {
            return Err(bad_key(format!("a project trusts at most {MAX_KEYS} keys")));
        }
        let mut row = TrustKeyRow {
            id: 0,
            project_id,
            name: name.to_owned(),
            kind: parsed.kind.to_owned(),
            algorithm: parsed.key.alg.as_str().to_owned(),
            pem: req.pem.trim().to_owned() + "\n",
            fingerprint: parsed.fingerprint,
            created_at: self.now_ms(),
        };
        let event = NewEvent::new("ADD_TRUST_KEY", "trust_key", row.name.clone(), "create")
            .project(project_id)
            .payload(serde_json::json!({ "fingerprint": row.fingerprint, "kind": row.kind }));
        row.id = self
            .with_events(vec![event], self.meta.create_trust_key(&row))
            .await?;
        self.trust.forget(project_id).await;
        Ok(Self::key_view(row))
    }

    /// Stop trusting a key.
    pub async fn delete_trust_key(
        &self,
        p: &Principal,
        name_or_id: &str,
        is_name: bool,
        id: i64,
    ) -> Result<()> {
        let access = self
            .require_project(p, name_or_id, is_name, R::Project, Action::Update)
            .await?;
        let project_id = access.project.id;
        let event = NewEvent::new("DELETE_TRUST_KEY", "trust_key", id.to_string(), "delete")
            .project(project_id);
        let found = self
            .with_events(vec![event], self.meta.delete_trust_key(project_id, id))
            .await?;
        self.trust.forget(project_id).await;
        if found {
            Ok(())
        } else {
            Err(Error::NotFound {
                what: format!("trust key {id}"),
            })
        }
    }
}

// ---- signing in-process (test harnesses) --------------------------------------------------

/// A PEM block of `label` around `der`.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// A new ECDSA P-256 key pair, as (private key PKCS#8 PEM, public key PEM): what
/// [`Registry::sign`] takes, and what [`Registry::add_trust_key`] trusts.
pub fn generate_signing_key() -> Result<(String, String)> {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
    let failed = |_| Error::internal("generating a P-256 key failed");
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).map_err(failed)?;
    let private = pair.to_pkcs8v1().map_err(failed)?;
    let public = pair.public_key().as_der().map_err(failed)?;
    Ok((
        pem("PRIVATE KEY", private.as_ref()),
        pem("PUBLIC KEY", public.as_ref()),
    ))
}

/// Sign `message` with an unencrypted PKCS#8 PEM key (ECDSA P-256 or Ed25519).
fn sign_with(private_pem: &str, message: &[u8]) -> Result<Vec<u8>> {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
    let (_, block) = x509_parser::pem::parse_x509_pem(private_pem.trim().as_bytes())
        .map_err(|_| bad_key("the signing key is not a PEM block"))?;
    if block.label != "PRIVATE KEY" {
        return Err(bad_key(format!(
            "the signing key must be an unencrypted PKCS#8 PRIVATE KEY, not {:?}",
            block.label
        )));
    }
    if let Ok(pair) = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &block.contents) {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        return pair
            .sign(&rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| Error::internal("signing failed"));
    }
    if let Ok(pair) = Ed25519KeyPair::from_pkcs8(&block.contents) {
        return Ok(pair.sign(message).as_ref().to_vec());
    }
    Err(bad_key(
        "the signing key is neither ECDSA P-256 nor Ed25519",
    ))
}

impl Registry {
    /// Sign an artifact in-process as `cosign sign --key` does with its tag scheme: a
    /// simple-signing payload naming the artifact's digest, signed with `private_key_pem`
    /// (unencrypted PKCS#8, ECDSA P-256 or Ed25519), pushed as a layer of the manifest tagged
    /// `sha256-<hex>.sig` beside earlier signatures. For test harnesses that check their
    /// admission rules against a registry without the cosign CLI. Acts as the embedding program.
    /// Returns the signature manifest's digest.
    pub async fn sign(
        &self,
        repo: &RepoName,
        reference: &Reference,
        private_key_pem: &str,
    ) -> Result<Digest> {
        let subject = self.get_manifest(repo, reference).await?;
        let payload = serde_json::to_vec(&serde_json::json!({
            "critical": {
                "identity": { "docker-reference": repo.as_str() },
                "image": { "docker-manifest-digest": subject.digest },
                "type": "cosign container image signature",
            },
            "optional": null,
        }))
        .expect("json serializes");
        let signature =
            base64::engine::general_purpose::STANDARD.encode(sign_with(private_key_pem, &payload)?);
        let size = payload.len();
        let payload_digest = self.push_blob_bytes(repo, payload.into()).await?;
        let sig_tag = format!("{}.sig", subject.digest.replacen(':', "-", 1));
        // Earlier signatures stay: their layers come first, as cosign appends.
        let mut layers: Vec<serde_json::Value> = match self
            .get_manifest(repo, &Reference::Tag(sig_tag.clone()))
            .await
        {
            Ok(m) => serde_json::from_slice::<serde_json::Value>(&m.content)
                .ok()
                .and_then(|v| v.get("layers").and_then(|l| l.as_array().cloned()))
                .unwrap_or_default(),
            Err(e) if e.code() == crate::ErrorCode::ManifestUnknown => Vec::new(),
            Err(e) => return Err(e),
        };
        layers.push(serde_json::json!({
            "mediaType": SIMPLESIGNING,
            "size": size,
            "digest": payload_digest.to_string(),
            "annotations": { SIGNATURE_ANNOTATION: signature },
        }));
        let diff_ids: Vec<&serde_json::Value> =
            layers.iter().filter_map(|l| l.get("digest")).collect();
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "", "os": "", "config": {},
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
        }))
        .expect("json serializes");
        let config_size = config.len();
        let config_digest = self.push_blob_bytes(repo, config.into()).await?;
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": manifest::OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "size": config_size,
                "digest": config_digest.to_string(),
            },
            "layers": layers,
        }))
        .expect("json serializes");
        Ok(self
            .put_manifest(
                repo,
                &Reference::Tag(sig_tag),
                Some(manifest::OCI_MANIFEST),
                manifest.into(),
                &[],
            )
            .await?
            .digest)
    }
}

/// Whether a manifest could run as a container: an index, or an image with a filesystem layer.
pub(crate) fn is_runnable(m: &StoredManifest) -> bool {
    match manifest::parse(&m.content, Some(&m.media_type)) {
        Ok(p) if p.kind == manifest::ManifestKind::Index => true,
        Ok(_) => manifest::layers(&m.content).is_some_and(|layers| {
            layers.iter().any(|d| {
                d.media_type.starts_with("application/vnd.oci.image.layer.")
                    || d.media_type
                        .starts_with("application/vnd.docker.image.rootfs.")
            })
        }),
        Err(_) => true,
    }
}

/// Notation's JWS envelope media type.
const JWS_ENVELOPE: &str = "application/jose+json";

/// Verify a notation JWS envelope (JSON serialization): its payload names `subject`, its
/// signature checks out with the leaf certificate of `x5c`, each certificate of the chain is
/// signed by the next (a CA), and the chain ends at, or is signed by, one of `roots`.
fn verify_jws(envelope: &[u8], subject: &str, roots: &[Vec<u8>]) -> Verdict {
    use aws_lc_rs::signature as sig;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use x509_parser::certificate::X509Certificate;
    use x509_parser::prelude::FromDer;
    #[derive(Deserialize)]
    struct Envelope {
        payload: String,
        protected: String,
        header: Header,
        signature: String,
    }
    #[derive(Deserialize)]
    struct Header {
        x5c: Vec<String>,
    }
    #[derive(Deserialize)]
    struct Protected {
        alg: String,
    }
    #[derive(Deserialize)]
    struct Payload {
        #[serde(rename = "targetArtifact")]
        target: Target,
    }
    #[derive(Deserialize)]
    struct Target {
        digest: String,
    }
    let check = || -> Option<Verdict> {
        let env: Envelope = serde_json::from_slice(envelope).ok()?;
        let payload: Payload =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&env.payload).ok()?).ok()?;
        if payload.target.digest != subject {
            return None;
        }
        let protected: Protected =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&env.protected).ok()?).ok()?;
        let signature = URL_SAFE_NO_PAD.decode(&env.signature).ok()?;
        let ders: Vec<Vec<u8>> = env
            .header
            .x5c
            .iter()
            .map(|c| STANDARD.decode(c))
            .collect::<Result<_, _>>()
            .ok()?;
        let certs: Vec<X509Certificate<'_>> = ders
            .iter()
            .map(|d| X509Certificate::from_der(d).map(|(_, c)| c))
            .collect::<Result<_, _>>()
            .ok()?;
        let leaf = certs.first()?;
        let alg: &dyn sig::VerificationAlgorithm = match protected.alg.as_str() {
            "PS256" => &sig::RSA_PSS_2048_8192_SHA256,
            "PS384" => &sig::RSA_PSS_2048_8192_SHA384,
            "PS512" => &sig::RSA_PSS_2048_8192_SHA512,
            "ES256" => &sig::ECDSA_P256_SHA256_FIXED,
            "ES384" => &sig::ECDSA_P384_SHA384_FIXED,
            "ES512" => &sig::ECDSA_P521_SHA512_FIXED,
            _ => return None,
        };
        let input = format!("{}.{}", env.protected, env.payload);
        sig::UnparsedPublicKey::new(alg, &leaf.public_key().subject_public_key.data)
            .verify(input.as_bytes(), &signature)
            .ok()?;
        for pair in certs.windows(2) {
            if !pair[1].is_ca()
                || pair[0]
                    .verify_signature(Some(pair[1].public_key()))
                    .is_err()
            {
                return None;
            }
        }
        let (last_der, last) = (ders.last()?, certs.last()?);
        let anchored = roots.iter().any(|root| {
            root == last_der
                || X509Certificate::from_der(root).is_ok_and(|(_, r)| {
                    r.subject() == last.issuer()
                        && last.verify_signature(Some(r.public_key())).is_ok()
                })
        });
        Some(if anchored {
            Verdict::Verified
        } else {
            Verdict::UnknownKey
        })
    };
    check().unwrap_or(Verdict::Unverified)
}

/// Whether a simple-signing payload signs `subject`.
fn payload_names(payload: &[u8], subject: &str) -> bool {
    #[derive(Deserialize)]
    struct Payload {
        critical: Critical,
    }
    #[derive(Deserialize)]
    struct Critical {
        image: Image,
    }
    #[derive(Deserialize)]
    struct Image {
        #[serde(rename = "docker-manifest-digest")]
        digest: String,
    }
    serde_json::from_slice::<Payload>(payload).is_ok_and(|p| p.critical.image.digest == subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_their_subject() {
        let d = format!("sha256:{}", "a".repeat(64));
        let p = format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"r/a"}},"image":{{"docker-manifest-digest":"{d}"}},"type":"cosign container image signature"}},"optional":null}}"#
        );
        assert!(payload_names(p.as_bytes(), &d));
        assert!(!payload_names(
            p.as_bytes(),
            &format!("sha256:{}", "b".repeat(64))
        ));
        assert!(!payload_names(b"not json", &d));
    }

    #[test]
    fn generated_keys_sign_and_verify() {
        let (private, public) = generate_signing_key().unwrap();
        let parsed = parse_pem(&public).unwrap();
        assert_eq!((parsed.kind, parsed.key.alg), ("cosign", Alg::EcdsaP256));
        let sig = sign_with(&private, b"payload").unwrap();
        assert!(parsed.key.verify(b"payload", &sig));
        assert!(!parsed.key.verify(b"payload!", &sig), "another message");
        let (_, other) = generate_signing_key().unwrap();
        assert!(
            !parse_pem(&other).unwrap().key.verify(b"payload", &sig),
            "another key"
        );
        assert_eq!(
            sign_with(&public, b"x").unwrap_err().code().as_str(),
            "BAD_REQUEST",
            "a public key cannot sign"
        );
    }

    #[test]
    fn pem_blocks_are_checked() {
        assert_eq!(
            parse_pem("nothing").unwrap_err().code().as_str(),
            "BAD_REQUEST"
        );
        let e = parse_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
            .unwrap_err();
        assert!(e.to_string().contains("PUBLIC KEY"), "{e}");
    }
}
