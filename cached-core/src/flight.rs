//! Single-flight: one computation per key, the other callers wait for its value.
//!
//! The store registers a [`Flight`] for a key under the same shard lock that saw the miss, so
//! exactly one caller leads. The leader holds a [`Leader`] guard: finishing it publishes the
//! value; failing it (an `Err`) or dropping it unfinished (a panic, a cancelled future)
//! publishes that there is no value. No waiter can hang and nothing is stored that the body did
//! not return.
//!
//! Three rules keep the waiting safe under adversarial use:
//! - **A change ends the flight for new callers.** An invalidation or a put takes the flight
//!   out of the store's map, and a flight holds the generations of the tags it depends on (see
//!   [`Seen`]): once one of them moves, the next lookup does not join it. So a caller that
//!   arrives after the change starts a fresh computation instead of receiving a value computed
//!   from the old data; the old flight's value is handed to its waiters but not stored. A
//!   change that is not the flight's (another key, a tag it does not carry) leaves it alone.
//! - **No caller waits for itself.** While a leader's computation runs (a sync body) or is
//!   polled (an async one), its flight is marked on the running thread. A caller about to wait
//!   for a flight, from inside computations of its own, first follows who waits for whom (a
//!   graph kept only while such callers wait): if the flight's leader waits, directly or along
//!   a chain, for one of the caller's own flights, waiting would never end, and the caller
//!   computes without waiting instead. That covers a function calling itself with the same
//!   key, directly or through another cached function, and two callers entering such a cycle
//!   from both ends at once. Concurrent calls that are merely in the same task (`join!`) are
//!   not inside the leader's poll, so they wait and share its value as any other caller. A
//!   wait the graph cannot see (a body that spawns a task calling the same key and awaits its
//!   handle) is not detected, as with any lock.
//! - **A failure is no queue.** The waiters of a flight whose body failed do not line up
//!   behind one new leader each: they retry at once, and a retrier that finds another's new
//!   flight computes beside it instead of waiting (see [`Outcome::Failed`]).

use std::cell::RefCell;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::store::lru::{LruShards, StoreKey};
use crate::sync::modelled::{lock, Condvar, Mutex};
use crate::tags::Seen;

/// What a flight ended with, as a waiter sees it.
pub(crate) enum Outcome<V> {
    /// The leader's value.
    Value(V),
    /// The body returned an error: retry at once, without waiting for another flight.
    Failed,
    /// The leader panicked or was cancelled: retry (another caller may lead).
    Abandoned,
}

impl<V: Clone> Clone for Outcome<V> {
    fn clone(&self) -> Self {
        match self {
            Outcome::Value(value) => Outcome::Value(value.clone()),
            Outcome::Failed => Outcome::Failed,
            Outcome::Abandoned => Outcome::Abandoned,
        }
    }
}

thread_local! {
    /// The flights whose computation is running on this thread now, innermost last.
    static COMPUTING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Marks a flight's computation as running on this thread, for as long as it lives.
struct Marked(usize);

impl Marked {
    fn new(id: usize) -> Self {
        let _ = COMPUTING.try_with(|computing| computing.borrow_mut().push(id));
        Marked(id)
    }
}

impl Drop for Marked {
    fn drop(&mut self) {
        let _ = COMPUTING.try_with(|computing| {
            let mut computing = computing.borrow_mut();
            if let Some(at) = computing.iter().rposition(|&id| id == self.0) {
                computing.remove(at);
            }
        });
    }
}

/// A leader's computation, marked as its flight's on the thread during each poll.
pub(crate) struct Computing<F> {
    id: usize,
    inner: F,
}

impl<F: Future> Future for Computing<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let id = self.id;
        // SAFETY: `inner` is pinned structurally: it is never moved out of `self`, and
        // `Computing` has no `Drop` of its own that could move it.
        let inner = unsafe { self.map_unchecked_mut(|computing| &mut computing.inner) };
        let _marked = Marked::new(id);
        inner.poll(cx)
    }
}

/// Who waits for whom: `(a, b)` while the leader of flight `a` waits for flight `b`. Only
/// callers that wait from inside computations of their own are in it, and only while they
/// wait; it is read and written under one lock, on the wait path only, so that two callers
/// closing a cycle from both ends cannot both miss it.
static WAITS_FOR: std::sync::Mutex<Vec<(usize, usize)>> = std::sync::Mutex::new(Vec::new());

/// A wait recorded in [`WAITS_FOR`], removed when dropped (the wait ended, or was cancelled).
pub(crate) struct Waiting {
    leads: Vec<usize>,
    target: usize,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if self.leads.is_empty() {
            return;
        }
        // This wait's edges only, one per lead: the same leader may wait for several flights
        // at once (a `join!` inside its computation), each recorded by a wait of its own.
        let mut graph = crate::sync::lock(&WAITS_FOR);
        for lead in &self.leads {
            if let Some(at) = graph.iter().position(|&edge| edge == (*lead, self.target)) {
                graph.swap_remove(at);
            }
        }
    }
}

/// One computation in progress, shared by its leader and waiters.
pub(crate) struct Flight<V> {
    state: Mutex<Option<Outcome<V>>>,
    // Threads wait on the condvar, tasks on the notify, so a task never blocks its executor.
    threads: Condvar,
    tasks: tokio::sync::Notify,
    /// The generations the computation depends on, as they were when it began.
    depends: Seen,
}

