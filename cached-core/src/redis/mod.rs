//! [`RedisStore`]: caches that every process shares, through Redis.

mod cache;
mod envelope;
mod keys;
mod link;
mod repair;
mod space;

use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use cache::RedisCache;
use link::Link;
use space::Space;

use crate::error::Error;
use crate::key::CacheKey;

/// What every cache of one store shares.
pub(crate) struct Shared {
    /// This store, for the task that retries its repairs.
    me: Weak<Shared>,
    link: Link,
    /// Invalidations Redis missed while it could not be reached.
    repairs: repair::Repairs,
    prefix: String,
    fail_open: bool,
    /// The explicit API's entries.
    explicit: Space,
}

/// A cache store in Redis, shared by every process that uses the same Redis and prefix.
///
/// Creating one does no I/O, so it can live in a `static`; it connects on first use (one
/// multiplexed connection per tokio runtime) and reconnects by itself. Give it to
/// `#[cache(store = ...)]` on an `async fn` (`#[invalidates]`, tags and `#[cache_put]` then
/// reach it as well), or use it directly with [`get`](Self::get), [`set`](Self::set),
/// [`delete`](Self::delete) and [`get_or_set_with`](Self::get_or_set_with).
///
/// When Redis is down, slow or refuses, a cached function runs its body and returns its value
/// (fail-open, the default): every operation is bounded by the [timeout], and after three
/// failures in a row Redis is skipped for a [cool-down], so an outage costs the callers
/// nothing; it is used again when it answers. The invalidations that failed meanwhile are kept
/// and applied as soon as Redis answers again: by this process's next lookup (before it
/// reads), or by a task that retries every cool-down, so that they reach the other processes
/// even if this one stays idle. Until then (the outage, and at most about one cool-down after
/// it) other processes may read the values those invalidations were for; a process that exits
/// before Redis is back loses the ones it kept. Failures are counted in
/// [`CacheStats::errors`](crate::CacheStats::errors) and logged (a `tracing` warning at most
/// every 10 s). [Fail-closed] stores return the error instead.
///
/// A call that starts after an invalidation returned (in any process that reaches Redis) never
/// receives a value computed before it: it does not join a computation in progress that began
/// from other data than its own lookup saw.
///
/// Values are stored with serde in MessagePack, in an envelope that records the value type:
/// after a deploy that changed it, an old value reads as a miss and is overwritten, and so is
/// a key of another Redis type. Keys read `<prefix>:<cache name>:<key>` in `redis-cli`, and
/// the explicit API's `<prefix>:%kv:<name>:<key>`, apart from every function's (a `:` or `%`
/// in the prefix is escaped: `app:x` reads `app%3Ax`). Invalidating a whole function or a tag
/// is one command whatever the number of entries, and a hit is one round trip.
///
/// [timeout]: RedisStoreBuilder::timeout
/// [cool-down]: RedisStoreBuilder::cooldown
/// [Fail-closed]: RedisStoreBuilder::fail_closed
///
/// ```no_run
/// use cached_core::{cache, RedisStore};
/// use std::sync::LazyLock;
///
/// static REDIS: LazyLock<RedisStore> = LazyLock::new(|| {
///     let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1/".into());
///     RedisStore::builder(&url).prefix("news").build().expect("a valid Redis URL")
/// });
///
/// #[derive(Clone, serde::Serialize, serde::Deserialize)]
/// struct Profile {
///     name: String,
/// }
///
/// #[cache(store = REDIS, ttl = 60)]
/// async fn profile(id: u64) -> Result<Profile, std::io::Error> {
///     Ok(Profile { name: format!("user {id}") }) // the slow query
/// }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("address", &self.shared.link.address)
            .field("prefix", &self.shared.prefix)
            .field("fail_open", &self.shared.fail_open)
            .finish()
    }
}

/// Settings of a [`RedisStore`]; see [`RedisStore::builder`].
///
/// ```
/// use cached_core::RedisStore;
/// use std::time::Duration;
///
/// let store = RedisStore::builder("redis://cache.internal:6379/1")
///     .prefix("shop")
///     .timeout(Duration::from_millis(20))
///     .cooldown(Duration::from_secs(5))
///     .build()?;
/// assert_eq!(store.prefix(), "shop");
/// # Ok::<(), cached_core::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    name: &'static str,
    timeout: Duration,
    cooldown: Duration,
    fail_open: bool,
}

