//! The cache of one `#[cache]` function: look up, or compute once and store.

use std::any::Any;
use std::future::Future;
use std::marker::PhantomData;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clock;
use crate::flight::Outcome;
use crate::store::explicit::{LruStore, Values as StoreValues};
use crate::store::lru::{Key, Lookup, LruShards, StoreKey, Validity};
use crate::tags::{Seen, Tags};

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

/// Where a function's entries live, and how its values are kept there: its own store
/// ([`FnCache`]), or a store shared with other functions ([`SharedCache`]). The caching logic
/// below is written once over this.
pub(crate) trait Backend {
    type Key: StoreKey;
    type Value: Clone;
    /// What the store holds for a value.
    type Stored: Clone;
    fn shards(&self) -> &LruShards<Self::Key, Self::Stored>;
    fn name(&self) -> &'static str;
    /// The value of what the store holds; `None` if it is not a `Value` (never, for keys that
    /// only this backend writes).
    fn load(stored: Self::Stored) -> Option<Self::Value>;
    fn to_stored(value: &Self::Value) -> Self::Stored;
    /// Adds what every entry of this backend carries to the tags of a computation.
    fn begin(&self, _tags: &mut Tags) {}
}

/// What a lookup resolved to: a value, or the guard of the caller that must compute it.
enum Found<'a, K: StoreKey, S: Clone> {
    /// A value the store held.
    Value(S),
    /// The value of the computation the caller waited for (another caller's).
    Waited(S),
    Compute(crate::flight::Leader<'a, K, S>),
    /// Compute without leading a flight, and store nothing: the flight found waits for the
    /// caller (a re-entrant call, or a cycle of cached functions: waiting would never end), or
    /// the caller retries after a failed flight and found another retrier's (waiting would
    /// queue the retries).
    Alone,
}

/// What a waiter does once the flight it waited for ended: `None` to look up again.
fn waited<'a, K: StoreKey, S: Clone>(
    outcome: Option<Outcome<S>>,
    after_failure: &mut bool,
) -> Option<Found<'a, K, S>> {
    match outcome {
        Some(Outcome::Value(value)) => Some(Found::Waited(value)),
        Some(Outcome::Failed) => {
            *after_failure = true;
            None
        }
        Some(Outcome::Abandoned) => None,
        None => Some(Found::Alone),
    }
}

/// After a miss: the value for `key`, blocking the thread while another thread computes it.
/// A flight begun now depends on `depends`.
#[cold]
fn find<'a, B: Backend>(
    backend: &'a B,
    key: &B::Key,
    depends: &Seen,
) -> Found<'a, B::Key, B::Stored> {
    let mut after_failure = false;
    loop {
        match backend.shards().lookup(key, depends) {
            Lookup::Hit(value) => return Found::Value(value),
            Lookup::Lead(leader) => return Found::Compute(leader),
            Lookup::Wait(_) if after_failure => return Found::Alone,
            Lookup::Wait(flight) => {
                tracing::trace!(
                    cache = backend.name(),
                    "waiting for the computation in progress"
                );
                if let Some(found) = waited(flight.wait(), &mut after_failure) {
                    return found;
                }
            }
        }
    }
}

/// As [`find`], waiting without blocking the executor.
async fn find_async<'a, B: Backend>(
    backend: &'a B,
    key: &B::Key,
    depends: &Seen,
) -> Found<'a, B::Key, B::Stored> {
    let mut after_failure = false;
    loop {
        match backend.shards().lookup(key, depends) {
            Lookup::Hit(value) => return Found::Value(value),
            Lookup::Lead(leader) => return Found::Compute(leader),
            Lookup::Wait(_) if after_failure => return Found::Alone,
            Lookup::Wait(flight) => {
                tracing::trace!(
                    cache = backend.name(),
                    "waiting for the computation in progress"
                );
                if let Some(found) = waited(flight.wait_async().await, &mut after_failure) {
                    return found;
                }
            }
        }
    }
}

