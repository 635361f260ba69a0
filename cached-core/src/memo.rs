//! The cache of one `#[cache]` function: look up, or compute once and store.

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use crate::clock;
use crate::store::lru::{Lookup, LruShards, StoreKey, Validity};
use crate::tags::Tags;

/// How a function's return value maps to the value it caches.
///
/// `Plain` caches the value as returned; `Fallible` caches the `Ok` of a `Result` and lets an
/// `Err` through uncached. The macro picks one from the return type's last path segment.
pub trait Returns<R> {
    /// The cached value.
    type Value: Clone + Send + Sync + 'static;
    /// The value to cache, if the call succeeded.
    fn value(returned: &R) -> Option<&Self::Value>;
    /// The return value for a cached value.
    fn wrap(value: Self::Value) -> R;
}

/// Caches the return value as it is.
pub enum Plain {}

/// Caches the `Ok` value of a `Result`; an `Err` is returned and not stored.
pub enum Fallible {}

impl<R: Clone + Send + Sync + 'static> Returns<R> for Plain {
    type Value = R;

    #[inline]
    fn value(returned: &R) -> Option<&R> {
        Some(returned)
    }

    #[inline]
    fn wrap(value: R) -> R {
        value
    }
}

impl<T: Clone + Send + Sync + 'static, E> Returns<Result<T, E>> for Fallible {
    type Value = T;

    #[inline]
    fn value(returned: &Result<T, E>) -> Option<&T> {
        returned.as_ref().ok()
    }

    #[inline]
    fn wrap(value: T) -> Result<T, E> {
        Ok(value)
    }
}

/// The settings of one cached function, as the attribute gave them.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// The name shown to users (stats, remote namespaces).
    pub name: &'static str,
    /// The most entries kept.
    pub capacity: NonZeroUsize,
}

/// The cache of one function for one value type, with keys of type `K`.
pub struct FnCache<K, V> {
    config: Config,
    store: LruShards<K, V>,
}

/// What a lookup resolved to: a value, or the guard of the caller that must compute it.
enum Found<'a, K: StoreKey, V: Clone> {
    Value(V),
    Compute(crate::flight::Leader<'a, K, V>),
}

impl<K: StoreKey, V: Clone> FnCache<K, V> {
    pub(crate) fn new(config: Config) -> Self {
        FnCache {
            store: LruShards::new(config.capacity),
            config,
        }
    }

    /// After a miss: the value for `key`, blocking the thread while another thread computes it.
    #[cold]
    fn find(&self, key: &K) -> Found<'_, K, V> {
        loop {
            match self.store.lookup(key) {
                Lookup::Hit(value) => return Found::Value(value),
                Lookup::Lead(leader) => return Found::Compute(leader),
                Lookup::Wait(flight) => {
                    if let Some(value) = flight.wait() {
                        return Found::Value(value);
                    }
                }
            }
        }
    }

    /// As [`FnCache::find`], waiting without blocking the executor.
    async fn find_async(&self, key: &K) -> Found<'_, K, V> {
        loop {
            match self.store.lookup(key) {
                Lookup::Hit(value) => return Found::Value(value),
                Lookup::Lead(leader) => return Found::Compute(leader),
                Lookup::Wait(flight) => {
                    if let Some(value) = flight.wait_async().await {
                        return Found::Value(value);
                    }
                }
            }
        }
    }

    /// Stores what the leader computed (when it is a value to keep) and wakes the waiters.
    fn settle<R, S: Returns<R, Value = V>>(
        &self,
        leader: crate::flight::Leader<'_, K, V>,
        returned: &R,
        took: Duration,
        ttl: Option<Duration>,
        tags: Tags,
        unless: impl Fn(&V) -> bool,
    ) {
        #[cfg(feature = "metrics")]
        crate::metrics::record_miss(self.config.name, took);
        let Some(value) = S::value(returned) else {
            tracing::debug!(
                cache = self.config.name,
                ?took,
                "cache miss: error, not stored"
            );
            return leader.fail(took);
        };
        let store = !unless(value);
        tracing::debug!(
            cache = self.config.name,
            ?took,
            stored = store,
            "cache miss"
        );
        let stored = store.then(|| (value.clone(), Validity::new(clock::deadline(ttl), tags)));
        leader.finish(stored, value, took);
    }
}

