//! What is shown to people: sizes in B, KiB, MiB, …, and URIs with their secrets hidden
//! (foundation: depends on nothing above it).

/// Bytes as Harbor words them ("8.3 MiB").
pub fn human_size(bytes: i64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `uri` fit for a log line or an error message: its password, and every query parameter whose
/// name says it carries a secret (`secret_access_key`, `password`, `token`, …), become `***`.
/// Something that does not parse as a URL is shown only if it cannot hold credentials.
/// This is the one function every frontend uses before it prints a URI.
pub fn redact_uri(uri: &str) -> String {
    let Ok(mut url) = url::Url::parse(uri) else {
        return if uri.contains('@') || uri.contains('?') {
            "<unparseable URI, not shown>".to_owned()
        } else {
            uri.to_owned()
        };
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_name(&k) {
                    "***".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "secret",
        "password",
        "passwd",
        "token",
        "credential",
        "sslkey",
        "key_id",
    ]
    .iter()
    .any(|s| n.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_lose_their_secrets() {
        assert_eq!(
            redact_uri("postgres://berth:hunter2@db:5432/berth"),
            "postgres://berth:***@db:5432/berth"
        );
        let s3 = redact_uri(
            "s3://b/p?endpoint=http://x:9&access_key_id=AK&secret_access_key=SK&region=r",
        );
        assert!(!s3.contains("SK") && !s3.contains("AK"), "{s3}");
        assert!(
            s3.contains("region=r") && s3.contains("secret_access_key=***"),
            "{s3}"
        );
        assert_eq!(redact_uri("sqlite://./d/berth.db"), "sqlite://./d/berth.db");
        assert_eq!(redact_uri("./plain/path"), "./plain/path");
        assert!(!redact_uri("not a url u:pw@host").contains("pw"));
        assert_eq!(human_size(2048), "2.0 KiB");
    }
}
