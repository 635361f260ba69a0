//! Single-flight: one computation per key, the other callers wait for its value.
//!
//! The store registers a [`Flight`] for a key under the same shard lock that saw the miss, so
//! exactly one caller leads. The leader holds a [`Leader`] guard: finishing it publishes the
//! value; dropping it unfinished (a panic, an `Err`, a cancelled future) publishes "no value",
//! and each waiter goes back to the store and tries again. No waiter can hang and nothing is
//! stored that the body did not return.

use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::store::lru::{LruShards, StoreKey};
use crate::sync::lock;

/// What a flight ended with. `None`: the leader stored nothing; try again.
enum State<V> {
    Pending,
    Done(Option<V>),
}

/// One computation in progress, shared by its leader and waiters.
pub(crate) struct Flight<V> {
    state: Mutex<State<V>>,
    /// Set (under the shard's lock) when the key is invalidated or overwritten during the
    /// computation: its value may predate the change, so it is handed to the waiters but not
    /// stored.
    stale: AtomicBool,
    // Threads wait on the condvar, tasks on the notify, so a task never blocks its executor.
    threads: Condvar,
    tasks: tokio::sync::Notify,
}

impl<V: Clone> Flight<V> {
    pub(crate) fn new() -> Self {
        Flight {
            state: Mutex::new(State::Pending),
            stale: AtomicBool::new(false),
            threads: Condvar::new(),
            tasks: tokio::sync::Notify::new(),
        }
    }

    /// Marks the computation's value as not to be stored.
    pub(crate) fn mark_stale(&self) {
        self.stale.store(true, Ordering::Relaxed);
    }

    pub(crate) fn is_stale(&self) -> bool {
        self.stale.load(Ordering::Relaxed)
    }

    fn publish(&self, value: Option<V>) {
        *lock(&self.state) = State::Done(value);
        self.threads.notify_all();
        self.tasks.notify_waiters();
    }

    /// Publishes `value` to the waiters, if any: without one, there is nobody to wake (and a
    /// condvar's wake-up is a system call).
    pub(crate) fn end(self: &Arc<Self>, value: impl FnOnce() -> Option<V>) {
        // The flight has left the store's map, so no caller can join it now: the count is final.
        if Arc::strong_count(self) > 1 {
            self.publish(value());
        }
    }

    fn outcome(&self) -> Option<Option<V>> {
        match &*lock(&self.state) {
            State::Pending => None,
            State::Done(value) => Some(value.clone()),
        }
    }

    /// Blocks the thread until the leader finishes; `None` means "try again".
    pub(crate) fn wait(&self) -> Option<V> {
        let mut state = lock(&self.state);
        loop {
            match &*state {
                State::Done(value) => return value.clone(),
                State::Pending => {
                    state = self
                        .threads
                        .wait(state)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                }
            }
        }
    }

    /// Waits without blocking the executor; `None` means "try again".
    pub(crate) async fn wait_async(&self) -> Option<V> {
        loop {
            let mut notified = pin!(self.tasks.notified());
            // Registered before the check, so a publish between the two is not missed.
            notified.as_mut().enable();
            if let Some(value) = self.outcome() {
                return value;
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
    /// Stores `value` (unless `stored` is `None`), ends the flight and hands `value` to the
    /// waiters. `took` is how long the computation ran.
    pub(crate) fn finish(
        mut self,
        stored: Option<(V, crate::store::lru::Validity)>,
        value: &V,
        took: Duration,
    ) {
        self.finished = true;
        self.store.end_flight(&self.key, stored, Some(took));
        self.flight.end(|| Some(value.clone()));
    }

    /// Ends a computation that returned an error: nothing stored, the waiters try again.
    pub(crate) fn fail(mut self, took: Duration) {
        self.finished = true;
        self.store.end_flight(&self.key, None, Some(took));
        self.flight.end(|| None);
    }
}

impl<K: StoreKey, V: Clone> Drop for Leader<'_, K, V> {
    fn drop(&mut self) {
        if !self.finished {
            self.store.end_flight(&self.key, None, None);
            self.flight.end(|| None);
        }
    }
}
