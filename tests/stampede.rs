//! Concurrent misses on one key run the body once; a panic, an `Err` or a dropped future
//! wakes every waiter.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use cached_core::cache;

const THREADS: usize = 8;

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

#[cache]
fn slow(key: u32) -> String {
    SLOW.fetch_add(1, SeqCst);
    thread::sleep(Duration::from_millis(200));
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

#[cache]
fn panics_first(key: u32) -> u32 {
    let call = PANICS.fetch_add(1, SeqCst);
    thread::sleep(Duration::from_millis(200));
    if call == 0 {
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

#[cache]
fn fails_first(key: u32) -> Result<u32, String> {
    let call = ERRS.fetch_add(1, SeqCst);
    thread::sleep(Duration::from_millis(200));
    if call == 0 {
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
    assert_eq!(ERRS.load(SeqCst), 2);
    assert_eq!(fails_first(5), Ok(5));
    assert_eq!(ERRS.load(SeqCst), 2);
}

static UNSTORED: AtomicU32 = AtomicU32::new(0);

#[cache(unless = |_: &u32| true)]
fn never_stored(key: u32) -> u32 {
    UNSTORED.fetch_add(1, SeqCst);
    thread::sleep(Duration::from_millis(200));
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

#[cache]
async fn async_slow(key: u32) -> String {
    ASYNC_SLOW.fetch_add(1, SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
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
            let tasks: Vec<_> = (0..100).map(|_| tokio::spawn(async_slow(7))).collect();
            for task in tasks {
                assert_eq!(task.await.unwrap(), "value 7");
            }
        });
    });
    assert_eq!(ASYNC_SLOW.load(SeqCst), 1);
}

static ASYNC_ERRS: AtomicU32 = AtomicU32::new(0);

#[cache]
async fn async_fails_first(key: u32) -> Result<u32, String> {
    let call = ASYNC_ERRS.fetch_add(1, SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    if call == 0 {
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
            let tasks: Vec<_> = (0..100)
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
    });
    assert_eq!(ASYNC_ERRS.load(SeqCst), 2);
}

static CANCELLED: AtomicU32 = AtomicU32::new(0);

#[cache]
async fn cancellable(key: u32) -> u32 {
    let call = CANCELLED.fetch_add(1, SeqCst);
    let delay = if call == 0 { 10_000 } else { 10 };
    tokio::time::sleep(Duration::from_millis(delay)).await;
    key
}

#[test]
fn a_dropped_leader_wakes_its_waiters() {
    on_one_thread(Duration::from_secs(30), || {
        single_threaded().block_on(async {
            // The leader is abandoned after 100 ms, while the waiter is waiting on it.
            let leader = tokio::time::timeout(Duration::from_millis(100), cancellable(1));
            let waiter = async {
                tokio::task::yield_now().await;
                cancellable(1).await
            };
            let (abandoned, waited) = tokio::join!(leader, waiter);
            assert!(abandoned.is_err(), "the leader should have timed out");
            assert_eq!(waited, 1);
        });
    });
    assert_eq!(CANCELLED.load(SeqCst), 2);
}
