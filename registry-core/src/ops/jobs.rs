//! The job service: persistent executions and tasks, a worker pool, retries with backoff, and
//! cron schedules — safe with several nodes on one PostgreSQL.
//!
//! * An **execution** is one run of something (a garbage collection, a retention run, a webhook
//!   delivery), identified by a vendor type and id as in Harbor; its **tasks** are the units
//!   workers claim. All of it lives in the metadata database, so a restart loses nothing.
//! * A worker **claims** a task with one conditional `UPDATE` (`FOR UPDATE SKIP LOCKED` on
//!   PostgreSQL), which sets a lease it renews while the task runs. A node that dies stops
//!   renewing; once the lease runs out another node takes the task again (counting an attempt).
//!   A task runs on one node at a time.
//! * A failed task is retried with exponential backoff until its attempts run out.
//! * A **schedule** (cron, 5 or 6 fields) fires by moving its `next_fire` forward with a
//!   compare-and-set: whichever node wins starts the execution; each occurrence fires once.
//! * Stopping an execution stops its pending tasks at once and asks running ones to stop; a
//!   handler sees [`TaskContext::stopped`].
//!
//! What a task does is a [`JobHandler`], registered per vendor type.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::meta::governance::{
    ExecutionRow, NewExecution, NewTask, ScheduleRow, TaskOutcome, TaskRow,
};
use crate::model::{ExecHistory, JobSchedule, ScheduleObj, time};
use crate::query::{Field, Kind, ListQuery, Page, field};
use crate::registry::Registry;

/// How long a claimed task is leased before another node may take it over.
pub const LEASE: Duration = Duration::from_secs(30);

/// Longest wait between retries.
const MAX_BACKOFF_MS: i64 = 5 * 60 * 1000;

/// A task's log is kept to this many bytes (the tail).
const MAX_LOG: usize = 1 << 20;

/// Finished executions kept per vendor type (older ones are deleted as new ones start).
pub const KEEP_EXECUTIONS: i64 = 500;

/// Trigger kinds.
pub const MANUAL: &str = "MANUAL";
pub const SCHEDULE: &str = "SCHEDULE";
pub const EVENT: &str = "EVENT";

/// What a task of some vendor type does.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// The tasks of one execution, from the execution's parameters (default: one task with the
    /// same parameters).
    fn plan(&self, params: &serde_json::Value) -> Result<Vec<serde_json::Value>> {
        Ok(vec![params.clone()])
    }

    /// Attempts per task before it is marked `Error` (default 1: no retry).
    fn max_attempts(&self) -> i64 {
        1
    }

    async fn run(&self, reg: &Registry, task: &mut TaskContext) -> Result<()>;
}

/// A running task: its parameters, and where it writes its log and results.
pub struct TaskContext {
    pub task_id: i64,
    pub execution_id: i64,
    pub params: serde_json::Value,
    /// 1 on the first run.
    pub attempt: i64,
    log: Arc<Mutex<String>>,
    attrs: serde_json::Map<String, serde_json::Value>,
    execution_attrs: Option<serde_json::Map<String, serde_json::Value>>,
    stop: Arc<AtomicBool>,
}

impl TaskContext {
    /// Append a line to the task log (kept in the database, shown by the executions API).
    pub fn log(&self, line: impl Display) {
        let mut log = self.log.lock().expect("task log lock");
        log.push_str(&format!(
            "{} {line}\n",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ")
        ));
        if log.len() > MAX_LOG {
            let cut = log.len() - MAX_LOG / 2;
            let cut = (cut..log.len())
                .find(|&i| log.is_char_boundary(i))
                .unwrap_or(log.len());
            log.replace_range(..cut, "…\n");
        }
    }

    /// Set a result attribute of the task.
    pub fn set(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.attrs.insert(key.to_owned(), value.into());
    }

    /// Set a result attribute of the whole execution (GC: freed space, …).
    pub fn set_execution(&mut self, key: &str, value: impl Into<serde_json::Value>) {
        self.execution_attrs
            .get_or_insert_with(Default::default)
            .insert(key.to_owned(), value.into());
    }

    /// Whether the execution was asked to stop (or this node lost the task's lease).
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// The flag behind [`TaskContext::stopped`], for code that cannot borrow the context.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }
}

