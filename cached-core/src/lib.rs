//! Memoize functions and methods with one attribute.
//!
//! Put `#[cache]` on a function (sync or `async`, free or a method) and a repeated call with the
//! same key returns the stored result instead of running the body again:
//!
//! ```
//! use cached_core::cache;
//! use std::sync::atomic::{AtomicU32, Ordering};
//!
//! static QUERIES: AtomicU32 = AtomicU32::new(0);
//!
//! #[cache(ttl = 3600)]
//! fn headline(id: u64) -> String {
//!     QUERIES.fetch_add(1, Ordering::Relaxed); // the slow database call
//!     format!("news #{id}")
//! }
//!
//! assert_eq!(headline(7), "news #7");
//! assert_eq!(headline(7), "news #7"); // served from the cache
//! assert_eq!(QUERIES.load(Ordering::Relaxed), 1);
//! ```
//!
//! # What is cached
//!
//! - **The key** is every parameter except the receiver (`self`), or the expression given with
//!   `key = ...`. Key types implement [`CacheKey`]; `#[derive(CacheKey)]` covers your own
//!   structs and enums. Parameters taken by reference are copied into the key.
//! - **The value** is the return value, which must be `Clone + Send + Sync + 'static`. When the
//!   return type is a `Result` (its last path segment is `Result`), only `Ok` values are
//!   stored: an `Err` is returned and the next call runs the body again.
//! - **The store** is a bounded in-process LRU, one per function (and per value type, for a
//!   generic function), shared by every instance of a method's type. Large caches are split
//!   into shards that are each exact LRUs.
//!
//! # The attribute's arguments
//!
//! | argument | meaning | default |
//! |---|---|---|
//! | `ttl = 3600` | seconds an entry may be returned; or any `std::time::Duration` expression, evaluated on every call | no TTL |
//! | `capacity = 500` | the most entries kept; the least recently used goes first | 10 000 |
//! | `key = <expr>` | the key, an expression over the parameters (and `self`): `key = id`, `key = (self.tenant, id)`, `key = format!("user:{id}")` | all parameters but `self` |
//! | `name = "news"` | the cache's stable name | module path and function name (the type and method name for methods) |
//! | `unless = <fn>` | a `fn(&V) -> bool` or closure: a value for which it returns `true` is returned but not stored | store every value |
//! | `store = <expr>` | a shared [`LruStore`] (`&*<expr>` is a `&'static LruStore`, such as a `static`), entries of different functions never colliding; or, for an `async fn`, a `RedisStore` (feature `redis`), shared by every process | a store of the function's own |
//! | `tags = [<expr>, ...]` | string-like tags stored with each entry, evaluated on a miss from the parameters; [`invalidate_tag`] and `#[invalidates(tag = ...)]` clear every entry with a tag | no tags |
//! | `crate = <path>` | the path of this crate where the dependency is renamed (`cache = { package = "cached-core" }` in Cargo.toml: `crate = cache`); `#[invalidates]` and `#[cache_put]` take it too, and so does `#[cache]` on an impl block, for its methods; `#[derive(CacheKey)]` as `#[cache_key(crate = cache)]`, and `entry!`/`entries!` need nothing | `::cached_core` |
//!
//! In `key = ...` each parameter is a reference, so the expression never moves a parameter
//! out of the body's reach: `key = (self.tenant, name)` works with `name: String`. A parameter
//! written as a pattern, as axum handlers take their extractors (`Path(id): Path<u32>`), is keyed
//! by the names it binds (`id`), and `key = ...` may use them; `_` binds none, and is left out
//! of the key.
//!
//! ```
//! # use cached_core::cache;
//! use std::time::Duration;
//!
//! struct Repo {
//!     tenant: u32,
//! }
//!
//! impl Repo {
//!     #[cache(key = (self.tenant, id), ttl = Duration::from_secs(60), capacity = 1000)]
//!     async fn profile(&self, id: u64, _trace: &str) -> Result<String, std::io::Error> {
//!         Ok(format!("tenant {} user {id}", self.tenant))
//!     }
//!
//!     #[cache(unless = Option::is_none)]
//!     fn find(&self, email: &str) -> Option<u64> {
//!         email.strip_prefix("user").and_then(|n| n.parse().ok())
//!     }
//! }
//! ```
//!
//! # When the data changes
//!
//! - [`macro@invalidates`] on the function that changes the data removes entries after it
//!   succeeds: every entry of a function (`#[invalidates(all_news)]`), one entry by its key
//!   arguments (`#[invalidates(news_item(self.id))]`, type-checked like the call), or every entry
//!   with a tag (`#[invalidates(tag = format!("category:{}", self.category))]`).
//! - [`macro@cache_put`] writes through instead: `#[cache_put(news_item(self.id) =
//!   Some(self.clone()))]`.
//! - [`entry!`] and [`entries!`] are the same typed handles for plain code, and
//!   [`invalidate_tag`] clears a tag.
//!
//! # Objects, fragments and routine results
//!
//! [`LruStore`] is the same bounded store for direct `get` / `set` / `delete` /
//! `get_or_set_with`, with values of any type.
//!
//! # Every server: Redis
//!
//! With the feature `redis`, a `RedisStore` (in a `static`) holds the caches of `async fn`s
//! given `store = REDIS` for every process that shares the Redis: one round trip per hit,
//! invalidation by key, function or tag that every process sees, values in MessagePack whose
//! type is checked, and fail-open behaviour when Redis is down or slow (every operation bounded
//! by a timeout, a circuit breaker after repeated failures). The handles of such a function are
//! [`StoreEntry`] and [`StoreEntries`], awaited. See `RedisStore` for the details (the feature
//! `redis-tls` adds `rediss://`).
//!
//! # Concurrency
//!
//! Callers that miss on the same key at the same time run the body once: the first computes,
//! the others wait (threads block, tasks `await` without blocking the executor) and receive the
//! same value. If the body panics, returns an `Err`, or its future is dropped, every waiter
//! wakes up and tries again; nothing is stored. A hit locks one shard of the store, never a
//! lock shared by every key, and reads a coarse clock only when the entry has a TTL.
//!
//! # What the caches save
//!
//! [`stats()`] returns a [`CacheStats`] per cache and [`report()`] formats them as a table,
//! most time saved first. Every call is a hit, a miss (it ran the body) or coalesced (it waited
//! for another caller's computation of the same key); the hit ratio counts how often the body
//! was avoided, and the time saved is negative for a cache whose hit costs more than its
//! computation. Counting is always on and costs a hit nothing measurable. Each miss
//! emits a `tracing` debug event (target `cached_core`) with the cache's name and the time the
//! computation took; a failing remote store, a warning at most every 10 s. With the feature
//! `metrics`, the same counters go to the `metrics` crate
//! facade; see the `metrics` module for the names.
#![warn(missing_docs)]
// On docs.rs, each item says which feature enables it.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(hidden)]
pub mod __private;
mod clock;
mod error;
mod flight;
mod handle;
mod key;
mod memo;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
#[cfg(feature = "redis")]
mod redis;
mod registry;
#[cfg(all(test, cached_loom))]
mod single_flight_models;
mod stats;
mod store;
mod sync;
mod tags;

