//! The Docker token service's JWTs (ES256), signed with a key Berth generates once and keeps in
//! the metadata database, so every node signs and verifies with the same key.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Issuer claim (Harbor's value, which some tooling checks).
pub const ISSUER: &str = "harbor-token-issuer";
/// Default service / audience name.
pub const DEFAULT_SERVICE: &str = "harbor-registry";

/// One granted access entry (`{type, name, actions}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenAccess {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

/// The claims of a registry token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub jti: String,
    #[serde(default)]
    pub access: Vec<TokenAccess>,
}

/// A signing key pair.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// A new P-256 key as PKCS#8 DER, hex-encoded for storage.
    pub fn generate_pkcs8_hex() -> String {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("P-256 key generation");
        hex::encode(doc.as_ref())
    }

    /// Load a key stored by [`Self::generate_pkcs8_hex`].
    pub fn from_pkcs8_hex(s: &str) -> Result<Self> {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let der =
            hex::decode(s.trim()).map_err(|e| Error::internal(format!("stored token key: {e}")))?;
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
            .map_err(|e| Error::internal(format!("stored token key: {e}")))?;
        let public = pair.public_key().as_ref().to_vec();
        let kid = {
            use sha2::Digest as _;
            let h = sha2::Sha256::digest(&public);
            hex::encode(&h[..12])
        };
        Ok(Self {
            encoding: EncodingKey::from_ec_der(&der),
            decoding: DecodingKey::from_ec_der(&public),
            kid,
        })
    }

    /// The key id put in token headers.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn sign(&self, claims: &Claims) -> Result<String> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| Error::internal(format!("signing a token: {e}")))
    }

    /// Verify signature, issuer, audience and time (with `leeway_s` seconds of clock skew).
    pub fn verify(&self, token: &str, audience: &str, now_s: i64, leeway_s: u64) -> Result<Claims> {
        let mut v = Validation::new(Algorithm::ES256);
        v.set_issuer(&[ISSUER]);
        v.set_audience(&[audience]);
        v.validate_exp = false;
        v.validate_nbf = false;
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .map_err(|_| Error::Unauthorized)?;
        let c = data.claims;
        let leeway = leeway_s as i64;
        if c.exp.saturating_add(leeway) < now_s || c.nbf.saturating_sub(leeway) > now_s {
            return Err(Error::Unauthorized);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_round_trip() {
        let keys = TokenKeys::from_pkcs8_hex(&TokenKeys::generate_pkcs8_hex()).unwrap();
        let claims = Claims {
            iss: ISSUER.into(),
            sub: "alice".into(),
            aud: vec![DEFAULT_SERVICE.into()],
            exp: 2000,
            nbf: 1000,
            iat: 1000,
            jti: "x".into(),
            access: vec![TokenAccess {
                kind: "repository".into(),
                name: "p/r".into(),
                actions: vec!["pull".into()],
            }],
        };
        let t = keys.sign(&claims).unwrap();
        let back = keys.verify(&t, DEFAULT_SERVICE, 1500, 0).unwrap();
        assert_eq!(back.access, claims.access);
        assert!(
            keys.verify(&t, DEFAULT_SERVICE, 2500, 10).is_err(),
            "expired"
        );
        assert!(keys.verify(&t, "other", 1500, 0).is_err(), "audience");
        let other = TokenKeys::from_pkcs8_hex(&TokenKeys::generate_pkcs8_hex()).unwrap();
        assert!(
            other.verify(&t, DEFAULT_SERVICE, 1500, 0).is_err(),
            "foreign key"
        );
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        parts[1] = parts[1].replace('a', "b");
        assert!(
            keys.verify(&parts.join("."), DEFAULT_SERVICE, 1500, 0)
                .is_err(),
            "tampered"
        );
        // Found by fuzzing: extreme times used to overflow (a panic in checked builds).
        for (exp, nbf, ok) in [
            (i64::MAX, 0, true),
            (2000, i64::MIN, true),
            (i64::MIN, 0, false),
        ] {
            let t = keys
                .sign(&Claims {
                    exp,
                    nbf,
                    ..claims.clone()
                })
                .unwrap();
            assert_eq!(
                keys.verify(&t, DEFAULT_SERVICE, 1500, 60).is_ok(),
                ok,
                "exp {exp}, nbf {nbf}"
            );
        }
    }
}
