//! Operations: what keeps a registry running.
//!
//! - [`quota`]: per-project storage quotas, charged and released in the transaction that links or
//!   unlinks content;
//! - [`gc`]: online, precise garbage collection;
//! - [`jobs`]: the job service (executions, tasks, leases, retries, cron schedules);
//! - [`settings`]: Harbor's `/configurations` and the read-only switch.

pub mod gc;
pub mod jobs;
pub mod quota;
pub mod settings;
