//! `LruStore`: the explicit get / set / delete / get_or_set_with API.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Barrier, LazyLock};
use std::time::Duration;

use cached_core::LruStore;

static STORE: LazyLock<LruStore> = LazyLock::new(|| LruStore::new(100));

#[test]
fn values_of_any_type_by_any_key() {
    STORE.set("fragment:sidebar", String::from("<nav>"), None);
    STORE.set(("user", 7u64), vec![1u8, 2], None);
    assert_eq!(
        STORE.get::<String>("fragment:sidebar").as_deref(),
        Some("<nav>")
    );
    assert_eq!(STORE.get::<Vec<u8>>(("user", 7u64)), Some(vec![1, 2]));
    // Keys that would collide as joined strings do not.
    STORE.set(("a:b", "c"), 1u8, None);
    STORE.set(("a", "b:c"), 2u8, None);
    assert_eq!(STORE.get::<u8>(("a:b", "c")), Some(1));
    assert_eq!(STORE.get::<u8>(("a", "b:c")), Some(2));
}

#[test]
fn a_get_of_another_type_is_a_miss_not_a_panic() {
    STORE.set("typed", 5u32, None);
    assert_eq!(STORE.get::<String>("typed"), None);
    assert_eq!(STORE.get::<u64>("typed"), None);
    assert_eq!(STORE.get::<u32>("typed"), Some(5));
    // get_or_set_with replaces a value of another type.
    let replaced = STORE.get_or_set_with("typed", None, || String::from("now a string"));
    assert_eq!(replaced, "now a string");
    assert_eq!(
        STORE.get::<String>("typed").as_deref(),
        Some("now a string")
    );
}

#[test]
fn entries_expire_after_their_ttl_and_can_be_deleted() {
    STORE.set("short", 1u8, Some(Duration::from_millis(100)));
    STORE.set("long", 1u8, Some(Duration::from_secs(3600)));
    assert_eq!(STORE.get::<u8>("short"), Some(1));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(STORE.get::<u8>("short"), None);
    assert_eq!(STORE.get::<u8>("long"), Some(1));
    assert!(STORE.delete("long"));
    assert_eq!(STORE.get::<u8>("long"), None);
}

static REPORTS: AtomicU32 = AtomicU32::new(0);

#[test]
fn concurrent_get_or_set_with_computes_once() {
    let barrier = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                STORE.get_or_set_with("monthly-report", None, || {
                    REPORTS.fetch_add(1, SeqCst);
                    std::thread::sleep(Duration::from_millis(200));
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