/// The job service's in-process state.
pub(crate) struct JobState {
    handlers: RwLock<HashMap<String, Arc<dyn JobHandler>>>,
    /// This node's name in leases.
    node: String,
    wake: tokio::sync::Notify,
    /// Worker pools running in this process ([`Registry::spawn_job_workers`]).
    pools: Arc<std::sync::atomic::AtomicUsize>,
}

impl JobState {
    pub(crate) fn new() -> Self {
        Self {
            handlers: RwLock::new(HashMap::new()),
            node: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            wake: tokio::sync::Notify::new(),
            pools: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        }
    }
}

/// Delay before attempt `attempt + 1`: 1 s, 2 s, 4 s … capped at 5 minutes.
pub fn backoff_ms(attempt: i64) -> i64 {
    1000i64
        .saturating_mul(1 << attempt.clamp(0, 20).saturating_sub(1))
        .min(MAX_BACKOFF_MS)
}

/// Parse a cron expression (5 fields, or 6 with seconds first as Harbor writes them).
pub fn parse_cron(expr: &str) -> Result<croner::Cron> {
    croner::Cron::from_str(expr).map_err(|e| Error::BadRequest {
        reason: format!("invalid cron expression {expr:?}: {e}"),
    })
}

/// The first occurrence of `cron` after `after_ms`.
pub fn next_fire(cron: &croner::Cron, after_ms: i64) -> Result<i64> {
    let t = chrono::DateTime::from_timestamp_millis(after_ms).unwrap_or_default();
    cron.find_next_occurrence(&t, false)
        .map(|t| t.timestamp_millis())
        .map_err(|e| Error::BadRequest {
            reason: format!("cron expression never fires: {e}"),
        })
}

const EXECUTION_FIELDS: &[Field] = &[
    field("id", "id", Kind::Int),
    field("status", "status", Kind::Text),
    field("trigger", "trigger_kind", Kind::Text),
    field("start_time", "start_time", Kind::Time),
    field("end_time", "end_time", Kind::Time),
    field("creation_time", "start_time", Kind::Time),
    field("update_time", "update_time", Kind::Time),
];

/// Handle to running workers; dropping it does not stop them, [`JobWorkers::shutdown`] does.
pub struct JobWorkers {
    stop: Arc<tokio::sync::Notify>,
    stopped: Arc<AtomicBool>,
    handles: Vec<tokio::task::JoinHandle<()>>,
    /// The registry's count of running worker pools, decremented on shutdown.
    pools: Arc<std::sync::atomic::AtomicUsize>,
}

