//! Regressions of key encoding and namespaces: no collisions between caches, key types and the explicit API.
//!
//! Each test has its own functions and stores, so tests running in parallel share nothing.

use std::fmt::Debug;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::LazyLock;

use cached_core::{cache, encode_key, CacheKey, LruStore};

// ---- A generic function keeps its key types apart ---------------------------------------------

/// One cache per value type (`String`), shared by every `T`.
#[cache]
fn show<T: CacheKey + Debug>(x: T) -> String {
    format!("{x:?}")
}

#[test]
fn a_generic_function_keeps_keys_of_different_types_apart() {
    assert_eq!(show(1u8), "1");
    assert_eq!(
        show(true),
        "true",
        "`true` is not the `1u8` computed before"
    );
    assert_eq!(show(42u32), "42");
    assert_eq!(show('*'), "'*'", "`'*'` is not the `42u32` computed before");
    assert_eq!(show("a"), "\"a\"");
    assert_eq!(show(vec![b'a']), "[97]", "a byte sequence is not a string");
    assert_eq!(show((1u8, 2u8)), "(1, 2)");
    assert_eq!(show(258u16), "258", "a `u16` is not a pair of `u8`");
    assert_eq!(show(Some(0u8)), "Some(0)");
    assert_eq!(show((true, 0u8)), "(true, 0)", "a pair is not an `Option`");
}

// ---- Explicit keys of different types, in one store ----------------------------------------

#[test]
fn explicit_keys_of_different_types_do_not_collide_in_a_store() {
    let store = LruStore::new(100);
    store.set(("user", 7u64), "a u64 id", None);
    assert_eq!(store.get::<&str>(("user", 0u32, 7u32)), None);
    store.set(("user", 0u32, 7u32), "two u32s", None);
    assert_eq!(store.get::<&str>(("user", 7u64)), Some("a u64 id"));
    assert_eq!(store.get::<&str>(("user", 0u32, 7u32)), Some("two u32s"));

    store.set(42u32, "a number", None);
    assert_eq!(store.get::<&str>('*'), None);
    store.set('*', "a char", None);
    assert_eq!(store.get::<&str>(42u32), Some("a number"));
    assert_eq!(store.get::<&str>('*'), Some("a char"));

    // What a shared store or `RedisStore` keys on: the same bytes.
    assert_ne!(
        encode_key(&("user", 7u64)),
        encode_key(&("user", 0u32, 7u32))
    );
    assert_ne!(encode_key(&42u32), encode_key(&'*'));
}

// ---- Derived types of the same shape -----------------------------------------------------------

#[derive(CacheKey, Debug)]
struct UserId(u32);

#[derive(CacheKey, Debug)]
struct OrderId(u32);

mod users {
    #[derive(cached_core::CacheKey, Debug)]
    pub struct Id(pub u32);
}

mod orders {
    #[derive(cached_core::CacheKey, Debug)]
    pub struct Id(pub u32);
}

#[derive(CacheKey, Debug)]
enum Shipment {
    Pending(u32),
}

#[test]
fn derived_types_of_the_same_shape_do_not_collide() {
    let store = LruStore::new(100);
    store.set(UserId(7), "user 7", None);
    assert_eq!(store.get::<&str>(OrderId(7)), None);
    assert_eq!(
        store.get::<&str>(7u32),
        None,
        "a derived type is not its field"
    );
    store.set(OrderId(7), "order 7", None);
    assert_eq!(store.get::<&str>(UserId(7)), Some("user 7"));

    store.set(users::Id(1), "users::Id", None);
    assert_eq!(
        store.get::<&str>(orders::Id(1)),
        None,
        "same name, other module"
    );
    assert_eq!(store.get::<&str>(Shipment::Pending(7)), None);

    assert_eq!(show_id(UserId(3)), "UserId(3)");
    assert_eq!(show_id(OrderId(3)), "OrderId(3)");
}

#[cache]
fn show_id<T: CacheKey + Debug>(id: T) -> String {
    format!("{id:?}")
}

// ---- A function and the explicit API in one shared store -----------------------------------

/// More namespaces than this test binary creates shared caches: whichever namespace the
/// function below got, one of the explicit keys `0u64..NAMESPACES` is its number.
const NAMESPACES: u64 = 1024;

static SHARED: LazyLock<LruStore> = LazyLock::new(|| LruStore::new(100_000));
/// Another, so that the test of `get` does not delete what the test of `set` stored.
static SHARED_TOO: LazyLock<LruStore> = LazyLock::new(|| LruStore::new(100_000));
static MOTTO_RUNS: AtomicU32 = AtomicU32::new(0);

/// Keyed by nothing: its key in the store is its namespace alone.
#[cache(store = SHARED)]
fn motto() -> String {
    MOTTO_RUNS.fetch_add(1, SeqCst);
    String::from("computed")
}

static LABEL_RUNS: AtomicU32 = AtomicU32::new(0);

#[cache(store = SHARED_TOO)]
fn label() -> String {
    LABEL_RUNS.fetch_add(1, SeqCst);
    String::from("computed")
}

#[test]
fn explicit_keys_never_reach_a_functions_entries_in_a_shared_store() {
    assert_eq!(motto(), "computed");
    for namespace in 0..NAMESPACES {
        SHARED.set(namespace, String::from("set by hand"), None);
    }
    assert_eq!(
        motto(),
        "computed",
        "an explicit set overwrote the function's entry"
    );
    assert_eq!(MOTTO_RUNS.load(SeqCst), 1);
    for namespace in 0..NAMESPACES {
        assert_eq!(
            SHARED.get::<String>(namespace).as_deref(),
            Some("set by hand")
        );
    }
}

#[test]
fn an_explicit_get_of_another_type_leaves_a_functions_entry() {
    assert_eq!(label(), "computed");
    for namespace in 0..NAMESPACES {
        assert_eq!(SHARED_TOO.get::<u64>(namespace), None);
    }
    assert_eq!(label(), "computed");
    assert_eq!(
        LABEL_RUNS.load(SeqCst),
        1,
        "an explicit get deleted the entry"
    );
    for namespace in 0..NAMESPACES {
        assert_eq!(SHARED_TOO.get_or_set_with(namespace, None, || 0u64), 0);
    }
    assert_eq!(label(), "computed");
    assert_eq!(
        LABEL_RUNS.load(SeqCst),
        1,
        "an explicit get_or_set_with replaced the entry"
    );
}
