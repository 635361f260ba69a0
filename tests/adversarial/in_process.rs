//! Regressions of the in-process caches: reads after a change, re-entry, failing bodies.
//!
//! Each test holds a computation inside its body on a channel, so the interleaving under test
//! happens by construction. Where the defect was a hang, the test waits for the outcome with a
//! generous `recv_timeout` that only the broken code reaches: a pass never depends on timing.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Condvar, LazyLock, Mutex};
use std::time::Duration;

use cached_core::{cache, entries, entry, invalidates};

use crate::waits;

/// Long enough that only a hang reaches it.
const HANG: Duration = Duration::from_secs(60);

/// A one-shot gate: the first computation announces it started, then waits to be let go.
struct Gate {
    started: Mutex<Option<Sender<()>>>,
    go: Mutex<Option<Receiver<()>>>,
}

impl Gate {
    const fn new() -> Self {
        Gate {
            started: Mutex::new(None),
            go: Mutex::new(None),
        }
    }

    /// Arms the gate: returns the "started" receiver and the "go" sender.
    fn arm(&self) -> (Receiver<()>, Sender<()>) {
        let (started_tx, started_rx) = channel();
        let (go_tx, go_rx) = channel();
        *self.started.lock().unwrap() = Some(started_tx);
        *self.go.lock().unwrap() = Some(go_rx);
        (started_rx, go_tx)
    }

    /// Called by a body: the first body after `arm` signals and blocks; later ones pass.
    fn pass(&self) {
        let started = self.started.lock().unwrap().take();
        if let Some(started) = started {
            let go = self.go.lock().unwrap().take().unwrap();
            started.send(()).unwrap();
            go.recv().unwrap();
        }
    }
}

// ---- A read that starts after an invalidation returns gets the new data ----------------------

static PRICE: AtomicU64 = AtomicU64::new(1);
static PRICE_GATE: Gate = Gate::new();

#[cache]
fn price(id: u32) -> u64 {
    let _ = id;
    let seen = PRICE.load(SeqCst); // the query reads the data first, then takes its time
    PRICE_GATE.pass();
    seen
}

#[invalidates(price(id))]
fn set_price(id: u32, value: u64) {
    let _ = id;
    PRICE.store(value, SeqCst);
}

/// Runs `call` on a thread; its result arrives on the receiver.
fn on_thread<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> Receiver<T> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let _ = tx.send(call());
    });
    rx
}

#[test]
fn a_read_after_an_invalidation_does_not_join_the_computation_before_it() {
    let (started, go) = PRICE_GATE.arm();
    // A reader starts computing from the old price and is held there.
    let old_reader = on_thread(|| price(1));
    started.recv().unwrap();
    // The price changes; `set_price` has returned.
    set_price(1, 2);
    // A reader that starts now must see the new price, not wait for the old computation.
    let new_reader = on_thread(|| price(1));
    let fresh = new_reader.recv_timeout(HANG);
    go.send(()).unwrap();
    assert_eq!(
        old_reader.recv().unwrap(),
        1,
        "the old reader may keep its value"
    );
    assert_eq!(
        fresh,
        Ok(2),
        "a read that began after the save got the old price"
    );
    // And the old computation stored nothing: the cached value is the new one.
    assert_eq!(price(1), 2);
}

static STOCK: AtomicU64 = AtomicU64::new(10);
static STOCK_GATE: Gate = Gate::new();

#[cache(tags = [format!("product:{id}")])]
fn stock(id: u32) -> u64 {
    let _ = id;
    let seen = STOCK.load(SeqCst);
    STOCK_GATE.pass();
    seen
}

#[test]
fn a_read_after_a_tag_invalidation_does_not_join_the_computation_before_it() {
    let (started, go) = STOCK_GATE.arm();
    let old_reader = on_thread(|| stock(5));
    started.recv().unwrap();
    STOCK.store(11, SeqCst);
    cached_core::invalidate_tag("product:5");
    let fresh = on_thread(|| stock(5)).recv_timeout(HANG);
    go.send(()).unwrap();
    assert_eq!(old_reader.recv().unwrap(), 10);
    assert_eq!(
        fresh,
        Ok(11),
        "a read that began after the tag invalidation got old data"
    );
    assert_eq!(stock(5), 11);
}

