//! A cheap monotonic clock for TTL checks on the hit path.
//!
//! `Instant::now()` costs about 25 ns on a virtual machine, more than the rest of a hit. On
//! Linux the kernel keeps a coarse monotonic clock (`CLOCK_MONOTONIC_COARSE`) that is read
//! from shared memory in a few nanoseconds; it lags the precise clock by less than its
//! resolution (one scheduler tick). Elsewhere this falls back to `Instant`.
//!
//! Deadlines are computed and checked so that lag can only make an entry expire early, never
//! late: an entry older than its TTL is never returned.
//!
//! Even the coarse clock costs about 5 ns, half a hit. So once a TTL is in use, a background
//! thread copies the clock into an atomic every [`TICK`]; a hit on an entry that is more than
//! [`MARGIN`] from its deadline by that copy is live without reading the clock. Closer to the
//! deadline, the clock itself decides. The copy is trusted only that far: an entry could be
//! returned late only if the ticking thread were held up for longer than [`MARGIN`] while
//! other threads of the process ran.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// Nanoseconds on a monotonic clock with an arbitrary origin.
pub(crate) type Nanos = u64;

/// A deadline that never passes (no TTL).
pub(crate) const NEVER: Nanos = u64::MAX;

#[cfg(target_os = "linux")]
mod imp {
    use super::Nanos;
    use std::sync::OnceLock;

    fn read(clock: libc::clockid_t) -> Option<Nanos> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
        let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
        (rc == 0).then(|| (ts.tv_sec as u64).wrapping_mul(1_000_000_000) + ts.tv_nsec as u64)
    }

    /// The coarse clock's resolution, or `None` when the kernel does not offer it.
    fn resolution() -> Option<Nanos> {
        static RESOLUTION: OnceLock<Option<Nanos>> = OnceLock::new();
        *RESOLUTION.get_or_init(|| {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: as above.
            let rc = unsafe { libc::clock_getres(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
            (rc == 0 && read(libc::CLOCK_MONOTONIC_COARSE).is_some())
                .then(|| (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64)
        })
    }

    /// A lower bound of the current time and how far below the true time it may be.
    #[inline]
    pub(super) fn now_with_lag() -> (Nanos, Nanos) {
        match resolution() {
            Some(res) => (read(libc::CLOCK_MONOTONIC_COARSE).unwrap_or(0), res),
            None => (read(libc::CLOCK_MONOTONIC).unwrap_or(0), 0),
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::Nanos;
    use std::sync::OnceLock;
    use std::time::Instant;

    #[inline]
    pub(super) fn now_with_lag() -> (Nanos, Nanos) {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        let origin = *ORIGIN.get_or_init(Instant::now);
        (origin.elapsed().as_nanos() as Nanos, 0)
    }
}

/// How often the background thread copies the clock.
const TICK: Duration = Duration::from_millis(10);

/// How far from its deadline an entry must be for the copied clock to decide.
const MARGIN: Nanos = 1_000_000_000;

/// The clock as last copied by the ticking thread; 0 until it runs.
static TICKED: AtomicU64 = AtomicU64::new(0);

/// Starts the ticking thread, once. If it cannot start, every check reads the clock.
fn start_ticking() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let _ = std::thread::Builder::new()
            .name("cached-core-clock".into())
            .spawn(|| loop {
                TICKED.store(imp::now_with_lag().0, Ordering::Relaxed);
                std::thread::sleep(TICK);
            });
    });
}

/// The deadline of an entry stored now with this TTL.
///
/// The clock reads at most `lag` below the true time, so `now` is already a lower bound of the
/// store time and the deadline can only be early.
pub(crate) fn deadline(ttl: Option<Duration>) -> Nanos {
    match ttl {
        None => NEVER,
        Some(ttl) => {
            start_ticking();
            let (now, _) = imp::now_with_lag();
            now.saturating_add(u64::try_from(ttl.as_nanos()).unwrap_or(u64::MAX))
        }
    }
}

/// Whether an entry with this deadline may still be returned.
///
/// The true time may be up to `lag` above the reading, so the entry is kept only while even
/// that upper bound is before the deadline.
#[inline]
pub(crate) fn is_live(deadline: Nanos) -> bool {
    if deadline == NEVER {
        return true;
    }
    let ticked = TICKED.load(Ordering::Relaxed);
    if ticked != 0 && ticked.saturating_add(MARGIN) < deadline {
        return true;
    }
    is_live_now(deadline)
}

/// The exact form of [`is_live`], reading the clock.
#[cold]
fn is_live_now(deadline: Nanos) -> bool {
    let (now, lag) = imp::now_with_lag();
    now.saturating_add(lag) < deadline
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_expires_no_later_than_its_ttl() {
        let ttl = Duration::from_millis(30);
        let deadline = deadline(Some(ttl));
        // Taken after the deadline, so `age` never exceeds the entry's true age.
        let stored = std::time::Instant::now();
        loop {
            let age = stored.elapsed();
            if !is_live(deadline) {
                assert!(age >= Duration::from_millis(1), "expired at once: {age:?}");
                break;
            }
            assert!(age < ttl, "still live at {age:?}, past the {ttl:?} TTL");
            std::thread::yield_now();
        }
    }

    #[test]
    fn the_ticking_clock_runs_and_never_leads_the_real_one() {
        deadline(Some(Duration::from_secs(1)));
        let start = std::time::Instant::now();
        while TICKED.load(Ordering::Relaxed) == 0 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the clock thread never ticked"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let (now, lag) = imp::now_with_lag();
        assert!(TICKED.load(Ordering::Relaxed) <= now + lag);
    }

    #[test]
    fn no_ttl_never_expires() {
        assert!(is_live(deadline(None)));
    }

    #[test]
    fn an_enormous_ttl_saturates_instead_of_wrapping() {
        assert!(is_live(deadline(Some(Duration::MAX))));
    }
}
