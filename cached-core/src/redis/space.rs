//! One cache's part of a Redis store (a `#[cache(store = REDIS)]` function, or the explicit
//! API's): the lookup that fetches a value and its generations in one round trip, the
//! single-flight of its computation in this process, and its counts.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::envelope::{self, Dependency, Unusable};
use super::repair::Repair;
use super::Shared;
use crate::error::Error;
use crate::flight::{Flight, Outcome};
use crate::stats::CacheStats;
use crate::sync::lock;

/// A computed value, as the flight hands it to the callers waiting for it.
type Erased = Arc<dyn Any + Send + Sync>;

/// Stores `ARGV[2]` at `KEYS[1]` (for `ARGV[3]` ms unless it is 0) if the key still holds what
/// the computation's lookup saw: nothing (`ARGV[1]` = "0") or the bytes `ARGV[4]`. So a value
/// computed before an invalidation, or beside another process's, does not overwrite theirs.
const STORE_IF_UNCHANGED: &str = r"
local now = redis.call('GET', KEYS[1])
if ARGV[1] == '0' then
  if now then return 0 end
elseif now ~= ARGV[4] then
  return 0
end
if ARGV[3] == '0' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
";

fn store_if_unchanged() -> &'static redis::Script {
    static SCRIPT: std::sync::OnceLock<redis::Script> = std::sync::OnceLock::new();
    SCRIPT.get_or_init(|| redis::Script::new(STORE_IF_UNCHANGED))
}

/// A new generation value, unique with overwhelming odds across processes and time.
pub(crate) fn token() -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish()).into_bytes()
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

fn millis(ttl: Option<Duration>) -> u64 {
    // At least 1 ms: `PX 0` is an error, and a TTL below a millisecond is as good as none.
    ttl.map_or(0, |ttl| {
        u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
    })
}

#[derive(Default)]
struct Counts {
    hits: AtomicU64,
    misses: AtomicU64,
    inserts: AtomicU64,
    invalidations: AtomicU64,
    errors: AtomicU64,
    computations: AtomicU64,
    miss_nanos: AtomicU64,
    hit_nanos: AtomicU64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// The entries of one cache in a Redis store.
pub(crate) struct Space {
    pub(crate) name: &'static str,
    /// `<prefix>:<name>:`.
    start: Vec<u8>,
    /// The generation of the whole cache, if it can be invalidated as a whole.
    generation: Option<Vec<u8>>,
    flights: Mutex<HashMap<Vec<u8>, Arc<Flight<Erased>>>>,
    counts: Counts,
    warned_unencodable: AtomicBool,
}

/// The guard of the caller computing one key in this process; see `crate::flight::Leader`.
struct Lead<'a> {
    space: &'a Space,
    key: Vec<u8>,
    flight: Arc<Flight<Erased>>,
    finished: bool,
}

impl Lead<'_> {
    fn end(&mut self, value: Option<Erased>) {
        self.finished = true;
        lock(&self.space.flights).remove(&self.key);
        self.flight.end(|| match value {
            Some(value) => Outcome::Value(value),
            None => Outcome::Abandoned,
        });
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.end(None);
        }
    }
}

enum Joined<'a> {
    Lead(Lead<'a>),
    Wait(Arc<Flight<Erased>>),
}

/// What one lookup found.
struct Found {
    /// What the key held, if anything.
    held: Option<Vec<u8>>,
    /// The generations now; `None` for one that does not exist yet.
    generations: Vec<Option<Vec<u8>>>,
}

impl Space {
    pub(crate) fn new(prefix: &str, name: &'static str, whole: bool) -> Self {
        let start = super::keys::space(prefix, name);
        Space {
            name,
            generation: whole.then(|| super::keys::generation(&start)),
            start,
            flights: Mutex::new(HashMap::new()),
            counts: Counts::default(),
            warned_unencodable: AtomicBool::new(false),
        }
    }

