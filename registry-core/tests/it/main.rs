//! registry-core integration tests: the shared backend suites on every backend, and scenarios on
//! the `Registry` facade. One test binary (see style notes: fewer links on 2 cores).

mod access;
mod audit;
mod backends;
mod external_auth;
mod faults;
mod governance;
mod policy;
mod proxy;
mod registry;
mod scan;
mod scan_jobs;
mod scanners;
mod webhooks;

/// The URL of an external service a test needs, from the environment. Tests that call this are
/// `#[ignore]`d with the reason, so a plain `cargo test` lists them as ignored; `tests/run.sh`
/// starts the services and runs them with `--include-ignored`. Run without the service, such a
/// test fails: it never passes without having run.
pub fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => panic!(
            "{var} is not set: this test needs that service (tests/run.sh starts it; see tests/lib/services.sh)"
        ),
    }
}

/// A service URL for tests that run on SQLite always and on the service too when it is there.
/// Under `BERTH_TEST_REQUIRE_ALL=1` (tests/run.sh sets it) a missing service fails the test.
pub fn optional_service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        _ => {
            if std::env::var("BERTH_TEST_REQUIRE_ALL").as_deref() == Ok("1") {
                panic!("{var} is not set but BERTH_TEST_REQUIRE_ALL=1: every backend must run");
            }
            None
        }
    }
}