impl RedisStoreBuilder {
    /// The first part of every key, so that several applications can share one Redis:
    /// `"cached"` unless set. It is escaped in the keys like a key is (a `:` reads `%3A`), so
    /// that no prefix and cache name share keys with another pair.
    ///
    /// ```
    /// let store = cached_core::RedisStore::builder("redis://127.0.0.1/").prefix("news").build()?;
    /// assert_eq!(store.prefix(), "news");
    /// # Ok::<(), cached_core::Error>(())
    /// ```
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The name of the explicit API's entries, in their keys (`<prefix>:%kv:<name>:<key>`,
    /// apart from every cached function's, whatever its name) and in
    /// [`stats()`](crate::stats()): `"store"` unless set.
    ///
    /// ```
    /// let store = cached_core::RedisStore::builder("redis://127.0.0.1/").name("fragments").build()?;
    /// assert_eq!(store.name(), "fragments");
    /// # Ok::<(), cached_core::Error>(())
    /// ```
    pub fn name(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    /// The longest any operation may take, connecting included, before it counts as a
    /// failure: 50 ms unless set.
    ///
    /// ```
    /// use std::time::Duration;
    /// let store = cached_core::RedisStore::builder("redis://127.0.0.1/")
    ///     .timeout(Duration::from_millis(20))
    ///     .build()?;
    /// # Ok::<(), cached_core::Error>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long Redis is skipped after three failures in a row, before one call tries it
    /// again: 1 s unless set.
    ///
    /// ```
    /// use std::time::Duration;
    /// let store = cached_core::RedisStore::builder("redis://127.0.0.1/")
    ///     .cooldown(Duration::from_secs(5))
    ///     .build()?;
    /// # Ok::<(), cached_core::Error>(())
    /// ```
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// Fail-closed: when Redis fails, a cached function whose return type is a `Result` with
    /// an error type that is `From<cached_core::Error>` returns that error instead of running
    /// its body (another function, with nowhere to put the error, runs its body as in
    /// fail-open mode); [`get_or_set_with`](RedisStore::get_or_set_with) returns it too.
    ///
    /// ```
    /// let store = cached_core::RedisStore::builder("redis://127.0.0.1/").fail_closed().build()?;
    /// assert!(!store.is_fail_open());
    /// # Ok::<(), cached_core::Error>(())
    /// ```
    pub fn fail_closed(mut self) -> Self {
        self.fail_open = false;
        self
    }

    /// Fail-open (the default): when Redis fails, cached functions compute as if it were not
    /// there.
    ///
    /// ```
    /// let store = cached_core::RedisStore::builder("redis://127.0.0.1/").fail_open().build()?;
    /// assert!(store.is_fail_open());
    /// # Ok::<(), cached_core::Error>(())
    /// ```
    pub fn fail_open(mut self) -> Self {
        self.fail_open = true;
        self
    }

    /// The store, if the URL is one: `redis://[user:password@]host[:port][/db]`, or
    /// `rediss://` for TLS (with the `redis-tls` feature). No I/O.
    ///
    /// ```
    /// use cached_core::RedisStore;
    /// assert!(RedisStore::builder("redis://user:secret@127.0.0.1:6380/2").build().is_ok());
    /// assert!(RedisStore::builder("http://127.0.0.1/").build().is_err());
    /// ```
    pub fn build(self) -> Result<RedisStore, Error> {
        let client = redis::Client::open(self.url.as_str())
            .map_err(|error| Error::invalid_url(format!("{}: {error}", redacted(&self.url))))?;
        let shared = Arc::new_cyclic(|me| Shared {
            me: me.clone(),
            link: Link::new(client, self.timeout, self.cooldown),
            repairs: repair::Repairs::default(),
            explicit: Space::new(
                keys::explicit_space(&self.prefix, self.name),
                self.name,
                false,
            ),
            prefix: self.prefix,
            fail_open: self.fail_open,
        });
        let mut stores = crate::sync::lock(stores());
        stores.retain(|store| store.strong_count() > 0);
        stores.push(Arc::downgrade(&shared));
        Ok(RedisStore { shared })
    }
}

impl Shared {
    /// Keeps an invalidation (or a write) that Redis missed, to apply when it answers again:
    /// at this process's next lookup, or from a task that retries until Redis takes it.
    pub(crate) fn keep(&self, repair: repair::Repair) {
        self.repairs.push(repair);
        repair::retry(self);
    }
}

/// A URL as it may be logged: without its password.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Every store alive, for tags (which every store keeps) and statistics.
fn stores() -> &'static Mutex<Vec<Weak<Shared>>> {
    static STORES: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());
    &STORES
}

