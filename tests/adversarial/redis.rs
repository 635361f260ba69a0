//! Regressions of the Redis store, against redis-servers of the tests' own (never a mock, never
//! the one on 6379).
//!
//! Two stores on one Redis stand for two processes. Each test holds a computation inside its
//! body until the test lets it go, so the interleaving under test happens by construction;
//! where the defect was a hang, or a read from before a change, the test waits for the outcome
//! with a generous timeout that only the broken code reaches. Views of another process, or of
//! Redis, are polled with a bounded loop: a pass never depends on timing.

#[path = "../support/redis_server.rs"]
mod redis_server;

use std::future::Future;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, LazyLock, Mutex};
use std::time::{Duration, Instant};

use crate::waits::Waits;
use cached_core::{cache, invalidates, RedisStore};
use redis_server::RedisServer;
use tokio::sync::{watch, Notify};

static SERVER: LazyLock<RedisServer> = LazyLock::new(RedisServer::start);

/// A store on the shared test server; a generous timeout, as a busy machine is no outage.
fn store(url: &str, prefix: &str) -> RedisStore {
    RedisStore::builder(url)
        .prefix(prefix)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

// Two processes behind a load balancer.
static P1: LazyLock<RedisStore> = LazyLock::new(|| store(&SERVER.url(), "adv"));
static P2: LazyLock<RedisStore> = LazyLock::new(|| store(&SERVER.url(), "adv"));

/// Holds the first run of a body: it signals that it started, and waits for the go.
struct Gate {
    started: Notify,
    go: Notify,
    runs: AtomicUsize,
}

impl Gate {
    fn new() -> Self {
        Gate {
            started: Notify::new(),
            go: Notify::new(),
            runs: AtomicUsize::new(0),
        }
    }

    /// Counts a run; the first one waits for the go.
    async fn pass(&self) {
        if self.runs.fetch_add(1, SeqCst) == 0 {
            self.started.notify_one();
            self.go.notified().await;
        }
    }

    fn runs(&self) -> usize {
        self.runs.load(SeqCst)
    }
}

/// Runs a call that starts after a change. If it still waits after 10 s, it joined the
/// computation that began before the change: that one is let go, and the call returns its value.
async fn after_change<T: Send + 'static>(
    call: impl Future<Output = T> + Send + 'static,
    gate: &Gate,
) -> T {
    let mut call = tokio::spawn(call);
    let value = tokio::time::timeout(Duration::from_secs(10), &mut call).await;
    gate.go.notify_one();
    match value {
        Ok(value) => value.unwrap(),
        Err(_) => call.await.unwrap(),
    }
}

// --- A read that starts after an invalidation returns gets the new value --------------------

static HEADLINE: AtomicU32 = AtomicU32::new(1);
static HEADLINE_GATE: LazyLock<Gate> = LazyLock::new(Gate::new);

#[cache(store = P1, name = "adv_headline")]
async fn headline_p1(id: u32) -> u32 {
    let now = HEADLINE.load(SeqCst); // the query, before the change
    HEADLINE_GATE.pass().await;
    now + id - id
}

#[cache(store = P2, name = "adv_headline")]
async fn headline_p2(id: u32) -> u32 {
    HEADLINE.load(SeqCst) + id - id
}

#[invalidates(headline_p2(id))]
async fn edit_headline_in_p2(id: u32, new: u32) -> Result<(), String> {
    HEADLINE.store(new, SeqCst);
    Ok(())
}

#[tokio::test]
async fn a_read_after_another_process_invalidated_the_key_does_not_join_the_old_computation() {
    let first = tokio::spawn(headline_p1(1));
    HEADLINE_GATE.started.notified().await; // it read the headline before the change
    edit_headline_in_p2(1, 2).await.unwrap();
    assert_eq!(
        after_change(headline_p1(1), &HEADLINE_GATE).await,
        2,
        "a call that began after the invalidation returned got the value from before it"
    );
    assert_eq!(
        first.await.unwrap(),
        1,
        "the caller from before may get the old one"
    );
    assert_eq!(headline_p2(1).await, 2, "and the old one was not stored");
}

