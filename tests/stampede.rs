//! Concurrent misses on one key run the body once; a panic, an `Err` or a dropped future
//! wakes every waiter.
//!
//! No test sleeps to let the callers pile up: a body that must overlap with the other callers
//! holds on until the cache has counted all their misses ([`until_missed`]). The store counts a
//! miss in the same locked step in which the caller joins the running flight (or leads one), so
//! from then on every caller is either this body or waiting for it, however slowly the machine
//! schedules the threads. Each function has its own cache, so no test counts another's misses.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use cached_core::cache;

const THREADS: usize = 8;

/// Long enough that only a broken single-flight (a caller that never reaches the cache, a
/// waiter that hangs) reaches it: a pass never depends on timing.
const HANG: Duration = Duration::from_secs(60);

/// The callers the cache `name` counted as not finding a value: its misses, and the waiters
/// that already moved from the misses to `coalesced` (served by another's computation).
fn misses(name: &str) -> u64 {
    cached_core::stats()
        .into_iter()
        .find(|s| s.name == name)
        .map_or(0, |s| s.misses + s.coalesced)
}

/// Blocks (a body) until the cache `name` has counted `callers` misses: each of them then leads
/// or waits for a flight of its key.
fn until_missed(name: &str, callers: u64) {
    let start = Instant::now();
    while misses(name) < callers {
        assert!(
            start.elapsed() < HANG,
            "only {} of {callers} callers reached `{name}`",
            misses(name)
        );
        thread::yield_now();
    }
}

/// As [`until_missed`], yielding to the executor so that the other tasks can run.
async fn until_missed_async(name: &str, callers: u64) {
    let start = Instant::now();
    while misses(name) < callers {
        assert!(
            start.elapsed() < HANG,
            "only {} of {callers} callers reached `{name}`",
            misses(name)
        );
        tokio::task::yield_now().await;
    }
}

/// Runs `f` on `THREADS` threads released together; returns each thread's outcome.
fn together<T: Send + 'static>(f: fn() -> T) -> Vec<thread::Result<T>> {
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                f()
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join()).collect()
}

static SLOW: AtomicU32 = AtomicU32::new(0);

/// Every computation holds on until all the callers missed: one computation if they joined
/// it, `THREADS` if each computed its own.
#[cache(name = "stampede-slow")]
fn slow(key: u32) -> String {
    SLOW.fetch_add(1, SeqCst);
    until_missed("stampede-slow", THREADS as u64);
    format!("value {key}")
}

#[test]
fn threads_missing_on_one_key_compute_once() {
    let results = together(|| slow(1));
    assert_eq!(SLOW.load(SeqCst), 1);
    for result in results {
        assert_eq!(result.unwrap(), "value 1");
    }
}

static PANICS: AtomicU32 = AtomicU32::new(0);

#[cache(name = "stampede-panics")]
fn panics_first(key: u32) -> u32 {
    let call = PANICS.fetch_add(1, SeqCst);
    if call == 0 {
        // Fails only once every other caller is waiting for it.
        until_missed("stampede-panics", THREADS as u64);
        panic!("the first computation fails");
    }
    key
}

#[test]
fn a_panic_wakes_every_waiter_and_stores_nothing() {
    let results = together(|| panics_first(5));
    let panicked = results.iter().filter(|r| r.is_err()).count();
    assert_eq!(
        panicked, 1,
        "only the caller whose body panicked sees the panic"
    );
    for result in results.into_iter().flatten() {
        assert_eq!(result, 5);
    }
    // The waiters retried: one of them computed again, the others shared its value.
    assert_eq!(PANICS.load(SeqCst), 2);
}

static ERRS: AtomicU32 = AtomicU32::new(0);

#[cache(name = "stampede-errs")]
fn fails_first(key: u32) -> Result<u32, String> {
    let call = ERRS.fetch_add(1, SeqCst);
    if call == 0 {
        // Fails only once every other caller is waiting for it.
        until_missed("stampede-errs", THREADS as u64);
        return Err("unavailable".into());
    }
    Ok(key)
}

#[test]
fn an_err_wakes_every_waiter_and_stores_nothing() {
    let results: Vec<_> = together(|| fails_first(5))
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
    assert_eq!(results.iter().filter(|r| **r == Ok(5)).count(), THREADS - 1);
    // The waiters retried at once: each either computed (beside the others, not queued behind
    // them) or received a retry's value; how many computed depends on the interleaving.
    let computed = ERRS.load(SeqCst);
    assert!(
        (2..=THREADS as u32).contains(&computed),
        "{computed} computations"
    );
    // A retry stored its value.
    assert_eq!(fails_first(5), Ok(5));
    assert_eq!(ERRS.load(SeqCst), computed);
}

