//! Secrets at rest: the token signing key, webhook `Authorization` headers and (later)
//! replication credentials are stored sealed with AES-256-GCM under the operator's secret key
//! (Harbor's `secret_key`), so a copy of the database alone reveals none of them.
//!
//! A sealed value reads `enc:v1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>`; the key id is
//! the first 4 bytes of SHA-256 of the key, so a value names the key it needs. Rotation: start
//! with the new key as `secret_key` and the old one among the previous keys; on start every
//! stored secret is opened with whichever key sealed it and sealed again under the new one
//! ([`crate::Registry::reseal_secrets`]); then drop the old key. Values stored before
//! encryption existed (plain text) are sealed by the same pass.

use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use sha2::Digest as _;

use crate::error::{Error, Result};

const PREFIX: &str = "enc:v1:";

/// A 256-bit key and its id.
#[derive(Clone)]
pub struct SecretKey {
    bytes: [u8; 32],
    id: String,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", self.id)
    }
}

impl SecretKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let digest = sha2::Sha256::digest(bytes);
        Self {
            bytes,
            id: hex::encode(&digest[..4]),
        }
    }

    /// A key as an operator writes it: 64 hex digits, or base64 of 32 bytes.
    pub fn parse(text: &str) -> Result<Self> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(t).ok()
        } else {
            base64::engine::general_purpose::STANDARD.decode(t).ok()
        };
        let bytes: [u8; 32] =
            bytes
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| Error::BadRequest {
                    reason: "a secret key is 32 bytes, written as 64 hex digits or base64".into(),
                })?;
        Ok(Self::from_bytes(bytes))
    }

    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("the system random source works");
        Self::from_bytes(bytes)
    }

    /// The key in `path`, created (mode 0600) with a fresh key when the file does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        let io = |what: &str, e: std::io::Error| Error::Storage {
            backend: "fs",
            source: format!("{what} the secret key file {}: {e}", path.display()).into(),
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| io("creating the folder of", e))?;
                }
                use std::io::Write as _;
                use std::os::unix::fs::OpenOptionsExt as _;
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(|e| io("creating", e))?;
                f.write_all(hex::encode(key.bytes).as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(|e| io("writing", e))?;
                tracing::info!(path = %path.display(), key_id = %key.id, "created a secret key for secrets at rest");
                Ok(key)
            }
            Err(e) => Err(io("reading", e)),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn aead(&self) -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.bytes).expect("a 32-byte AES key"))
    }
}

/// The current key and the previous ones still accepted for opening.
#[derive(Clone, Debug)]
pub struct SecretBox {
    current: SecretKey,
    previous: Vec<SecretKey>,
}

impl SecretBox {
    pub fn new(current: SecretKey, previous: Vec<SecretKey>) -> Self {
        Self { current, previous }
    }

    pub fn current_id(&self) -> &str {
        self.current.id()
    }

    /// Seal `plain` under the current key.
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the system random source works");
        let mut data = plain.as_bytes().to_vec();
        self.current
            .aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(self.current.id.as_bytes()),
                &mut data,
            )
            .expect("sealing cannot fail for in-memory data");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!(
            "{PREFIX}{}:{}",
            self.current.id,
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(out)
        )
    }

    /// Whether `stored` is sealed, and under which key id.
    pub fn sealed_with(stored: &str) -> Option<&str> {
        stored
            .strip_prefix(PREFIX)?
            .split_once(':')
            .map(|(id, _)| id)
    }

    /// Open a stored value: sealed under the current or a previous key, or plain text written
    /// before encryption existed (returned as is; [`Self::needs_reseal`] says so).
    pub fn open(&self, stored: &str) -> Result<String> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let corrupt = |why: &str| Error::internal(format!("a stored secret {why}"));
        let (id, body) = rest
            .split_once(':')
            .ok_or_else(|| corrupt("is malformed"))?;
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
            .ok_or_else(|| Error::Unavailable {
                reason: format!(
                    "a stored secret was sealed with secret key {id}, which this node does not have (current key {}); configure the same secret_key on every node",
                    self.current.id
                ),
            })?;
        let raw = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(body)
            .map_err(|_| corrupt("is not base64"))?;
        if raw.len() < NONCE_LEN {
            return Err(corrupt("is truncated"));
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let mut data = sealed.to_vec();
        let plain = key
            .aead()
            .open_in_place(
                Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt("has a bad nonce"))?,
                Aad::from(key.id.as_bytes()),
                &mut data,
            )
            .map_err(|_| corrupt("does not authenticate under its key"))?;
        String::from_utf8(plain.to_vec()).map_err(|_| corrupt("is not text"))
    }

    /// Whether a stored value should be sealed again: plain text, or a previous key's.
    pub fn needs_reseal(&self, stored: &str) -> bool {
        Self::sealed_with(stored) != Some(self.current.id.as_str())
    }
}

