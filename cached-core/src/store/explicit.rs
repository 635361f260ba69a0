//! [`LruStore`]: the talk's `cache.get` / `cache.set`, for objects, template fragments and
//! routine results that are not one function's result.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use crate::key::CacheKey;
use crate::memo::{Backend, Handle, Plain};
use crate::store::lru::{Key, LruShards};
use std::marker::PhantomData;

use crate::memo::Erased;

/// A bounded in-process store of values of any type, by key, with per-entry TTL: the sharded LRU
/// behind `#[cache]`, for direct use.
///
/// The same store can back `#[cache(store = STORE)]` on several functions, which then share its
/// bound; each function's entries live under a namespace of their own, so they never collide
/// with each other or with the explicit API's.
///
/// Keys are any [`CacheKey`], passed by value or by reference (`&str` included); values are any `Clone + Send + Sync + 'static`
/// type, and a `get` of another type than the one stored is a miss, never a panic.
///
/// ```
/// use cached_core::LruStore;
/// use std::sync::LazyLock;
/// use std::time::Duration;
///
/// static FRAGMENTS: LazyLock<LruStore> = LazyLock::new(|| LruStore::new(1000));
///
/// FRAGMENTS.set("sidebar", String::from("<nav>..</nav>"), Some(Duration::from_secs(60)));
/// assert_eq!(FRAGMENTS.get::<String>("sidebar").as_deref(), Some("<nav>..</nav>"));
/// assert_eq!(FRAGMENTS.get::<u64>("sidebar"), None); // another type: a miss
///
/// let footer = FRAGMENTS.get_or_set_with(("footer", 2026), None, || String::from("<footer>"));
/// assert_eq!(footer, "<footer>");
/// assert!(FRAGMENTS.delete("sidebar"));
/// assert_eq!(FRAGMENTS.get::<String>("sidebar"), None);
/// ```
pub struct LruStore {
    pub(crate) shards: Arc<LruShards<Key, Erased>>,
    name: &'static str,
}

/// Shows the store's name, its capacity and the entries it holds.
///
/// ```
/// let store = cached_core::LruStore::named("fragments", 100);
/// store.set("footer", 1u8, None);
/// assert_eq!(
///     format!("{store:?}"),
///     r#"LruStore { name: "fragments", capacity: 100, len: 1 }"#
/// );
/// ```
impl std::fmt::Debug for LruStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LruStore")
            .field("name", &self.name)
            .field("capacity", &self.shards.capacity())
            .field("len", &self.shards.len())
            .finish()
    }
}

fn key_of(key: impl CacheKey) -> Key {
    let mut encoded = Key::new();
    key.encode_key(encoded.encoder());
    encoded
}

impl LruStore {
    /// A store of at most `capacity` entries (at least one); the least recently used goes
    /// first.
    ///
    /// ```
    /// let store = cached_core::LruStore::new(2);
    /// store.set(1u32, "one", None);
    /// store.set(2u32, "two", None);
    /// store.get::<&str>(1u32); // 2 is now the least recently used
    /// store.set(3u32, "three", None);
    /// assert_eq!(store.get::<&str>(2u32), None);
    /// assert_eq!(store.get::<&str>(1u32), Some("one"));
    /// ```
    pub fn new(capacity: usize) -> Self {
        Self::named("LruStore", capacity)
    }

