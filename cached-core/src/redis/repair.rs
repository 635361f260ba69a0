//! Invalidations that failed while Redis could not be reached, applied when it answers again.
//!
//! When Redis is slow or cut off (not restarted empty), the values it holds survive the outage:
//! an invalidation that failed meanwhile would leave them stale until their TTL, for every
//! process. So each failed invalidation (and each failed write, whose old value may be stale)
//! is kept here, and applied, all of them in one round trip, by whichever comes first: this
//! process's next lookup (before it reads), or a task that retries at the breaker's pace (every
//! cool-down) until none is left. A lookup that finds an application in progress waits for it,
//! so that it never reads what the repairs are about to clear.
//!
//! Repairs are kept by the key they write, so an outage that sees the same tag (or key)
//! invalidated again and again keeps one repair for it. Past [`MAX_PENDING`] keys, a key's
//! tombstone gives way to a new generation of its whole cache (more misses, never a stale read).
//!
//! What remains: until Redis answers again and the task's next attempt (at most about one
//! cool-down later), the other processes may read the old values; a process that exits (or
//! whose runtime ends) before then takes its kept invalidations with it, and past
//! [`MAX_PENDING`] keys, tags invalidated for the first time during the outage (and keys of
//! the explicit API, which no generation covers) are dropped and logged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, Weak};
use std::time::Duration;

use super::link::Link;
use super::Shared;
use crate::error::Error;
use crate::sync::lock;

/// The most keys repairs are kept for: past it, a tombstone becomes its cache's new generation,
/// and a repair nothing else covers is dropped (and logged).
const MAX_PENDING: usize = 10_000;

/// The shortest pause between two attempts of the task, whatever the cool-down.
const MIN_PAUSE: Duration = Duration::from_millis(50);

/// One change Redis missed.
#[derive(Debug, Clone)]
pub(crate) enum Repair {
    /// The entry at `key` is no longer current: a tombstone for `ttl_ms`. `cache` is the
    /// generation of its cache, which covers it when too many keys wait (`None` for the
    /// explicit API).
    Tombstone {
        key: Vec<u8>,
        ttl_ms: u64,
        cache: Option<Vec<u8>>,
    },
    /// Every entry depending on the generation at `key` is no longer current.
    Generation { key: Vec<u8> },
}

impl Repair {
    /// The Redis key the repair writes.
    fn key(&self) -> &[u8] {
        match self {
            Repair::Tombstone { key, .. } | Repair::Generation { key } => key,
        }
    }

    /// Keeps what both repairs of one key ask: the longer tombstone.
    fn merge(self, older: Repair) -> Repair {
        match (self, older) {
            (
                Repair::Tombstone { key, ttl_ms, cache },
                Repair::Tombstone { ttl_ms: before, .. },
            ) => Repair::Tombstone {
                key,
                ttl_ms: ttl_ms.max(before),
                cache,
            },
            (newer, _) => newer,
        }
    }
}

/// The repairs waiting, one per Redis key.
type Pending = HashMap<Vec<u8>, Repair>;

/// Adds `repair` to `pending`, merged with the repair of its key if there is one.
fn merge_into(pending: &mut Pending, repair: Repair) {
    match pending.remove(repair.key()) {
        Some(older) => {
            let merged = repair.merge(older);
            pending.insert(merged.key().to_vec(), merged);
        }
        None => {
            pending.insert(repair.key().to_vec(), repair);
        }
    }
}

#[derive(Default)]
pub(crate) struct Repairs {
    pending: Mutex<Pending>,
    /// Whether any repair waits or is being applied.
    any: AtomicBool,
    /// Held while repairs are applied: one application at a time.
    applying: tokio::sync::Mutex<()>,
    /// Applications that failed so far.
    failures: AtomicU64,
    /// Whether a task retries (one per store at most).
    retrying: AtomicBool,
}

impl Repairs {
    /// Keeps `repair` for when Redis answers again.
    pub(crate) fn push(&self, repair: Repair) {
        let mut pending = lock(&self.pending);
        let room = pending.len() < MAX_PENDING || pending.contains_key(repair.key());
        let repair = match repair {
            repair if room => repair,
            // One key too many: its whole cache moves on instead (kept past the limit: there
            // are as many as caches).
            Repair::Tombstone {
                cache: Some(cache), ..
            } => Repair::Generation { key: cache },
            _ => {
                tracing::warn!(
                    "Redis cache store: too many invalidations missed during the outage; \
                     some entries may stay stale until their TTL"
                );
                return;
            }
        };
        merge_into(&mut pending, repair);
        self.any.store(true, Ordering::Release);
    }

    /// Forgets a tombstone kept for `key`: a value written there since replaces it.
    pub(crate) fn written(&self, key: &[u8]) {
        if self.are_pending() {
            let mut pending = lock(&self.pending);
            if let Some(Repair::Tombstone { .. }) = pending.get(key) {
                pending.remove(key);
            }
        }
    }

