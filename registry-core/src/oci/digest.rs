//! Content digests (`sha256:<64 hex>`, `sha512:<128 hex>`) and incremental hashers whose state
//! can be saved and resumed, so a chunked upload never re-reads what it already hashed.

use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;
use sha2::digest::common::hazmat::SerializableState;

use crate::error::{Error, Result};

/// A digest algorithm Berth accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    const fn hex_len(self) -> usize {
        match self {
            Self::Sha256 => 64,
            Self::Sha512 => 128,
        }
    }
}

/// A validated content digest: `algorithm:lowercase-hex`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    hex: String,
}

impl Digest {
    /// Parse and validate a digest string.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |reason: &str| Error::DigestMalformed {
            reason: format!("{reason}: {s:?}"),
        };
        let (alg, hex) = s.split_once(':').ok_or_else(|| bad("missing algorithm"))?;
        let algorithm = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            _ => return Err(bad("unsupported algorithm")),
        };
        if hex.len() != algorithm.hex_len() {
            return Err(bad("wrong length"));
        }
        if !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(bad("not lowercase hex"));
        }
        Ok(Self {
            algorithm,
            hex: hex.to_owned(),
        })
    }

    /// The sha256 digest of `data`.
    pub fn sha256_of(data: &[u8]) -> Self {
        let mut h = Hasher::new(Algorithm::Sha256);
        h.update(data);
        h.finish()
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The encoded part (hex, no algorithm prefix).
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.as_str(), self.hex)
    }
}

impl FromStr for Digest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// An incremental hasher for one algorithm.
#[derive(Clone)]
pub enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hasher({})", self.algorithm().as_str())
    }
}

impl Hasher {
    pub fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Sha256 => Self::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Self::Sha512(sha2::Sha512::new()),
        }
    }

    pub fn algorithm(&self) -> Algorithm {
        match self {
            Self::Sha256(_) => Algorithm::Sha256,
            Self::Sha512(_) => Algorithm::Sha512,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    pub fn finish(self) -> Digest {
        let (algorithm, hex) = match self {
            Self::Sha256(h) => (Algorithm::Sha256, hex::encode(h.finalize())),
            Self::Sha512(h) => (Algorithm::Sha512, hex::encode(h.finalize())),
        };
        Digest { algorithm, hex }
    }

    /// Serialize the running state: one algorithm byte followed by the hasher's own state.
    pub fn save(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        match self {
            Self::Sha256(h) => {
                out.push(1);
                out.extend_from_slice(h.serialize().as_slice());
            }
            Self::Sha512(h) => {
                out.push(2);
                out.extend_from_slice(h.serialize().as_slice());
            }
        }
        out
    }

    /// Restore a state written by [`Hasher::save`].
    pub fn restore(state: &[u8]) -> Result<Self> {
        let corrupt = || Error::internal("corrupt upload hash state");
        let (tag, rest) = state.split_first().ok_or_else(corrupt)?;
        match tag {
            1 => {
                let arr = rest.try_into().map_err(|_| corrupt())?;
                Ok(Self::Sha256(
                    sha2::Sha256::deserialize(arr).map_err(|_| corrupt())?,
                ))
            }
            2 => {
                let arr = rest.try_into().map_err(|_| corrupt())?;
                Ok(Self::Sha512(
                    sha2::Sha512::deserialize(arr).map_err(|_| corrupt())?,
                ))
            }
            _ => Err(corrupt()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_sha256_and_sha512() {
        let d = Digest::sha256_of(b"hello");
        assert_eq!(
            d.to_string(),
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        let mut h = Hasher::new(Algorithm::Sha512);
        h.update(b"hello");
        let d512 = h.finish();
        assert_eq!(d512.hex().len(), 128);
        assert_eq!(Digest::parse(&d512.to_string()).unwrap(), d512);
    }

    #[test]
    fn parse_rejects_bad_digests() {
        for s in [
            "",
            "sha256",
            "sha256:",
            "md5:abcd",
            "sha256:ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
            "sha256:abc",
            "sha256:../../../../etc/passwd",
        ] {
            let e = Digest::parse(s).unwrap_err();
            assert_eq!(e.code().as_str(), "DIGEST_INVALID", "{s}");
        }
    }

    #[test]
    fn hash_state_resumes() {
        for alg in [Algorithm::Sha256, Algorithm::Sha512] {
            let mut a = Hasher::new(alg);
            a.update(&[7u8; 1000]);
            let saved = a.save();
            let mut b = Hasher::restore(&saved).unwrap();
            b.update(&[9u8; 333]);
            let mut whole = Hasher::new(alg);
            whole.update(&[7u8; 1000]);
            whole.update(&[9u8; 333]);
            assert_eq!(b.finish(), whole.finish());
        }
        assert!(Hasher::restore(&[1, 2, 3]).is_err());
    }
}
