//! What `#[cache(store = <expr>)]` accepts: an [`LruStore`] for any function, and, for an
//! `async fn`, a [`RedisStore`](crate::RedisStore) too.

use crate::handle::{AsyncHandle, InvalidateAll};
use crate::memo::{Config, SharedCache};
use crate::registry::Registered;
use crate::store::explicit::LruStore;

/// A store that can hold the cache of an `async fn` whose values are `V`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot hold the values `{V}` of this function",
    label = "the function's store",
    note = "an `LruStore` holds values that are `Clone + Send + Sync + 'static`; a `RedisStore` \
            values that are also `serde::Serialize + serde::de::DeserializeOwned`"
)]
#[allow(private_bounds)] // implemented here only
pub trait Store<V>: Sync + 'static {
    /// The cache of one function in this store.
    type Cache: Registered + AsyncHandle<V> + InvalidateAll + 'static;
    /// A new cache for a function in this store.
    fn cache(&'static self, config: Config) -> Self::Cache;
}

impl<V: Clone + Send + Sync + 'static> Store<V> for LruStore {
    type Cache = SharedCache<V>;

    fn cache(&'static self, config: Config) -> SharedCache<V> {
        SharedCache::new(config, self)
    }
}

#[cfg(feature = "redis")]
impl<V> Store<V> for crate::RedisStore
where
    V: serde::Serialize + serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    type Cache = crate::redis::RedisCache<V>;

    fn cache(&'static self, config: Config) -> Self::Cache {
        crate::redis::RedisCache::new(config, self)
    }
}

/// A store that a plain (not `async`) function can use: one in this process.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a store for a plain (not `async`) function",
    label = "not an `LruStore`",
    note = "a plain function is cached in an `LruStore`; a remote store such as `RedisStore` \
            is reached over the network, with `.await`: it needs an `async fn`"
)]
pub trait SyncStore: Sync + 'static {
    /// The store.
    fn lru(&'static self) -> &'static LruStore;
}

impl SyncStore for LruStore {
    fn lru(&'static self) -> &'static LruStore {
        self
    }
}
