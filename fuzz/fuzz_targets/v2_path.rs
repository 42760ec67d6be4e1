//! The `/v2/…` path parser (`registry_http::oci::path::parse`). Every accepted path names exactly
//! one route: printing the route back and parsing it again gives the same route.
#![no_main]

use libfuzzer_sys::fuzz_target;
use registry_http::oci::path::{Route, parse};

fn render(r: &Route) -> String {
    match r {
        Route::Base => String::new(),
        Route::Catalog => "_catalog".into(),
        Route::Tags(n) => format!("{n}/tags/list"),
        Route::Manifest(n, r) => format!("{n}/manifests/{r}"),
        Route::Blob(n, d) => format!("{n}/blobs/{d}"),
        Route::UploadStart(n) => format!("{n}/blobs/uploads/"),
        Route::Upload(n, id) => format!("{n}/blobs/uploads/{id}"),
        Route::Referrers(n, d) => format!("{n}/referrers/{d}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    // The router hands over what follows `/v2/`; accept a leading `/v2/` in seeds too.
    let rest = s.strip_prefix("/v2/").unwrap_or(s);
    match parse(rest) {
        Ok(route) => {
            if let Route::Upload(_, id) = &route {
                assert!(!id.is_empty() && !id.contains('/'), "{rest:?}");
            }
            let printed = render(&route);
            assert_eq!(
                parse(&printed).ok().as_ref(),
                Some(&route),
                "{rest:?} -> {printed:?}"
            );
        }
        Err(e) => {
            let code = e.code();
            assert!(
                matches!(
                    code.as_str(),
                    "NAME_INVALID" | "TAG_INVALID" | "DIGEST_INVALID" | "NOT_FOUND"
                ),
                "{rest:?}: {}",
                code.as_str()
            );
        }
    }
});
