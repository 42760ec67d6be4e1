//! The `Authorization` header: `registry_http::auth::basic_credentials` and `bearer`, plus the
//! `WWW-Authenticate` challenge built from the same bytes as a `Host` header.
#![no_main]

use base64::Engine as _;
use http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;
use registry_http::auth::{basic_credentials, bearer, challenge};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, value.clone());
    let basic = basic_credentials(&headers);
    let token = bearer(&headers);
    assert!(
        basic.is_none() || token.is_none(),
        "both Basic and Bearer: {value:?}"
    );
    match basic {
        Some(Ok((user, secret))) => {
            assert!(!user.contains(':'), "{user:?}");
            // The standard alphabet with canonical padding decodes one way only.
            let (_, rest) = value.to_str().unwrap().split_once(' ').unwrap();
            let again =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
            assert_eq!(again, rest.trim());
        }
        Some(Err(e)) => assert_eq!(e.code().as_str(), "UNAUTHORIZED", "{e}"),
        None => {}
    }
    if let Some(t) = token {
        assert_eq!(t, t.trim());
    }

    let mut host = HeaderMap::new();
    host.insert(header::HOST, value.clone());
    host.insert("x-forwarded-proto", value);
    let scope = std::str::from_utf8(data).ok();
    let _ = challenge(&host, "harbor-registry", scope);
});
