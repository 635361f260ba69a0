//! Typed handles on a cached function's entries: [`entry!`](crate::entry) and
//! [`entries!`](crate::entries), also behind `#[invalidates]` and `#[cache_put]`.
//!
//! `#[cache]` emits, next to each function `f`, hidden companions that build these handles from
//! `f`'s key parameters, with their declared types: a handle is therefore type-checked like a
//! call of `f`, and finds the very cache `f` uses.

use std::time::Duration;

use crate::memo::Handle;

/// One entry of one cached function; see [`entry!`](crate::entry).
pub struct Entry<K: 'static, V: 'static> {
    cache: &'static dyn Handle<K, V>,
    key: K,
    ttl: Option<Duration>,
    /// The function's tags for this entry, as far as its key parameters tell them.
    tags: Vec<String>,
}

impl<K, V> Entry<K, V> {
    #[doc(hidden)]
    #[allow(private_bounds)] // built by generated code only
    pub fn new(
        cache: &'static impl Handle<K, V>,
        key: K,
        ttl: Option<Duration>,
        tags: Vec<String>,
    ) -> Self {
        Entry {
            cache,
            key,
            ttl,
            tags,
        }
    }

    /// Stores `value` as the entry, with the function's TTL and tags, as if the function had
    /// returned it. A computation of the entry in progress does not overwrite it. (A tag whose
    /// expression uses a parameter that is not part of the key cannot be told here, and is not
    /// stored with the entry.)
    ///
    /// ```
    /// # use cached_core::{cache, entry};
    /// #[cache(ttl = 60)]
    /// fn greeting(lang: &str) -> String {
    ///     format!("hello ({lang})")
    /// }
    /// entry!(greeting("pt")).put("olá".to_owned());
    /// assert_eq!(greeting("pt"), "olá");
    /// ```
    pub fn put(mut self, value: V) {
        self.cache.put(&mut self.key, value, self.ttl, &self.tags);
    }

    /// Removes the entry (and keeps a computation of it in progress from storing a value that
    /// may predate the change). Returns whether there was an entry.
    ///
    /// ```
    /// # use cached_core::{cache, entry};
    /// #[cache]
    /// fn double(x: u32) -> u32 {
    ///     x * 2
    /// }
    /// double(2);
    /// assert!(entry!(double(2)).invalidate());
    /// assert!(!entry!(double(2)).invalidate());
    /// ```
    pub fn invalidate(mut self) -> bool {
        self.cache.invalidate(&mut self.key)
    }

    /// The entry's value, if it is cached and live, without computing it (nor counting a hit).
    ///
    /// ```
    /// # use cached_core::{cache, entry};
    /// #[cache]
    /// fn triple(x: u32) -> u32 {
    ///     x * 3
    /// }
    /// assert_eq!(entry!(triple(2)).peek(), None);
    /// triple(2);
    /// assert_eq!(entry!(triple(2)).peek(), Some(6));
    /// ```
    pub fn peek(mut self) -> Option<V> {
        self.cache.peek(&mut self.key)
    }
}

/// Every entry of one cached function, whatever its value type; see
/// [`entries!`](crate::entries).
pub struct AllEntries {
    id: &'static str,
}

impl AllEntries {
    #[doc(hidden)]
    pub const fn new(id: &'static str) -> Self {
        AllEntries { id }
    }

    /// Removes every entry; returns how many there were.
    ///
    /// ```
    /// # use cached_core::{cache, entries};
    /// #[cache]
    /// fn square(x: u32) -> u32 {
    ///     x * x
    /// }
    /// square(1);
    /// square(2);
    /// assert_eq!(entries!(square).invalidate(), 2);
    /// ```
    pub fn invalidate(self) -> usize {
        crate::registry::invalidate_function(self.id)
    }
}

/// A handle operation in progress.
pub(crate) type Pending<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// What the handles of a function in a store given by `store =` (an `async fn`) do: the same
/// as [`Handle`], awaited, as a remote store is reached over the network.
pub(crate) trait AsyncHandle<V>: Sync {
    fn invalidate(&self, key: crate::store::lru::Key, ttl: Option<Duration>) -> Pending<'_, bool>;
    /// The entry's value; `tags` are the entry's, which a remote entry's currency depends on.
    fn peek(&self, key: crate::store::lru::Key, tags: Vec<String>) -> Pending<'_, Option<V>>;
    fn put(
        &self,
        key: crate::store::lru::Key,
        value: V,
        ttl: Option<Duration>,
        tags: Vec<String>,
    ) -> Pending<'_, ()>;
}

/// One entry of an `async fn` cached in a store given by `store =`, such as a
/// `RedisStore` (feature `redis`); see [`entry!`](crate::entry). As [`Entry`], with each
/// operation awaited.
///
/// ```
/// use cached_core::{cache, entry, LruStore};
/// use std::sync::LazyLock;
///
/// static STORE: LazyLock<LruStore> = LazyLock::new(|| LruStore::new(100));
///
/// #[cache(store = STORE)]
/// async fn twice(x: u32) -> u32 {
///     x * 2
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// assert_eq!(twice(4).await, 8);
/// assert_eq!(entry!(twice(4)).peek().await, Some(8));
/// entry!(twice(4)).put(9).await;
/// assert_eq!(twice(4).await, 9);
/// assert!(entry!(twice(4)).invalidate().await);
/// assert_eq!(entry!(twice(4)).peek().await, None);
/// # });
/// ```
pub struct StoreEntry<V: 'static> {
    cache: &'static dyn AsyncHandle<V>,
    key: crate::store::lru::Key,
    ttl: Option<Duration>,
    tags: Vec<String>,
}

