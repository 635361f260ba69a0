//! Feature `metrics`: the statistics of every cache through the [`metrics`] crate facade, so
//! that the exporter a service already runs (Prometheus, StatsD, ...) shows them.
//!
//! Every metric has the label `cache`, the cache's name:
//!
//! | name | kind | meaning |
//! |---|---|---|
//! | `cached_hits_total` | counter | calls answered from the cache |
//! | `cached_misses_total` | counter | calls that ran the body |
//! | `cached_coalesced_total` | counter | calls served by another caller's computation |
//! | `cached_inserts_total` | counter | values stored |
//! | `cached_evictions_total` | counter | entries removed to make room |
//! | `cached_invalidations_total` | counter | entries removed because the data changed |
//! | `cached_errors_total` | counter | failures of a remote store |
//! | `cached_entries` | gauge | entries held now |
//! | `cached_miss_seconds` | histogram | time of each computation on a miss |
//!
//! The histogram is recorded as each computation ends. The counters and the gauge are copied
//! from [`crate::stats`] by [`publish`], which a background thread calls every second once a
//! cache exists: counting each hit through the facade would write shared memory on every hit,
//! which the hit path avoids.

use std::sync::OnceLock;
use std::time::Duration;

/// How often the background thread publishes.
///
/// ```
/// assert_eq!(cached_core::metrics::PUBLISH_EVERY.as_secs(), 1);
/// ```
pub const PUBLISH_EVERY: Duration = Duration::from_secs(1);

/// Copies every cache's counters and entry count to the `metrics` recorder now.
///
/// ```
/// # use cached_core::cache;
/// #[cache]
/// fn f(x: u8) -> u8 {
///     x
/// }
/// f(1);
/// cached_core::metrics::publish(); // a no-op without a recorder installed
/// ```
pub fn publish() {
    describe();
    for s in crate::stats() {
        let name = s.name;
        let counters = [
            ("cached_hits_total", s.hits),
            ("cached_misses_total", s.misses),
            ("cached_coalesced_total", s.coalesced),
            ("cached_inserts_total", s.inserts),
            ("cached_evictions_total", s.evictions),
            ("cached_invalidations_total", s.invalidations),
            ("cached_errors_total", s.errors),
        ];
        for (metric, value) in counters {
            metrics::counter!(metric, "cache" => name.clone()).absolute(value);
        }
        if let Some(len) = s.len {
            metrics::gauge!("cached_entries", "cache" => name.clone()).set(len as f64);
        }
    }
}

/// Records the time of one computation.
pub(crate) fn record_miss(cache: &'static str, took: Duration) {
    metrics::histogram!("cached_miss_seconds", "cache" => cache).record(took.as_secs_f64());
}

fn describe() {
    use metrics::Unit;
    metrics::describe_counter!("cached_hits_total", "calls answered from the cache");
    metrics::describe_counter!("cached_misses_total", "calls that ran the body");
    metrics::describe_counter!(
        "cached_coalesced_total",
        "calls served by another caller's computation"
    );
    metrics::describe_counter!("cached_inserts_total", "values stored");
    metrics::describe_counter!("cached_evictions_total", "entries removed to make room");
    metrics::describe_counter!(
        "cached_invalidations_total",
        "entries removed because the data changed"
    );
    metrics::describe_counter!("cached_errors_total", "failures of a remote store");
    metrics::describe_gauge!("cached_entries", "entries held now");
    metrics::describe_histogram!(
        "cached_miss_seconds",
        Unit::Seconds,
        "time of each computation on a miss"
    );
}

/// Starts the thread that publishes every [`PUBLISH_EVERY`], once.
pub(crate) fn start_publishing() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let _ = std::thread::Builder::new()
            .name("cached-core-metrics".into())
            .spawn(|| loop {
                std::thread::sleep(PUBLISH_EVERY);
                publish();
            });
    });
}
