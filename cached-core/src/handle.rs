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
}

impl<K, V> Entry<K, V> {
    #[doc(hidden)]
    #[allow(private_bounds)] // built by generated code only
    pub fn new(cache: &'static impl Handle<K, V>, key: K, ttl: Option<Duration>) -> Self {
        Entry { cache, key, ttl }
    }

    /// Stores `value` as the entry, with the function's TTL, as if the function had returned
    /// it. A computation of the entry in progress does not overwrite it.
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
        self.cache.put(&mut self.key, value, self.ttl);
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