pub use error::Error;
pub use handle::{AllEntries, Entry, StoreEntries, StoreEntry};
pub use key::{encode_key, CacheKey, KeyEncoder};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis::{RedisStore, RedisStoreBuilder};
pub use stats::{report, stats, CacheStats, Report};
pub use store::explicit::LruStore;
pub use tags::invalidate_tag;

/// Memoizes a function or method; see the [crate documentation](crate).
///
/// ```
/// # use cached_core::cache;
/// #[cache(capacity = 100, ttl = 60)]
/// fn square(x: u64) -> u64 {
///     x * x
/// }
/// assert_eq!(square(12), 144);
/// ```
#[doc(inline)]
pub use cached_macros::cache;

/// Removes cache entries after the function succeeds: when data changes, the entries computed
/// from the old data go.
///
/// Entries, comma-separated (several `#[invalidates]` on one function add up):
///
/// - `f` (a path: `f`, `news::f`, `Self::method`, `Type::method`): every entry of the cached
///   function `f`;
/// - `tag = <expr>`: every entry stored with that tag (`#[cache(tags = [...])]`), in any cache;
/// - `f(a, b)`: the one entry of `f` for those key arguments, written like a call of `f` and
///   type-checked like one. The key arguments are `f`'s parameters except the receiver, in
///   order; when `f` has `key = <expr>`, they are the parameters that expression mentions, in
///   order, with the receiver first when it uses `self`.
///
/// The arguments are evaluated before the body runs (so the body may still move the values
/// they came from); the entries are removed after it returns, and for a function returning a
/// `Result`, only after `Ok`. A computation of a removed entry that is in progress at that
/// moment does not store its (possibly stale) value.
///
/// ```
/// use cached_core::{cache, invalidates};
/// use std::sync::Mutex;
///
/// static TITLES: Mutex<Vec<String>> = Mutex::new(Vec::new());
///
/// #[cache]
/// fn title(id: usize) -> Option<String> {
///     TITLES.lock().unwrap().get(id).cloned()
/// }
///
/// #[cache]
/// fn count() -> usize {
///     TITLES.lock().unwrap().len()
/// }
///
/// #[invalidates(title(id), count)]
/// fn rename(id: usize, new: &str) -> Result<(), String> {
///     let mut titles = TITLES.lock().unwrap();
///     let slot = titles.get_mut(id).ok_or("no such title")?;
///     *slot = new.to_owned();
///     Ok(())
/// }
///
/// TITLES.lock().unwrap().push("Old".into());
/// assert_eq!(title(0).as_deref(), Some("Old"));
/// rename(0, "New").unwrap();
/// assert_eq!(title(0).as_deref(), Some("New")); // not the stale "Old"
/// ```
///
/// In a trait impl, put `#[cache]` on the impl block as well, so that its cached methods can
/// be named here (`Type::method`).
#[doc(inline)]
pub use cached_macros::invalidates;

