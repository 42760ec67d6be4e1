//! The login throttle, shared by every node through the metadata database.
//!
//! Failures are counted under three keys, each a row of `login_failures`:
//! - the pair (account, client): after [`PAIR_FREE`] failures that client must wait before it
//!   may try that account again, twice as long after each further failure;
//! - the account, whatever the client: after [`ACCOUNT_FREE`] failures, every client that has
//!   itself failed on the account waits (guesses spread over many addresses). A client that has
//!   never failed on the account is never held back, so an attacker cannot lock its owner out;
//! - the client, whatever the account: after [`CLIENT_FREE`] failures the client waits before
//!   any login (one address spraying many accounts).
//!
//! A success clears only its own pair. Counters older than [`WINDOW_MS`] start again. Behind a
//! load balancer the client is the address `X-Forwarded-For` names, but only when the peer is a
//! configured trusted proxy ([`client_address`]); otherwise every client would share the
//! proxy's address and the client-wide limit.

use std::net::IpAddr;
use std::str::FromStr;

/// Failures of one client on one account before it has to wait.
pub const PAIR_FREE: i64 = 5;
/// Failures on one account, from any client, before clients that failed on it have to wait.
pub const ACCOUNT_FREE: i64 = 20;
/// Failures from one client, on any account, before it has to wait.
pub const CLIENT_FREE: i64 = 100;
/// A counter whose last failure is older than this starts again.
pub const WINDOW_MS: i64 = 15 * 60_000;
/// The first wait; each further failure doubles it.
const BASE_WAIT_MS: i64 = 1_000;
/// The longest wait.
const MAX_WAIT_MS: i64 = 15 * 60_000;

/// The counter keys of a login attempt: pair, account, client.
pub fn keys(username: &str, client: &str) -> [String; 3] {
    [
        // Length-prefixed: no user name can make one key look like another.
        format!("pair:{}:{username}:{client}", username.len()),
        format!("account:{username}"),
        format!("client:{client}"),
    ]
}

/// How long a counter with `failures` makes its holder wait past its last failure.
fn wait_ms(failures: i64, free: i64) -> Option<i64> {
    (failures >= free).then(|| {
        let doublings = (failures - free).min(20) as u32;
        (BASE_WAIT_MS << doublings).min(MAX_WAIT_MS)
    })
}

/// Until when (unix ms) the attempt with counter rows `rows` (key, failures, last failure) must
/// wait, or `None` when it may try now.
pub fn blocked_until(keys: &[String; 3], rows: &[(String, i64, i64)], now: i64) -> Option<i64> {
    let counter = |k: &str| {
        rows.iter()
            .find(|(key, _, last)| key == k && now - last < WINDOW_MS)
            .map(|(_, n, last)| (*n, *last))
            .unwrap_or((0, 0))
    };
    let (pair, pair_last) = counter(&keys[0]);
    let (account, account_last) = counter(&keys[1]);
    let (client, client_last) = counter(&keys[2]);
    let mut until = None::<i64>;
    let mut hold = |last: i64, wait: Option<i64>| {
        if let Some(w) = wait {
            until = Some(until.map_or(last + w, |u| u.max(last + w)));
        }
    };
    hold(pair_last, wait_ms(pair, PAIR_FREE));
    if pair > 0 {
        hold(account_last, wait_ms(account, ACCOUNT_FREE));
    }
    hold(client_last, wait_ms(client, CLIENT_FREE));
    until.filter(|u| *u > now)
}

/// An address or a CIDR range (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|e| format!("{s:?} is not an address or CIDR range: {e}"))?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: prefix length must be 0–{max}"))?,
            None => max,
        };
        Ok(Self { addr, prefix })
    }
}

/// The client behind a request: the peer itself, unless the peer is a trusted proxy; then the
/// right-most `X-Forwarded-For` address that is not itself a trusted proxy (addresses further
/// left were written by the client and prove nothing).
pub fn client_address(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in forwarded_for.unwrap_or("").rsplit(',') {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = ip.to_canonical();
        if !is_trusted(client) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(rows: &mut Vec<(String, i64, i64)>, keys: &[String; 3], now: i64) {
        for k in keys {
            match rows.iter_mut().find(|(key, _, _)| key == k) {
                Some(r) => {
                    r.1 += 1;
                    r.2 = now;
                }
                None => rows.push((k.clone(), 1, now)),
            }
        }
    }

    #[test]
    fn a_guessing_pair_waits_longer_after_each_failure() {
        let k = keys("alice", "198.51.100.1");
        let mut rows = Vec::new();
        for _ in 0..PAIR_FREE - 1 {
            fail(&mut rows, &k, 0);
            assert_eq!(blocked_until(&k, &rows, 0), None);
        }
        fail(&mut rows, &k, 0);
        assert_eq!(blocked_until(&k, &rows, 0), Some(1_000));
        fail(&mut rows, &k, 0);
        assert_eq!(blocked_until(&k, &rows, 0), Some(2_000));
        assert_eq!(blocked_until(&k, &rows, 2_000), None, "the wait ends");
        // Another client, or the same client on another account, is not held back.
        assert_eq!(blocked_until(&keys("alice", "203.0.113.9"), &rows, 0), None);
        assert_eq!(blocked_until(&keys("bob", "198.51.100.1"), &rows, 0), None);
        assert_eq!(blocked_until(&k, &rows, WINDOW_MS), None, "counters expire");
    }

    #[test]
    fn an_account_under_attack_stays_open_to_clients_that_never_failed() {
        let mut rows = Vec::new();
        for i in 0..ACCOUNT_FREE + 5 {
            fail(&mut rows, &keys("alice", &format!("10.0.0.{i}")), 0);
        }
        // Each attacking address has failed once: it waits.
        assert!(blocked_until(&keys("alice", "10.0.0.1"), &rows, 0).is_some());
        // Alice, from an address that never failed, is never locked out.
        assert_eq!(blocked_until(&keys("alice", "192.0.2.50"), &rows, 0), None);
    }

    #[test]
    fn one_client_spraying_accounts_waits() {
        let mut rows = Vec::new();
        for i in 0..CLIENT_FREE {
            fail(&mut rows, &keys(&format!("user{i}"), "198.51.100.7"), 0);
        }
        assert!(blocked_until(&keys("fresh", "198.51.100.7"), &rows, 0).is_some());
        assert_eq!(
            blocked_until(&keys("fresh", "198.51.100.8"), &rows, 0),
            None
        );
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()];
        let peer: IpAddr = "10.1.2.3".parse().unwrap();
        let xff = Some("1.1.1.1, 203.0.113.5, 10.9.9.9");
        assert_eq!(
            client_address(peer, xff, &trusted),
            "203.0.113.5".parse::<IpAddr>().unwrap()
        );
        let outsider: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(client_address(outsider, xff, &trusted), outsider);
        assert_eq!(client_address(peer, None, &trusted), peer);
        assert!("10.0.0.0/33".parse::<IpNet>().is_err());
        assert!(
            "::ffff:10.1.2.3"
                .parse::<IpNet>()
                .unwrap()
                .contains("10.1.2.3".parse().unwrap())
        );
        assert!(trusted[0].contains("::ffff:10.1.2.3".parse().unwrap()));
    }
}