static UNSTORED: AtomicU32 = AtomicU32::new(0);

#[cache(name = "stampede-unstored", unless = |_: &u32| true)]
fn never_stored(key: u32) -> u32 {
    UNSTORED.fetch_add(1, SeqCst);
    until_missed("stampede-unstored", THREADS as u64);
    key * 2
}

#[test]
fn waiters_share_a_value_that_is_not_stored() {
    let results = together(|| never_stored(4));
    assert!(results.into_iter().all(|r| r.unwrap() == 8));
    assert_eq!(UNSTORED.load(SeqCst), 1);
    never_stored(4);
    assert_eq!(
        UNSTORED.load(SeqCst),
        2,
        "`unless` kept it out of the cache"
    );
}

static ASYNC_SLOW: AtomicU32 = AtomicU32::new(0);

const TASKS: u64 = 100;

/// Every computation holds on (yielding to the executor) until all the tasks missed.
#[cache(name = "stampede-async-slow")]
async fn async_slow(key: u32) -> String {
    ASYNC_SLOW.fetch_add(1, SeqCst);
    until_missed_async("stampede-async-slow", TASKS).await;
    format!("value {key}")
}

/// Runs `test` on a single-threaded runtime in its own thread: if waiting blocked the thread,
/// the leader could never finish; the test fails after `limit` instead of hanging.
fn on_one_thread(limit: Duration, test: impl FnOnce() + Send + 'static) {
    let (done, finished) = std::sync::mpsc::channel();
    thread::spawn(move || {
        test();
        let _ = done.send(());
    });
    finished
        .recv_timeout(limit)
        .expect("the tasks did not finish: the executor is blocked or a waiter hangs");
}

fn single_threaded() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

#[test]
fn tasks_missing_on_one_key_compute_once_without_blocking_the_executor() {
    on_one_thread(Duration::from_secs(30), || {
        single_threaded().block_on(async {
            let tasks: Vec<_> = (0..TASKS).map(|_| tokio::spawn(async_slow(7))).collect();
            for task in tasks {
                assert_eq!(task.await.unwrap(), "value 7");
            }
        });
    });
    assert_eq!(ASYNC_SLOW.load(SeqCst), 1);
}

static ASYNC_ERRS: AtomicU32 = AtomicU32::new(0);

#[cache(name = "stampede-async-errs")]
async fn async_fails_first(key: u32) -> Result<u32, String> {
    let call = ASYNC_ERRS.fetch_add(1, SeqCst);
    if call == 0 {
        // Fails only once every other task is waiting for it.
        until_missed_async("stampede-async-errs", TASKS).await;
        return Err("unavailable".into());
    }
    Ok(key)
}

#[test]
fn an_async_err_wakes_every_waiting_task() {
    on_one_thread(Duration::from_secs(30), || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_time()
            .build()
            .unwrap();
        let results: Vec<_> = runtime.block_on(async {
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| tokio::spawn(async_fails_first(3)))
                .collect();
            let mut results = Vec::new();
            for task in tasks {
                results.push(task.await.unwrap());
            }
            results
        });
        assert_eq!(results.iter().filter(|r| r.is_err()).count(), 1);
        assert_eq!(results.iter().filter(|r| **r == Ok(3)).count(), 99);
        // The waiters retried at once (see the threads' test above), and a retry stored.
        let computed = ASYNC_ERRS.load(SeqCst);
        assert!(
            (2..=TASKS as u32).contains(&computed),
            "{computed} computations"
        );
        assert_eq!(runtime.block_on(async_fails_first(3)), Ok(3));
        assert_eq!(ASYNC_ERRS.load(SeqCst), computed);
    });
}

static CANCELLED: AtomicU32 = AtomicU32::new(0);

/// The first computation never finishes on its own.
#[cache(name = "stampede-cancellable")]
async fn cancellable(key: u32) -> u32 {
    if CANCELLED.fetch_add(1, SeqCst) == 0 {
        std::future::pending::<()>().await;
    }
    key
}

#[test]
fn a_dropped_leader_wakes_its_waiters() {
    on_one_thread(Duration::from_secs(30), || {
        single_threaded().block_on(async {
            // The leader is dropped once the waiter has joined it (its miss is counted).
            let leader = async {
                tokio::select! {
                    _ = cancellable(1) => panic!("the first computation never finishes"),
                    () = until_missed_async("stampede-cancellable", 2) => {}
                }
            };
            let waiter = async {
                tokio::task::yield_now().await;
                cancellable(1).await
            };
            let ((), waited) = tokio::join!(leader, waiter);
            assert_eq!(waited, 1);
        });
    });
    assert_eq!(CANCELLED.load(SeqCst), 2);
}