impl<V: Clone> Flight<V> {
    /// A flight whose computation depends on the generations `depends`.
    pub(crate) fn new(depends: Seen) -> Self {
        Flight {
            state: Mutex::new(None),
            threads: Condvar::new(),
            tasks: tokio::sync::Notify::new(),
            depends,
        }
    }

    /// The flight's identity while it lives (its address).
    fn id(&self) -> usize {
        std::ptr::from_ref(self).cast::<()>() as usize
    }

    /// Whether none of the generations the computation depends on moved since it began: a
    /// caller may join it.
    pub(crate) fn is_current(&self) -> bool {
        self.depends.are_current()
    }

    /// Records that the caller is about to wait for this flight, unless the flight's leader
    /// waits, directly or along a chain, for a flight the caller leads: then `None`, and the
    /// caller must compute without waiting.
    fn begin_wait(&self) -> Option<Waiting> {
        let leads: Vec<usize> = COMPUTING
            .try_with(|computing| computing.borrow().clone())
            .unwrap_or_default();
        let target = self.id();
        if leads.is_empty() {
            // Nobody can be waiting for a caller that computes nothing.
            return Some(Waiting { leads, target });
        }
        let mut graph = crate::sync::lock(&WAITS_FOR);
        // Every flight the target's leader waits for, and theirs in turn (a leader may wait
        // for several at once, in a `join!`): a cycle if one of them is the caller's.
        let mut reached = vec![target];
        let mut next = 0;
        while let Some(&at) = reached.get(next) {
            next += 1;
            if leads.contains(&at) {
                return None;
            }
            for &(from, to) in graph.iter() {
                if from == at && !reached.contains(&to) {
                    reached.push(to);
                }
            }
        }
        graph.extend(leads.iter().map(|&lead| (lead, target)));
        Some(Waiting { leads, target })
    }

    /// Runs the leader's (sync) computation, marked as this flight's.
    pub(crate) fn compute<R>(&self, computation: impl FnOnce() -> R) -> R {
        let _marked = Marked::new(self.id());
        computation()
    }

    /// The leader's async computation, marked as this flight's whenever it is polled.
    pub(crate) fn computing<F: Future>(&self, future: F) -> Computing<F> {
        Computing {
            id: self.id(),
            inner: future,
        }
    }

    fn publish(&self, outcome: Outcome<V>) {
        *lock(&self.state) = Some(outcome);
        self.threads.notify_all();
        self.tasks.notify_waiters();
    }

    /// Publishes the outcome to the waiters, if any: without one, there is nobody to wake
    /// (and a condvar's wake-up is a system call). The flight must have left the store's map,
    /// so that no caller can join it any more and the count is final.
    pub(crate) fn end(self: &Arc<Self>, outcome: impl FnOnce() -> Outcome<V>) {
        if Arc::strong_count(self) > 1 {
            self.publish(outcome());
        }
    }

    fn outcome(&self) -> Option<Outcome<V>> {
        lock(&self.state).clone()
    }

    /// Blocks the thread until the leader finishes; `None` at once if that would never happen
    /// (the leader waits for the caller: see [`Flight::begin_wait`]).
    pub(crate) fn wait(&self) -> Option<Outcome<V>> {
        let _waiting = self.begin_wait()?;
        let mut state = lock(&self.state);
        loop {
            if let Some(outcome) = &*state {
                return Some(outcome.clone());
            }
            state = self
                .threads
                .wait(state)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    /// Waits without blocking the executor; `None` as [`Flight::wait`].
    pub(crate) async fn wait_async(&self) -> Option<Outcome<V>> {
        let _waiting = self.begin_wait()?;
        loop {
            let mut notified = pin!(self.tasks.notified());
            // Registered before the check, so a publish between the two is not missed.
            notified.as_mut().enable();
            if let Some(outcome) = self.outcome() {
                return Some(outcome);
            }
            notified.await;
        }
    }
}

/// The guard of the one caller that computes a key's value.
pub(crate) struct Leader<'a, K: StoreKey, V: Clone> {
    pub(crate) store: &'a LruShards<K, V>,
    pub(crate) key: K,
    pub(crate) flight: Arc<Flight<V>>,
    pub(crate) finished: bool,
}

impl<K: StoreKey, V: Clone> Leader<'_, K, V> {
    /// Stores `value` (unless `stored` is `None`, or the flight was ended by a change), ends
    /// the flight and hands `value` to the waiters. `took` is how long the computation ran.
    pub(crate) fn finish(
        mut self,
        stored: Option<(V, crate::store::lru::Validity)>,
        value: &V,
        took: Duration,
    ) {
        self.finished = true;
        self.store
            .end_flight(&self.key, &self.flight, stored, Some(took));
        self.flight.end(|| Outcome::Value(value.clone()));
    }

    /// Ends a computation that returned an error: nothing stored, the waiters retry at once.
    pub(crate) fn fail(mut self, took: Duration) {
        self.finished = true;
        self.store
            .end_flight(&self.key, &self.flight, None, Some(took));
        self.flight.end(|| Outcome::Failed);
    }
}

impl<K: StoreKey, V: Clone> Drop for Leader<'_, K, V> {
    fn drop(&mut self) {
        if !self.finished {
            self.store.end_flight(&self.key, &self.flight, None, None);
            self.flight.end(|| Outcome::Abandoned);
        }
    }
}
