//! Typed handles on a cached function's entries, used by `#[invalidates]`.
//!
//! `#[cache]` emits, next to each function `f`, hidden companions that build these handles from
//! `f`'s key parameters, with their declared types: a handle is therefore type-checked like a
//! call of `f`, and finds the very cache `f` uses.

use crate::memo::FnCache;
use crate::store::lru::StoreKey;

/// One entry of one cached function: the cache and the key.
pub struct Entry<K: 'static, V: 'static> {
    cache: &'static FnCache<K, V>,
    key: K,
}

impl<K: StoreKey, V: Clone> Entry<K, V> {
    /// The entry of `key` in `cache`.
    pub fn new(cache: &'static FnCache<K, V>, key: K) -> Self {
        Entry { cache, key }
    }

    /// Removes the entry (and keeps a computation of it in progress from storing a value that
    /// may predate the change). Returns whether there was an entry.
    pub fn invalidate(mut self) -> bool {
        self.cache.invalidate(&mut self.key)
    }

    /// The entry's value, if it is cached and live, without computing it.
    pub fn peek(mut self) -> Option<V> {
        self.cache.peek(&mut self.key)
    }
}

/// Every entry of one cached function, whatever its value type.
pub struct AllEntries {
    id: &'static str,
}

impl AllEntries {
    /// The entries of the function with this id.
    pub const fn new(id: &'static str) -> Self {
        AllEntries { id }
    }

    /// Removes every entry; returns how many there were.
    pub fn invalidate(self) -> usize {
        crate::registry::invalidate_function(self.id)
    }
}