    /// The Redis key of an encoded key.
    pub(crate) fn key(&self, encoded: &[u8]) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.start.len() + encoded.len() * 3);
        key.extend_from_slice(&self.start);
        super::keys::push_key(&mut key, encoded);
        key
    }

    /// The generation keys of an entry with these tags: the cache's, then the tags'.
    pub(crate) fn generations(&self, shared: &Shared, tags: &[String]) -> Vec<Vec<u8>> {
        self.generation
            .iter()
            .cloned()
            .chain(tags.iter().map(|tag| super::keys::tag(&shared.prefix, tag)))
            .collect()
    }

    /// Counts a failure of the store.
    pub(crate) fn failed(&self) {
        add(&self.counts.errors, 1);
    }

    /// Counts a hit of the explicit API, which took `took`.
    pub(crate) fn hit(&self, took: Duration) {
        add(&self.counts.hits, 1);
        add(&self.counts.hit_nanos, nanos(took));
    }

    /// The value and the generations, in one round trip.
    async fn fetch(
        &self,
        shared: &Shared,
        key: &[u8],
        generations: &[Vec<u8>],
    ) -> Result<Found, Error> {
        if shared.repairs.are_pending() {
            // Boxed: rare, and kept out of every call's future.
            Box::pin(shared.repairs.apply(&shared.link)).await?;
        }
        let mut values: Vec<Option<Vec<u8>>> = shared
            .link
            .run(|mut connection| async move {
                let mut command = redis::cmd("MGET");
                command.arg(key).arg(generations);
                command.query_async(&mut connection).await
            })
            .await
            .inspect_err(|_| self.failed())?;
        if values.is_empty() {
            return Err(Error::remote("MGET answered nothing"));
        }
        let held = values.remove(0);
        Ok(Found {
            held,
            generations: values,
        })
    }

    /// The value `found` holds, if it is a current `V`.
    fn usable<V: DeserializeOwned>(
        &self,
        found: &Found,
        fingerprint: [u8; 8],
        generations: &[Vec<u8>],
    ) -> Option<V> {
        let held = found.held.as_ref()?;
        let current: Vec<Dependency> = generations
            .iter()
            .zip(&found.generations)
            .filter_map(|(key, token)| {
                Some(Dependency {
                    id: envelope::dependency_id(key),
                    token: token.clone()?,
                })
            })
            .collect();
        match envelope::decode(held, fingerprint, &current) {
            Ok(value) => Some(value),
            Err(why) => {
                if why == Unusable::Undecodable {
                    tracing::debug!(cache = self.name, "cached value does not decode: a miss");
                }
                None
            }
        }
    }

    fn join(&self, key: &[u8]) -> Joined<'_> {
        let mut flights = lock(&self.flights);
        if let Some(flight) = flights.get(key) {
            return Joined::Wait(Arc::clone(flight));
        }
        let flight = Arc::new(Flight::new(0));
        flights.insert(key.to_vec(), Arc::clone(&flight));
        Joined::Lead(Lead {
            space: self,
            key: key.to_vec(),
            flight,
            finished: false,
        })
    }

    /// The value of every generation an entry depends on, creating those that do not exist
    /// yet (in one round trip).
    async fn dependencies(
        &self,
        shared: &Shared,
        generations: &[Vec<u8>],
        seen: Vec<Option<Vec<u8>>>,
    ) -> Result<Vec<Dependency>, Error> {
        let missing: Vec<usize> = (0..generations.len())
            .filter(|&i| seen.get(i).is_none_or(Option::is_none))
            .collect();
        let mut tokens = seen;
        tokens.resize(generations.len(), None);
        if !missing.is_empty() {
            let fresh: Vec<Vec<u8>> = missing.iter().map(|_| token()).collect();
            let mut pipeline = redis::pipe();
            for (&i, token) in missing.iter().zip(&fresh) {
                // Created unless another caller did first; either way, its value now.
                pipeline
                    .cmd("SET")
                    .arg(&generations[i])
                    .arg(token)
                    .arg("NX")
                    .arg("GET");
            }
            let before: Vec<Option<Vec<u8>>> = shared
                .link
                .run(|mut connection| async move { pipeline.query_async(&mut connection).await })
                .await
                .inspect_err(|_| self.failed())?;
            for ((&i, token), before) in missing.iter().zip(fresh).zip(before) {
                tokens[i] = Some(before.unwrap_or(token));
            }
        }
        Ok(generations
            .iter()
            .zip(tokens)
            .filter_map(|(key, token)| {
                Some(Dependency {
                    id: envelope::dependency_id(key),
                    token: token?,
                })
            })
            .collect())
    }

    /// Stores `bytes` at `key` if it still holds `seen`; whether it did.
    async fn store(
        &self,
        shared: &Shared,
        key: &[u8],
        seen: Option<&[u8]>,
        bytes: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, Error> {
        let stored: i64 = shared
            .link
            .run(|mut connection| async move {
                let mut invocation = store_if_unchanged().key(key);
                invocation
                    .arg(if seen.is_some() { "1" } else { "0" })
                    .arg(bytes)
                    .arg(millis(ttl))
                    .arg(seen.unwrap_or_default());
                invocation.invoke_async(&mut connection).await
            })
            .await
            .inspect_err(|_| self.failed())?;
        if stored == 1 {
            add(&self.counts.inserts, 1);
        }
        Ok(stored == 1)
    }

    /// The value of `key`, or `compute`'s, computed once in this process for all concurrent
    /// callers and stored with the generations `generations` had when it began. A failure of
    /// the store is handed to `failed`, which returns the caller's answer; `None` computes.
    #[allow(clippy::too_many_arguments)] // the attribute's settings, passed through
    pub(crate) async fn run<V, R, F>(
        &self,
        shared: &Shared,
        fingerprint: [u8; 8],
        key: Vec<u8>,
        generations: Vec<Vec<u8>>,
        ttl: Option<Duration>,
        value_of: impl Fn(&R) -> Option<(&V, bool)>,
        wrap: impl Fn(V) -> R,
        failed: impl Fn(Error) -> Option<R>,
        compute: F,
    ) -> R
    where
        V: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
        F: Future<Output = R>,
    {
        let start = Instant::now();
        let mut missed = false;
        loop {
            // `None`: the store failed, and the value is computed without it (still once for
            // all the callers waiting here: an outage is no time for a stampede).
            let found = match self.fetch(shared, &key, &generations).await {
                Ok(found) => Some(found),
                Err(error) => {
                    if !shared.fail_open {
                        if let Some(returned) = failed(error) {
                            add(&self.counts.misses, 1);
                            return returned;
                        }
                    }
                    None
                }
            };
            let usable = found
                .as_ref()
                .and_then(|found| self.usable::<V>(found, fingerprint, &generations));
            if let Some(value) = usable {
                if missed {
                    add(&self.counts.misses, 1);
                } else {
                    add(&self.counts.hits, 1);
                    add(&self.counts.hit_nanos, nanos(start.elapsed()));
                }
                return wrap(value);
            }
            missed = true;
            match self.join(&key) {
                Joined::Wait(flight) => {
                    let value = match flight.wait_async().await {
                        Outcome::Value(value) => Some(value),
                        Outcome::Failed | Outcome::Abandoned => None,
                    };
                    if let Some(value) = value.and_then(|v| v.downcast_ref::<V>().cloned()) {
                        add(&self.counts.misses, 1);
                        return wrap(value);
                    }
                }
                Joined::Lead(mut lead) => {
                    add(&self.counts.misses, 1);
                    let Some(found) = found else {
                        let (returned, _) = self.computed(compute).await;
                        if let Some((value, _)) = value_of(&returned) {
                            lead.end(Some(Arc::new(value.clone())));
                        }
                        return returned;
                    };
                    // The miss path's round trips are boxed: inline, they would make every
                    // call's future (a hit's included) several kilobytes to move.
                    let dependencies =
                        Box::pin(self.dependencies(shared, &generations, found.generations)).await;
                    let (returned, took) = self.computed(compute).await;
                    let Some((value, keep)) = value_of(&returned) else {
                        tracing::debug!(cache = self.name, ?took, "cache miss: error, not stored");
                        return returned;
                    };
                    tracing::debug!(cache = self.name, ?took, stored = keep, "cache miss");
                    if let (true, Ok(dependencies)) = (keep, dependencies) {
                        match envelope::encode(value, fingerprint, &dependencies) {
                            Ok(bytes) => {
                                let seen = found.held.as_deref();
                                let _ = Box::pin(self.store(shared, &key, seen, &bytes, ttl)).await;
                            }
                            Err(error) => self.unencodable(&error),
                        }
                    }
                    lead.end(Some(Arc::new(value.clone())));
                    return returned;
                }
            }
        }
    }

    /// Counts a value that cannot be encoded (a serde error), and logs the first.
    #[cold]
    fn unencodable(&self, error: &rmp_serde::encode::Error) {
        self.failed();
        if !self.warned_unencodable.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                cache = self.name,
                %error,
                "value cannot be encoded: not cached (logged once per cache)"
            );
        }
    }

    /// Runs a computation, timing and counting it.
    async fn computed<R>(&self, compute: impl Future<Output = R>) -> (R, Duration) {
        let start = Instant::now();
        let returned = compute.await;
        let took = start.elapsed();
        add(&self.counts.computations, 1);
        add(&self.counts.miss_nanos, nanos(took));
        #[cfg(feature = "metrics")]
        crate::metrics::record_miss(self.name, took);
        (returned, took)
    }

    /// The value of `key`, if it is a current `V`, without computing nor counting it.
    pub(crate) async fn peek<V: DeserializeOwned>(
        &self,
        shared: &Shared,
        fingerprint: [u8; 8],
        key: &[u8],
        generations: &[Vec<u8>],
    ) -> Result<Option<V>, Error> {
        let found = self.fetch(shared, key, generations).await?;
        Ok(self.usable(&found, fingerprint, generations))
    }

    /// Stores `value` as the entry `key`, whatever it held.
    pub(crate) async fn put<V: Serialize>(
        &self,
        shared: &Shared,
        fingerprint: [u8; 8],
        key: &[u8],
        generations: &[Vec<u8>],
        value: &V,
        ttl: Option<Duration>,
    ) -> Result<(), Error> {
        let ttl = millis(ttl);
        // If the store fails, the value there may predate the change this put was for.
        let repair = || {
            shared.repairs.push(Repair::Tombstone {
                key: key.to_vec(),
                ttl_ms: tombstone_millis(ttl),
            })
        };
        let dependencies = self
            .dependencies(shared, generations, Vec::new())
            .await
            .inspect_err(|_| repair())?;
        let bytes = envelope::encode(value, fingerprint, &dependencies).map_err(Error::encode)?;
        shared
            .link
            .run(|mut connection| async move {
                let mut command = redis::cmd("SET");
                command.arg(key).arg(bytes);
                if ttl > 0 {
                    command.arg("PX").arg(ttl);
                }
                command.query_async::<()>(&mut connection).await
            })
            .await
            .inspect_err(|_| {
                self.failed();
                repair();
            })?;
        add(&self.counts.inserts, 1);
        Ok(())
    }

    /// Invalidates the entry `key`: a tombstone takes its place (for the TTL, at most a day),
    /// so that a computation in progress anywhere cannot store a value that predates the
    /// change. Returns whether the key held a value.
    pub(crate) async fn invalidate(
        &self,
        shared: &Shared,
        key: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, Error> {
        let tombstone = envelope::tombstone(&token());
        let ttl = tombstone_millis(millis(ttl));
        let before: Option<Vec<u8>> = shared
            .link
            .run(|mut connection| async move {
                let mut command = redis::cmd("SET");
                command
                    .arg(key)
                    .arg(tombstone)
                    .arg("PX")
                    .arg(ttl)
                    .arg("GET");
                command.query_async(&mut connection).await
            })
            .await
            .inspect_err(|_| {
                self.failed();
                shared.repairs.push(Repair::Tombstone {
                    key: key.to_vec(),
                    ttl_ms: ttl,
                });
            })?;
        let held = before.is_some_and(|bytes| bytes.first() != Some(&0));
        if held {
            add(&self.counts.invalidations, 1);
        }
        Ok(held)
    }

    /// Deletes the entry `key`; whether there was one.
    pub(crate) async fn delete(&self, shared: &Shared, key: &[u8]) -> Result<bool, Error> {
        let deleted: i64 = shared
            .link
            .run(|mut connection| async move {
                redis::cmd("DEL")
                    .arg(key)
                    .query_async(&mut connection)
                    .await
            })
            .await
            .inspect_err(|_| {
                self.failed();
                shared.repairs.push(Repair::Tombstone {
                    key: key.to_vec(),
                    ttl_ms: tombstone_millis(0),
                });
            })?;
        if deleted > 0 {
            add(&self.counts.invalidations, 1);
        }
        Ok(deleted > 0)
    }

    /// Invalidates every entry of the cache, in one command whatever their number.
    pub(crate) async fn invalidate_all(&self, shared: &Shared) -> Result<(), Error> {
        let Some(generation) = &self.generation else {
            return Ok(());
        };
        new_generation(shared, generation)
            .await
            .inspect_err(|_| self.failed())
    }

    /// The counts so far.
    pub(crate) fn stats(&self) -> CacheStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut stats = CacheStats::new(self.name);
        stats.hits = load(&self.counts.hits);
        stats.misses = load(&self.counts.misses);
        stats.inserts = load(&self.counts.inserts);
        stats.invalidations = load(&self.counts.invalidations);
        stats.errors = load(&self.counts.errors);
        stats.computations = load(&self.counts.computations);
        stats.miss_time_total = Duration::from_nanos(load(&self.counts.miss_nanos));
        stats.miss_time_mean = crate::stats::mean(stats.miss_time_total, stats.computations);
        stats.hit_time_mean = (stats.hits > 0).then(|| {
            crate::stats::mean(
                Duration::from_nanos(load(&self.counts.hit_nanos)),
                stats.hits,
            )
        });
        stats
    }
}

/// Gives a generation a new value: every entry stored under the old one is stale. If Redis
/// cannot be reached, the change is applied when it answers again.
pub(crate) async fn new_generation(shared: &Shared, key: &[u8]) -> Result<(), Error> {
    let token = token();
    shared
        .link
        .run(|mut connection| async move {
            redis::cmd("SET")
                .arg(key)
                .arg(token)
                .query_async::<()>(&mut connection)
                .await
        })
        .await
        .inspect_err(|_| {
            shared
                .repairs
                .push(Repair::Generation { key: key.to_vec() })
        })
}

/// How long a tombstone stays: the entry's TTL (in ms, 0 for none), or a day without one.
fn tombstone_millis(ttl_ms: u64) -> u64 {
    if ttl_ms == 0 {
        86_400_000
    } else {
        ttl_ms
    }
}
