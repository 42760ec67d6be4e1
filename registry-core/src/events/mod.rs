//! Events: what happened, who did it, from where.
//!
//! Every change worth recording becomes a row of the `events` table, written in the transaction
//! of the change itself: manifest push and delete and quota warnings pass their events to the
//! storage call; other changes run inside [`Registry::with_events`], whose events the storage
//! layer inserts in the next transaction it commits ([`crate::meta::outbox`]). Only events about
//! something that did not change anything — a refusal over quota, a retention run's summary —
//! are written on their own. That table is both the audit trail and the
//! outbox consumers (webhooks, later replication) read: a crash between the commit and a
//! delivery loses nothing, because the consumer's pending flag is only cleared once it has
//! handled the row.
//!
//! Who and from where come from the [`Actor`] of the current task: frontends run each request
//! inside [`with_actor`] (the HTTP layer does it in its auth middleware), so core methods need no
//! extra argument to attribute what they record.

pub mod audit;
pub mod webhook;

use std::future::Future;

pub use crate::meta::governance::NewEvent;

/// Harbor's event types (webhook-selectable).
pub const PUSH_ARTIFACT: &str = "PUSH_ARTIFACT";
pub const PULL_ARTIFACT: &str = "PULL_ARTIFACT";
pub const DELETE_ARTIFACT: &str = "DELETE_ARTIFACT";
pub const QUOTA_EXCEED: &str = "QUOTA_EXCEED";
pub const QUOTA_WARNING: &str = "QUOTA_WARNING";
pub const TAG_RETENTION: &str = "TAG_RETENTION";

/// Who is acting, for events and audit entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    /// User name, `robot$…`, or empty for anonymous and system work.
    pub name: String,
    /// The client's address as the frontend saw it.
    pub remote_addr: String,
}

impl Actor {
    pub fn new(name: impl Into<String>, remote_addr: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            remote_addr: remote_addr.into(),
        }
    }
}

tokio::task_local! {
    static ACTOR: Actor;
}

/// Run `f` with `actor` as the one events are attributed to.
pub async fn with_actor<F: Future>(actor: Actor, f: F) -> F::Output {
    ACTOR.scope(actor, f).await
}

/// The actor of the current task (empty when none was set: system work, embedding code).
pub fn current_actor() -> Actor {
    ACTOR.try_with(Clone::clone).unwrap_or_default()
}

impl NewEvent {
    /// An event attributed to the current [`Actor`], successful, with an empty payload.
    pub fn new(
        event_type: &str,
        resource_type: &str,
        resource: impl Into<String>,
        operation: &str,
    ) -> Self {
        let actor = current_actor();
        Self {
            event_type: event_type.to_owned(),
            resource_type: resource_type.to_owned(),
            resource: resource.into(),
            operation: operation.to_owned(),
            project_id: None,
            operator: actor.name,
            remote_addr: actor.remote_addr,
            success: true,
            payload: "{}".to_owned(),
        }
    }

    pub fn project(mut self, id: i64) -> Self {
        self.project_id = Some(id);
        self
    }

    pub fn payload(mut self, v: serde_json::Value) -> Self {
        self.payload = v.to_string();
        self
    }

    pub fn failed(mut self) -> Self {
        self.success = false;
        self
    }
}

impl crate::registry::Registry {
    /// Record an event outside any other transaction; a failure is logged, not returned (the
    /// change it describes has happened).
    pub(crate) async fn record(&self, e: NewEvent) {
        if let Err(err) = self
            .meta
            .insert_events(std::slice::from_ref(&e), self.now_ms())
            .await
        {
            tracing::error!(event = e.event_type, resource = e.resource, error = %err, "could not record event");
        }
    }

    /// Make one change through the storage layer with `events` written in its transaction:
    /// both happen or neither does. A change that commits nothing (a delete of nothing) records
    /// nothing.
    pub(crate) async fn with_events<T>(
        &self,
        events: Vec<NewEvent>,
        change: impl std::future::Future<Output = crate::error::Result<T>>,
    ) -> crate::error::Result<T> {
        let (out, taken) = crate::meta::outbox::with_pending(events, self.now_ms(), change).await;
        if out.is_ok() && !taken {
            tracing::debug!("a change recorded with events committed no transaction");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_take_the_actor_of_their_task() {
        assert_eq!(
            NewEvent::new(PUSH_ARTIFACT, "artifact", "a/b:1", "create").operator,
            ""
        );
        let e = with_actor(Actor::new("alice", "10.0.0.7"), async {
            NewEvent::new(PUSH_ARTIFACT, "artifact", "a/b:1", "create")
        })
        .await;
        assert_eq!(
            (e.operator.as_str(), e.remote_addr.as_str()),
            ("alice", "10.0.0.7")
        );
    }
}
