//! Policy: rules that decide what may stay and what may change.
//!
//! - [`selector`]: Harbor's artifact selectors (doublestar, regex, labels);
//! - [`immutable`]: immutable tag rules, checked inside the manifest transaction;
//! - [`retention`]: tag retention policies, dry runs and runs on the job service;
//! - [`trust`]: content trust (signed-only pulls) and signature verification with trusted keys;
//! - [`vulnerability`]: vulnerable-image prevention (`prevent_vul`) and CVE allowlists.

pub mod immutable;
pub mod retention;
pub mod selector;
pub mod trust;
pub mod vulnerability;
