//! Statistics: exact counts, consistency under concurrency, and the report.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use cached_core::{cache, stats, CacheStats, Report};

fn stats_of(name: &str) -> CacheStats {
    stats()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no cache named {name}"))
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

fn row(name: &str, hits: u64, misses: u64, mean_miss: Duration) -> CacheStats {
    let mut s = CacheStats::new(name);
    (s.hits, s.misses, s.computations) = (hits, misses, misses);
    s.miss_time_mean = mean_miss;
    s.miss_time_total = mean_miss * misses as u32;
    s.len = Some(misses as usize);
    s
}

#[test]
fn the_report_renders_no_cache() {
    assert_eq!(Report::new(vec![]).to_string(), "no caches yet\n");
}

#[test]
fn the_report_renders_one_cache() {
    let table = Report::new(vec![row(
        "news::all_news",
        9,
        1,
        Duration::from_millis(1020),
    )]);
    let text = table.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("cache"));
    for cell in ["news::all_news", "10", "9", "90.0%", "1.02 s", "9.18 s"] {
        assert!(
            lines[1].contains(cell),
            "{cell} missing from {:?}",
            lines[1]
        );
    }
    // Every line has the same width: the columns fit the content.
    assert_eq!(lines[0].len(), lines[1].len());
}

#[test]
fn the_report_sorts_many_caches_by_time_saved() {
    let table = Report::new(vec![
        row("small", 1000, 10, Duration::from_micros(85)),
        row("big", 10, 1, Duration::from_secs(2)),
        row("never-hit", 0, 5, Duration::from_millis(3)),
    ]);
    let names: Vec<&str> = table.rows().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["big", "small", "never-hit"]);
    let text = table.to_string();
    assert!(text.contains("85 us") && text.contains("3.0 ms") && text.contains("20.00 s"));
    let widths: Vec<usize> = text.lines().map(str::len).collect();
    assert!(widths.windows(2).all(|w| w[0] == w[1]), "{text}");
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