impl JobWorkers {
    /// Stop claiming; wait for running tasks to finish.
    pub async fn shutdown(self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.stop.notify_waiters();
        for h in self.handles {
            let _ = h.await;
        }
        self.pools.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Registry {
    /// Register what tasks of `vendor_type` do (replacing an earlier handler).
    pub fn register_job(&self, vendor_type: &str, handler: Arc<dyn JobHandler>) {
        self.jobs
            .handlers
            .write()
            .expect("job handlers lock")
            .insert(vendor_type.to_owned(), handler);
    }

    fn job_handler(&self, vendor_type: &str) -> Option<Arc<dyn JobHandler>> {
        self.jobs
            .handlers
            .read()
            .expect("job handlers lock")
            .get(vendor_type)
            .cloned()
    }

    /// Start an execution of `vendor_type` now; returns its id.
    pub async fn start_execution(
        &self,
        vendor_type: &str,
        vendor_id: i64,
        trigger: &str,
        params: serde_json::Value,
    ) -> Result<i64> {
        let handler = self
            .job_handler(vendor_type)
            .ok_or_else(|| Error::BadRequest {
                reason: format!("no job handler for {vendor_type:?}"),
            })?;
        let now = self.now_ms();
        let tasks = handler
            .plan(&params)?
            .into_iter()
            .map(|p| NewTask {
                params: p.to_string(),
                max_attempts: handler.max_attempts().max(1),
                run_at: now,
            })
            .collect();
        let e = NewExecution {
            vendor_type: vendor_type.to_owned(),
            vendor_id,
            trigger: trigger.to_owned(),
            params: params.to_string(),
            tasks,
        };
        let id = self.meta.create_execution(&e, now).await?;
        if let Err(err) = self
            .meta
            .trim_executions(vendor_type, KEEP_EXECUTIONS)
            .await
        {
            tracing::warn!(vendor_type, error = %err, "could not trim old executions");
        }
        self.jobs.wake.notify_waiters();
        tracing::info!(
            execution = id,
            vendor_type,
            vendor_id,
            trigger,
            "execution started"
        );
        Ok(id)
    }

    /// Claim one runnable task and run it to the end. Returns whether there was one.
    pub async fn run_next_task(&self) -> Result<bool> {
        let now = self.now_ms();
        let lease = LEASE.as_millis() as i64;
        let Some(task) = self.meta.claim_task(&self.jobs.node, now, lease).await? else {
            return Ok(false);
        };
        self.run_task(task).await?;
        Ok(true)
    }

    async fn run_task(&self, task: TaskRow) -> Result<()> {
        let node = self.jobs.node.clone();
        let outcome =
            |status: &str, message: String, log: String, retry_at: Option<i64>| TaskOutcome {
                status: status.to_owned(),
                message,
                log,
                extra_attrs: "{}".to_owned(),
                retry_at,
                execution_attrs: None,
            };
        if task.stop_requested {
            let o = outcome(
                "Stopped",
                "stopped before it ran again".into(),
                task.log.clone(),
                None,
            );
            self.meta
                .finish_task(task.id, &node, &o, self.now_ms())
                .await?;
            return Ok(());
        }
        if task.attempts > task.max_attempts {
            let o = outcome(
                "Error",
                format!(
                    "gave up after {} attempts (the node running it went away)",
                    task.max_attempts
                ),
                task.log.clone(),
                None,
            );
            self.meta
                .finish_task(task.id, &node, &o, self.now_ms())
                .await?;
            return Ok(());
        }
        let Some(handler) = self.job_handler(&task.vendor_type) else {
            // Another node (a newer version?) may know it: give the lease back by retrying later.
            tracing::warn!(
                task = task.id,
                vendor_type = task.vendor_type,
                "no handler for this task here"
            );
            let o = outcome(
                "Pending",
                String::new(),
                task.log.clone(),
                Some(self.now_ms() + 60_000),
            );
            self.meta
                .finish_task(task.id, &node, &o, self.now_ms())
                .await?;
            return Ok(());
        };
        let log = Arc::new(Mutex::new(task.log.clone()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut ctx = TaskContext {
            task_id: task.id,
            execution_id: task.execution_id,
            params: serde_json::from_str(&task.params).unwrap_or_default(),
            attempt: task.attempts,
            log: log.clone(),
            attrs: Default::default(),
            execution_attrs: None,
            stop: stop.clone(),
        };
        ctx.log(format_args!(
            "attempt {} of {} on {node}",
            task.attempts, task.max_attempts
        ));
        let heartbeat = {
            let reg = self.clone();
            let (log, stop, node) = (log.clone(), stop.clone(), node.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(LEASE / 3).await;
                    let text = log.lock().expect("task log lock").clone();
                    let now = reg.now_ms();
                    match reg
                        .meta
                        .renew_task(task.id, &node, now + LEASE.as_millis() as i64, &text, now)
                        .await
                    {
                        Ok(Some(false)) => {}
                        Ok(Some(true)) | Ok(None) => stop.store(true, Ordering::Relaxed),
                        Err(e) => {
                            tracing::warn!(task = task.id, error = %e, "could not renew the task's lease")
                        }
                    }
                }
            })
        };
        let started = std::time::Instant::now();
        let result = handler.run(self, &mut ctx).await;
        heartbeat.abort();
        let elapsed = started.elapsed();
        let now = self.now_ms();
        let (status, message, retry_at) = match &result {
            Ok(()) if ctx.stopped() => ("Stopped", "stopped on request".to_owned(), None),
            Ok(()) => ("Success", String::new(), None),
            // A handler that gives up because it was stopped (between two blobs, …) was stopped,
            // not failed.
            Err(e) if ctx.stopped() => {
                ctx.log(format_args!("stopped on request: {e}"));
                ("Stopped", "stopped on request".to_owned(), None)
            }
            Err(e) if task.attempts < task.max_attempts => {
                let at = now + backoff_ms(task.attempts);
                ctx.log(format_args!("failed: {e}; retrying in {} ms", at - now));
                ("Pending", e.to_string(), Some(at))
            }
            Err(e) => {
                ctx.log(format_args!("failed: {e}"));
                ("Error", e.to_string(), None)
            }
        };
        ctx.log(format_args!(
            "{status} after {:.3} s",
            elapsed.as_secs_f64()
        ));
        let o = TaskOutcome {
            status: status.to_owned(),
            message,
            log: log.lock().expect("task log lock").clone(),
            extra_attrs: serde_json::Value::Object(ctx.attrs).to_string(),
            retry_at,
            execution_attrs: ctx
                .execution_attrs
                .map(|m| serde_json::Value::Object(m).to_string()),
        };
        if !self.meta.finish_task(task.id, &node, &o, now).await? {
            tracing::warn!(
                task = task.id,
                "the task's lease was lost before it finished; its outcome is dropped"
            );
        }
        tracing::info!(
            task = task.id,
            execution = task.execution_id,
            vendor_type = task.vendor_type,
            status,
            elapsed_ms = elapsed.as_millis() as u64,
            "task finished"
        );
        Ok(())
    }

    /// Fire every schedule that is due (each occurrence once across nodes). Returns how many
    /// executions were started.
    pub async fn fire_due_schedules(&self) -> Result<usize> {
        let now = self.now_ms();
        let mut fired = 0;
        for s in self.meta.due_schedules(now).await? {
            let next = match parse_cron(&s.cron).and_then(|c| next_fire(&c, now)) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(schedule = s.id, cron = s.cron, error = %e, "schedule cannot fire; disabling it");
                    i64::MAX
                }
            };
            if !self.meta.advance_schedule(s.id, s.next_fire, next).await? {
                continue; // another node fired it
            }
            if next == i64::MAX {
                continue;
            }
            let params = serde_json::from_str(&s.params).unwrap_or_default();
            match self
                .start_execution(&s.vendor_type, s.vendor_id, SCHEDULE, params)
                .await
            {
                Ok(_) => fired += 1,
                Err(e) => {
                    tracing::error!(schedule = s.id, vendor_type = s.vendor_type, error = %e, "scheduled execution failed to start")
                }
            }
        }
        Ok(fired)
    }

