//! `#[cache]` on `async fn`s and async methods.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

use cached_core::cache;

static PAGES: AtomicU32 = AtomicU32::new(0);
static FETCHES: AtomicU32 = AtomicU32::new(0);
static SESSIONS: AtomicU32 = AtomicU32::new(0);

#[cache(ttl = 60)]
async fn page(path: &str) -> String {
    PAGES.fetch_add(1, SeqCst);
    tokio::task::yield_now().await;
    format!("<h1>{path}</h1>")
}

#[derive(Debug)]
struct Unavailable;

#[cache]
async fn fetch(id: u32) -> Result<String, Unavailable> {
    FETCHES.fetch_add(1, SeqCst);
    tokio::task::yield_now().await;
    if id == 0 {
        return Err(Unavailable);
    }
    let parsed: u32 = format!("{id}").parse().map_err(|_| Unavailable)?;
    Ok(format!("item {parsed}"))
}

struct Client {
    base: &'static str,
}

impl Client {
    #[cache(key = (self.base, user))]
    async fn session(&self, user: String) -> String {
        SESSIONS.fetch_add(1, SeqCst);
        tokio::task::yield_now().await;
        format!("{}/{user}", self.base)
    }
}

#[tokio::test]
async fn async_functions_are_cached() {
    assert_eq!(page("/news").await, "<h1>/news</h1>");
    assert_eq!(page("/news").await, "<h1>/news</h1>");
    assert_eq!(page("/about").await, "<h1>/about</h1>");
    assert_eq!(PAGES.load(SeqCst), 2);
}

#[tokio::test]
async fn async_results_cache_ok_only_and_keep_question_mark() {
    assert!(fetch(0).await.is_err());
    assert!(fetch(0).await.is_err());
    assert_eq!(fetch(3).await.unwrap(), "item 3");
    let before = FETCHES.load(SeqCst);
    assert_eq!(fetch(3).await.unwrap(), "item 3");
    assert_eq!(FETCHES.load(SeqCst), before, "the Ok value was not stored");
    assert_eq!(before, 3, "each Err ran the body, the Ok once");
}

#[tokio::test]
async fn async_methods_are_cached() {
    let a = Client { base: "a" };
    let b = Client { base: "b" };
    assert_eq!(a.session("x".into()).await, "a/x");
    assert_eq!(a.session("x".into()).await, "a/x");
    assert_eq!(b.session("x".into()).await, "b/x");
    assert_eq!(SESSIONS.load(SeqCst), 2);
}

/// `fetch`'s twin, so that this test does not move `fetch`'s count under a parallel test.
#[cache]
async fn fetch_elsewhere(id: u32) -> Result<String, Unavailable> {
    tokio::task::yield_now().await;
    Ok(format!("item {id}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn cached_futures_are_send() {
    // `tokio::spawn` requires `Send` futures: the cache must not make them `!Send`.
    let handle = tokio::spawn(async { fetch_elsewhere(9).await });
    assert_eq!(handle.await.unwrap().unwrap(), "item 9");
}
