//! Events that ride in the next metadata transaction of the current task.
//!
//! A domain method that makes one change through the storage layer and records an event for it
//! runs the change inside [`with_pending`]: the first write transaction the task commits in that
//! scope inserts the events before it commits, so the change and its audit entry (and webhook
//! outbox row) are one atomic write. A change that commits nothing records nothing.

use std::cell::RefCell;
use std::future::Future;

use super::governance::NewEvent;

tokio::task_local! {
    static PENDING: RefCell<Option<(Vec<NewEvent>, i64)>>;
}

/// Run `change` with `events` (stamped `now`) pending; returns its output and whether a
/// transaction took the events.
pub async fn with_pending<F: Future>(
    events: Vec<NewEvent>,
    now: i64,
    change: F,
) -> (F::Output, bool) {
    PENDING
        .scope(RefCell::new(Some((events, now))), async move {
            let out = change.await;
            let taken = PENDING.with(|p| p.borrow().is_none());
            (out, taken)
        })
        .await
}

/// The pending events, for the transaction about to commit (once).
pub(crate) fn take() -> Option<(Vec<NewEvent>, i64)> {
    PENDING.try_with(|p| p.borrow_mut().take()).ok().flatten()
}

/// Whether events wait for a transaction in this task.
pub(crate) fn pending() -> bool {
    PENDING.try_with(|p| p.borrow().is_some()).unwrap_or(false)
}

/// Give pending events that name no project the project `id` (a project being created in the
/// transaction that will take them).
pub(crate) fn adopt_project(id: i64) {
    let _ = PENDING.try_with(|p| {
        if let Some((events, _)) = p.borrow_mut().as_mut() {
            for e in events.iter_mut().filter(|e| e.project_id.is_none()) {
                e.project_id = Some(id);
            }
        }
    });
}
