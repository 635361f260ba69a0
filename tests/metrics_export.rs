//! Feature `metrics`: the documented names reach the installed recorder.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use cached_core::cache;
use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};

/// The last value of each metric, by name and `cache` label.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<BTreeMap<(String, String), f64>>>);

struct Handle {
    seen: Seen,
    key: (String, String),
}

impl Handle {
    fn set(&self, value: f64) {
        self.seen.0.lock().unwrap().insert(self.key.clone(), value);
    }
}

impl CounterFn for Handle {
    fn increment(&self, _: u64) {}
    fn absolute(&self, value: u64) {
        self.set(value as f64);
    }
}

impl GaugeFn for Handle {
    fn increment(&self, _: f64) {}
    fn decrement(&self, _: f64) {}
    fn set(&self, value: f64) {
        Handle::set(self, value);
    }
}

impl HistogramFn for Handle {
    fn record(&self, value: f64) {
        self.set(value);
    }
}

impl Seen {
    fn handle(&self, key: &Key) -> Arc<Handle> {
        let cache = key
            .labels()
            .find(|l| l.key() == "cache")
            .map(|l| l.value().to_owned())
            .unwrap_or_default();
        Arc::new(Handle {
            seen: self.clone(),
            key: (key.name().to_owned(), cache),
        })
    }

    fn get(&self, name: &str, cache: &str) -> Option<f64> {
        let seen = self.0.lock().unwrap();
        seen.get(&(name.to_owned(), cache.to_owned())).copied()
    }
}

impl Recorder for Seen {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.handle(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.handle(key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.handle(key))
    }
}

#[cache(name = "exported", capacity = 1)]
fn exported(x: u32) -> u32 {
    // A lower bound of the miss time exported (a test of time itself).
    std::thread::sleep(std::time::Duration::from_millis(2));
    x
}

#[test]
fn the_documented_names_reach_the_recorder() {
    let seen = Seen::default();
    metrics::with_local_recorder(&seen, || {
        exported(1);
        exported(1);
        exported(2); // evicts 1
        cached_core::metrics::publish();
    });
    let get = |name| seen.get(name, "exported");
    assert_eq!(get("cached_hits_total"), Some(1.0));
    assert_eq!(get("cached_misses_total"), Some(2.0));
    assert_eq!(get("cached_coalesced_total"), Some(0.0));
    assert_eq!(get("cached_inserts_total"), Some(2.0));
    assert_eq!(get("cached_evictions_total"), Some(1.0));
    assert_eq!(get("cached_invalidations_total"), Some(0.0));
    assert_eq!(get("cached_errors_total"), Some(0.0));
    assert_eq!(get("cached_entries"), Some(1.0));
    let miss = get("cached_miss_seconds").expect("a miss time");
    assert!(miss >= 0.002, "{miss}");
}

/// Long enough that only a broken single-flight (a caller that never reaches the cache)
/// reaches it: a pass never depends on timing.
const HANG: std::time::Duration = std::time::Duration::from_secs(60);

/// Holds on until both callers missed: a caller is counted as a miss in the locked step in
/// which it leads the computation or joins it, so the other one is now waiting for this one.
#[cache(name = "exported-stampede")]
fn exported_stampede(x: u32) -> u32 {
    let start = std::time::Instant::now();
    let missed = || {
        cached_core::stats()
            .into_iter()
            .find(|s| s.name == "exported-stampede")
            .map_or(0, |s| s.misses)
    };
    while missed() < 2 {
        assert!(
            start.elapsed() < HANG,
            "the other caller did not reach the cache"
        );
        std::thread::yield_now();
    }
    x
}

#[test]
fn coalesced_callers_reach_the_recorder() {
    let callers: Vec<_> = (0..2)
        .map(|_| std::thread::spawn(|| exported_stampede(1)))
        .collect();
    for caller in callers {
        assert_eq!(caller.join().unwrap(), 1);
    }
    let seen = Seen::default();
    metrics::with_local_recorder(&seen, cached_core::metrics::publish);
    let get = |name| seen.get(name, "exported-stampede");
    assert_eq!(get("cached_misses_total"), Some(1.0));
    assert_eq!(get("cached_coalesced_total"), Some(1.0));
    assert_eq!(get("cached_hits_total"), Some(0.0));
}

static UNREACHABLE: std::sync::LazyLock<cached_core::RedisStore> = std::sync::LazyLock::new(|| {
    // A port nothing listens on: every operation fails at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    cached_core::RedisStore::new(&format!("redis://127.0.0.1:{port}/")).unwrap()
});

#[cache(store = UNREACHABLE, name = "exported-remote")]
async fn exported_remote(x: u32) -> u32 {
    x
}

#[test]
fn remote_store_failures_reach_the_recorder() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let seen = Seen::default();
    metrics::with_local_recorder(&seen, || {
        runtime.block_on(async {
            assert_eq!(exported_remote(1).await, 1);
            assert_eq!(exported_remote(1).await, 1);
        });
        cached_core::metrics::publish();
    });
    let get = |name| seen.get(name, "exported-remote");
    assert_eq!(get("cached_errors_total"), Some(2.0));
    assert_eq!(get("cached_misses_total"), Some(2.0));
    assert_eq!(get("cached_hits_total"), Some(0.0));
}
