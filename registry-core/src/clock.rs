//! Time as a seam, so expiry, purges, schedules, flush intervals and cache lifetimes are
//! testable: code reads the time and waits through its [`Clock`], and tests move a
//! [`FakeClock`] instead of sleeping.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;

/// A source of the current time in unix milliseconds, and of waits measured on it.
pub trait Clock: Send + Sync + Debug + 'static {
    fn now_ms(&self) -> i64;

    /// Wait until this clock has moved `d` forward: a timer for the system clock; for a fake
    /// clock, until a test advances it that far.
    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()>;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }

    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(d))
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Default)]
pub struct FakeClock {
    now: Arc<AtomicI64>,
    moved: Arc<tokio::sync::Notify>,
}

impl FakeClock {
    pub fn new(start_ms: i64) -> Self {
        Self {
            now: Arc::new(AtomicI64::new(start_ms)),
            moved: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Move the clock forward, waking every wait it ended.
    pub fn advance(&self, ms: i64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
        self.moved.notify_waiters();
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }

    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        let deadline = self.now_ms().saturating_add(d.as_millis() as i64);
        let (now, moved) = (self.now.clone(), self.moved.clone());
        Box::pin(async move {
            loop {
                let woken = moved.notified();
                tokio::pin!(woken);
                woken.as_mut().enable();
                if now.load(Ordering::SeqCst) >= deadline {
                    return;
                }
                woken.await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_fake_sleep_ends_when_the_clock_is_advanced_far_enough() {
        let clock = FakeClock::new(0);
        let wait = tokio::spawn(clock.sleep(Duration::from_millis(1000)));
        tokio::task::yield_now().await;
        clock.advance(999);
        tokio::task::yield_now().await;
        assert!(!wait.is_finished());
        clock.advance(1);
        tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .expect("the wait ends")
            .unwrap();
    }
}
