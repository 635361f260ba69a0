//! [`RedisCache`]: the cache of one `#[cache(store = REDIS)]` function, and its handles.

use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::space::Space;
use super::RedisStore;
use crate::error::Error;
use crate::memo::{Config, Returns};
use crate::store::lru::Key;
use crate::tags::Tags;

/// The cache of one function for one value type, in a Redis store.
pub struct RedisCache<V> {
    store: &'static RedisStore,
    space: Space,
    fingerprint: [u8; 8],
    values: PhantomData<fn() -> V>,
}

impl<V: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> RedisCache<V> {
    pub(crate) fn new(config: Config, store: &'static RedisStore) -> Self {
        RedisCache {
            space: Space::new(
                super::keys::space(store.prefix(), config.name),
                config.name,
                true,
            ),
            store,
            fingerprint: super::envelope::fingerprint::<V>(),
            values: PhantomData,
        }
    }

    /// A key to write the parts of.
    #[inline]
    pub fn new_key(&self) -> Key {
        Key::new()
    }

    /// The cached value for `key`, or the value of the future `compute` returns; see
    /// [`FnCache::get_or_compute`](crate::memo::FnCache::get_or_compute). `compute` is called
    /// first, for the entry's tags (the future it returns is only awaited on a miss); a failure
    /// of the store goes to `failed` in fail-closed mode.
    pub async fn get_or_compute_async<R, S: Returns<R, Value = V>, F: Future<Output = R>>(
        &self,
        key: Key,
        ttl: Option<Duration>,
        unless: impl Fn(&V) -> bool,
        failed: impl Fn(Error) -> Option<R>,
        compute: impl FnOnce(&mut Tags) -> F,
    ) -> R {
        let mut tags = Tags::named();
        let future = compute(&mut tags);
        let shared = &self.store.shared;
        self.space
            .run(
                shared,
                self.fingerprint,
                self.space.key(key.as_bytes()),
                self.space.generations(shared, tags.names()),
                tags.names(),
                ttl,
                |returned: &R| S::value(returned).map(|value| (value, !unless(value))),
                S::wrap,
                failed,
                future,
            )
            .await
    }
}

impl<V: Send + Sync + 'static> crate::registry::Registered for RedisCache<V> {
    fn invalidate_all(&self) -> usize {
        // Reached by in-process handles only, which a Redis function does not have: its
        // handles are async (`StoreEntries`).
        0
    }

    fn stats(&self) -> Option<crate::stats::CacheStats> {
        Some(self.space.stats())
    }
}

impl<V: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> crate::handle::AsyncHandle<V>
    for RedisCache<V>
{
    fn invalidate(&self, key: Key, ttl: Option<Duration>) -> crate::handle::Pending<'_, bool> {
        Box::pin(async move {
            let key = self.space.key(key.as_bytes());
            self.space
                .invalidate(&self.store.shared, &key, ttl)
                .await
                .unwrap_or(false)
        })
    }

    fn peek(&self, key: Key, tags: Vec<String>) -> crate::handle::Pending<'_, Option<V>> {
        Box::pin(async move {
            let shared = &self.store.shared;
            let key = self.space.key(key.as_bytes());
            let generations = self.space.generations(shared, &tags);
            self.space
                .peek(shared, self.fingerprint, &key, &generations)
                .await
                .unwrap_or(None)
        })
    }

    fn put(
        &self,
        key: Key,
        value: V,
        ttl: Option<Duration>,
        tags: Vec<String>,
    ) -> crate::handle::Pending<'_, ()> {
        Box::pin(async move {
            let shared = &self.store.shared;
            let key = self.space.key(key.as_bytes());
            let generations = self.space.generations(shared, &tags);
            let _ = self
                .space
                .put(shared, self.fingerprint, &key, &generations, &value, ttl)
                .await;
        })
    }
}

impl<V: Send + Sync + 'static> crate::handle::InvalidateAll for RedisCache<V> {
    fn invalidate_all(&self) -> crate::handle::Pending<'_, ()> {
        Box::pin(async move {
            let _ = self.space.invalidate_all(&self.store.shared).await;
        })
    }
}