/// Stores what the leader computed (when it is a value to keep) and wakes the waiters.
#[allow(clippy::too_many_arguments)] // one call site each, in `run` and `run_async`
fn settle<B: Backend, R, S: Returns<R, Value = B::Value>>(
    backend: &B,
    leader: crate::flight::Leader<'_, B::Key, B::Stored>,
    returned: &R,
    took: Duration,
    ttl: Option<Duration>,
    tags: Tags,
    unless: impl Fn(&B::Value) -> bool,
) {
    #[cfg(feature = "metrics")]
    crate::metrics::record_miss(backend.name(), took);
    let Some(value) = S::value(returned) else {
        tracing::debug!(
            cache = backend.name(),
            ?took,
            "cache miss: error, not stored"
        );
        return leader.fail(took);
    };
    let store = !unless(value);
    tracing::debug!(cache = backend.name(), ?took, stored = store, "cache miss");
    let stored = B::to_stored(value);
    let kept = store.then(|| (stored.clone(), Validity::new(clock::deadline(ttl), tags)));
    leader.finish(kept, &stored, took);
}

/// The hit path shared by [`run`] and [`run_async`]: seals the key, and returns its value if
/// it is cached.
#[inline(always)]
fn hit<B: Backend>(backend: &B, key: &mut B::Key) -> Option<B::Value> {
    backend.shards().seal(key);
    backend.shards().get(key).and_then(B::load)
}

/// The value a lookup found, or `None` (after removing it) if it is not a `B::Value`.
fn loaded<B: Backend>(backend: &B, key: &B::Key, stored: B::Stored) -> Option<B::Value> {
    let value = B::load(stored);
    if value.is_none() {
        backend.shards().invalidate(key);
    }
    value
}

/// After a miss: the computation's tags (with the backend's own), evaluated before it is
/// joined or begun, and the body `compute` returns with them.
fn begin<B: Backend, C>(backend: &B, compute: impl FnOnce(&mut Tags) -> C) -> (Tags, C) {
    let mut tags = Tags::default();
    backend.begin(&mut tags);
    let body = compute(&mut tags);
    (tags, body)
}

/// The cached value for `key`, or `compute()`'s, computed once for all concurrent callers.
/// Always inlined: the hit path is the caller's whole call, and with two callers (the
/// functions and `LruStore`) the compiler would otherwise keep it out of line.
#[inline(always)]
pub(crate) fn run<B: Backend, R, S: Returns<R, Value = B::Value>, C: FnOnce() -> R>(
    backend: &B,
    key: &mut B::Key,
    ttl: Option<Duration>,
    unless: impl Fn(&B::Value) -> bool,
    compute: impl FnOnce(&mut Tags) -> C,
) -> R {
    if let Some(value) = hit(backend, key) {
        return S::wrap(value);
    }
    let (tags, body) = begin(backend, compute);
    loop {
        match find(backend, key, tags.seen()) {
            Found::Value(stored) => {
                if let Some(value) = loaded(backend, key, stored) {
                    return S::wrap(value);
                }
            }
            Found::Waited(stored) => {
                if let Some(value) = loaded(backend, key, stored) {
                    backend.shards().coalesced(key);
                    return S::wrap(value);
                }
            }
            Found::Compute(leader) => {
                let start = Instant::now();
                let returned = leader.flight.compute(body);
                let took = start.elapsed();
                settle::<B, R, S>(backend, leader, &returned, took, ttl, tags, unless);
                return returned;
            }
            Found::Alone => return body(),
        }
    }
}

/// The async form of [`run`].
async fn run_async<B: Backend, R, S: Returns<R, Value = B::Value>, F: Future<Output = R>>(
    backend: &B,
    mut key: B::Key,
    ttl: Option<Duration>,
    unless: impl Fn(&B::Value) -> bool,
    compute: impl FnOnce(&mut Tags) -> F,
) -> R {
    if let Some(value) = hit(backend, &mut key) {
        return S::wrap(value);
    }
    let (tags, body) = begin(backend, compute);
    loop {
        match find_async(backend, &key, tags.seen()).await {
            Found::Value(stored) => {
                if let Some(value) = loaded(backend, &key, stored) {
                    return S::wrap(value);
                }
            }
            Found::Waited(stored) => {
                if let Some(value) = loaded(backend, &key, stored) {
                    backend.shards().coalesced(&key);
                    return S::wrap(value);
                }
            }
            Found::Compute(leader) => {
                let start = Instant::now();
                let returned = leader.flight.computing(body).await;
                let took = start.elapsed();
                settle::<B, R, S>(backend, leader, &returned, took, ttl, tags, unless);
                return returned;
            }
            Found::Alone => return body.await,
        }
    }
}

