//! Where each function's cache lives: created on first call, found again in a few nanoseconds.
//!
//! A `static` inside the function cannot name the value type when that type mentions `Self` or a
//! type parameter, so the static is a type-erased [`Slot`] and the caches themselves live in
//! one registry, keyed by the function's unique id and the value type. The slot remembers the
//! cache its function used first, so the usual call costs one atomic load and a type check;
//! a generic function called with several value types gets one cache per type.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

use crate::memo::{Config, FnCache, SharedCache};
use crate::stats::CacheStats;
use crate::store::explicit::LruStore;
use crate::store::lru::StoreKey;
use crate::store::lru::{Key, LruShards};

/// A cache as the registry sees it: something that can report its statistics.
pub(crate) trait Registered: Send + Sync {
    /// `None` for a cache whose statistics its store keeps for several functions together.
    fn stats(&self) -> Option<CacheStats>;
    /// Removes every entry; returns how many there were.
    fn invalidate_all(&self) -> usize;
}

type Erased = &'static dyn Registered;

/// Every cache of the process, by function id and value type. Caches are never dropped: there
/// is one per cached function (and value type), like the functions themselves.
fn registry() -> &'static RwLock<HashMap<(&'static str, TypeId), Erased>> {
    static REGISTRY: OnceLock<RwLock<HashMap<(&'static str, TypeId), Erased>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// The per-function handle to its cache; see the module docs.
pub struct Slot {
    /// The first cache used, with its type id: comparing ids inline is cheaper than
    /// `downcast_ref`, whose type check is a virtual call.
    first: OnceLock<(TypeId, Erased)>,
}

impl Slot {
    /// An empty slot, for a `static`.
    #[allow(clippy::new_without_default)] // only ever built in a `static`
    pub const fn new() -> Self {
        Slot {
            first: OnceLock::new(),
        }
    }

    /// The cache of value type `V` for the function `id`, created with `config()` on first use.
    #[inline]
    pub fn get<K: StoreKey, V: Clone + Send + Sync + 'static>(
        &'static self,
        id: &'static str,
        config: impl FnOnce() -> Config,
    ) -> &'static FnCache<K, V> {
        if let Some((type_id, cache)) = self.first.get() {
            if *type_id == TypeId::of::<FnCache<K, V>>() {
                let cache: *const dyn Registered = *cache;
                // SAFETY: the value behind `cache` was registered under the type id of
                // `FnCache<K, V>`, so it is one; this is what `downcast_ref` does after the
                // same check.
                return unsafe { &*cache.cast::<FnCache<K, V>>() };
            }
        }
        self.get_slow(id, || FnCache::<K, V>::new(config()))
    }

    /// The cache of value type `V` for the function `id`, in the shared `store`.
    #[inline]
    pub fn get_shared<V: Clone + Send + Sync + 'static>(
        &'static self,
        id: &'static str,
        config: impl FnOnce() -> Config,
        store: &'static LruStore,
    ) -> &'static SharedCache<V> {
        if let Some((type_id, cache)) = self.first.get() {
            if *type_id == TypeId::of::<SharedCache<V>>() {
                let cache: *const dyn Registered = *cache;
                // SAFETY: as in `get`.
                return unsafe { &*cache.cast::<SharedCache<V>>() };
            }
        }
        self.get_slow(id, || SharedCache::<V>::new(config(), store))
    }

    /// The cache of value type `V` for the `async fn` `id`, in `store` (an `LruStore` or a
    /// remote store).
    #[inline]
    pub fn get_in<V: 'static, S: crate::store::backing::Store<V>>(
        &'static self,
        id: &'static str,
        config: impl FnOnce() -> Config,
        store: &'static S,
    ) -> &'static S::Cache {
        if let Some((type_id, cache)) = self.first.get() {
            if *type_id == TypeId::of::<S::Cache>() {
                let cache: *const dyn Registered = *cache;
                // SAFETY: as in `get`.
                return unsafe { &*cache.cast::<S::Cache>() };
            }
        }
        self.get_slow(id, || store.cache(config()))
    }

    #[cold]
    fn get_slow<C: Registered + 'static>(
        &'static self,
        id: &'static str,
        create: impl FnOnce() -> C,
    ) -> &'static C {
        let id = (id, TypeId::of::<C>());
        let found = crate::sync::read(registry()).get(&id).copied();
        let erased = match found {
            Some(erased) => erased,
            None => *crate::sync::write(registry()).entry(id).or_insert_with(|| {
                #[cfg(feature = "metrics")]
                crate::metrics::start_publishing();
                let cache: &'static C = Box::leak(Box::new(create()));
                cache
            }),
        };
        let _ = self.first.set((id.1, erased));
        let cache: *const dyn Registered = erased;
        // SAFETY: as in `get`: the entry's key holds the type id of `C`.
        unsafe { &*cache.cast::<C>() }
    }
}

/// Removes every entry of every cache of the function `id` (one per value type).
pub(crate) fn invalidate_function(id: &str) -> usize {
    crate::sync::read(registry())
        .iter()
        .filter(|((cache_id, _), _)| *cache_id == id)
        .map(|(_, cache)| cache.invalidate_all())
        .sum()
}

/// The explicit stores, held weakly: a store that is dropped leaves the statistics.
type Stores = Vec<(&'static str, Weak<LruShards<Key, crate::memo::Erased>>)>;

fn stores() -> &'static Mutex<Stores> {
    static STORES: OnceLock<Mutex<Stores>> = OnceLock::new();
    STORES.get_or_init(Default::default)
}

/// Lists an explicit store in the statistics.
pub(crate) fn register_store(
    name: &'static str,
    shards: &Arc<LruShards<Key, crate::memo::Erased>>,
) {
    let mut stores = crate::sync::lock(stores());
    stores.retain(|(_, store)| store.strong_count() > 0);
    stores.push((name, Arc::downgrade(shards)));
}

/// The statistics of every registered cache, one per function and value type, and of every
/// explicit store alive.
pub(crate) fn all_stats() -> Vec<CacheStats> {
    let mut all: Vec<CacheStats> = crate::sync::read(registry())
        .values()
        .filter_map(|cache| cache.stats())
        .collect();
    for (name, store) in crate::sync::lock(stores()).iter() {
        if let Some(shards) = store.upgrade() {
            all.push(shards.stats(name));
        }
    }
    #[cfg(feature = "redis")]
    all.extend(crate::redis::explicit_stats());
    all
}
