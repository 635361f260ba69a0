//! Statistics: exact counts, consistency under concurrency, coalesced callers, hit times, and
//! the report. (The report's layout and sort, on rows of chosen figures, are unit tests in
//! `cached-core/src/stats.rs`.)

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use cached_core::{cache, stats, CacheStats};

fn stats_of(name: &str) -> CacheStats {
    row_of(name).unwrap_or_else(|| panic!("no cache named {name}"))
}

/// The row of the cache `name`, if it has been called.
fn row_of(name: &str) -> Option<CacheStats> {
    stats().into_iter().find(|s| s.name == name)
}

#[cache(name = "stats-counted", capacity = 2)]
fn counted(x: u32) -> u32 {
    // A lower bound of the miss time counted (a test of time itself).
    std::thread::sleep(Duration::from_millis(2));
    x
}

#[test]
fn counts_are_exact_in_one_thread() {
    counted(1); // miss, insert
    counted(1); // hit
    counted(2); // miss, insert
    counted(3); // miss, insert, evicts 1
    counted(3); // hit
    counted(1); // miss, insert, evicts 2
    let s = stats_of("stats-counted");
    assert_eq!((s.hits, s.misses, s.inserts, s.evictions), (2, 4, 4, 2));
    assert_eq!((s.calls(), s.len, s.computations), (6, Some(2), 4));
    assert!(s.miss_time_total >= Duration::from_millis(8), "{s:?}");
    assert!(s.miss_time_mean >= Duration::from_millis(2), "{s:?}");
    assert_eq!(s.hit_time_mean, None);
    assert!((s.hit_ratio() - 2.0 / 6.0).abs() < 1e-9);
}

static FAILURES: AtomicU32 = AtomicU32::new(0);

#[cache(name = "stats-fallible")]
fn fallible(x: u32) -> Result<u32, String> {
    if FAILURES.fetch_add(1, SeqCst) < 2 {
        return Err("down".into());
    }
    Ok(x)
}

#[test]
fn an_err_is_a_miss_that_stores_nothing() {
    assert!(fallible(1).is_err());
    assert!(fallible(1).is_err());
    assert_eq!(fallible(1), Ok(1));
    assert_eq!(fallible(1), Ok(1));
    let s = stats_of("stats-fallible");
    assert_eq!((s.hits, s.misses, s.inserts, s.computations), (1, 3, 1, 3));
    assert_eq!(s.len, Some(1));
}

#[cache(name = "stats-unless", unless = |v: &u32| *v == 0)]
fn sometimes_kept(x: u32) -> u32 {
    x
}

#[test]
fn a_value_kept_out_by_unless_is_a_miss_without_insert() {
    sometimes_kept(0);
    sometimes_kept(0);
    sometimes_kept(5);
    sometimes_kept(5);
    let s = stats_of("stats-unless");
    assert_eq!((s.hits, s.misses, s.inserts), (1, 3, 1));
}

#[cache(name = "stats-concurrent", capacity = 50)]
fn concurrent(x: u64) -> u64 {
    x
}

#[test]
fn hits_and_misses_add_up_to_the_calls_under_concurrency() {
    const THREADS: u64 = 8;
    const CALLS: u64 = 5_000;
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..CALLS {
                    concurrent((i * 7 + t) % 80);
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let s = stats_of("stats-concurrent");
    assert_eq!(s.calls(), THREADS * CALLS);
    assert!(s.computations <= s.misses, "{s:?}");
    assert_eq!(s.inserts - s.evictions, s.len.unwrap() as u64, "{s:?}");
}

#[cache(name = "stats-generic")]
fn generic<T: Clone + Send + Sync + 'static + cached_core::CacheKey>(x: T) -> T {
    x
}

#[test]
fn a_generic_function_is_one_row() {
    generic(1u8);
    generic(1u8);
    generic(String::from("a"));
    let rows: Vec<_> = stats()
        .into_iter()
        .filter(|s| s.name == "stats-generic")
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].hits, rows[0].misses, rows[0].len), (1, 2, Some(2)));
}

static FRAGMENTS: std::sync::LazyLock<cached_core::LruStore> =
    std::sync::LazyLock::new(|| cached_core::LruStore::named("stats-fragments", 10));

#[cache(store = FRAGMENTS)]
fn fragment(id: u32) -> String {
    format!("<div>{id}</div>")
}

#[test]
fn explicit_stores_are_one_row_with_the_functions_that_share_them() {
    FRAGMENTS.set("header", String::from("<h1>"), None);
    assert!(FRAGMENTS.get::<String>("header").is_some()); // hit
    assert!(FRAGMENTS.get::<String>("footer").is_none()); // not a call of a cached function
    fragment(1); // miss
    fragment(1); // hit
    let row = stats_of("stats-fragments");
    assert_eq!((row.hits, row.misses, row.inserts), (2, 1, 2));
    assert_eq!(row.len, Some(2));
    assert!(
        stats().iter().all(|s| !s.name.ends_with("::fragment")),
        "a shared-store function has no row of its own"
    );
    // A dropped store leaves the statistics.
    let local = cached_core::LruStore::named("stats-dropped", 1);
    local.set(1u8, 1u8, None);
    assert!(stats().iter().any(|s| s.name == "stats-dropped"));
    drop(local);
    assert!(stats().iter().all(|s| s.name != "stats-dropped"));
}

#[cache(name = "stats-tagged", tags = [format!("stats-shelf:{shelf}")])]
fn book(shelf: u32, n: u32) -> String {
    format!("{shelf}/{n}")
}