fn live_stores() -> Vec<Arc<Shared>> {
    crate::sync::lock(stores())
        .iter()
        .filter_map(Weak::upgrade)
        .collect()
}

/// The statistics of the explicit API of every store that has used it.
pub(crate) fn explicit_stats() -> Vec<crate::CacheStats> {
    live_stores()
        .iter()
        .map(|shared| shared.explicit.stats())
        .filter(|stats| stats.calls() > 0 || stats.inserts > 0 || stats.errors > 0)
        .collect()
}

/// Invalidates `tag` in this process and in every Redis store alive.
pub(crate) async fn invalidate_tag_everywhere(tag: String) {
    crate::tags::invalidate_local_tag(&tag);
    for shared in live_stores() {
        let key = keys::tag(&shared.prefix, &tag);
        if space::new_generation(&shared, &key).await.is_err() {
            shared.explicit.failed();
        }
    }
}

/// Invalidates `tag` in every Redis store alive without waiting (for the sync
/// `invalidate_tag`): kept in each store, applied before its next lookup, and sent at once from
/// a task (on the current tokio runtime, or the one the store last connected from), which
/// retries until Redis takes it.
pub(crate) fn invalidate_tag_later(tag: &str) {
    for shared in live_stores() {
        let key = keys::tag(&shared.prefix, tag);
        shared.repairs.push(repair::Repair::Generation { key });
        if let Some(runtime) = shared.link.runtime() {
            runtime.spawn(async move {
                if shared.repairs.apply(&shared.link).await.is_err() {
                    repair::retry(&shared);
                }
            });
        }
    }
}

fn encoded(key: impl CacheKey) -> Vec<u8> {
    crate::key::encode_key(&key)
}

impl RedisStore {
    /// A fail-open store at `url` with the default settings; see [`RedisStore::builder`]. No
    /// I/O: it connects on first use.
    ///
    /// ```
    /// let store = cached_core::RedisStore::new("redis://127.0.0.1:6380/")?;
    /// assert_eq!(store.prefix(), "cached");
    /// # Ok::<(), cached_core::Error>(())
    /// ```
    pub fn new(url: &str) -> Result<Self, Error> {
        Self::builder(url).build()
    }

