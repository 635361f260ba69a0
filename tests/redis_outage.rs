//! When Redis is killed, frozen or refusing, cached functions still answer, each within about
//! the store's timeout; when it is back, caching resumes without a restart. A fail-closed
//! store returns the error instead. Each scenario has a server of its own, as it stops it.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use cached_core::{cache, invalidates, RedisStore};
use support::redis_server::RedisServer;

/// The stores' timeout: short, yet long enough that a busy machine does not make a healthy
/// Redis look slow.
const TIMEOUT: Duration = Duration::from_millis(250);

/// Far above the timeout: a call that took longer is one that waited on Redis instead of
/// giving up on it (the bound is loose, as the machine may be busy).
const BOUNDED: Duration = Duration::from_secs(2);

fn store(server: &RedisServer) -> RedisStore {
    RedisStore::builder(&server.url())
        .prefix("outage")
        .timeout(TIMEOUT)
        .cooldown(Duration::from_millis(200))
        .build()
        .unwrap()
}

fn errors(name: &str) -> u64 {
    cached_core::stats()
        .into_iter()
        .find(|s| s.name == name)
        .map_or(0, |s| s.errors)
}

/// Calls `call` until it answers from the cache (`runs` stays put), for at most 10 s.
async fn until_cached<F: std::future::Future>(runs: &AtomicUsize, mut call: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        call().await;
        let before = runs.load(Ordering::SeqCst);
        call().await;
        if runs.load(Ordering::SeqCst) == before {
            return;
        }
        assert!(Instant::now() < deadline, "caching did not resume");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

static KILLED: LazyLock<RedisServer> = LazyLock::new(RedisServer::start);
static KILLED_STORE: LazyLock<RedisStore> = LazyLock::new(|| store(&KILLED));
static QUOTE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cache(store = KILLED_STORE, name = "quote")]
async fn quote(id: u32) -> Result<String, std::io::Error> {
    QUOTE_RUNS.fetch_add(1, Ordering::SeqCst);
    Ok(format!("quote {id}"))
}

#[tokio::test]
async fn redis_killed_mid_run_costs_callers_nothing_and_caching_resumes() {
    quote(1).await.unwrap();
    quote(1).await.unwrap();
    assert_eq!(QUOTE_RUNS.load(Ordering::SeqCst), 1);

    KILLED.kill();
    for _ in 0..20 {
        let start = Instant::now();
        assert_eq!(quote(1).await.unwrap(), "quote 1");
        assert!(start.elapsed() < BOUNDED, "took {:?}", start.elapsed());
    }
    assert_eq!(QUOTE_RUNS.load(Ordering::SeqCst), 21, "every call computed");
    assert!(errors("quote") >= 1, "failures are counted");

    KILLED.restart();
    until_cached(&QUOTE_RUNS, || quote(2)).await;
    assert_eq!(quote(2).await.unwrap(), "quote 2");
}

static FROZEN: LazyLock<RedisServer> = LazyLock::new(RedisServer::start);
static FROZEN_STORE: LazyLock<RedisStore> = LazyLock::new(|| store(&FROZEN));
static RATE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cache(store = FROZEN_STORE, name = "rate")]
async fn rate(currency: String) -> f64 {
    RATE_RUNS.fetch_add(1, Ordering::SeqCst);
    if currency == "BRL" {
        5.5
    } else {
        1.0
    }
}

#[tokio::test]
async fn a_frozen_redis_is_given_up_on_after_the_timeout_and_then_skipped() {
    rate("BRL".into()).await;
    let pid = FROZEN.pause();
    let mut took = Vec::new();
    for _ in 0..20 {
        let start = Instant::now();
        assert_eq!(rate("BRL".into()).await, 5.5);
        took.push(start.elapsed());
    }
    FROZEN.resume(&pid);
    let slowest = took.iter().max().copied().unwrap_or_default();
    assert!(slowest < BOUNDED, "slowest call {slowest:?}");
    // The first three calls wait for the timeout; then the breaker opens and the next calls
    // skip Redis without waiting (until a probe after each cool-down).
    let waited = took.iter().filter(|took| **took >= TIMEOUT).count();
    assert!(
        waited >= 3,
        "{waited} calls waited for the timeout: {took:?}"
    );
    assert!(waited < 20, "every call waited for the timeout: {took:?}");
    assert_eq!(RATE_RUNS.load(Ordering::SeqCst), 21);
    until_cached(&RATE_RUNS, || rate("USD".into())).await;
}

