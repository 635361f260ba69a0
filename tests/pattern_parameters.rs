//! Parameters written as patterns, as axum handlers take their extractors: the default key is
//! the names they bind, and `key = ...` may use those names.

use std::sync::atomic::{AtomicU32, Ordering};

use cached_core::{cache, entry, invalidates};

/// Shaped like axum's extractors: a tuple struct around the value.
struct Path<T>(T);
struct State<T>(T);

/// A handle on the database, which is not a key.
#[derive(Clone)]
struct Db {
    prefix: &'static str,
}

static ITEMS: AtomicU32 = AtomicU32::new(0);

#[cache]
async fn item(Path(id): Path<u32>) -> String {
    ITEMS.fetch_add(1, Ordering::SeqCst);
    format!("item {id}")
}

#[invalidates(item(Path(id)))]
async fn edit_item(id: u32) {
    let _ = id;
}

#[tokio::test]
async fn an_extractor_pattern_is_keyed_by_the_name_it_binds() {
    assert_eq!(item(Path(1)).await, "item 1");
    assert_eq!(item(Path(1)).await, "item 1");
    assert_eq!(item(Path(2)).await, "item 2");
    assert_eq!(ITEMS.load(Ordering::SeqCst), 2);
    // Named like the call, pattern and all.
    edit_item(1).await;
    assert_eq!(item(Path(1)).await, "item 1");
    assert_eq!(ITEMS.load(Ordering::SeqCst), 3);
}

static PAGES: AtomicU32 = AtomicU32::new(0);

/// The database extractor is not part of the key; the path is.
#[cache(key = id)]
async fn page(State(db): State<Db>, Path(id): Path<u32>) -> String {
    PAGES.fetch_add(1, Ordering::SeqCst);
    format!("{} {id}", db.prefix)
}

#[tokio::test]
async fn a_key_expression_uses_the_names_patterns_bind() {
    let db = Db { prefix: "page" };
    assert_eq!(page(State(db.clone()), Path(5)).await, "page 5");
    assert_eq!(page(State(db.clone()), Path(5)).await, "page 5");
    assert_eq!(PAGES.load(Ordering::SeqCst), 1);
    // The companion takes only what the key uses: the path, as the function takes it.
    assert_eq!(entry!(page(Path(5))).peek().as_deref(), Some("page 5"));
    assert!(entry!(page(Path(5))).invalidate());
    assert_eq!(page(State(db), Path(5)).await, "page 5");
    assert_eq!(PAGES.load(Ordering::SeqCst), 2);
}

static SUMS: AtomicU32 = AtomicU32::new(0);

#[cache]
fn sum((a, b): (u32, u32), _unused_trace: &str) -> u32 {
    SUMS.fetch_add(1, Ordering::SeqCst);
    a + b
}

#[cache]
fn product((a, b): (u32, u32), _: &str) -> u32 {
    a * b
}

#[test]
fn a_tuple_pattern_keys_on_each_name_and_an_underscore_on_nothing() {
    assert_eq!(sum((1, 2), "x"), 3);
    assert_eq!(sum((1, 2), "y"), 3); // another trace: `_unused_trace` binds a name, a key part
    assert_eq!(sum((2, 1), "x"), 3);
    assert_eq!(SUMS.load(Ordering::SeqCst), 3);
    assert_eq!(product((2, 3), "x"), 6);
    // `_` binds nothing, so it is no part of the key: the companion takes the tuple alone.
    assert_eq!(entry!(product((2, 3))).peek(), Some(6));
}