/// What the typed handles do with one entry of any backend.
pub(crate) trait Handle<K, V>: Sync {
    fn invalidate(&self, key: &mut K) -> bool;
    fn peek(&self, key: &mut K) -> Option<V>;
    /// Stores `value` with the function's TTL and the entry's tags.
    fn put(&self, key: &mut K, value: V, ttl: Option<Duration>, tags: &[String]);
}

impl<B: Backend + Sync> Handle<B::Key, B::Value> for B {
    fn invalidate(&self, key: &mut B::Key) -> bool {
        self.shards().seal(key);
        self.shards().invalidate(key)
    }

    fn peek(&self, key: &mut B::Key) -> Option<B::Value> {
        self.shards().seal(key);
        self.shards().peek(key).and_then(B::load)
    }

    fn put(&self, key: &mut B::Key, value: B::Value, ttl: Option<Duration>, names: &[String]) {
        self.shards().seal(key);
        let mut tags = Tags::default();
        self.begin(&mut tags);
        for name in names {
            tags.add(name);
        }
        let validity = Validity::new(clock::deadline(ttl), tags);
        self.shards().put(key, B::to_stored(&value), validity);
    }
}

/// The cache of one function for one value type, with keys of type `K`, in a store of its own.
pub struct FnCache<K, V> {
    config: Config,
    store: LruShards<K, V>,
}

impl<K: StoreKey, V: Clone> FnCache<K, V> {
    pub(crate) fn new(config: Config) -> Self {
        FnCache {
            store: LruShards::new(config.capacity),
            config,
        }
    }
}

impl<K: StoreKey, V: Clone> Backend for FnCache<K, V> {
    type Key = K;
    type Value = V;
    type Stored = V;

    #[inline]
    fn shards(&self) -> &LruShards<K, V> {
        &self.store
    }

    fn name(&self) -> &'static str {
        self.config.name
    }

    #[inline]
    fn load(stored: V) -> Option<V> {
        Some(stored)
    }

    fn to_stored(value: &V) -> V {
        value.clone()
    }
}

impl<K: StoreKey, V: Clone + Send + Sync + 'static> crate::registry::Registered for FnCache<K, V> {
    fn invalidate_all(&self) -> usize {
        self.store.invalidate_all()
    }

    fn stats(&self) -> Option<crate::stats::CacheStats> {
        Some(self.store.stats(self.config.name))
    }
}

// The bounds on `V` come with `S: Returns<R, Value = V>`, so that a value type that cannot be
// cached is reported once, on that bound.
impl<K: StoreKey, V> FnCache<K, V> {
    /// The cached value for `key`, or `compute()`'s, computed once for all concurrent callers.
    #[inline]
    ///
    /// `compute` evaluates the entry's tags (on a miss only) and returns the body to run.
    pub fn get_or_compute<R, S: Returns<R, Value = V>, C: FnOnce() -> R>(
        &self,
        key: &mut K,
        ttl: Option<Duration>,
        unless: impl Fn(&V) -> bool,
        compute: impl FnOnce(&mut Tags) -> C,
    ) -> R
    where
        V: Clone,
    {
        run::<Self, R, S, C>(self, key, ttl, unless, compute)
    }

    /// The async form of [`FnCache::get_or_compute`].
    pub async fn get_or_compute_async<R, S: Returns<R, Value = V>, F: Future<Output = R>>(
        &self,
        key: K,
        ttl: Option<Duration>,
        unless: impl Fn(&V) -> bool,
        compute: impl FnOnce(&mut Tags) -> F,
    ) -> R
    where
        V: Clone,
    {
        run_async::<Self, R, S, F>(self, key, ttl, unless, compute).await
    }

    /// A key to write the parts of, for this cache.
    #[inline]
    pub fn new_key(&self) -> Key {
        Key::new()
    }
}

/// A value of any type, as a shared store holds it.
pub(crate) type Erased = Arc<dyn Any + Send + Sync>;

/// The cache of one function for one value type, in a store shared with other functions
/// (`#[cache(store = ...)]`). Its keys start with a namespace no other cache has, so entries of
/// different functions never collide; every entry it stores carries its own generation, so
/// removing all of them is one increment.
pub struct SharedCache<V> {
    config: Config,
    store: &'static LruStore,
    namespace: u64,
    generation: Arc<AtomicU64>,
    values: PhantomData<fn() -> V>,
}