#[test]
fn a_tag_invalidation_counts_once_per_entry() {
    book(1, 1);
    book(1, 2);
    book(2, 1);
    cached_core::invalidate_tag("stats-shelf:1");
    for _ in 0..3 {
        book(1, 1);
        book(1, 2);
        book(2, 1);
    }
    let s = stats_of("stats-tagged");
    assert_eq!(s.invalidations, 2);
    assert_eq!((s.misses, s.hits), (5, 7));
}

/// Long enough that only a broken single-flight (a caller that never reaches the cache, a
/// waiter that hangs) reaches it: a pass never depends on timing.
const HANG: Duration = Duration::from_secs(60);

/// Waits until the cache `name` has counted `callers` misses. A caller is counted as a miss in
/// the locked step in which it leads a computation or joins one (it moves to `coalesced` once
/// the value arrives), so from then on each caller is the body or waits for it.
fn until_missed(name: &str, callers: u64) {
    let start = Instant::now();
    while row_of(name).map_or(0, |s| s.misses) < callers {
        assert!(start.elapsed() < HANG, "not every caller reached `{name}`");
        std::thread::yield_now();
    }
}

const CALLERS: u64 = 8;

static STAMPEDE_RUNS: AtomicU32 = AtomicU32::new(0);
/// Releases the bodies of `stampeded`, one message each.
static RELEASE: Mutex<Option<mpsc::Receiver<()>>> = Mutex::new(None);

#[cache(name = "stats-stampede")]
fn stampeded(x: u32) -> u32 {
    STAMPEDE_RUNS.fetch_add(1, SeqCst);
    let release = RELEASE.lock().unwrap();
    release.as_ref().unwrap().recv_timeout(HANG).unwrap();
    x
}

#[test]
fn callers_served_by_another_callers_computation_are_coalesced_not_missed() {
    let (release, released) = mpsc::channel();
    *RELEASE.lock().unwrap() = Some(released);
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| std::thread::spawn(|| stampeded(7)))
        .collect();
    // Every caller leads or waits for the body, which holds on until released.
    until_missed("stats-stampede", CALLERS);
    for _ in 0..CALLERS {
        // One message per body that could be running (all of them, if single-flight broke).
        release.send(()).unwrap();
    }
    for caller in callers {
        assert_eq!(caller.join().unwrap(), 7);
    }
    assert_eq!(STAMPEDE_RUNS.load(SeqCst), 1);
    let s = stats_of("stats-stampede");
    assert_eq!(
        (s.misses, s.coalesced, s.hits),
        (1, CALLERS - 1, 0),
        "{s:?}"
    );
    assert_eq!((s.calls(), s.computations), (CALLERS, 1));
    // The body ran once for eight callers: seven of eight avoided it.
    let avoided = (CALLERS - 1) as f64 / CALLERS as f64;
    assert!((s.hit_ratio() - avoided).abs() < 1e-9, "{}", s.hit_ratio());
    let report = cached_core::report().to_string();
    let line = report
        .lines()
        .find(|l| l.starts_with("stats-stampede "))
        .unwrap();
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        cells[..5],
        ["stats-stampede", "8", "0", "7", "87.5%"],
        "{report}"
    );
}

static ASYNC_STAMPEDE_RUNS: AtomicU32 = AtomicU32::new(0);
static ASYNC_RELEASE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(0);

#[cache(name = "stats-async-stampede")]
async fn async_stampeded(x: u32) -> u32 {
    ASYNC_STAMPEDE_RUNS.fetch_add(1, SeqCst);
    ASYNC_RELEASE.acquire().await.unwrap().forget();
    x
}

#[test]
fn tasks_served_by_another_tasks_computation_are_coalesced_not_missed() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..CALLERS)
            .map(|_| tokio::spawn(async_stampeded(3)))
            .collect();
        let start = Instant::now();
        while row_of("stats-async-stampede").map_or(0, |s| s.misses) < CALLERS {
            assert!(start.elapsed() < HANG, "not every task reached the cache");
            tokio::task::yield_now().await;
        }
        ASYNC_RELEASE.add_permits(CALLERS as usize);
        for task in tasks {
            assert_eq!(task.await.unwrap(), 3);
        }
    });
    assert_eq!(ASYNC_STAMPEDE_RUNS.load(SeqCst), 1);
    let s = stats_of("stats-async-stampede");
    assert_eq!(
        (s.misses, s.coalesced, s.hits),
        (1, CALLERS - 1, 0),
        "{s:?}"
    );
}

#[cache(name = "stats-hit-time")]
fn quick(x: u32) -> u32 {
    x
}

#[test]
fn one_in_process_hit_in_1024_is_timed() {
    quick(1); // miss
    for _ in 0..1023 {
        quick(1);
    }
    let s = stats_of("stats-hit-time");
    assert_eq!(s.hits, 1023);
    assert_eq!(s.hit_time_mean, None, "no hit timed before the 1024th");
    quick(1);
    let s = stats_of("stats-hit-time");
    let hit = s.hit_time_mean.expect("the 1024th hit is timed");
    assert!(
        hit > Duration::ZERO && hit < Duration::from_secs(1),
        "{hit:?}"
    );
    let report = cached_core::report().to_string();
    let line = report
        .lines()
        .find(|l| l.starts_with("stats-hit-time "))
        .unwrap();
    // name, calls, hits, coalesced, ratio, entries, mean miss (two cells), mean hit (two).
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cells[..3], ["stats-hit-time", "1025", "1024"], "{report}");
    assert_ne!(cells[8], "-", "the mean hit is shown: {report}");
}