    /// A store shown in [`crate::stats`] under `name` (one row for the store, the functions
    /// that share it included).
    ///
    /// ```
    /// let store = cached_core::LruStore::named("doc-fragments", 100);
    /// store.get_or_set_with("header", None, || String::from("<h1>"));
    /// let row = cached_core::stats().into_iter().find(|s| s.name == "doc-fragments").unwrap();
    /// assert_eq!((row.misses, row.inserts, row.len), (1, 1, Some(1)));
    /// ```
    pub fn named(name: &'static str, capacity: usize) -> Self {
        let shards = Arc::new(LruShards::new(
            NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN),
        ));
        crate::registry::register_store(name, &shards);
        LruStore { shards, name }
    }

    /// The store's name in [`crate::stats`].
    ///
    /// ```
    /// assert_eq!(cached_core::LruStore::new(1).name(), "LruStore");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The value stored under `key`, if it is live and of type `V`.
    ///
    /// ```
    /// let store = cached_core::LruStore::new(10);
    /// store.set("answer", 42u8, None);
    /// assert_eq!(store.get::<u8>("answer"), Some(42));
    /// assert_eq!(store.get::<u8>("question"), None);
    /// ```
    pub fn get<V: Clone + Send + Sync + 'static>(&self, key: impl CacheKey) -> Option<V> {
        let mut key = key_of(key);
        self.shards.seal(&mut key);
        self.shards.get(&key).and_then(Values::<V>::load)
    }

    /// Stores `value` under `key`, for `ttl` (or until evicted), replacing any value.
    ///
    /// ```
    /// use std::time::Duration;
    /// let store = cached_core::LruStore::new(10);
    /// store.set("token", String::from("abc"), Some(Duration::from_secs(300)));
    /// assert!(store.get::<String>("token").is_some());
    /// ```
    pub fn set<V: Clone + Send + Sync + 'static>(
        &self,
        key: impl CacheKey,
        value: V,
        ttl: Option<Duration>,
    ) {
        Handle::put(&Values::new(self), &mut key_of(key), value, ttl, &[]);
    }

    /// Removes the value stored under `key`; returns whether there was one.
    ///
    /// ```
    /// let store = cached_core::LruStore::new(10);
    /// store.set("k", 1i32, None);
    /// assert!(store.delete("k"));
    /// assert!(!store.delete("k"));
    /// ```
    pub fn delete(&self, key: impl CacheKey) -> bool {
        Handle::<Key, ()>::invalidate(&Values::new(self), &mut key_of(key))
    }

    /// The value stored under `key`, or `compute()`'s, stored for `ttl`. Concurrent callers
    /// missing on the same key compute once; the others wait for that value. A value of another
    /// type under the key counts as a miss and is replaced.
    ///
    /// ```
    /// let store = cached_core::LruStore::new(10);
    /// let mut runs = 0;
    /// let a = store.get_or_set_with("report", None, || { runs += 1; vec![1, 2, 3] });
    /// let b = store.get_or_set_with("report", None, || { runs += 1; vec![] });
    /// assert_eq!((a, b, runs), (vec![1, 2, 3], vec![1, 2, 3], 1));
    /// ```
    pub fn get_or_set_with<V: Clone + Send + Sync + 'static>(
        &self,
        key: impl CacheKey,
        ttl: Option<Duration>,
        compute: impl FnOnce() -> V,
    ) -> V {
        let mut key = key_of(key);
        crate::memo::run::<Values<'_, V>, V, Plain, _>(
            &Values::new(self),
            &mut key,
            ttl,
            |_| false,
            |_| compute,
        )
    }

    /// Entries held now.
    ///
    /// ```
    /// let store = cached_core::LruStore::new(10);
    /// store.set(1u8, (), None);
    /// assert_eq!(store.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shards.len()
    }

    /// Whether the store holds nothing.
    ///
    /// ```
    /// assert!(cached_core::LruStore::new(10).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The store seen as holding values of type `V`: what the caching logic of `memo` needs to
/// serve the explicit API.
pub(crate) struct Values<'a, V> {
    store: &'a LruStore,
    values: PhantomData<fn() -> V>,
}

impl<'a, V> Values<'a, V> {
    fn new(store: &'a LruStore) -> Self {
        Values {
            store,
            values: PhantomData,
        }
    }
}

impl<V: Clone + Send + Sync + 'static> Backend for Values<'_, V> {
    type Key = Key;
    type Value = V;
    type Stored = Erased;

    fn shards(&self) -> &LruShards<Key, Erased> {
        &self.store.shards
    }

    fn name(&self) -> &'static str {
        self.store.name
    }

    #[inline]
    fn load(stored: Erased) -> Option<V> {
        stored.downcast_ref::<V>().cloned()
    }

    fn to_stored(value: &V) -> Erased {
        Arc::new(value.clone())
    }
}
