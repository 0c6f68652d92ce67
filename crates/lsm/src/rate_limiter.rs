//! [`RateLimiter`]: a token bucket on the bytes compaction writes.
//!
//! The rate may change while merges run (a waiting merge sees the new rate at its next
//! look, within [`SLEEP_SLICE`]); a rate of 0 lets everything through at once.
//! Compaction asks for the bytes of each entry before writing it; when the bucket is
//! empty it sleeps until enough tokens have accumulated at the configured rate, in slices
//! of at most [`SLEEP_SLICE`] so that a shutdown interrupts it promptly. The bucket holds
//! at most one second of tokens, so an idle period buys a burst of at most that much.
//! Flushes are never throttled: they are what frees memory for writers.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The longest single sleep, so that a shutdown is seen within it.
pub(crate) const SLEEP_SLICE: Duration = Duration::from_millis(50);

/// Where time comes from (a fake one in tests).
pub(crate) trait Clock: Send + Sync {
    fn now(&self) -> Instant;
    fn sleep(&self, duration: Duration);
}

/// The real clock.
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// A token bucket; see the module docs.
pub(crate) struct RateLimiter {
    bytes_per_sec: AtomicU64,
    clock: Box<dyn Clock>,
    bucket: Mutex<Bucket>,
    stopped: AtomicBool,
}

struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

impl RateLimiter {
    /// A limiter of `bytes_per_sec` (0: no limit), starting with an empty bucket.
    pub(crate) fn new(bytes_per_sec: u64, clock: Box<dyn Clock>) -> Self {
        let now = clock.now();
        Self {
            bytes_per_sec: AtomicU64::new(bytes_per_sec),
            clock,
            bucket: Mutex::new(Bucket {
                tokens: 0.0,
                refilled_at: now,
            }),
            stopped: AtomicBool::new(false),
        }
    }

    /// Waits until `bytes` may be written; `false` when the limiter was stopped.
    pub(crate) fn acquire(&self, bytes: u64) -> bool {
        if self.bytes_per_sec.load(Ordering::Relaxed) == 0 {
            return !self.stopped.load(Ordering::Acquire);
        }
        let mut bucket = self.bucket.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if self.stopped.load(Ordering::Acquire) {
                return false;
            }
            let rate = self.bytes_per_sec.load(Ordering::Relaxed) as f64;
            if rate == 0.0 {
                return true;
            }
            let now = self.clock.now();
            let elapsed = now
                .saturating_duration_since(bucket.refilled_at)
                .as_secs_f64();
            bucket.tokens = (bucket.tokens + elapsed * rate).min(rate);
            bucket.refilled_at = now;
            if bucket.tokens >= bytes as f64 || bucket.tokens >= rate {
                bucket.tokens -= bytes as f64;
                return true;
            }
            let missing = (bytes as f64).min(rate) - bucket.tokens;
            let wait = Duration::from_secs_f64(missing / rate).min(SLEEP_SLICE);
            // Sleep holding the lock: other compactions queue behind this one, which is
            // what a shared budget means.
            self.clock.sleep(wait.max(Duration::from_micros(100)));
        }
    }

    /// Sets the rate (0: no limit) for every waiting and future [`Self::acquire`].
    pub(crate) fn set_rate(&self, bytes_per_sec: u64) {
        self.bytes_per_sec.store(bytes_per_sec, Ordering::Relaxed);
    }

    /// Makes every waiting and future [`Self::acquire`] return `false`.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A clock that advances only when slept on, and records the total slept.
    struct FakeClock {
        start: Instant,
        slept: Arc<Mutex<Duration>>,
    }

    impl Clock for FakeClock {
        fn now(&self) -> Instant {
            self.start + *self.slept.lock().unwrap_or_else(PoisonError::into_inner)
        }

        fn sleep(&self, duration: Duration) {
            *self.slept.lock().unwrap_or_else(PoisonError::into_inner) += duration;
        }
    }

    #[test]
    fn writing_at_the_limit_takes_bytes_over_rate_seconds() {
        let slept = Arc::new(Mutex::new(Duration::ZERO));
        let clock = FakeClock {
            start: Instant::now(),
            slept: Arc::clone(&slept),
        };
        let limiter = RateLimiter::new(1_000_000, Box::new(clock));
        for _ in 0..3_000 {
            assert!(limiter.acquire(1_000));
        }
        let slept = *slept.lock().unwrap_or_else(PoisonError::into_inner);
        // 3 MB at 1 MB/s: three seconds, within the 100 us granularity of each wait.
        assert!(
            (2.9..=3.2).contains(&slept.as_secs_f64()),
            "slept {slept:?}"
        );
    }

    #[test]
    fn a_new_rate_reaches_a_waiting_acquire_and_zero_lifts_the_limit() {
        let slept = Arc::new(Mutex::new(Duration::ZERO));
        let clock = FakeClock {
            start: Instant::now(),
            slept: Arc::clone(&slept),
        };
        let limiter = RateLimiter::new(1_000, Box::new(clock));
        assert!(limiter.acquire(1_000));
        limiter.set_rate(1_000_000);
        for _ in 0..1_000 {
            assert!(limiter.acquire(1_000));
        }
        // 1 KB at 1 KB/s, then 1 MB at 1 MB/s: about two seconds.
        let total = *slept.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(
            (1.9..=2.3).contains(&total.as_secs_f64()),
            "slept {total:?}"
        );
        limiter.set_rate(0);
        for _ in 0..1_000 {
            assert!(limiter.acquire(u64::MAX));
        }
        assert_eq!(*slept.lock().unwrap_or_else(PoisonError::into_inner), total);
    }

    #[test]
    fn a_stopped_limiter_lets_nothing_through() {
        let limiter = RateLimiter::new(10, Box::new(SystemClock));
        limiter.stop();
        assert!(!limiter.acquire(1));
    }
}
