//! Group commit for blob links.
//!
//! Linking a pushed blob changes what its project holds, so its transaction locks the project's
//! quota row first, and concurrent pushes into one project wait for each other there: on
//! PostgreSQL each holds the lock for six round trips, on SQLite the one writer for as long.
//! Links of one project that arrive while another is being written are queued and written
//! together, in one transaction with set-based statements
//! ([`MetadataStore::link_new_blobs`](crate::meta::MetadataStore::link_new_blobs)).
//!
//! Each link still gets its own answer: when the batch cannot be written as a whole (a blob
//! collected meanwhile, a quota that cannot hold them all, a database error), its links are
//! written one at a time, exactly as without batching. A lone link is written as before. The
//! queue is drained by a task of its own, so a client that goes away cannot strand the links
//! queued behind its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::meta::{MetadataStore, NewBlobLink};

/// Links written in one transaction at most.
const MAX_BATCH: usize = 64;

struct Pending {
    link: NewBlobLink,
    done: oneshot::Sender<Result<()>>,
}

/// The links waiting, per project; a project is present while a task drains its queue.
#[derive(Default)]
pub(crate) struct LinkQueue {
    waiting: Mutex<HashMap<String, Vec<Pending>>>,
}

impl std::fmt::Debug for LinkQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkQueue").finish_non_exhaustive()
    }
}

impl LinkQueue {
    /// Link a published blob (see [`MetadataStore::link_new_blob`]), together with the other
    /// links of its project that are waiting.
    ///
    /// The links' time is read from `clock` just before they are written, not when they were
    /// queued: garbage collection leaves blobs touched after its cutoff alone, and a link
    /// stamped earlier would give it longer to claim a blob being linked.
    pub(crate) async fn link(
        self: &Arc<Self>,
        meta: &Arc<dyn MetadataStore>,
        clock: &Arc<dyn Clock>,
        link: NewBlobLink,
    ) -> Result<()> {
        // Events pending in this task ride in its next transaction: link it here.
        if crate::meta::outbox::pending() {
            return meta
                .link_new_blob(&link.repo, &link.digest, link.size, clock.now_ms())
                .await;
        }
        let project = link.repo.project().to_owned();
        let (done, answer) = oneshot::channel();
        let start = {
            let mut waiting = self.lock();
            let start = !waiting.contains_key(&project);
            waiting
                .entry(project.clone())
                .or_default()
                .push(Pending { link, done });
            start
        };
        if start {
            let (queue, meta, clock) = (self.clone(), meta.clone(), clock.clone());
            // In the span of the request that started it: its statements and logs show there.
            let drain = async move { queue.drain(&meta, &clock, &project).await };
            tokio::spawn(tracing::Instrument::in_current_span(drain));
        }
        answer.await.unwrap_or_else(|_| {
            Err(Error::Unavailable {
                reason: "the blob link was not written; push the blob again".into(),
            })
        })
    }

    /// Write the project's queued links until none is left.
    async fn drain(&self, meta: &Arc<dyn MetadataStore>, clock: &Arc<dyn Clock>, project: &str) {
        // Should this task end early (a panic), the project's queue goes with it: the waiting
        // pushes get an error instead of waiting for good, and the next link starts a new task.
        let mut guard = Draining {
            queue: self,
            project,
            ended: false,
        };
        loop {
            let batch: Vec<Pending> = {
                let mut waiting = self.lock();
                let Some(queue) = waiting.get_mut(project) else {
                    return;
                };
                if queue.is_empty() {
                    // Under the same lock as the check: a link queued after it starts a new task.
                    waiting.remove(project);
                    guard.ended = true;
                    return;
                }
                let n = queue.len().min(MAX_BATCH);
                queue.drain(..n).collect()
            };
            write(meta, clock, batch).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Pending>>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Removes a project's queue when the task draining it ends before emptying it.
struct Draining<'a> {
    queue: &'a LinkQueue,
    project: &'a str,
    ended: bool,
}

impl Drop for Draining<'_> {
    fn drop(&mut self) {
        if !self.ended {
            self.queue.lock().remove(self.project);
        }
    }
}

async fn write(meta: &Arc<dyn MetadataStore>, clock: &Arc<dyn Clock>, batch: Vec<Pending>) {
    if batch.len() > 1 {
        let links: Vec<NewBlobLink> = batch.iter().map(|p| p.link.clone()).collect();
        match meta.link_new_blobs(&links, clock.now_ms()).await {
            Ok(true) => {
                for p in batch {
                    let _ = p.done.send(Ok(()));
                }
                return;
            }
            Ok(false) => {}
            Err(e) => {
                tracing::debug!(links = links.len(), error = %e, "batched blob links failed; writing them one at a time");
            }
        }
    }
    for p in batch {
        let l = &p.link;
        let r = meta
            .link_new_blob(&l.repo, &l.digest, l.size, clock.now_ms())
            .await;
        let _ = p.done.send(r);
    }
}