static ROSTER: AtomicU32 = AtomicU32::new(1);
static ROSTER_GATE: LazyLock<Gate> = LazyLock::new(Gate::new);

#[cache(store = P1, name = "adv_roster")]
async fn roster_p1(id: u32) -> u32 {
    let now = ROSTER.load(SeqCst);
    ROSTER_GATE.pass().await;
    now + id - id
}

#[cache(store = P2, name = "adv_roster")]
async fn roster_p2(id: u32) -> u32 {
    ROSTER.load(SeqCst) + id - id
}

#[invalidates(roster_p2)]
async fn reorganize_in_p2(new: u32) -> Result<(), String> {
    ROSTER.store(new, SeqCst);
    Ok(())
}

#[tokio::test]
async fn a_read_after_another_process_invalidated_the_function_does_not_join_the_old_computation() {
    let first = tokio::spawn(roster_p1(1));
    ROSTER_GATE.started.notified().await;
    reorganize_in_p2(2).await.unwrap();
    assert_eq!(
        after_change(roster_p1(1), &ROSTER_GATE).await,
        2,
        "a call that began after the invalidation returned got the value from before it"
    );
    assert_eq!(first.await.unwrap(), 1);
    assert_eq!(roster_p2(1).await, 2);
}

static SHELF: AtomicU32 = AtomicU32::new(1);
static SHELF_GATE: LazyLock<Gate> = LazyLock::new(Gate::new);

#[cache(store = P1, name = "adv_shelf", tags = ["adv-aisle"])]
async fn shelf_p1(id: u32) -> u32 {
    let now = SHELF.load(SeqCst);
    SHELF_GATE.pass().await;
    now + id - id
}

#[tokio::test]
async fn a_read_after_a_tag_moved_in_redis_does_not_join_the_old_computation() {
    SHELF_GATE.runs.store(1, SeqCst); // not held
    shelf_p1(0).await; // the tag's generation exists
    SHELF_GATE.runs.store(0, SeqCst);
    let first = tokio::spawn(shelf_p1(1));
    SHELF_GATE.started.notified().await;
    SHELF.store(2, SeqCst);
    // Another process (of another build, say) moves the tag's generation on.
    let moved = SERVER.cli(&["SET", "adv:%tag:adv-aisle", "00000000000000aa"]);
    assert_eq!(moved.unwrap().trim(), "OK");
    assert_eq!(
        after_change(shelf_p1(1), &SHELF_GATE).await,
        2,
        "a call that began after the tag moved got the value from before it"
    );
    assert_eq!(first.await.unwrap(), 1);
}

// --- Single-flight: the check and the join are one step -------------------------------------

/// A TCP proxy in front of the test Redis that can hold back Redis's replies on the
/// connection that sends a given request next.
struct Proxy {
    port: u16,
    hold: Arc<(Mutex<Hold>, Condvar)>,
}