static RATE: AtomicU64 = AtomicU64::new(100);
static RATE_GATE: Gate = Gate::new();

#[cache]
fn rate(currency: &str) -> u64 {
    let _ = currency;
    let seen = RATE.load(SeqCst);
    RATE_GATE.pass();
    seen
}

#[test]
fn a_read_after_clearing_a_function_or_a_put_does_not_join_the_computation_before_it() {
    let (started, go) = RATE_GATE.arm();
    let old_reader = on_thread(|| rate("EUR"));
    started.recv().unwrap();
    RATE.store(101, SeqCst);
    entries!(rate).invalidate();
    let fresh = on_thread(|| rate("EUR")).recv_timeout(HANG);
    assert_eq!(
        fresh,
        Ok(101),
        "a read after clearing the function got old data"
    );

    // A put while a computation runs: the put wins, now and after the computation ends.
    let (started_again, go_again) = RATE_GATE.arm();
    let usd_reader = on_thread(|| rate("USD"));
    started_again.recv().unwrap();
    entry!(rate("USD")).put(7);
    assert_eq!(on_thread(|| rate("USD")).recv_timeout(HANG), Ok(7));
    go_again.send(()).unwrap();
    go.send(()).unwrap();
    assert_eq!(old_reader.recv().unwrap(), 100);
    assert_eq!(usd_reader.recv().unwrap(), 101);
    assert_eq!(
        rate("USD"),
        7,
        "a computation that began before the put overwrote it"
    );
}

static QUOTE: AtomicU64 = AtomicU64::new(1);
static QUOTE_GATE: Gate = Gate::new();

#[cache]
async fn quote(id: u32) -> u64 {
    let _ = id;
    let seen = QUOTE.load(SeqCst);
    // Held on a thread, as a slow query would hold the task.
    tokio::task::spawn_blocking(|| QUOTE_GATE.pass())
        .await
        .unwrap();
    seen
}

