//! Registry tokens (`registry_core::identity::token::TokenKeys::verify`) with a real P-256 key
//! pair. The first byte picks how the rest becomes a token:
//! - 0: the bytes as they are (what a `Bearer` header carries);
//! - 1: three newline-separated parts (header JSON, claims JSON, signature bytes), each
//!   base64url-encoded by the harness, so the fuzzer works on the JSON rather than the base64;
//! - 2: claims JSON that the harness signs with the real key (ES256, the right `kid`), to reach
//!   the claim checks after the signature.
//!
//! Verifying must never panic, and only harness-signed tokens may ever verify.
#![no_main]

use std::sync::LazyLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use libfuzzer_sys::fuzz_target;
use registry_core::identity::token::{DEFAULT_SERVICE, ISSUER, TokenKeys};

/// 2026-01-01T00:00:00Z; the seeds' tokens are valid then.
const NOW_S: i64 = 1_767_225_600;
/// The leeway `Registry::verify_token` passes.
const LEEWAY_S: u64 = 30;

struct Keys {
    keys: TokenKeys,
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

static KEYS: LazyLock<Keys> = LazyLock::new(|| {
    let pkcs8 = TokenKeys::generate_pkcs8_hex();
    let der = hex_decode(&pkcs8);
    Keys {
        keys: TokenKeys::from_pkcs8_hex(&pkcs8).expect("generated key loads"),
        pair: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).expect("key"),
        rng: SystemRandom::new(),
    }
});

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn sign(k: &Keys, claims: &[u8]) -> String {
    let header = format!(r#"{{"typ":"JWT","alg":"ES256","kid":"{}"}}"#, k.keys.kid());
    let input = format!("{}.{}", B64.encode(header), B64.encode(claims));
    let sig = k.pair.sign(&k.rng, input.as_bytes()).expect("signing");
    format!("{input}.{}", B64.encode(sig.as_ref()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let k = &*KEYS;
    let (token, signed) = match mode % 3 {
        0 => match std::str::from_utf8(rest) {
            Ok(s) => (s.to_owned(), false),
            Err(_) => return,
        },
        1 => {
            let mut parts = rest.splitn(3, |&b| b == b'\n');
            let h = parts.next().unwrap_or_default();
            let c = parts.next().unwrap_or_default();
            let s = parts.next().unwrap_or_default();
            (
                format!("{}.{}.{}", B64.encode(h), B64.encode(c), B64.encode(s)),
                false,
            )
        }
        _ => (sign(k, rest), true),
    };
    match k.keys.verify(&token, DEFAULT_SERVICE, NOW_S, LEEWAY_S) {
        Ok(c) => {
            assert!(
                signed,
                "a token the harness did not sign verified: {token:?}"
            );
            assert_eq!(c.iss, ISSUER);
            assert!(c.aud.iter().any(|a| a == DEFAULT_SERVICE));
            let (exp, nbf, now, leeway) = (c.exp as i128, c.nbf as i128, NOW_S as i128, 30i128);
            assert!(exp + leeway >= now && nbf - leeway <= now, "{c:?}");
        }
        Err(e) => assert_eq!(e.code().as_str(), "UNAUTHORIZED", "{e}"),
    }
});