static REFUSED_STORE: LazyLock<RedisStore> = LazyLock::new(|| {
    // A port nothing listens on: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    RedisStore::new(&format!("redis://127.0.0.1:{port}/")).unwrap()
});
static GREETING_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cache(store = REFUSED_STORE, name = "greeting")]
async fn greeting(name: &str) -> String {
    GREETING_RUNS.fetch_add(1, Ordering::SeqCst);
    format!("hello {name}")
}

#[tokio::test]
async fn a_redis_that_refuses_connections_is_never_an_error() {
    for _ in 0..5 {
        assert_eq!(greeting("ana").await, "hello ana");
    }
    assert_eq!(GREETING_RUNS.load(Ordering::SeqCst), 5);
    assert_eq!(errors("greeting"), 5);
}

static CLOSED: LazyLock<RedisServer> = LazyLock::new(RedisServer::start);
static CLOSED_STORE: LazyLock<RedisStore> = LazyLock::new(|| {
    RedisStore::builder(&CLOSED.url())
        .prefix("closed")
        .timeout(TIMEOUT)
        .fail_closed()
        .build()
        .unwrap()
});

#[derive(Debug)]
enum AppError {
    Cache(cached_core::Error),
}

impl From<cached_core::Error> for AppError {
    fn from(error: cached_core::Error) -> Self {
        AppError::Cache(error)
    }
}

static BALANCE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cache(store = CLOSED_STORE)]
async fn balance(account: u32) -> Result<u64, AppError> {
    BALANCE_RUNS.fetch_add(1, Ordering::SeqCst);
    Ok(u64::from(account) * 100)
}

static LABEL_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cache(store = CLOSED_STORE)]
async fn label(account: u32) -> String {
    LABEL_RUNS.fetch_add(1, Ordering::SeqCst);
    format!("account {account}")
}

#[tokio::test]
async fn a_fail_closed_store_returns_the_error_where_the_function_can() {
    assert_eq!(balance(1).await.unwrap(), 100);
    CLOSED.kill();
    match balance(1).await {
        Err(AppError::Cache(error)) => assert!(!error.to_string().is_empty()),
        other => panic!("expected the store's error, got {other:?}"),
    }
    assert_eq!(
        BALANCE_RUNS.load(Ordering::SeqCst),
        1,
        "the body did not run"
    );
    // A function whose return type cannot carry the error computes.
    assert_eq!(label(2).await, "account 2");
    assert_eq!(generic_closed::<String>(3).await, Ok(3));
    assert_eq!(LABEL_RUNS.load(Ordering::SeqCst), 1);
    // The explicit API returns the error in either mode.
    assert!(CLOSED_STORE.get::<u64>("x").await.is_err());
    assert!(CLOSED_STORE.set("x", &1u64, None).await.is_err());
    let computed = CLOSED_STORE
        .get_or_set_with("x", None, || async { 1u64 })
        .await;
    assert!(computed.is_err(), "fail-closed: the error, not the value");
    assert!(KILLED_STORE.is_fail_open() && !CLOSED_STORE.is_fail_open());
}

static TLS_DIR: LazyLock<std::path::PathBuf> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("cached-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .output()
        .expect("openssl, to make the test server's certificate");
    assert!(made.status.success(), "{made:?}");
    dir
});
static TLS: LazyLock<RedisServer> = LazyLock::new(|| RedisServer::start_tls(&TLS_DIR));
static TLS_STORE: LazyLock<RedisStore> = LazyLock::new(|| {
    // `#insecure`: the test's certificate is self-signed.
    let url = format!("rediss://127.0.0.1:{}/#insecure", TLS.port);
    let handshake = Duration::from_secs(2); // not what this test is about
    RedisStore::builder(&url)
        .timeout(handshake)
        .fail_closed()
        .build()
        .unwrap()
});
static SECRET_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cache(store = TLS_STORE, name = "secret_tls")]
async fn secret(id: u32) -> Result<String, cached_core::Error> {
    SECRET_RUNS.fetch_add(1, Ordering::SeqCst);
    Ok(format!("secret {id}"))
}