#[invalidates(quote(id))]
async fn set_quote(id: u32, value: u64) {
    let _ = id;
    QUOTE.store(value, SeqCst);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_read_after_an_invalidation_does_not_join_the_computation_before_it() {
    let (started, go) = QUOTE_GATE.arm();
    let old_reader = tokio::spawn(quote(3));
    tokio::task::spawn_blocking(move || started.recv().unwrap())
        .await
        .unwrap();
    set_quote(3, 2).await;
    let fresh = tokio::time::timeout(HANG, tokio::spawn(quote(3))).await;
    go.send(()).unwrap();
    assert_eq!(old_reader.await.unwrap(), 1);
    assert_eq!(
        fresh.ok().map(Result::unwrap),
        Some(2),
        "an async read that began after the save got the old value"
    );
    assert_eq!(quote(3).await, 2);
}

// ---- A cached function that calls itself with the same key does not hang ---------------------

static DEPTH: AtomicU32 = AtomicU32::new(0);

/// Calls itself once with the same key: a wrapper that retries, say.
#[cache]
fn retrying(id: u32) -> u32 {
    if DEPTH.fetch_add(1, SeqCst) == 0 {
        return retrying(id) + 1;
    }
    id
}

#[test]
fn a_function_calling_itself_with_the_same_key_does_not_hang() {
    let result = on_thread(|| retrying(4)).recv_timeout(HANG);
    assert_eq!(result, Ok(5), "the re-entrant call hung");
    assert_eq!(retrying(4), 5, "the outer value is cached");
}

static MUTUAL: AtomicU32 = AtomicU32::new(0);

#[cache]
fn outer(id: u32) -> u32 {
    inner(id) * 10
}

#[cache]
fn inner(id: u32) -> u32 {
    // The first time, goes back through `outer` with the same key.
    if MUTUAL.fetch_add(1, SeqCst) == 0 {
        return outer(id) + 1;
    }
    id
}

#[test]
fn a_cycle_through_another_cached_function_does_not_hang() {
    let result = on_thread(|| outer(2)).recv_timeout(HANG);
    // outer(2) -> inner(2) -> outer(2) computed alone -> inner(2) = 2 -> 20; + 1 -> 21; * 10
    assert_eq!(result, Ok(210), "the cycle through `inner` hung");
}

static ASYNC_DEPTH: AtomicU32 = AtomicU32::new(0);

#[cache]
async fn async_retrying(id: u32) -> u32 {
    if ASYNC_DEPTH.fetch_add(1, SeqCst) == 0 {
        return Box::pin(async_retrying(id)).await + 1;
    }
    id
}

#[tokio::test(flavor = "current_thread")]
async fn an_async_function_calling_itself_with_the_same_key_does_not_hang() {
    let result = tokio::time::timeout(HANG, async_retrying(6)).await;
    assert_eq!(result, Ok(7), "the re-entrant async call hung");
}

// ---- A failing body does not turn its waiters into a queue -----------------------------------

const WAITERS: usize = 6;

/// A barrier that gives up after [`HANG`] rather than hang the test (std's cannot).
struct Meeting {
    arrived: Mutex<usize>,
    all_here: Condvar,
}

impl Meeting {
    /// Waits until `n` callers are here; `false` if they never all came.
    fn meet(&self, n: usize) -> bool {
        let mut arrived = self.arrived.lock().unwrap();
        *arrived += 1;
        self.all_here.notify_all();
        let (arrived, timeout) = self
            .all_here
            .wait_timeout_while(arrived, HANG, |arrived| *arrived < n)
            .unwrap();
        drop(arrived);
        !timeout.timed_out()
    }
}

static FLAKY_GATE: Gate = Gate::new();
static FLAKY_RUNS: AtomicU32 = AtomicU32::new(0);
static RETRIES_MET: Meeting = Meeting {
    arrived: Mutex::new(0),
    all_here: Condvar::new(),
};
static RETRIES_APART: AtomicBool = AtomicBool::new(false);

#[cache]
fn flaky(id: u32) -> Result<u32, String> {
    let _ = id;
    if FLAKY_RUNS.fetch_add(1, SeqCst) == 0 {
        FLAKY_GATE.pass();
        return Err("the database is down".into());
    }
    // A retry: every waiter of the failed computation retries at once, so they all meet here.
    if !RETRIES_MET.meet(WAITERS) {
        RETRIES_APART.store(true, SeqCst);
    }
    Err("still down".into())
}

#[test]
fn the_waiters_of_a_failed_computation_retry_at_once_not_one_after_another() {
    let (started, go) = FLAKY_GATE.arm();
    let leader = on_thread(|| flaky(1));
    started.recv().unwrap();
    let misses = || {
        cached_core::stats()
            .into_iter()
            .find(|s| s.name.ends_with("::flaky"))
            .map_or(0, |s| s.misses)
    };
    let waiters: Vec<_> = (0..WAITERS).map(|_| on_thread(|| flaky(1))).collect();
    // Every waiter has looked up the key (and found the computation in flight).
    while misses() < 1 + WAITERS as u64 {
        std::thread::yield_now();
    }
    go.send(()).unwrap();
    assert!(leader.recv().unwrap().is_err());
    for waiter in waiters {
        assert_eq!(waiter.recv().unwrap(), Err("still down".to_owned()));
    }
    assert!(
        !RETRIES_APART.load(SeqCst),
        "the waiters retried one after another"
    );
    assert_eq!(FLAKY_RUNS.load(SeqCst), 1 + WAITERS as u32);
}

// ---- Concurrent calls in one task still share one computation ---------------------------------

static JOINED_RUNS: AtomicU32 = AtomicU32::new(0);

#[cache]
async fn joined(id: u32) -> u32 {
    JOINED_RUNS.fetch_add(1, SeqCst);
    tokio::task::yield_now().await; // the other calls of the `join!` run meanwhile
    id
}

/// Found by review: a re-entry check by task id took every call of a `join!` in one task for a
/// re-entrant one, and each computed.
#[tokio::test(flavor = "current_thread")]
async fn concurrent_calls_in_one_task_compute_once() {
    let (a, b, c) = tokio::join!(joined(8), joined(8), joined(8));
    assert_eq!((a, b, c), (8, 8, 8));
    assert_eq!(
        JOINED_RUNS.load(SeqCst),
        1,
        "calls in one task computed apart"
    );
}

// ---- A cycle entered from both ends at once does not hang ----------------------------------

static RING_MEET: std::sync::Barrier = std::sync::Barrier::new(2);
static RING_A: AtomicU32 = AtomicU32::new(0);
static RING_B: AtomicU32 = AtomicU32::new(0);

/// The first call of each meets the other's first call, then calls the other function with the
/// same key: each waits for a computation whose leader waits for it.
#[cache]
fn ring_a(id: u32) -> u32 {
    if RING_A.fetch_add(1, SeqCst) == 0 {
        RING_MEET.wait();
        return ring_b(id) + 1;
    }
    id
}

#[cache]
fn ring_b(id: u32) -> u32 {
    if RING_B.fetch_add(1, SeqCst) == 0 {
        RING_MEET.wait();
        return ring_a(id) + 1;
    }
    id
}

/// Found by review: re-entry was told by a mark on the caller's own thread only, so two
/// threads that each led one end of a cycle waited for each other forever.
#[test]
fn a_cycle_entered_from_both_ends_at_once_does_not_hang() {
    let a = on_thread(|| ring_a(3));
    let b = on_thread(|| ring_b(3));
    let (a, b) = (a.recv_timeout(HANG), b.recv_timeout(HANG));
    // One end computes the other alone (3), adds 1, and the other end adds 1 to that.
    let mut got = [a.expect("ring_a hung"), b.expect("ring_b hung")];
    got.sort_unstable();
    assert_eq!(got, [4, 5]);
}

static ASYNC_RING_MEET: LazyLock<tokio::sync::Barrier> =
    LazyLock::new(|| tokio::sync::Barrier::new(2));
static ASYNC_RING_A: AtomicU32 = AtomicU32::new(0);
static ASYNC_RING_B: AtomicU32 = AtomicU32::new(0);

#[cache]
async fn async_ring_a(id: u32) -> u32 {
    if ASYNC_RING_A.fetch_add(1, SeqCst) == 0 {
        ASYNC_RING_MEET.wait().await;
        return Box::pin(async_ring_b(id)).await + 1;
    }
    id
}

#[cache]
async fn async_ring_b(id: u32) -> u32 {
    if ASYNC_RING_B.fetch_add(1, SeqCst) == 0 {
        ASYNC_RING_MEET.wait().await;
        return Box::pin(async_ring_a(id)).await + 1;
    }
    id
}

#[tokio::test(flavor = "current_thread")]
async fn an_async_cycle_entered_from_both_ends_at_once_does_not_hang() {
    let both = tokio::time::timeout(HANG, async {
        tokio::join!(tokio::spawn(async_ring_a(3)), tokio::spawn(async_ring_b(3)))
    });
    let (a, b) = both.await.expect("the async cycle hung");
    let mut got = [a.unwrap(), b.unwrap()];
    got.sort_unstable();
    assert_eq!(got, [4, 5]);
}

// ---- An invalidation that is not the flight's leaves it alone ------------------------------

static STEADY_GATE: Gate = Gate::new();
static STEADY_RUNS: AtomicU32 = AtomicU32::new(0);

#[cache(name = "adv_steady", tags = ["adv-steady"])]
fn steady(id: u32) -> u32 {
    STEADY_RUNS.fetch_add(1, SeqCst);
    STEADY_GATE.pass();
    id
}

/// Found by review: any tag invalidation anywhere in the process moved one global epoch, and
/// every computation in progress, in every cache, was computed again by the next caller.
#[test]
fn an_invalidation_of_another_tag_does_not_split_a_computation_in_progress() {
    let (started, go) = STEADY_GATE.arm();
    let leader = on_thread(|| steady(5));
    started.recv().unwrap();
    // A tag of nothing in flight here (a tag per user, invalidated all the time).
    cached_core::invalidate_tag("adv-another-user:42");
    // The second caller joins the computation: it waits for it (an event on its thread says
    // so) rather than run the body again.
    let waits = waits::Waits {
        cache: "adv_steady",
        count: tokio::sync::watch::Sender::new(0),
    };
    let waited = waits.count.subscribe();
    let second = on_thread(move || {
        let _subscriber = tracing::subscriber::set_default(waits);
        steady(5)
    });
    let deadline = std::time::Instant::now() + HANG;
    while *waited.borrow() == 0 {
        assert!(
            second.try_recv().is_err(),
            "the second caller computed again instead of joining"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "the second caller hung"
        );
        std::thread::yield_now();
    }
    go.send(()).unwrap();
    assert_eq!(leader.recv().unwrap(), 5);
    assert_eq!(second.recv().unwrap(), 5);
    assert_eq!(STEADY_RUNS.load(SeqCst), 1);
}

// ---- A leader that waits for two computations at once still counts as waiting -------------

use tokio::sync::Notify;

static FORK_A_GO: Notify = Notify::const_new();
static FORK_A_STARTED: Notify = Notify::const_new();
static FORK_A_DONE_IN_P: Notify = Notify::const_new();
static FORK_B_GO: Notify = Notify::const_new();
static FORK_B_STARTED: Notify = Notify::const_new();
static FORK_B_RUNS: AtomicU32 = AtomicU32::new(0);

#[cache]
async fn fork_a(id: u32) -> u32 {
    FORK_A_STARTED.notify_one();
    FORK_A_GO.notified().await;
    id
}

/// Its first run waits to be let go, then goes back to `fork_p` with the same key.
#[cache(name = "adv_fork_b")]
async fn fork_b(id: u32) -> u32 {
    if FORK_B_RUNS.fetch_add(1, SeqCst) == 0 {
        FORK_B_STARTED.notify_one();
        FORK_B_GO.notified().await;
        return Box::pin(fork_p(id)).await + 1;
    }
    id
}

/// Waits for `fork_a` and `fork_b` at once.
#[cache]
async fn fork_p(id: u32) -> u32 {
    let a = async {
        let a = fork_a(id).await;
        FORK_A_DONE_IN_P.notify_one();
        a
    };
    let (a, b) = tokio::join!(a, fork_b(id));
    a + b
}

/// Found by review of the cycle check: the end of one of a leader's waits removed all of them
/// from who-waits-for-whom, so a cycle through its other wait went unseen, and both hung.
#[tokio::test(flavor = "current_thread")]
async fn a_cycle_through_the_second_of_two_waits_of_one_leader_does_not_hang() {
    let waits = waits::Waits {
        cache: "adv_fork_b",
        count: tokio::sync::watch::Sender::new(0),
    };
    let mut waited = waits.count.subscribe();
    let _subscriber = tracing::subscriber::set_default(waits);
    let all = tokio::time::timeout(HANG, async {
        // Y leads `fork_b(1)`, Z leads `fork_a(1)`; both hold.
        let y = tokio::spawn(fork_b(1));
        FORK_B_STARTED.notified().await;
        let z = tokio::spawn(fork_a(1));
        FORK_A_STARTED.notified().await;
        // X leads `fork_p(1)` and waits for both.
        let x = tokio::spawn(fork_p(1));
        waited.wait_for(|n| *n >= 1).await.unwrap();
        // One of X's waits ends; X still waits for `fork_b(1)`.
        FORK_A_GO.notify_one();
        FORK_A_DONE_IN_P.notified().await;
        // Y goes back to `fork_p(1)`, whose leader waits for Y: Y must not wait for it.
        FORK_B_GO.notify_one();
        (x.await.unwrap(), y.await.unwrap(), z.await.unwrap())
    })
    .await;
    // Y computes `fork_p(1)` alone: `fork_a(1)` is cached (1), its own `fork_b(1)` computes
    // alone (1): 2, and 3 for `fork_b(1)`; X gets 1 + 3.
    assert_eq!(all, Ok((4, 3, 1)), "the cycle through the second wait hung");
}