/// Stores a value as a cached function's entry after the function succeeds (write-through):
/// the next read finds it without computing.
///
/// - `#[cache_put(f(args))]` stores the function's own return value (the `Ok` value of a
///   `Result`) as `f`'s entry for those key arguments;
/// - `#[cache_put(f(args) = <expr>)]` stores the value of `<expr>`, which may use the
///   parameters and `self`.
///
/// The entry is named as in [`invalidates`], before the body runs; the value is type-checked
/// against `f`'s value type and stored with `f`'s TTL.
///
/// ```
/// use cached_core::{cache, cache_put};
/// use std::sync::atomic::{AtomicU32, Ordering};
///
/// static READS: AtomicU32 = AtomicU32::new(0);
///
/// #[derive(Clone, Debug, PartialEq)]
/// struct User {
///     id: u32,
///     name: String,
/// }
///
/// #[cache]
/// fn user(id: u32) -> Option<User> {
///     READS.fetch_add(1, Ordering::Relaxed); // the database read
///     None
/// }
///
/// impl User {
///     #[cache_put(user(self.id) = Some(self.clone()))]
///     fn save(&self) -> Result<(), String> {
///         Ok(()) // the database write
///     }
/// }
///
/// let ann = User { id: 1, name: "Ann".into() };
/// ann.save().unwrap();
/// assert_eq!(user(1), Some(ann)); // stored by the save: no read
/// assert_eq!(READS.load(Ordering::Relaxed), 0);
/// ```
#[doc(inline)]
pub use cached_macros::cache_put;

/// The typed handle on one entry of a cached function, for code that is not an annotated
/// function: a migration, an admin command, a test.
///
/// `entry!(f(args))` is written like a call of the cached function `f` and type-checked like
/// one (`entry!(Type::method(&value, args))` when `f`'s key uses `self`); it computes nothing.
/// The [`Entry`] it returns can [`invalidate`](Entry::invalidate),
/// [`put`](Entry::put) or [`peek`](Entry::peek). For an `async fn` cached with `store = ...`
/// (a `RedisStore`, say), it is a [`StoreEntry`], whose operations are awaited.
///
/// ```
/// use cached_core::{cache, entry, entries};
///
/// #[cache]
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// assert_eq!(entry!(square(3)).peek(), None); // nothing computed yet
/// square(3);
/// assert_eq!(entry!(square(3)).peek(), Some(9));
/// entry!(square(4)).put(17); // a value set by hand...
/// assert_eq!(square(4), 17); // ...is what the next call returns
/// assert!(entry!(square(3)).invalidate());
/// assert_eq!(entries!(square).invalidate(), 1); // every entry: the one for 4
/// assert_eq!(entry!(square(4)).peek(), None);
/// ```
#[macro_export]
macro_rules! entry {
    ($($call:tt)*) => {
        $crate::__private::entry!($crate, $($call)*)
    };
}

/// The handle on every entry of a cached function (whatever its value types, for a generic
/// function): `entries!(f).invalidate()`. See [`entry!`]. For an `async fn` cached with
/// `store = ...`, it is a [`StoreEntries`]: `entries!(f).invalidate().await`.
///
/// ```
/// # use cached_core::{cache, entries};
/// #[cache]
/// fn cube(x: u64) -> u64 {
///     x * x * x
/// }
/// cube(2);
/// cube(3);
/// assert_eq!(entries!(cube).invalidate(), 2);
/// ```
#[macro_export]
macro_rules! entries {
    ($($function:tt)*) => {
        $crate::__private::entries!($crate, $($function)*)
    };
}

/// Implements [`CacheKey`] for a struct or an enum, field by field.
///
/// ```
/// use cached_core::CacheKey;
///
/// #[derive(CacheKey)]
/// enum Listing {
///     All,
///     Category { id: u32, page: u32 },
/// }
///
/// assert_ne!(
///     cached_core::encode_key(&Listing::All),
///     cached_core::encode_key(&Listing::Category { id: 0, page: 0 }),
/// );
/// ```
#[doc(inline)]
pub use cached_macros::CacheKey;

/// The capacity of a `#[cache]` without `capacity = ...`.
///
/// ```
/// assert_eq!(cached_core::DEFAULT_CAPACITY, 10_000);
/// ```
pub const DEFAULT_CAPACITY: usize = 10_000;

/// The README's examples, compiled and run as doc tests exactly as they read (no hidden lines:
/// `tests/readme.rs` checks that each is a whole program a newcomer can paste), in the edition
/// of a crate made by `cargo new` (`edition2024` on their fences). Its Redis
/// section needs the `redis` feature, which cached-core's dev-dependency on itself turns on for
/// every test build, so that `cargo test -p cached-core --doc` cannot skip them.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