#[tokio::test]
async fn rediss_urls_reach_redis_over_tls() {
    assert_eq!(secret(1).await.unwrap(), "secret 1");
    assert_eq!(secret(1).await.unwrap(), "secret 1");
    assert_eq!(
        SECRET_RUNS.load(Ordering::SeqCst),
        1,
        "the second call is a hit, over TLS"
    );
    assert_eq!(errors("secret_tls"), 0);
}

static CUT_OFF: LazyLock<RedisServer> = LazyLock::new(RedisServer::start);
static CUT_OFF_STORE: LazyLock<RedisStore> = LazyLock::new(|| store(&CUT_OFF));
static PRICES: std::sync::Mutex<[u64; 4]> = std::sync::Mutex::new([10; 4]);

#[cache(store = CUT_OFF_STORE, name = "price", tags = [format!("shop:{}", id % 2)])]
async fn price(id: usize) -> u64 {
    PRICES.lock().unwrap()[id]
}

#[invalidates(price(id))]
async fn reprice(id: usize, new: u64) -> Result<(), String> {
    PRICES.lock().unwrap()[id] = new;
    Ok(())
}

#[invalidates(tag = format!("shop:{shop}"))]
async fn sale(shop: usize) -> Result<(), String> {
    for (id, price) in PRICES.lock().unwrap().iter_mut().enumerate() {
        if id % 2 == shop {
            *price /= 2;
        }
    }
    Ok(())
}

#[tokio::test]
async fn invalidations_missed_while_redis_was_cut_off_apply_when_it_answers() {
    for id in 0..4 {
        assert_eq!(price(id).await, 10);
    }
    // Frozen, Redis keeps its values: what the invalidations miss would be stale after.
    let pid = CUT_OFF.pause();
    reprice(0, 20).await.unwrap();
    sale(1).await.unwrap(); // ids 1 and 3
    assert_eq!(
        price(0).await,
        20,
        "fail-open: computed while Redis is away"
    );
    CUT_OFF.resume(&pid);
    let hits = || {
        cached_core::stats()
            .into_iter()
            .find(|s| s.name == "price")
            .map_or(0, |s| s.hits)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let before = hits();
        let mut now = Vec::new();
        for id in 0..4 {
            now.push(price(id).await);
        }
        assert_eq!(
            now,
            [20, 5, 10, 5],
            "never the values from before the outage"
        );
        if hits() == before + 4 {
            break; // all four from Redis again, and current
        }
        assert!(Instant::now() < deadline, "Redis was not used again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A generic error type: nothing to carry the store's error in, so the body runs.
#[cache(store = CLOSED_STORE, name = "generic_closed")]
async fn generic_closed<E: Clone + Send + Sync + 'static>(id: u32) -> Result<u32, E> {
    Ok(id)
}

static REPORT_RUNS: AtomicUsize = AtomicUsize::new(0);
/// Callers found waiting for the computation in progress.
static REPORT_WAITS: LazyLock<tokio::sync::watch::Sender<usize>> =
    LazyLock::new(|| tokio::sync::watch::Sender::new(0));

#[cache(store = REFUSED_STORE, name = "report")]
async fn report(id: u32) -> String {
    REPORT_RUNS.fetch_add(1, Ordering::SeqCst);
    // The slow query: it lasts until every other caller waits for it (an event, not a time).
    let mut waits = REPORT_WAITS.subscribe();
    // (A minute is reached only if the callers did not join: the assertion below then fails.)
    let all_wait = waits.wait_for(|&n| n >= 15);
    let _ = tokio::time::timeout(Duration::from_secs(60), all_wait).await;
    format!("report {id}")
}

#[tokio::test(flavor = "current_thread")]
async fn with_redis_down_a_stampede_still_computes_once() {
    let _events = tracing::subscriber::set_default(support::waits::Waits {
        cache: "report",
        count: REPORT_WAITS.clone(),
    });
    let calls: Vec<_> = (0..16).map(|_| tokio::spawn(report(1))).collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), "report 1");
    }
    assert_eq!(
        REPORT_RUNS.load(Ordering::SeqCst),
        1,
        "one computation for 16 callers"
    );
}
