//! `LruStore`: the explicit get / set / delete / get_or_set_with API.
//!
//! Each test has a store of its own: tests run in parallel, and none may see another's keys.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Barrier, LazyLock};
use std::time::{Duration, Instant};

use cached_core::LruStore;

#[test]
fn values_of_any_type_by_any_key() {
    let store = LruStore::new(100);
    store.set("fragment:sidebar", String::from("<nav>"), None);
    store.set(("user", 7u64), vec![1u8, 2], None);
    assert_eq!(
        store.get::<String>("fragment:sidebar").as_deref(),
        Some("<nav>")
    );
    assert_eq!(store.get::<Vec<u8>>(("user", 7u64)), Some(vec![1, 2]));
    // Keys that would collide as joined strings do not.
    store.set(("a:b", "c"), 1u8, None);
    store.set(("a", "b:c"), 2u8, None);
    assert_eq!(store.get::<u8>(("a:b", "c")), Some(1));
    assert_eq!(store.get::<u8>(("a", "b:c")), Some(2));
}

#[test]
fn a_get_of_another_type_is_a_miss_not_a_panic() {
    let store = LruStore::new(100);
    store.set("typed", 5u32, None);
    assert_eq!(store.get::<String>("typed"), None);
    assert_eq!(store.get::<u64>("typed"), None);
    assert_eq!(store.get::<u32>("typed"), Some(5));
    // get_or_set_with replaces a value of another type.
    let replaced = store.get_or_set_with("typed", None, || String::from("now a string"));
    assert_eq!(replaced, "now a string");
    assert_eq!(
        store.get::<String>("typed").as_deref(),
        Some("now a string")
    );
}

#[test]
fn entries_expire_after_their_ttl_and_can_be_deleted() {
    let store = LruStore::new(100);
    let ttl = Duration::from_millis(200);
    let set = Instant::now();
    store.set("short", 1u8, Some(ttl));
    store.set("long", 1u8, Some(Duration::from_secs(3600)));
    let early = store.get::<u8>("short");
    // Only a read well within the TTL must find the entry: a slow machine may take longer
    // (and the store's clock may expire an entry a clock tick early).
    if set.elapsed() < ttl / 2 {
        assert_eq!(early, Some(1));
    }
    // Past the TTL, however long that took, the entry is gone.
    while set.elapsed() <= ttl {
        std::thread::sleep(ttl);
    }
    assert_eq!(store.get::<u8>("short"), None);
    assert_eq!(store.get::<u8>("long"), Some(1));
    assert!(store.delete("long"));
    assert_eq!(store.get::<u8>("long"), None);
}

const THREADS: u64 = 8;

/// Long enough that only a broken single-flight reaches it.
const HANG: Duration = Duration::from_secs(60);

static REPORTS: AtomicU32 = AtomicU32::new(0);
static REPORT_STORE: LazyLock<LruStore> =
    LazyLock::new(|| LruStore::named("explicit-store-report", 10));

/// The misses the report's store counted.
fn report_misses() -> u64 {
    cached_core::stats()
        .into_iter()
        .find(|s| s.name == "explicit-store-report")
        .map_or(0, |s| s.misses)
}

#[test]
fn concurrent_get_or_set_with_computes_once() {
    let barrier = Arc::new(Barrier::new(THREADS as usize));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                REPORT_STORE.get_or_set_with("monthly-report", None, || {
                    REPORTS.fetch_add(1, SeqCst);
                    // Holds on until every thread missed: the store counts a miss in the same
                    // locked step in which the caller joins the computation, so the others
                    // are now waiting for this one (or each computes its own, if broken).
                    let start = Instant::now();
                    while report_misses() < THREADS {
                        assert!(start.elapsed() < HANG, "not every thread reached the store");
                        std::thread::yield_now();
                    }
                    String::from("report")
                })
            })
        })
        .collect();
    for thread in threads {
        assert_eq!(thread.join().unwrap(), "report");
    }
    assert_eq!(REPORTS.load(SeqCst), 1);
}