/// The setting that proves which key the database's secrets are sealed with.
const KEY_CHECK_SETTING: &str = "secret_key_check";
const KEY_CHECK_PLAIN: &str = "berth secret key check";

impl crate::Registry {
    /// Check that this node's key opens the database's secrets, then seal under the current key
    /// every stored secret that is plain text or sealed with a previous key: the token signing
    /// key, webhook `Authorization` headers, registry endpoints' and scanner registrations' credentials. Run at start; safe on several nodes at once.
    pub async fn reseal_secrets(&self) -> Result<()> {
        let check = self
            .meta
            .init_setting(KEY_CHECK_SETTING, &self.secrets.seal(KEY_CHECK_PLAIN))
            .await?;
        if self.secrets.open(&check)? != KEY_CHECK_PLAIN {
            return Err(Error::internal("the secret key check does not match"));
        }
        if self.secrets.needs_reseal(&check) {
            self.meta
                .set_setting(KEY_CHECK_SETTING, &self.secrets.seal(KEY_CHECK_PLAIN))
                .await?;
        }
        let mut resealed = 0;
        if let Some(stored) = self
            .meta
            .get_setting(crate::access::TOKEN_KEY_SETTING)
            .await?
            && self.secrets.needs_reseal(&stored)
        {
            let plain = self.secrets.open(&stored)?;
            self.meta
                .set_setting(crate::access::TOKEN_KEY_SETTING, &self.secrets.seal(&plain))
                .await?;
            resealed += 1;
        }
        resealed += self.reseal_webhook_secrets().await?;
        resealed += self.reseal_registry_secrets().await?;
        resealed += self.reseal_scanner_secrets().await?;
        if resealed > 0 {
            tracing::info!(
                resealed,
                key_id = self.secrets.current_id(),
                "sealed stored secrets under the current secret key"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_rotate() {
        let old = SecretKey::generate();
        let new = SecretKey::generate();
        let before = SecretBox::new(old.clone(), vec![]);
        let sealed = before.seal("Bearer hunter2");
        assert!(!sealed.contains("hunter2"));
        assert_eq!(SecretBox::sealed_with(&sealed), Some(old.id()));
        assert_eq!(before.open(&sealed).unwrap(), "Bearer hunter2");
        assert_ne!(before.seal("x"), before.seal("x"), "fresh nonces");
        // Rotation: the new box opens the old value and wants it resealed.
        let after = SecretBox::new(new.clone(), vec![old.clone()]);
        assert_eq!(after.open(&sealed).unwrap(), "Bearer hunter2");
        assert!(after.needs_reseal(&sealed));
        assert!(!after.needs_reseal(&after.seal("y")));
        // Without the old key: a clear error naming both ids.
        let e = SecretBox::new(new.clone(), vec![])
            .open(&sealed)
            .unwrap_err();
        assert!(e.to_string().contains(old.id()) && e.to_string().contains(new.id()));
        // Tampering is detected; plain legacy values pass through and need sealing.
        let mut bad = sealed.clone();
        bad.pop();
        bad.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(before.open(&bad).is_err());
        assert_eq!(before.open("plain").unwrap(), "plain");
        assert!(before.needs_reseal("plain"));
        // Keys as operators write them.
        let hex_key = "11".repeat(32);
        assert_eq!(
            SecretKey::parse(&hex_key).unwrap().id(),
            SecretKey::from_bytes([0x11; 32]).id()
        );
        assert!(SecretKey::parse("short").is_err());
    }
}
