//! Password and secret hashing (argon2id PHC strings) and secret generation.
//!
//! Hashing is deliberately slow (tens of milliseconds, ~19 MiB): it runs on the blocking pool.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};

use crate::error::{Error, Result};

/// Hash `password` into an argon2id PHC string.
pub async fn hash(password: &str) -> Result<String> {
    let pw = password.to_owned();
    tokio::task::spawn_blocking(move || {
        argon2::Argon2::default()
            .hash_password(pw.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| Error::internal(format!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| Error::internal(format!("hashing task: {e}")))?
}

/// Whether `password` matches the PHC string `phc`. A malformed stored hash never matches.
pub async fn verify(password: &str, phc: &str) -> bool {
    let pw = password.to_owned();
    let phc = phc.to_owned();
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        argon2::Argon2::default()
            .verify_password(pw.as_bytes(), &parsed)
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// Hash used when the user does not exist, so a wrong user costs the same time as a wrong password.
pub(crate) const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$1Jx8z7o8xaH1s0J2t1vXGm4mBvPjXbqL2yJd0yXn8oM";

/// A random secret of `len` characters with at least one upper-case letter, one lower-case
/// letter and one digit (Harbor's robot secret rule).
pub fn random_secret(len: usize) -> String {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGIT: &[u8] = b"23456789";
    let all: Vec<u8> = [UPPER, LOWER, DIGIT].concat();
    loop {
        let mut bytes = vec![0u8; len];
        aws_lc_rs::rand::fill(&mut bytes).expect("system randomness");
        let s: String = bytes
            .iter()
            .map(|b| all[*b as usize % all.len()] as char)
            .collect();
        if check_secret_strength(&s).is_ok() {
            return s;
        }
    }
}

/// Harbor's password/secret rule: 8–128 characters with an upper-case letter, a lower-case
/// letter and a digit.
pub fn check_secret_strength(s: &str) -> Result<()> {
    let ok = (8..=128).contains(&s.chars().count())
        && s.chars().any(|c| c.is_ascii_uppercase())
        && s.chars().any(|c| c.is_ascii_lowercase())
        && s.chars().any(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::BadRequest {
            reason: "a password or secret needs 8 to 128 characters with at least one upper-case letter, one lower-case letter and one digit".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let h = hash("Secret123").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("Secret123", &h).await);
        assert!(!verify("secret123", &h).await);
        assert!(!verify("x", "not a hash").await);
        assert!(!verify("x", DUMMY_HASH).await);
    }

    #[test]
    fn secrets_are_strong() {
        for _ in 0..20 {
            let s = random_secret(32);
            assert_eq!(s.len(), 32);
            check_secret_strength(&s).unwrap();
        }
        assert!(check_secret_strength("short1A").is_err());
        assert!(check_secret_strength("alllowercase1").is_err());
    }
}