    /// Run tasks until none is runnable now. For command-line runs and tests.
    pub async fn run_jobs_until_idle(&self) -> Result<usize> {
        let mut n = 0;
        while self.run_next_task().await? {
            n += 1;
        }
        Ok(n)
    }

    /// Whether this process runs job workers. Work that must happen without them (an embedding
    /// program that never starts workers) runs in the background instead of as a job.
    pub fn runs_job_workers(&self) -> bool {
        self.jobs.pools.load(Ordering::SeqCst) > 0
    }

    /// Start `workers` worker loops (and the schedule ticker) on the current runtime.
    pub fn spawn_job_workers(&self, workers: usize) -> JobWorkers {
        let stop = Arc::new(tokio::sync::Notify::new());
        let stopped = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        for _ in 0..workers.max(1) {
            let (reg, stop, stopped) = (self.clone(), stop.clone(), stopped.clone());
            handles.push(tokio::spawn(async move {
                while !stopped.load(Ordering::SeqCst) {
                    match reg.run_next_task().await {
                        Ok(true) => continue,
                        Ok(false) => {}
                        Err(e) => tracing::warn!(error = %e, "job worker could not claim a task"),
                    }
                    tokio::select! {
                        _ = reg.jobs.wake.notified() => {}
                        _ = stop.notified() => {}
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }));
        }
        let (reg, stop2, stopped2) = (self.clone(), stop.clone(), stopped.clone());
        handles.push(tokio::spawn(async move {
            while !stopped2.load(Ordering::SeqCst) {
                if let Err(e) = reg.fire_due_schedules().await {
                    tracing::warn!(error = %e, "could not fire schedules");
                }
                tokio::select! {
                    _ = stop2.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }));
        self.jobs.pools.fetch_add(1, Ordering::SeqCst);
        JobWorkers {
            stop,
            stopped,
            handles,
            pools: self.jobs.pools.clone(),
        }
    }

    /// Set (or replace) the cron schedule of `vendor_type`/`vendor_id`.
    pub async fn set_schedule(
        &self,
        vendor_type: &str,
        vendor_id: i64,
        cron: &str,
        params: serde_json::Value,
    ) -> Result<ScheduleRow> {
        let parsed = parse_cron(cron)?;
        let now = self.now_ms();
        let existing = self.meta.schedule(vendor_type, vendor_id).await?;
        let row = ScheduleRow {
            id: existing.as_ref().map_or(0, |s| s.id),
            vendor_type: vendor_type.to_owned(),
            vendor_id,
            cron: cron.to_owned(),
            params: params.to_string(),
            next_fire: next_fire(&parsed, now)?,
            creation_time: existing.as_ref().map_or(now, |s| s.creation_time),
            update_time: now,
        };
        self.meta.upsert_schedule(&row).await?;
        Ok(self
            .meta
            .schedule(vendor_type, vendor_id)
            .await?
            .unwrap_or(row))
    }

    pub async fn remove_schedule(&self, vendor_type: &str, vendor_id: i64) -> Result<bool> {
        self.meta.delete_schedule(vendor_type, vendor_id).await
    }

    pub async fn schedule(&self, vendor_type: &str, vendor_id: i64) -> Result<Option<ScheduleRow>> {
        self.meta.schedule(vendor_type, vendor_id).await
    }

    /// Executions of a vendor type (optionally one vendor id), newest first by default. `q`
    /// keys: id, status, trigger, start_time, end_time, update_time.
    pub async fn executions(
        &self,
        vendor_type: &str,
        vendor_id: Option<i64>,
        q: &ListQuery,
    ) -> Result<Page<ExecutionRow>> {
        let spec = q.parse(EXECUTION_FIELDS, &[("id", true)])?;
        let (rows, total) = self
            .meta
            .list_executions(vendor_type, vendor_id, &spec)
            .await?;
        Ok(spec.page_of(rows, total))
    }

    pub async fn execution(&self, id: i64) -> Result<ExecutionRow> {
        self.meta
            .execution(id)
            .await?
            .ok_or_else(|| Error::NotFound {
                what: format!("execution {id}"),
            })
    }

    /// An execution of `vendor_type`; `NOT_FOUND` naming it `what` otherwise.
    pub(crate) async fn execution_of(
        &self,
        vendor_type: &str,
        id: i64,
        what: &str,
    ) -> Result<ExecutionRow> {
        match self.execution(id).await {
            Ok(e) if e.vendor_type == vendor_type => Ok(e),
            Ok(_) | Err(Error::NotFound { .. }) => Err(Error::NotFound {
                what: format!("{what} {id}"),
            }),
            Err(e) => Err(e),
        }
    }

    /// The logs of an execution's tasks, in task order.
    pub async fn execution_log(&self, id: i64) -> Result<String> {
        Ok(self
            .execution_tasks(id)
            .await?
            .into_iter()
            .map(|t| t.log)
            .collect::<Vec<_>>()
            .join(""))
    }

    pub async fn execution_tasks(&self, execution_id: i64) -> Result<Vec<TaskRow>> {
        self.meta.list_tasks(execution_id).await
    }

    pub async fn task(&self, id: i64) -> Result<TaskRow> {
        self.meta.task(id).await?.ok_or_else(|| Error::NotFound {
            what: format!("task {id}"),
        })
    }

    /// Stop an execution (its pending tasks at once, running ones at their next check).
    pub async fn stop_execution(&self, id: i64) -> Result<()> {
        self.execution(id).await?;
        if self.meta.stop_execution(id, self.now_ms()).await? {
            Ok(())
        } else {
            Err(Error::PreconditionFailed {
                reason: format!("execution {id} has already finished"),
            })
        }
    }
}

/// The cron a Harbor `ScheduleObj` stands for: `None` for type `None`; `Manual` is not a
/// schedule (the caller runs it now).
pub fn schedule_cron(obj: &ScheduleObj) -> Result<Option<String>> {
    let cron = match obj.kind.as_str() {
        "None" | "" => return Ok(None),
        "Hourly" => "0 0 * * * *".to_owned(),
        "Daily" => "0 0 0 * * *".to_owned(),
        "Weekly" => "0 0 0 * * 0".to_owned(),
        "Custom" | "Schedule" => {
            parse_cron(&obj.cron)?;
            obj.cron.clone()
        }
        other => {
            return Err(Error::BadRequest {
                reason: format!(
                    "schedule type {other:?} is not one of Hourly, Daily, Weekly, Custom, Manual, None"
                ),
            });
        }
    };
    Ok(Some(cron))
}

/// The schedule type a stored cron reads back as (what [`schedule_cron`] made of it).
pub fn schedule_kind(cron: &str) -> &'static str {
    match cron {
        "0 0 * * * *" => "Hourly",
        "0 0 0 * * *" => "Daily",
        "0 0 0 * * 0" => "Weekly",
        _ => "Custom",
    }
}

/// A finished or running execution as Harbor's `ExecHistory`.
pub fn exec_history(row: ExecutionRow) -> ExecHistory {
    let params = match (
        serde_json::from_str::<serde_json::Value>(&row.params),
        serde_json::from_str::<serde_json::Value>(&row.extra_attrs),
    ) {
        (Ok(serde_json::Value::Object(mut p)), Ok(serde_json::Value::Object(extra))) => {
            p.extend(extra);
            serde_json::Value::Object(p).to_string()
        }
        _ => row.params.clone(),
    };
    ExecHistory {
        id: row.id,
        job_name: row.vendor_type,
        job_kind: row.trigger_kind,
        job_parameters: params,
        schedule: None,
        job_status: row.status,
        deleted: false,
        creation_time: time(row.start_time),
        update_time: time(row.update_time),
    }
}

impl Registry {
    /// The schedule of a system job (vendor id 0) as Harbor shows it.
    pub async fn system_job_schedule(&self, vendor_type: &str) -> Result<JobSchedule> {
        Ok(match self.meta.schedule(vendor_type, 0).await? {
            None => JobSchedule {
                schedule: Some(ScheduleObj {
                    kind: "None".into(),
                    ..ScheduleObj::default()
                }),
                ..JobSchedule::default()
            },
            Some(s) => JobSchedule {
                schedule: Some(ScheduleObj {
                    kind: schedule_kind(&s.cron).into(),
                    cron: s.cron,
                    next_scheduled_time: Some(time(s.next_fire)),
                }),
                parameters: serde_json::from_str(&s.params).unwrap_or_default(),
                creation_time: Some(time(s.creation_time)),
                update_time: Some(time(s.update_time)),
            },
        })
    }

    /// Apply a Harbor `Schedule` to a system job: `Manual` starts an execution now with `start`
    /// (returning its id), `None` removes the schedule, anything else sets the cron. `params`
    /// are the already-validated parameters.
    pub(crate) async fn apply_system_schedule<F, Fut>(
        &self,
        vendor_type: &str,
        req: &JobSchedule,
        params: serde_json::Value,
        start: F,
    ) -> Result<Option<i64>>
    where
        F: FnOnce(serde_json::Value) -> Fut,
        Fut: std::future::Future<Output = Result<i64>>,
    {
        let obj = req.schedule.clone().ok_or_else(|| Error::BadRequest {
            reason: "schedule is required".into(),
        })?;
        if obj.kind == "Manual" {
            return start(params).await.map(Some);
        }
        match schedule_cron(&obj)? {
            None => {
                self.remove_schedule(vendor_type, 0).await?;
            }
            Some(cron) => {
                self.set_schedule(vendor_type, 0, &cron, params).await?;
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff_ms(1), 1000);
        assert_eq!(backoff_ms(2), 2000);
        assert_eq!(backoff_ms(4), 8000);
        assert_eq!(backoff_ms(40), MAX_BACKOFF_MS);
    }

    #[test]
    fn cron_takes_five_or_six_fields() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:30Z")
            .unwrap()
            .timestamp_millis();
        let six = parse_cron("0 0 * * * *").unwrap();
        assert_eq!(next_fire(&six, at).unwrap(), at - 30_000 + 3_600_000);
        let five = parse_cron("*/5 * * * *").unwrap();
        assert_eq!(next_fire(&five, at).unwrap(), at - 30_000 + 300_000);
        assert!(parse_cron("nope").is_err());
        assert!(parse_cron("61 * * * *").is_err());
    }
}
