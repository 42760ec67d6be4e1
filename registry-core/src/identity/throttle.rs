//! Failed-login throttling: after too many failures from one client within a window, further
//! attempts from it are refused without checking credentials until the window passes.

use std::collections::HashMap;
use std::sync::Mutex;

/// Failures allowed per client per window.
pub(crate) const MAX_FAILURES: u32 = 10;
/// The window, in milliseconds.
pub(crate) const WINDOW_MS: i64 = 60_000;
/// Tracked clients at most; the oldest windows are dropped first when full.
const MAX_CLIENTS: usize = 100_000;

#[derive(Debug, Default)]
pub(crate) struct Throttle {
    clients: Mutex<HashMap<String, (i64, u32)>>,
}

impl Throttle {
    /// Whether `client` may try now.
    pub(crate) fn allowed(&self, client: &str, now: i64) -> bool {
        let map = self.clients.lock().expect("throttle lock");
        match map.get(client) {
            Some((start, n)) => now - start >= WINDOW_MS || *n < MAX_FAILURES,
            None => true,
        }
    }

    pub(crate) fn failed(&self, client: &str, now: i64) {
        let mut map = self.clients.lock().expect("throttle lock");
        if map.len() >= MAX_CLIENTS {
            map.retain(|_, (start, _)| now - *start < WINDOW_MS);
        }
        let e = map.entry(client.to_owned()).or_insert((now, 0));
        if now - e.0 >= WINDOW_MS {
            *e = (now, 0);
        }
        e.1 += 1;
    }

    pub(crate) fn succeeded(&self, client: &str) {
        self.clients.lock().expect("throttle lock").remove(client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_out_after_the_limit_then_recovers() {
        let t = Throttle::default();
        for _ in 0..MAX_FAILURES {
            assert!(t.allowed("1.2.3.4", 0));
            t.failed("1.2.3.4", 0);
        }
        assert!(!t.allowed("1.2.3.4", 1000));
        assert!(t.allowed("5.6.7.8", 1000), "other clients are not affected");
        assert!(t.allowed("1.2.3.4", WINDOW_MS + 1));
    }
}