    /// Whether any repair waits (or is being applied).
    #[inline]
    pub(crate) fn are_pending(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    /// Applies every waiting repair in one round trip; those that could not be applied wait for
    /// the next attempt. A caller that finds another application in progress waits for it, and
    /// fails (without a second try) if that one failed.
    pub(crate) async fn apply(&self, link: &Link) -> Result<(), Error> {
        let failures = self.failures.load(Ordering::Acquire);
        let _applying = self.applying.lock().await;
        if self.failures.load(Ordering::Acquire) != failures {
            return Err(Error::unavailable());
        }
        // Put back unless applied: on a failure, and when the caller's future is dropped
        // mid-way (a timeout around a lookup), where they would otherwise be lost.
        let mut taken = Taken {
            repairs: self,
            batch: std::mem::take(&mut *lock(&self.pending)),
        };
        let repairs = &taken.batch;
        if repairs.is_empty() {
            self.settle();
            return Ok(());
        }
        let mut pipeline = redis::pipe();
        for repair in repairs.values() {
            match repair {
                Repair::Tombstone { key, ttl_ms, .. } => {
                    let tombstone = super::envelope::tombstone(&super::space::token());
                    pipeline
                        .cmd("SET")
                        .arg(key)
                        .arg(tombstone)
                        .arg("PX")
                        .arg(*ttl_ms)
                        .ignore();
                }
                Repair::Generation { key } => {
                    // `XX`: see `space::new_generation`.
                    pipeline
                        .cmd("SET")
                        .arg(key)
                        .arg(super::space::token())
                        .arg("XX")
                        .ignore();
                }
            }
        }
        let applied = link
            .run(|mut connection| async move { pipeline.query_async::<()>(&mut connection).await })
            .await;
        if applied.is_ok() {
            let repairs = std::mem::take(&mut taken.batch);
            tracing::info!(
                repairs = repairs.len(),
                "Redis cache store answers again: invalidations missed during the outage applied"
            );
            drop(taken);
            self.settle();
        }
        applied
    }

    /// Puts a batch that was not applied back, under the repairs queued since.
    fn put_back(&self, batch: Pending) {
        let mut pending = lock(&self.pending);
        let newer = std::mem::replace(&mut *pending, batch);
        for repair in newer.into_values() {
            merge_into(&mut pending, repair);
        }
        self.failures.fetch_add(1, Ordering::AcqRel);
        self.any.store(true, Ordering::Release);
    }

    /// Clears `any` if nothing waits.
    fn settle(&self) {
        let pending = lock(&self.pending);
        if pending.is_empty() {
            self.any.store(false, Ordering::Release);
        }
    }
}

/// A batch of repairs being applied: put back when dropped, unless emptied once applied.
struct Taken<'a> {
    repairs: &'a Repairs,
    batch: Pending,
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if !self.batch.is_empty() {
            self.repairs.put_back(std::mem::take(&mut self.batch));
        }
    }
}

/// Makes sure a task applies the repairs `shared` keeps until none is left, when there is a
/// tokio runtime to run it on: the current one, or the one the store last connected from
/// (without either, the next lookup applies them).
pub(crate) fn retry(shared: &Shared) {
    let Some(runtime) = shared.link.runtime() else {
        return;
    };
    let repairs = &shared.repairs;
    if repairs
        .retrying
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return; // one is on it
    }
    let retrier = Retrier {
        shared: shared.me.clone(),
        owns: true,
    };
    runtime.spawn(retrier.run());
}

/// The task that retries a store's repairs. It holds the store weakly (a store dropped ends
/// it), and gives the `retrying` flag back when it ends, cancelled with its runtime included.
struct Retrier {
    shared: Weak<Shared>,
    /// Whether the flag is this task's to give back.
    owns: bool,
}

impl Retrier {
    async fn run(mut self) {
        loop {
            let Some(pause) = self.shared.upgrade().map(|shared| shared.link.cooldown()) else {
                return;
            };
            // The failure that kept a repair just happened: Redis is given the breaker's time.
            tokio::time::sleep(pause.max(MIN_PAUSE)).await;
            let Some(shared) = self.shared.upgrade() else {
                return;
            };
            let repairs = &shared.repairs;
            if repairs.are_pending() {
                let _ = repairs.apply(&shared.link).await;
            }
            if !repairs.are_pending() {
                repairs.retrying.store(false, Ordering::Release);
                // A repair kept just before the flag was given back left it to this task.
                let again = repairs.are_pending()
                    && repairs
                        .retrying
                        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok();
                if !again {
                    self.owns = false;
                    return;
                }
            }
        }
    }
}