impl<V: Clone + Send + Sync + 'static> SharedCache<V> {
    pub(crate) fn new(config: Config, store: &'static LruStore) -> Self {
        static NAMESPACES: AtomicU64 = AtomicU64::new(0);
        SharedCache {
            config,
            store,
            namespace: NAMESPACES.fetch_add(1, Ordering::Relaxed),
            generation: Arc::default(),
            values: PhantomData,
        }
    }

    /// The cached value for `key`, or `compute()`'s; see [`FnCache::get_or_compute`].
    #[inline]
    pub fn get_or_compute<R, S: Returns<R, Value = V>, C: FnOnce() -> R>(
        &self,
        key: &mut Key,
        ttl: Option<Duration>,
        unless: impl Fn(&V) -> bool,
        compute: impl FnOnce(&mut Tags) -> C,
    ) -> R {
        run::<Self, R, S, C>(self, key, ttl, unless, compute)
    }

    /// The async form of [`SharedCache::get_or_compute`]. `_failed` is there for the same
    /// call as a remote store's: an in-process store does not fail.
    pub async fn get_or_compute_async<R, S: Returns<R, Value = V>, F: Future<Output = R>>(
        &self,
        key: Key,
        ttl: Option<Duration>,
        unless: impl Fn(&V) -> bool,
        _failed: impl Fn(crate::Error) -> Option<R>,
        compute: impl FnOnce(&mut Tags) -> F,
    ) -> R {
        run_async::<Self, R, S, F>(self, key, ttl, unless, compute).await
    }

    /// A key in this cache's namespace, to write the parts of.
    #[inline]
    pub fn new_key(&self) -> Key {
        let mut key = Key::new();
        // `FUNCTION_NAMESPACE` starts no `CacheKey` encoding: the explicit API's keys in the
        // same store can never be a function's.
        key.encoder().write_raw(&[crate::key::FUNCTION_NAMESPACE]);
        key.encoder()
            .write_len(usize::try_from(self.namespace).unwrap_or(usize::MAX));
        key
    }
}

impl<V: Clone + Send + Sync + 'static> Backend for SharedCache<V> {
    type Key = Key;
    type Value = V;
    type Stored = Erased;

    #[inline]
    fn shards(&self) -> &LruShards<Key, Erased> {
        &self.store.shards
    }

    fn name(&self) -> &'static str {
        self.config.name
    }

    #[inline]
    fn load(stored: Erased) -> Option<V> {
        StoreValues::<V>::load(stored)
    }

    fn to_stored(value: &V) -> Erased {
        StoreValues::<V>::to_stored(value)
    }

    fn begin(&self, tags: &mut Tags) {
        tags.add_generation(&self.generation);
    }
}

impl<V: Clone + Send + Sync + 'static> crate::registry::Registered for SharedCache<V> {
    fn invalidate_all(&self) -> usize {
        // The entries go stale at once, and leave the store as they are looked up or evicted;
        // how many there were is not known without a scan.
        // Computations in progress depend on the generation too: new callers do not join them.
        self.generation.fetch_add(1, Ordering::AcqRel);
        0
    }

    fn stats(&self) -> Option<crate::stats::CacheStats> {
        // The shared store's row counts for all its functions together.
        None
    }
}

impl<V: Clone + Send + Sync + 'static> crate::handle::AsyncHandle<V> for SharedCache<V> {
    fn invalidate(&self, mut key: Key, _ttl: Option<Duration>) -> crate::handle::Pending<'_, bool> {
        let invalidated = Handle::invalidate(self, &mut key);
        Box::pin(std::future::ready(invalidated))
    }

    fn peek(&self, mut key: Key, _tags: Vec<String>) -> crate::handle::Pending<'_, Option<V>> {
        let value = Handle::peek(self, &mut key);
        Box::pin(std::future::ready(value))
    }

    fn put(
        &self,
        mut key: Key,
        value: V,
        ttl: Option<Duration>,
        tags: Vec<String>,
    ) -> crate::handle::Pending<'_, ()> {
        Handle::put(self, &mut key, value, ttl, &tags);
        Box::pin(std::future::ready(()))
    }
}

impl<V: Clone + Send + Sync + 'static> crate::handle::InvalidateAll for SharedCache<V> {
    fn invalidate_all(&self) -> crate::handle::Pending<'_, ()> {
        crate::registry::Registered::invalidate_all(self);
        Box::pin(std::future::ready(()))
    }
}
