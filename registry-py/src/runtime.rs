//! The module's own tokio runtime, and the two ways Python waits for core futures.
//!
//! * Blocking: `run` releases the GIL (`Python::detach`) and `block_on`s the future.
//! * asyncio: `awaitable` spawns the future and returns an `asyncio.Future` of the running loop,
//!   settled through `loop.call_soon_threadsafe`. Cancelling the await does not abort the engine
//!   call: it runs to completion and its result is dropped, so an operation is never cut off
//!   half-way (as with the blocking API, and with Node's promises).
//!
//! The runtime is keyed by process id: worker threads do not survive `fork()`, so a child that
//! calls in gets a fresh runtime, and the parent's (threadless) one is leaked, never dropped.
//!
//! Interpreter exit: a settling thread must not hold the GIL while Python finalizes (CPython
//! aborts with "PyGILState_Release: thread state … must be current"). An `atexit` hook
//! ([`quiesce`]) stops new settles (their results have nobody to go to) and waits, with the GIL
//! released, for the ones under way.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use pyo3::BoundObject;
use pyo3::prelude::*;
use tokio::runtime::Runtime;

use crate::convert::Failure;

static RUNTIME: Mutex<Option<(u32, Arc<Runtime>)>> = Mutex::new(None);
/// Set by the `atexit` hook: the interpreter is shutting down.
static EXITING: AtomicBool = AtomicBool::new(false);
/// Settles holding (or about to take) the GIL.
static SETTLING: AtomicUsize = AtomicUsize::new(0);

/// The runtime of this process, created on first use (and again in a forked child).
pub fn runtime() -> Result<Arc<Runtime>, Failure> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((owner, rt)) = slot.as_ref()
        && *owner == pid
    {
        return Ok(rt.clone());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("berth-rt")
        .build()
        .map_err(|e| Failure::Core(registry_core::Error::Internal(e.into())))?;
    let rt = Arc::new(rt);
    if let Some(inherited) = slot.replace((pid, rt.clone())) {
        // Its threads stayed in the parent; dropping it here would wait for them forever.
        std::mem::forget(inherited);
    }
    Ok(rt)
}

async fn guarded<F, T>(fut: F) -> Result<T, Failure>
where
    F: Future<Output = Result<T, Failure>>,
{
    AssertUnwindSafe(fut)
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            Err(Failure::Core(registry_core::Error::Internal(
                format!("engine panicked: {what}").into(),
            )))
        })
}

/// Run `fut` to completion with the GIL released, and convert its output.
pub fn run<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T, Failure>> + Send,
    T: for<'a> IntoPyObject<'a> + Send,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Failure::Reentrant.into_pyerr(py));
    }
    let rt = runtime().map_err(|e| e.into_pyerr(py))?;
    match py.detach(|| rt.block_on(guarded(fut))) {
        Ok(v) => Ok(v
            .into_pyobject(py)
            .map_err(Into::into)?
            .into_bound()
            .into_any()),
        Err(e) => Err(e.into_pyerr(py)),
    }
}

/// Start `fut` on the runtime and return an `asyncio.Future` for its output. Needs a running
/// event loop (call it from a coroutine).
pub fn awaitable<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T, Failure>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let future = event_loop.call_method0("create_future")?;
    let (loop_ref, fut_ref) = (event_loop.unbind(), future.clone().unbind());
    let rt = runtime().map_err(|e| e.into_pyerr(py))?;
    rt.spawn(async move {
        let out = guarded(fut).await;
        SETTLING.fetch_add(1, Ordering::SeqCst);
        if EXITING.load(Ordering::SeqCst) {
            // The interpreter is finalizing: nobody awaits this any more; never touch Python.
            SETTLING.fetch_sub(1, Ordering::SeqCst);
            std::mem::forget((loop_ref, fut_ref, out));
            return;
        }
        // Settling takes the GIL: do it on a blocking thread, never on a runtime worker.
        drop(tokio::task::spawn_blocking(move || {
            Python::attach(|py| settle(py, &loop_ref, fut_ref, out));
            SETTLING.fetch_sub(1, Ordering::SeqCst);
        }));
    });
    Ok(future)
}

fn settle<T>(py: Python<'_>, event_loop: &Py<PyAny>, future: Py<PyAny>, out: Result<T, Failure>)
where
    T: for<'a> IntoPyObject<'a>,
{
    let (ok, value): (bool, Py<PyAny>) = match out.map_err(|e| e.into_pyerr(py)).and_then(|v| {
        v.into_pyobject(py)
            .map(|o| o.into_bound().into_any().unbind())
            .map_err(Into::into)
    }) {
        Ok(v) => (true, v),
        Err(e) => (false, e.into_value(py).into_any()),
    };
    let setter = match wrap_pyfunction!(set_future, py) {
        Ok(f) => f,
        Err(e) => return e.write_unraisable(py, None),
    };
    // A closed loop cannot take the result; nobody is waiting for it then.
    let _ = event_loop.call_method1(py, "call_soon_threadsafe", (setter, future, ok, value));
}

/// Runs on the event loop's thread: settle `future` unless it was cancelled meanwhile.
#[pyfunction]
fn set_future(future: &Bound<'_, PyAny>, ok: bool, value: Bound<'_, PyAny>) -> PyResult<()> {
    if future.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    if ok {
        future.call_method1("set_result", (value,))?;
    } else {
        future.call_method1("set_exception", (value,))?;
    }
    Ok(())
}

/// `atexit` hook: refuse new settles and wait (GIL released, at most 5 s) for those under way.
#[pyfunction]
pub fn quiesce(py: Python<'_>) {
    EXITING.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(5);
    py.detach(|| {
        while SETTLING.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}