impl<V> StoreEntry<V> {
    #[doc(hidden)]
    #[allow(private_bounds)] // built by generated code only
    pub fn new(
        cache: &'static impl AsyncHandle<V>,
        key: crate::store::lru::Key,
        ttl: Option<Duration>,
        tags: Vec<String>,
    ) -> Self {
        StoreEntry {
            cache,
            key,
            ttl,
            tags,
        }
    }

    /// Stores `value` as the entry, with the function's TTL and tags; see [`Entry::put`]. A
    /// failure of the store is counted and logged, and the entry is invalidated when the store
    /// answers again (its old value may predate the change).
    ///
    /// ```
    /// use cached_core::{cache, entry, LruStore};
    /// use std::sync::LazyLock;
    ///
    /// static STORE: LazyLock<LruStore> = LazyLock::new(|| LruStore::new(100));
    ///
    /// #[cache(store = STORE, tags = [format!("n:{n}")])]
    /// async fn square(n: u32) -> u32 {
    ///     n * n
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// entry!(square(3)).put(10).await;
    /// assert_eq!(square(3).await, 10);
    /// cached_core::invalidate_tag("n:3"); // the put entry has the function's tags
    /// assert_eq!(square(3).await, 9);
    /// # });
    /// ```
    pub async fn put(self, value: V) {
        self.cache.put(self.key, value, self.ttl, self.tags).await;
    }

    /// Removes the entry, everywhere the store is shared; returns whether there was one. A
    /// computation of it in progress, in any process, cannot store a value that predates the
    /// change. A failure of the store is counted and logged, returns `false`, and the
    /// invalidation is applied when the store answers again.
    ///
    /// ```
    /// use cached_core::{cache, entry, LruStore};
    /// use std::sync::LazyLock;
    ///
    /// static STORE: LazyLock<LruStore> = LazyLock::new(|| LruStore::new(100));
    ///
    /// #[cache(store = STORE, tags = [format!("n:{n}")])]
    /// async fn square(n: u32) -> u32 {
    ///     n * n
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// square(4).await;
    /// assert!(entry!(square(4)).invalidate().await);
    /// assert!(!entry!(square(4)).invalidate().await);
    /// # });
    /// ```
    pub async fn invalidate(self) -> bool {
        self.cache.invalidate(self.key, self.ttl).await
    }

    /// The entry's value, if it is cached and current, without computing it.
    ///
    /// ```
    /// use cached_core::{cache, entry, LruStore};
    /// use std::sync::LazyLock;
    ///
    /// static STORE: LazyLock<LruStore> = LazyLock::new(|| LruStore::new(100));
    ///
    /// #[cache(store = STORE, tags = [format!("n:{n}")])]
    /// async fn square(n: u32) -> u32 {
    ///     n * n
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// assert_eq!(entry!(square(5)).peek().await, None);
    /// square(5).await;
    /// assert_eq!(entry!(square(5)).peek().await, Some(25));
    /// # });
    /// ```
    pub async fn peek(self) -> Option<V> {
        self.cache.peek(self.key, self.tags).await
    }
}

/// Every entry of an `async fn` cached in a store given by `store =`; see
/// [`entries!`](crate::entries). As [`AllEntries`], awaited; the work is one command whatever
/// the number of entries.
///
/// ```
/// use cached_core::{cache, entries, entry, LruStore};
/// use std::sync::LazyLock;
///
/// static STORE: LazyLock<LruStore> = LazyLock::new(|| LruStore::new(100));
///
/// #[cache(store = STORE)]
/// async fn thrice(x: u32) -> u32 {
///     x * 3
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// thrice(1).await;
/// entries!(thrice).invalidate().await;
/// assert_eq!(entry!(thrice(1)).peek().await, None);
/// # });
/// ```
pub struct StoreEntries {
    cache: &'static dyn InvalidateAll,
}

/// Removes every entry of a function in a store given by `store =`.
pub(crate) trait InvalidateAll: Sync {
    fn invalidate_all(&self) -> Pending<'_, ()>;
}

impl StoreEntries {
    #[doc(hidden)]
    #[allow(private_bounds)] // built by generated code only
    pub fn new(cache: &'static impl InvalidateAll) -> Self {
        StoreEntries { cache }
    }

    /// Removes every entry, everywhere the store is shared. A failure of the store is counted
    /// and logged, and the invalidation is applied when the store answers again.
    ///
    /// ```
    /// use cached_core::{cache, entries, entry, LruStore};
    /// use std::sync::LazyLock;
    ///
    /// static STORE: LazyLock<LruStore> = LazyLock::new(|| LruStore::new(100));
    ///
    /// #[cache(store = STORE)]
    /// async fn cube(n: u32) -> u32 {
    ///     n * n * n
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// cube(2).await;
    /// cube(3).await;
    /// entries!(cube).invalidate().await;
    /// assert_eq!(entry!(cube(2)).peek().await, None);
    /// assert_eq!(entry!(cube(3)).peek().await, None);
    /// # });
    /// ```
    pub async fn invalidate(self) {
        self.cache.invalidate_all().await;
    }
}
