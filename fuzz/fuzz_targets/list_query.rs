//! Harbor's list parameters: the query string goes through the HTTP layer's own decoding
//! (`registry_http::api::Params::list`: `q`, `sort`, `page`, `page_size`) and then
//! `ListQuery::parse` against a real field list (users: text, int, bool and time keys).
#![no_main]

use libfuzzer_sys::fuzz_target;
use registry_core::query::{Kind, MAX_PAGE_SIZE, Match, Value};
use registry_core::user::USER_FIELDS;
use registry_http::api::Params;
use registry_http::oci::Query;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let s = s.strip_prefix('?').unwrap_or(s);
    let Ok(lq) = Params(Query::parse(Some(s))).list() else {
        return;
    };
    let default_sort = [("id", false)];
    let mut spec = match lq.parse(USER_FIELDS, &default_sort) {
        Ok(spec) => spec,
        Err(e) => {
            assert_eq!(e.code().as_str(), "BAD_REQUEST", "{s:?}: {e}");
            return;
        }
    };
    assert!(spec.page >= 1);
    assert!((1..=MAX_PAGE_SIZE).contains(&spec.page_size));
    assert!(spec.limit() >= 1 && spec.offset() >= 0);
    assert_eq!(spec.offset() as u64, (spec.page - 1) * spec.page_size);
    if lq.sort.as_deref().is_none_or(|s| s.trim().is_empty()) {
        assert_eq!(spec.sort, default_sort);
    } else {
        for (column, _) in &spec.sort {
            assert!(USER_FIELDS.iter().any(|f| f.column == *column), "{column}");
        }
    }
    for f in &spec.filters {
        let field = USER_FIELDS
            .iter()
            .find(|x| x.key == f.key)
            .expect("filter on a declared key");
        assert_eq!(field.column, f.column);
        let values: Vec<&Value> = match &f.matcher {
            Match::Exact(v) => vec![v],
            Match::Fuzzy(_) => {
                assert_eq!(field.kind, Kind::Text, "fuzzy match on {}", f.key);
                vec![]
            }
            Match::Range(a, b) => a.iter().chain(b.iter()).collect(),
            Match::AnyOf(v) | Match::AllOf(v) => {
                assert!(!v.is_empty());
                v.iter().collect()
            }
        };
        for v in values {
            match (field.kind, v) {
                (Kind::Text, Value::Text(_)) => {}
                (Kind::Bool, Value::Int(0 | 1)) => {}
                (Kind::Int | Kind::Time, Value::Int(_)) => {}
                (k, v) => panic!("{k:?} field {} bound to {v:?}", f.key),
            }
        }
    }
    let keys: Vec<&str> = spec.filters.iter().map(|f| f.key).collect();
    for k in keys {
        assert!(spec.take(k).is_some());
    }
});