    /// Settings for a store at `url`: prefix, timeout, cool-down, fail-open or fail-closed.
    ///
    /// ```
    /// use std::time::Duration;
    /// let store = cached_core::RedisStore::builder("redis://127.0.0.1/")
    ///     .prefix("news")
    ///     .timeout(Duration::from_millis(30))
    ///     .fail_closed()
    ///     .build()?;
    /// # Ok::<(), cached_core::Error>(())
    /// ```
    pub fn builder(url: &str) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.to_owned(),
            prefix: "cached".to_owned(),
            name: "store",
            timeout: Duration::from_millis(50),
            cooldown: Duration::from_secs(1),
            fail_open: true,
        }
    }

    /// The first part of every key of this store.
    ///
    /// ```
    /// assert_eq!(cached_core::RedisStore::new("redis://127.0.0.1/")?.prefix(), "cached");
    /// # Ok::<(), cached_core::Error>(())
    /// ```
    pub fn prefix(&self) -> &str {
        &self.shared.prefix
    }

    /// The name of the explicit API's entries.
    ///
    /// ```
    /// assert_eq!(cached_core::RedisStore::new("redis://127.0.0.1/")?.name(), "store");
    /// # Ok::<(), cached_core::Error>(())
    /// ```
    pub fn name(&self) -> &'static str {
        self.shared.explicit.name
    }

    /// Whether cached functions compute when Redis fails (the default) rather than return the
    /// error.
    ///
    /// ```
    /// assert!(cached_core::RedisStore::new("redis://127.0.0.1/")?.is_fail_open());
    /// # Ok::<(), cached_core::Error>(())
    /// ```
    pub fn is_fail_open(&self) -> bool {
        self.shared.fail_open
    }

    /// The value stored at `key`, if there is one of type `V`: another type, or a value that
    /// does not decode, is `None`. A value found counts as a hit in [`stats()`](crate::stats())
    /// (under the store's [`name`](Self::name)).
    ///
    /// ```no_run
    /// # async fn run(store: cached_core::RedisStore) -> Result<(), cached_core::Error> {
    /// store.set("sidebar", &String::from("<nav>"), None).await?;
    /// assert_eq!(store.get::<String>("sidebar").await?.as_deref(), Some("<nav>"));
    /// assert_eq!(store.get::<u64>("sidebar").await?, None); // another type: a miss
    /// # Ok(()) }
    /// ```
    pub async fn get<V: DeserializeOwned>(&self, key: impl CacheKey) -> Result<Option<V>, Error> {
        let start = std::time::Instant::now();
        let shared = &self.shared;
        let key = shared.explicit.key(&encoded(key));
        let found = shared
            .explicit
            .peek(shared, envelope::fingerprint::<V>(), &key, &[])
            .await?;
        // As for an `LruStore`: a value found is a hit; nothing found is no miss, as nothing
        // was computed.
        if found.is_some() {
            shared.explicit.hit(start.elapsed());
        }
        Ok(found)
    }

    /// Stores `value` at `key`, for `ttl` (enforced by Redis) or until evicted.
    ///
    /// ```no_run
    /// # async fn run(store: cached_core::RedisStore) -> Result<(), cached_core::Error> {
    /// use std::time::Duration;
    /// store.set(("user", 7), &vec![1, 2, 3], Some(Duration::from_secs(60))).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set<V: Serialize>(
        &self,
        key: impl CacheKey,
        value: &V,
        ttl: Option<Duration>,
    ) -> Result<(), Error> {
        let shared = &self.shared;
        let key = shared.explicit.key(&encoded(key));
        shared
            .explicit
            .put(shared, envelope::fingerprint::<V>(), &key, &[], value, ttl)
            .await
    }

    /// Removes the value at `key`; returns whether there was one. If Redis fails, the error is
    /// returned, and the removal is also applied when Redis answers again. (Unlike the
    /// invalidations of `#[cache]` functions, which leave a tombstone, a delete leaves nothing:
    /// a `get_or_set_with` of the same key already computing may store its value after it.)
    ///
    /// ```no_run
    /// # async fn run(store: cached_core::RedisStore) -> Result<(), cached_core::Error> {
    /// store.set("banner", &"sale", None).await?;
    /// assert!(store.delete("banner").await?);
    /// assert!(!store.delete("banner").await?);
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, key: impl CacheKey) -> Result<bool, Error> {
        let shared = &self.shared;
        let key = shared.explicit.key(&encoded(key));
        shared.explicit.delete(shared, &key).await
    }

    /// The value at `key`, or the value of `compute()`'s future, stored for `ttl`: computed
    /// once in this process for all concurrent callers. When Redis fails, a fail-open store
    /// computes and returns the value; a fail-closed one returns the error.
    ///
    /// ```no_run
    /// # async fn run(store: cached_core::RedisStore) -> Result<(), cached_core::Error> {
    /// use std::time::Duration;
    /// let page = store
    ///     .get_or_set_with(("page", "/home"), Some(Duration::from_secs(30)), || async {
    ///         String::from("<html>...</html>") // the slow render
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_or_set_with<V, F>(
        &self,
        key: impl CacheKey,
        ttl: Option<Duration>,
        compute: impl FnOnce() -> F,
    ) -> Result<V, Error>
    where
        V: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
        F: Future<Output = V>,
    {
        let shared = &self.shared;
        let key = shared.explicit.key(&encoded(key));
        shared
            .explicit
            .run(
                shared,
                envelope::fingerprint::<V>(),
                key,
                Vec::new(),
                &[],
                ttl,
                |returned: &Result<V, Error>| returned.as_ref().ok().map(|value| (value, true)),
                Ok,
                |error| Some(Err(error)),
                async { Ok(compute().await) },
            )
            .await
    }

    /// Invalidates every entry stored with `tag` by any function cached in this store, in
    /// every process, with one command; and in this process's in-process caches.
    /// `#[invalidates(tag = ...)]` on an `async fn` does this for every `RedisStore` created in
    /// the process. If Redis fails, the error is returned, and the invalidation is also applied
    /// when Redis answers again.
    ///
    /// ```no_run
    /// # async fn run(store: cached_core::RedisStore) -> Result<(), cached_core::Error> {
    /// store.invalidate_tag("category:7").await?;
    /// # Ok(()) }
    /// ```
    pub async fn invalidate_tag(&self, tag: impl AsRef<str>) -> Result<(), Error> {
        crate::tags::invalidate_local_tag(tag.as_ref());
        let shared = &self.shared;
        let key = keys::tag(&shared.prefix, tag.as_ref());
        space::new_generation(shared, &key)
            .await
            .inspect_err(|_| shared.explicit.failed())
    }
}