#[derive(Default)]
struct Hold {
    /// Armed: the next request holding all these parts picks its connection.
    request: Option<[&'static [u8]; 2]>,
    /// The connection (numbered in the order they were opened) whose replies are held.
    connection: Option<usize>,
    held: bool,
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

impl Proxy {
    fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let hold: Arc<(Mutex<Hold>, Condvar)> = Arc::default();
        let shared = Arc::clone(&hold);
        std::thread::spawn(move || {
            for (n, client) in listener.incoming().enumerate() {
                let Ok(client) = client else { return };
                let server = TcpStream::connect(("127.0.0.1", upstream)).unwrap();
                let (client_in, server_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let hold = Arc::clone(&shared);
                std::thread::spawn(move || Proxy::requests(n, client_in, server_out, &hold));
                let hold = Arc::clone(&shared);
                std::thread::spawn(move || Proxy::replies(n, server, client, &hold));
            }
        });
        Proxy { port, hold }
    }

    /// Forwards the requests of connection `n`, picking it as the one held if armed.
    fn requests(
        n: usize,
        mut client: TcpStream,
        mut server: TcpStream,
        hold: &(Mutex<Hold>, Condvar),
    ) {
        let mut buffer = [0; 16 * 1024];
        loop {
            let read = match client.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(read) => read,
            };
            let request = &buffer[..read];
            let mut state = hold.0.lock().unwrap();
            if let Some(parts) = state.request {
                if parts.iter().all(|part| contains(request, part)) {
                    state.request = None;
                    state.connection = Some(n);
                }
            }
            drop(state);
            if server.write_all(request).is_err() {
                return;
            }
        }
    }

    /// Forwards Redis's replies on connection `n`, holding them while it is the one held.
    fn replies(
        n: usize,
        mut server: TcpStream,
        mut client: TcpStream,
        hold: &(Mutex<Hold>, Condvar),
    ) {
        let mut buffer = [0; 16 * 1024];
        loop {
            let read = match server.read(&mut buffer) {
                Ok(0) | Err(_) => return,
                Ok(read) => read,
            };
            let mut state = hold.0.lock().unwrap();
            if state.connection == Some(n) {
                state.held = true;
                hold.1.notify_all();
                while state.connection == Some(n) {
                    state = hold.1.wait(state).unwrap();
                }
            }
            drop(state);
            if client.write_all(&buffer[..read]).is_err() {
                return;
            }
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Holds the replies on the connection that next sends a request with all of `parts`.
    fn hold(&self, parts: [&'static [u8]; 2]) {
        *self.hold.0.lock().unwrap() = Hold {
            request: Some(parts),
            connection: None,
            held: false,
        };
    }

    /// Waits until a reply is held (10 s at most).
    fn wait_held(&self) {
        let (state, changed) = &*self.hold;
        let (state, timeout) = changed
            .wait_timeout_while(state.lock().unwrap(), Duration::from_secs(10), |s| !s.held)
            .unwrap();
        assert!(!timeout.timed_out() && state.held, "no reply to hold");
    }

    fn release(&self) {
        let mut state = self.hold.0.lock().unwrap();
        state.request = None;
        state.connection = None;
        self.hold.1.notify_all();
    }
}

static PROXY: LazyLock<Proxy> = LazyLock::new(|| Proxy::start(SERVER.port));
static PROXIED: LazyLock<RedisStore> = LazyLock::new(|| store(&PROXY.url(), "adv"));
static JOINED_GATE: LazyLock<Gate> = LazyLock::new(Gate::new);

#[cache(store = PROXIED, name = "adv_joined")]
async fn joined(id: u32) -> u32 {
    JOINED_GATE.pass().await;
    id
}

#[tokio::test]
async fn a_caller_that_missed_just_before_the_leader_finished_does_not_compute_again() {
    // A store keeps one connection per tokio runtime: the late caller runs in another one, so
    // that holding its replies holds none of the leader's.
    let other = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let leader = tokio::spawn(joined(1));
    JOINED_GATE.started.notified().await;
    PROXY.hold([b"MGET", b"adv_joined"]);
    let late = other.spawn(joined(1));
    PROXY.wait_held(); // the late caller's lookup missed; it has not seen the answer yet
    JOINED_GATE.go.notify_one();
    assert_eq!(leader.await.unwrap(), 1); // stored, and its flight is over
    PROXY.release();
    assert_eq!(late.await.unwrap(), 1);
    other.shutdown_background();
    assert_eq!(
        JOINED_GATE.runs(),
        1,
        "the late caller found no flight and computed again, beside the stored value"
    );
}

// --- No caller waits for itself -------------------------------------------------------------

#[cache(store = P1, name = "adv_reentrant", key = id)]
async fn reentrant(id: u32, depth: u32) -> u32 {
    if depth == 0 {
        id
    } else {
        Box::pin(reentrant(id, depth - 1)).await + 1
    }
}

#[cache(store = P1, name = "adv_ping", key = id)]
async fn ping(id: u32, depth: u32) -> u32 {
    Box::pin(pong(id, depth)).await + 1
}

#[cache(store = P1, name = "adv_pong", key = id)]
async fn pong(id: u32, depth: u32) -> u32 {
    if depth == 0 {
        id
    } else {
        Box::pin(ping(id, depth - 1)).await
    }
}

#[tokio::test]
async fn a_function_that_calls_itself_with_the_same_key_does_not_wait_for_itself() {
    let within = Duration::from_secs(10); // a hang, if it takes that long
    let direct = tokio::time::timeout(within, reentrant(5, 2)).await;
    assert_eq!(direct.ok(), Some(7), "it waited for its own computation");
    let through = tokio::time::timeout(within, ping(5, 1)).await;
    assert_eq!(
        through.ok(),
        Some(7),
        "it waited for itself through another function"
    );
    assert_eq!(
        reentrant(5, 0).await,
        7,
        "the outer value is the one stored"
    );
}

// --- A failed computation is no queue -------------------------------------------------------

static FAILING_GATE: LazyLock<Gate> = LazyLock::new(Gate::new);
/// Retries begun (every run after the first).
static RETRIES: LazyLock<watch::Sender<usize>> = LazyLock::new(|| watch::Sender::new(0));
/// Retries that found no other retry running beside them within 5 s.
static ALONE: AtomicUsize = AtomicUsize::new(0);

#[cache(store = P1, name = "adv_failing")]
async fn failing(id: u32) -> Result<u32, String> {
    if FAILING_GATE.runs.load(SeqCst) == 0 {
        FAILING_GATE.pass().await;
        return Err(format!("{id}: the database is away"));
    }
    FAILING_GATE.runs.fetch_add(1, SeqCst);
    RETRIES.send_modify(|n| *n += 1);
    let mut retries = RETRIES.subscribe();
    let within = Duration::from_secs(5);
    let beside = tokio::time::timeout(within, retries.wait_for(|&n| n >= 2))
        .await
        .is_ok_and(|seen| seen.is_ok());
    if !beside {
        ALONE.fetch_add(1, SeqCst);
    }
    Err(format!("{id}: still away"))
}

#[tokio::test]
async fn the_waiters_of_a_failed_computation_retry_at_once_not_one_after_another() {
    let (count, mut waits) = watch::channel(0);
    let _events = tracing::subscriber::set_default(Waits {
        cache: "adv_failing",
        count,
    });
    let callers: Vec<_> = (0..8).map(|_| tokio::spawn(failing(1))).collect();
    FAILING_GATE.started.notified().await;
    let all_wait = tokio::time::timeout(Duration::from_secs(10), waits.wait_for(|&n| n >= 7));
    assert!(all_wait.await.is_ok(), "the 7 other callers did not wait");
    FAILING_GATE.go.notify_one(); // the first computation fails
    for caller in callers {
        assert!(caller.await.unwrap().is_err());
    }
    assert_eq!(
        ALONE.load(SeqCst),
        0,
        "a retry ran alone: the waiters of the failed computation retried one after another"
    );
    assert!(*RETRIES.borrow() >= 2);
}

// --- Invalidations kept through an outage reach the other processes -------------------------

static OUTAGE: LazyLock<RedisServer> = LazyLock::new(RedisServer::start);
// The writer gives up on a frozen Redis quickly, and then skips it for a while.
static WRITER: LazyLock<RedisStore> = LazyLock::new(|| {
    RedisStore::builder(&OUTAGE.url())
        .prefix("adv")
        .timeout(Duration::from_millis(250))
        .cooldown(Duration::from_secs(3))
        .build()
        .unwrap()
});
static READER: LazyLock<RedisStore> = LazyLock::new(|| store(&OUTAGE.url(), "adv"));
static STOCK: AtomicU32 = AtomicU32::new(1);

#[cache(store = WRITER, name = "adv_stock")]
async fn stock_in_writer(id: u32) -> u32 {
    STOCK.load(SeqCst) + id - id
}

#[cache(store = READER, name = "adv_stock")]
async fn stock_in_reader(id: u32) -> u32 {
    STOCK.load(SeqCst) + id - id
}

#[invalidates(stock_in_writer(id))]
async fn restock_in_writer(id: u32, new: u32) -> Result<(), String> {
    STOCK.store(new, SeqCst);
    Ok(())
}

#[tokio::test]
async fn an_invalidation_missed_during_an_outage_reaches_the_other_processes_unprompted() {
    assert_eq!(stock_in_reader(1).await, 1);
    assert_eq!(stock_in_reader(1).await, 1); // cached in Redis
    let pid = OUTAGE.pause();
    // The writer gives up on Redis (three timeouts on other keys open its breaker), and the
    // invalidation is then kept, not sent.
    for id in 100..103 {
        stock_in_writer(id).await;
    }
    restock_in_writer(1, 2).await.unwrap();
    OUTAGE.resume(&pid);
    // The writer stays idle; the reader must see the change without its help.
    let deadline = Instant::now() + Duration::from_secs(30);
    while stock_in_reader(1).await != 2 {
        assert!(
            Instant::now() < deadline,
            "the invalidation never reached Redis: the reader still gets the old value"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// --- Bookkeeping keys that hold something unexpected ----------------------------------------

static PRICE: AtomicU32 = AtomicU32::new(1);

#[cache(store = P1, name = "adv_price", tags = ["adv-long-tag"])]
async fn price(id: u32) -> u32 {
    PRICE.load(SeqCst) + id - id
}

#[invalidates(tag = "adv-long-tag")]
async fn reprice(new: u32) -> Result<(), String> {
    PRICE.store(new, SeqCst);
    Ok(())
}

#[tokio::test]
async fn a_tag_generation_longer_than_255_bytes_does_not_disable_its_invalidation() {
    let long = "x".repeat(300);
    let set = SERVER.cli(&["SET", "adv:%tag:adv-long-tag", &long]);
    assert_eq!(set.unwrap().trim(), "OK");
    assert_eq!(price(1).await, 1);
    assert_eq!(price(1).await, 1);
    reprice(2).await.unwrap();
    assert_eq!(
        price(1).await,
        2,
        "the entry was stored without its tag: the tag's invalidation missed it"
    );
}

static LEDGER_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cache(store = P1, name = "adv_ledger")]
async fn ledger(id: u32) -> u32 {
    LEDGER_RUNS.fetch_add(1, SeqCst);
    id
}

#[invalidates(ledger)]
async fn close_books() -> Result<(), String> {
    Ok(())
}

#[tokio::test]
async fn a_generation_key_of_another_redis_type_is_repaired() {
    let generation = "adv:adv_ledger:%gen";
    assert_eq!(SERVER.cli(&["RPUSH", generation, "x"]).unwrap().trim(), "1");
    assert_eq!(ledger(1).await, 1);
    assert_eq!(ledger(1).await, 1);
    assert_eq!(
        LEDGER_RUNS.load(SeqCst),
        1,
        "the listed generation made every call a miss"
    );
    assert_eq!(SERVER.cli(&["TYPE", generation]).unwrap().trim(), "string");
    close_books().await.unwrap();
    assert_eq!(ledger(1).await, 1);
    assert_eq!(
        LEDGER_RUNS.load(SeqCst),
        2,
        "and the function's invalidation holds"
    );
}

static BADGE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cache(store = P1, name = "adv_badge")]
async fn badge(id: u32) -> u32 {
    BADGE_RUNS.fetch_add(1, SeqCst);
    id
}

#[tokio::test]
async fn a_value_key_of_another_redis_type_is_overwritten() {
    badge(1).await;
    let key = SERVER
        .keys("adv:adv_badge:*[^n]")
        .pop()
        .expect("the entry's key");
    SERVER.cli(&["DEL", &key]).unwrap();
    assert_eq!(SERVER.cli(&["HSET", &key, "f", "v"]).unwrap().trim(), "1");
    assert_eq!(badge(1).await, 1);
    assert_eq!(BADGE_RUNS.load(SeqCst), 2, "the hash is a miss");
    assert_eq!(badge(1).await, 1);
    assert_eq!(BADGE_RUNS.load(SeqCst), 2, "then overwritten: a hit");
}

// --- Namespaces -----------------------------------------------------------------------------

static NAMED_STORE: LazyLock<RedisStore> = LazyLock::new(|| store(&SERVER.url(), "adv-ns"));

#[cache(store = NAMED_STORE, name = "store")]
async fn named_like_the_explicit_api(id: u32) -> String {
    format!("computed {id}")
}

#[tokio::test]
async fn a_function_named_like_the_explicit_api_shares_no_keys_with_it() {
    NAMED_STORE
        .set(7u32, &"explicit".to_owned(), None)
        .await
        .unwrap();
    assert_eq!(named_like_the_explicit_api(7).await, "computed 7");
    assert_eq!(named_like_the_explicit_api(8).await, "computed 8");
    assert_eq!(
        NAMED_STORE.get::<String>(8u32).await.unwrap(),
        None,
        "the explicit API read the function's entry"
    );
    assert_eq!(
        NAMED_STORE.get::<String>(7u32).await.unwrap().as_deref(),
        Some("explicit")
    );
}

static SHORT_PREFIX: LazyLock<RedisStore> = LazyLock::new(|| store(&SERVER.url(), "adv-app"));
static LONG_PREFIX: LazyLock<RedisStore> = LazyLock::new(|| store(&SERVER.url(), "adv-app:x"));

#[cache(store = SHORT_PREFIX, name = "x:y")]
async fn in_short_prefix(id: u32) -> String {
    format!("short {id}")
}

#[cache(store = LONG_PREFIX, name = "y")]
async fn in_long_prefix(id: u32) -> String {
    format!("long {id}")
}

#[tokio::test]
async fn a_prefix_with_a_colon_does_not_collide_with_a_name_with_one() {
    assert_eq!(in_short_prefix(1).await, "short 1");
    assert_eq!(
        in_long_prefix(1).await,
        "long 1",
        "prefix `adv-app:x` with name `y` read prefix `adv-app` with name `x:y`"
    );
    assert_eq!(in_short_prefix(1).await, "short 1");
    assert_eq!(LONG_PREFIX.prefix(), "adv-app:x");
}

// ---- A tag invalidation during an outage ends the flight in this process ----------------------

/// A store whose Redis refuses: a port that was free a moment ago and has no listener.
static REFUSED: LazyLock<RedisStore> = LazyLock::new(|| {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    RedisStore::builder(&format!("redis://127.0.0.1:{port}/"))
        .build()
        .unwrap()
});
static OUTAGE_PRICE: AtomicU32 = AtomicU32::new(1);
static OUTAGE_STARTED: Notify = Notify::const_new();
static OUTAGE_GO: Notify = Notify::const_new();
static OUTAGE_RUNS: AtomicU32 = AtomicU32::new(0);

#[cache(store = REFUSED, name = "outage_price", tags = ["outage-prices"])]
async fn outage_price(id: u32) -> u32 {
    let _ = id;
    let seen = OUTAGE_PRICE.load(SeqCst);
    if OUTAGE_RUNS.fetch_add(1, SeqCst) == 0 {
        OUTAGE_STARTED.notify_one();
        OUTAGE_GO.notified().await;
    }
    seen
}

#[invalidates(tag = "outage-prices")]
async fn outage_reprice(new: u32) -> Result<(), String> {
    OUTAGE_PRICE.store(new, SeqCst);
    Ok(())
}

/// Found by review: with Redis unreachable, a tag invalidation in this process left the
/// computation that began before it open to new callers (the tag has no in-process generation).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_invalidation_during_an_outage_ends_the_flight_in_this_process() {
    let old = tokio::spawn(outage_price(1));
    OUTAGE_STARTED.notified().await;
    outage_reprice(2).await.unwrap();
    let mut new = tokio::spawn(outage_price(1));
    // Only the broken code waits here: the new call joined the held computation.
    let fresh = tokio::time::timeout(Duration::from_secs(60), &mut new).await;
    OUTAGE_GO.notify_one();
    let fresh = match fresh {
        Ok(value) => value.unwrap(),
        Err(_) => new.await.unwrap(),
    };
    assert_eq!(old.await.unwrap(), 1);
    assert_eq!(
        fresh, 2,
        "a call after the tag invalidation returned got the old price"
    );
}

// ---- Invalidating a tag nobody used leaves nothing in Redis ------------------------------------

/// Found by review: every tag invalidation created a generation key without a TTL, so a tag per
/// user invalidated often grew Redis forever.
#[tokio::test]
async fn invalidating_a_tag_nobody_used_leaves_no_key() {
    P1.invalidate_tag("adv-unused-tag").await.unwrap();
    cached_core::invalidate_tag("adv-unused-tag-sync");
    P1.get::<u32>("adv-unused-probe").await.unwrap(); // applies what the sync call queued
    assert_eq!(SERVER.keys("adv:%tag:adv-unused*"), Vec::<String>::new());
}

// --- More invalidations than the outage queue holds -----------------------------------------

static CROWD: LazyLock<RedisServer> = LazyLock::new(RedisServer::start);
// Gives up on a frozen Redis quickly, then skips it: every invalidation after that is kept.
static CROWD_WRITER: LazyLock<RedisStore> = LazyLock::new(|| {
    RedisStore::builder(&CROWD.url())
        .prefix("adv")
        .timeout(Duration::from_millis(250))
        .cooldown(Duration::from_secs(3))
        .build()
        .unwrap()
});
static CROWD_READER: LazyLock<RedisStore> = LazyLock::new(|| store(&CROWD.url(), "adv"));
static SEATS: AtomicU32 = AtomicU32::new(1);

#[cache(store = CROWD_WRITER, name = "adv_seats")]
async fn seats_in_writer(id: u32) -> u32 {
    SEATS.load(SeqCst) + id - id
}

#[cache(store = CROWD_READER, name = "adv_seats")]
async fn seats_in_reader(id: u32) -> u32 {
    SEATS.load(SeqCst) + id - id
}

/// Found by review: past 10 000 kept invalidations, new ones were dropped, and every process
/// (this one included) kept reading their old values after Redis came back.
#[tokio::test]
async fn more_invalidations_than_the_outage_queue_holds_still_reach_every_process() {
    assert_eq!(seats_in_reader(1).await, 1);
    let pid = CROWD.pause();
    for id in 100..103 {
        seats_in_writer(id).await; // three timeouts open the writer's breaker
    }
    // Ten thousand other keys fill the queue; the one the reader holds comes last.
    for id in 1_000..11_000 {
        cached_core::entry!(seats_in_writer(id)).invalidate().await;
    }
    SEATS.store(2, SeqCst);
    cached_core::entry!(seats_in_writer(1)).invalidate().await;
    CROWD.resume(&pid);
    let deadline = Instant::now() + Duration::from_secs(30);
    while seats_in_reader(1).await != 2 {
        assert!(
            Instant::now() < deadline,
            "the invalidation past the queue's size was lost: the reader still gets the old value"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// --- A value set after a failed delete stays ------------------------------------------------

static SHELVED: LazyLock<RedisServer> = LazyLock::new(RedisServer::start);
static SHELVED_STORE: LazyLock<RedisStore> = LazyLock::new(|| {
    RedisStore::builder(&SHELVED.url())
        .prefix("adv")
        .timeout(Duration::from_millis(250))
        .cooldown(Duration::from_millis(100))
        .build()
        .unwrap()
});

/// Found by review: a delete that failed during an outage was kept and applied after a `set`
/// of the same key that succeeded once Redis was back, erasing the newer value.
#[tokio::test]
async fn a_value_set_after_a_failed_delete_is_not_erased_by_it() {
    let store = &*SHELVED_STORE;
    store.set("banner", &"old".to_owned(), None).await.unwrap();
    let pid = SHELVED.pause();
    assert!(store.delete("banner").await.is_err());
    SHELVED.resume(&pid);
    // Redis is back: a write goes through once the breaker lets it (a probe after the
    // cool-down).
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.set("banner", &"new".to_owned(), None).await.is_err() {
        assert!(Instant::now() < deadline, "Redis never took the write");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A lookup applies what was kept first: the delete from before the write must not win.
    assert_eq!(
        store.get::<String>("banner").await.unwrap().as_deref(),
        Some("new"),
        "the delete kept from the outage erased the value set after it"
    );
}