impl<K: StoreKey, V: Clone> FnCache<K, V> {
    /// Removes `key`'s entry; see [`crate::__private::Entry`].
    pub fn invalidate(&self, key: &mut K) -> bool {
        self.store.seal(key);
        self.store.invalidate(key)
    }

    /// The live value of `key`, without computing it.
    pub fn peek(&self, key: &mut K) -> Option<V> {
        self.store.seal(key);
        self.store.peek(key)
    }

    /// Stores `value` under `key`.
    pub fn put(&self, key: &mut K, value: V, ttl: Option<Duration>) {
        self.store.seal(key);
        self.store.put(
            key,
            value,
            Validity::new(clock::deadline(ttl), Tags::default()),
        );
    }
}

impl<K: StoreKey, V: Clone + Send + Sync + 'static> crate::registry::Registered for FnCache<K, V> {
    fn invalidate_all(&self) -> usize {
        self.store.invalidate_all()
    }

    fn stats(&self) -> crate::stats::CacheStats {
        let counts = self.store.counts();
        let mut stats = crate::stats::CacheStats::new(self.config.name);
        stats.hits = counts.hits;
        stats.misses = counts.misses;
        stats.inserts = counts.inserts;
        stats.evictions = counts.evictions;
        stats.invalidations = counts.invalidations;
        stats.len = Some(self.store.len());
        stats.computations = counts.computed;
        stats.miss_time_total = Duration::from_nanos(counts.compute_nanos);
        stats.miss_time_mean = crate::stats::mean(stats.miss_time_total, counts.computed);
        stats
    }
}

// The bounds on `V` come with `S: Returns<R, Value = V>`, so that a value type that cannot be
// cached is reported once, on that bound.
impl<K: StoreKey, V> FnCache<K, V> {
    /// The cached value for `key`, or `compute()`'s, computed once for all concurrent callers.
    #[inline]
    pub fn get_or_compute<R, S: Returns<R, Value = V>>(
        &self,
        key: &mut K,
        ttl: Option<Duration>,
        unless: impl Fn(&V) -> bool,
        compute: impl FnOnce(&mut Tags) -> R,
    ) -> R
    where
        V: Clone,
    {
        self.store.seal(key);
        if let Some(value) = self.store.get(key) {
            return S::wrap(value);
        }
        match self.find(key) {
            Found::Value(value) => S::wrap(value),
            Found::Compute(leader) => {
                let start = Instant::now();
                let mut tags = Tags::default();
                let returned = compute(&mut tags);
                self.settle::<R, S>(leader, &returned, start.elapsed(), ttl, tags, unless);
                returned
            }
        }
    }

    /// The async form of [`FnCache::get_or_compute`].
    pub async fn get_or_compute_async<
        R,
        S: Returns<R, Value = V>,
        F: std::future::Future<Output = R>,
    >(
        &self,
        mut key: K,
        ttl: Option<Duration>,
        unless: impl Fn(&V) -> bool,
        compute: impl FnOnce(&mut Tags) -> F,
    ) -> R
    where
        V: Clone,
    {
        self.store.seal(&mut key);
        if let Some(value) = self.store.get(&key) {
            return S::wrap(value);
        }
        match self.find_async(&key).await {
            Found::Value(value) => S::wrap(value),
            Found::Compute(leader) => {
                let start = Instant::now();
                let mut tags = Tags::default();
                let returned = compute(&mut tags).await;
                self.settle::<R, S>(leader, &returned, start.elapsed(), ttl, tags, unless);
                returned
            }
        }
    }
}