impl Drop for Retrier {
    fn drop(&mut self) {
        if self.owns {
            if let Some(shared) = self.shared.upgrade() {
                shared.repairs.retrying.store(false, Ordering::Release);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    /// A store on a port nothing listens on: every attempt fails at once.
    fn refused() -> crate::RedisStore {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap()
            .port();
        crate::RedisStore::builder(&format!("redis://127.0.0.1:{port}/"))
            .cooldown(Duration::ZERO)
            .build()
            .unwrap()
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn one_task_retries_the_repairs_and_it_ends_when_none_is_left() {
        let store = refused();
        let shared = Arc::clone(&store.shared);
        runtime().block_on(async {
            let tasks = || {
                tokio::runtime::Handle::current()
                    .metrics()
                    .num_alive_tasks()
            };
            for i in 0..10 {
                shared.keep(Repair::Generation { key: vec![i] });
            }
            assert_eq!(tasks(), 1, "one task for them all");
            // As if Redis had taken them: the task ends at its next attempt.
            lock(&shared.repairs.pending).clear();
            shared.repairs.settle();
            let deadline = Instant::now() + Duration::from_secs(10);
            while tasks() > 0 {
                assert!(Instant::now() < deadline, "the task never ended");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert!(!shared.repairs.retrying.load(Ordering::Acquire));
            shared.keep(Repair::Generation { key: vec![0] });
            assert_eq!(tasks(), 1, "a new outage, a new task");
        });
        // Its runtime gone, the task gave the flag back: the next repair kept starts another.
        assert!(!shared.repairs.retrying.load(Ordering::Acquire));
        runtime().block_on(async {
            shared.keep(Repair::Generation { key: vec![1] });
            assert!(shared.repairs.retrying.load(Ordering::Acquire));
        });
    }

    #[test]
    fn repairs_of_one_key_are_kept_once_and_a_tombstone_past_the_limit_moves_its_cache() {
        let repairs = Repairs::default();
        // A tag invalidated again and again during the outage: one repair.
        for _ in 0..3 * MAX_PENDING {
            repairs.push(Repair::Generation {
                key: b"tag".to_vec(),
            });
        }
        assert_eq!(lock(&repairs.pending).len(), 1);
        // The longest of a key's tombstones is kept.
        for ttl_ms in [5, 50, 7] {
            repairs.push(Repair::Tombstone {
                key: b"k".to_vec(),
                ttl_ms,
                cache: Some(b"gen".to_vec()),
            });
        }
        assert!(matches!(
            lock(&repairs.pending).get(&b"k"[..]),
            Some(Repair::Tombstone { ttl_ms: 50, .. })
        ));
        for i in 0..MAX_PENDING {
            repairs.push(Repair::Generation {
                key: format!("other:{i}").into_bytes(),
            });
        }
        // Past the limit, a new key's tombstone becomes its cache's generation.
        repairs.push(Repair::Tombstone {
            key: b"late".to_vec(),
            ttl_ms: 5,
            cache: Some(b"gen".to_vec()),
        });
        let pending = lock(&repairs.pending);
        assert!(!pending.contains_key(&b"late"[..]));
        assert!(matches!(
            pending.get(&b"gen"[..]),
            Some(Repair::Generation { .. })
        ));
    }

    #[test]
    fn without_a_runtime_the_repair_waits_for_the_next_lookup() {
        let store = refused();
        store.shared.keep(Repair::Generation { key: vec![0] });
        assert!(store.shared.repairs.are_pending());
        assert!(!store.shared.repairs.retrying.load(Ordering::Acquire));
    }

    /// Found by review: a caller's timeout around a lookup (which applies the repairs first)
    /// dropped the batch being applied, and the kept invalidations were lost.
    #[tokio::test]
    async fn a_cancelled_application_keeps_its_repairs() {
        // A server that accepts and never answers: the application waits until cancelled.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (accepted, connected) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let connection = listener.accept();
            let _ = accepted.send(());
            // Held open, silent, until the test process ends.
            std::thread::park();
            drop(connection);
        });
        let store = crate::RedisStore::builder(&format!("redis://127.0.0.1:{port}/"))
            .timeout(Duration::from_secs(600))
            .build()
            .unwrap();
        let shared = Arc::clone(&store.shared);
        shared
            .repairs
            .push(Repair::Generation { key: b"t".to_vec() });
        let applying = {
            let shared = Arc::clone(&shared);
            tokio::spawn(async move { shared.repairs.apply(&shared.link).await })
        };
        tokio::task::spawn_blocking(move || connected.recv().unwrap())
            .await
            .unwrap();
        applying.abort();
        assert!(applying.await.unwrap_err().is_cancelled());
        assert_eq!(
            lock(&shared.repairs.pending).len(),
            1,
            "the kept invalidation was lost"
        );
        assert!(shared.repairs.are_pending());
    }
}
