//! `#[cache(store = ...)]`: several functions in one bounded `LruStore`.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use cached_core::{cache, entries, entry, invalidates, LruStore};

static SHARED: LazyLock<LruStore> = LazyLock::new(|| LruStore::new(1000));

/// Clearing a whole function of a shared store moves on every computation in progress in the
/// process (a caller arriving afterwards starts a fresh one instead of joining it): the test
/// that clears and the test that counts computations under concurrency take turns.
static CLEARS: Mutex<()> = Mutex::new(());

fn no_clear_meanwhile() -> MutexGuard<'static, ()> {
    CLEARS.lock().unwrap_or_else(PoisonError::into_inner)
}

static DOUBLES: AtomicU32 = AtomicU32::new(0);
static HALVES: AtomicU32 = AtomicU32::new(0);

#[cache(store = SHARED)]
fn double(x: u64) -> u64 {
    DOUBLES.fetch_add(1, SeqCst);
    x * 2
}

/// The same key type and values as `double`: entries must not collide.
#[cache(store = SHARED)]
fn half(x: u64) -> u64 {
    HALVES.fetch_add(1, SeqCst);
    x / 2
}

#[invalidates(double)]
fn reset_doubles() {}

#[test]
fn functions_share_a_store_without_colliding() {
    let _clearing = no_clear_meanwhile();
    assert_eq!((double(10), half(10)), (20, 5));
    assert_eq!((double(10), half(10)), (20, 5));
    assert_eq!((DOUBLES.load(SeqCst), HALVES.load(SeqCst)), (1, 1));
    assert_eq!(entry!(double(10)).peek(), Some(20));
    assert!(SHARED.len() >= 2);

    // Clearing one function leaves the other's entries.
    reset_doubles();
    assert_eq!(entry!(double(10)).peek(), None);
    assert_eq!((double(10), half(10)), (20, 5));
    assert_eq!((DOUBLES.load(SeqCst), HALVES.load(SeqCst)), (2, 1));

    assert!(entry!(half(10)).invalidate());
    half(10);
    assert_eq!(HALVES.load(SeqCst), 2);
    entries!(half).invalidate();
    assert_eq!(entry!(half(10)).peek(), None);
}

static TINY: LazyLock<LruStore> = LazyLock::new(|| LruStore::new(3));
static SQUARES: AtomicU32 = AtomicU32::new(0);

#[cache(store = TINY)]
fn square(x: u32) -> u32 {
    SQUARES.fetch_add(1, SeqCst);
    x * x
}

#[cache(store = TINY)]
fn label(x: u32) -> String {
    format!("#{x}")
}

#[test]
fn the_stores_capacity_bounds_every_function_in_it() {
    for x in 0..3 {
        square(x);
        label(x);
    }
    assert_eq!(TINY.len(), 3);
    // The explicit API and the functions share the store too, without colliding.
    TINY.set(0u32, String::from("by hand"), None);
    assert_eq!(label(2), "#2");
    assert!(TINY.len() <= 3);
}

static FETCHES: AtomicU32 = AtomicU32::new(0);

/// A store of its own, so that its misses are `fetch`'s alone.
static FETCH_STORE: LazyLock<LruStore> =
    LazyLock::new(|| LruStore::named("shared-store-fetch", 100));

const TASKS: u64 = 50;

/// Long enough that only a broken single-flight reaches it.
const HANG: Duration = Duration::from_secs(60);

/// Every computation holds on until all the tasks missed (the store counts a miss in the same
/// locked step in which the caller joins the flight): one computation if they joined it,
/// `TASKS` if each computed its own.
#[cache(store = FETCH_STORE, ttl = 60)]
async fn fetch(id: u32) -> Result<String, String> {
    FETCHES.fetch_add(1, SeqCst);
    let start = Instant::now();
    loop {
        let missed = cached_core::stats()
            .into_iter()
            .find(|s| s.name == "shared-store-fetch")
            .map_or(0, |s| s.misses);
        if missed >= TASKS {
            break;
        }
        assert!(
            start.elapsed() < HANG,
            "only {missed} of {TASKS} tasks missed"
        );
        tokio::task::yield_now().await;
    }
    Ok(format!("item {id}"))
}

#[test]
fn shared_store_functions_compute_once_under_concurrency() {
    let _counting = no_clear_meanwhile();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..TASKS).map(|_| tokio::spawn(fetch(9))).collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), Ok("item 9".into()));
        }
    });
    assert_eq!(FETCHES.load(SeqCst), 1);
}
