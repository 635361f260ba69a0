//! What each cache is doing and what it saves: [`stats`] and [`report`].
//!
//! Statistics are always on. A hit adds one to a counter of the shard it already holds locked,
//! so counting costs the hit path nothing measurable (see BENCHMARKS.md); that counter also
//! picks the one hit in 1024 that is timed, so no other hit reads a clock. Misses record how
//! long the computation took.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// A snapshot of one cache's statistics; see [`stats`].
///
/// Every call is one of three: a hit (the value was in the cache), a miss (the caller ran the
/// body), or coalesced (another caller was computing the same key, and this one waited for that
/// value instead of running the body).
///
/// ```
/// use cached_core::cache;
///
/// #[cache(name = "doc-square")]
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// square(3);
/// square(3);
/// let stats = cached_core::stats()
///     .into_iter()
///     .find(|s| s.name == "doc-square")
///     .unwrap();
/// assert_eq!((stats.hits, stats.misses, stats.coalesced), (1, 1, 0));
/// assert_eq!((stats.inserts, stats.len), (1, Some(1)));
/// assert_eq!(stats.hit_ratio(), 0.5);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CacheStats {
    /// The cache's name: `#[cache(name = ...)]`, or the function's path.
    pub name: String,
    /// Calls answered from the cache.
    pub hits: u64,
    /// Calls that found no value and ran the body (or, with a fail-closed remote store that
    /// failed, returned its error). A caller that retries after the computation it waited for
    /// failed counts once more. An in-process cache counts a caller waiting for another's
    /// computation here while it waits, and moves it to [`coalesced`](Self::coalesced) when the
    /// value arrives.
    pub misses: u64,
    /// Calls served by another caller's computation: they found no value, but the same key was
    /// being computed, so they waited for that value instead of running the body (see
    /// [Concurrency](crate#concurrency)).
    pub coalesced: u64,
    /// Values stored.
    pub inserts: u64,
    /// Entries removed to make room.
    pub evictions: u64,
    /// Entries removed because the data changed.
    pub invalidations: u64,
    /// Failures of a remote store, which the cache answered by computing instead.
    pub errors: u64,
    /// Entries held now, where the store can tell.
    pub len: Option<usize>,
    /// Computations run on misses (each `Err` included).
    pub computations: u64,
    /// Time spent in those computations.
    pub miss_time_total: Duration,
    /// Their mean time: what a miss costs.
    pub miss_time_mean: Duration,
    /// The mean time of a hit, once one is measured. A remote store times every hit. An
    /// in-process store times one hit in 1024 of each of its shards (timing every hit would
    /// more than double its cost), from the lookup to the copy of the value, one read of the
    /// clock included: `None` until the first.
    pub hit_time_mean: Option<Duration>,
}

impl CacheStats {
    /// Empty statistics for a cache called `name`.
    pub(crate) fn new(name: impl Into<String>) -> Self {
        CacheStats {
            name: name.into(),
            hits: 0,
            misses: 0,
            coalesced: 0,
            inserts: 0,
            evictions: 0,
            invalidations: 0,
            errors: 0,
            len: None,
            computations: 0,
            miss_time_total: Duration::ZERO,
            miss_time_mean: Duration::ZERO,
            hit_time_mean: None,
        }
    }

    /// Every call: hits, misses and coalesced calls.
    ///
    /// ```
    /// # use cached_core::cache;
    /// #[cache(name = "doc-calls")]
    /// fn double(x: u32) -> u32 {
    ///     x * 2
    /// }
    ///
    /// double(1);
    /// double(1);
    /// double(2);
    /// let stats = cached_core::stats().into_iter().find(|s| s.name == "doc-calls").unwrap();
    /// assert_eq!(stats.calls(), 3);
    /// ```
    pub fn calls(&self) -> u64 {
        self.hits + self.misses + self.coalesced
    }

    /// How often the cache spared a caller the body, from 0 to 1 (0 before any call): hits
    /// and coalesced calls over all calls. After a stampede of 50 callers on one key, one of
    /// which computed for all, it is 0.98.
    ///
    /// ```
    /// # use cached_core::cache;
    /// #[cache(name = "doc-ratio")]
    /// fn double(x: u32) -> u32 {
    ///     x * 2
    /// }
    ///
    /// for _ in 0..4 {
    ///     double(1);
    /// }
    /// let stats = cached_core::stats().into_iter().find(|s| s.name == "doc-ratio").unwrap();
    /// assert_eq!(stats.hit_ratio(), 0.75);
    /// ```
    pub fn hit_ratio(&self) -> f64 {
        match self.calls() {
            0 => 0.0,
            calls => (self.hits + self.coalesced) as f64 / calls as f64,
        }
    }

    /// The time the hits saved, in nanoseconds: the mean miss time less the mean hit time,
    /// times the hits. Negative when a hit costs more than the computation it replaces (a
    /// remote store's round trip in front of a fast body): then the cache costs time. A hit
    /// time not measured yet counts as nothing. Coalesced calls are left out: each waited for
    /// part of a computation, how much of it is not measured.
    ///
    /// ```
    /// # use cached_core::cache;
    /// use std::time::Duration;
    ///
    /// #[cache(name = "doc-saved")]
    /// fn slow(x: u32) -> u32 {
    ///     std::thread::sleep(Duration::from_millis(10));
    ///     x
    /// }
    ///
    /// slow(1);
    /// slow(1);
    /// let stats = cached_core::stats().into_iter().find(|s| s.name == "doc-saved").unwrap();
    /// let saved = Duration::from_nanos(u64::try_from(stats.time_saved()).unwrap());
    /// assert!(saved >= Duration::from_millis(9), "{saved:?}");
    /// ```
    pub fn time_saved(&self) -> i128 {
        let nanos = |d: Duration| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX);
        let per_hit = nanos(self.miss_time_mean) - self.hit_time_mean.map_or(0, nanos);
        per_hit.saturating_mul(i128::from(self.hits))
    }

    /// Adds `other`'s counts to these (the caches of one generic function, one per value type).
    fn merge(&mut self, other: &CacheStats) {
        // Each side's hit mean weighs as much as its hits.
        self.hit_time_mean = match (self.hit_time_mean, other.hit_time_mean) {
            (Some(a), Some(b)) => {
                let weighed = |d: Duration, hits: u64| d.as_secs_f64() * hits as f64;
                let hits = (self.hits + other.hits).max(1) as f64;
                Some(Duration::from_secs_f64(
                    (weighed(a, self.hits) + weighed(b, other.hits)) / hits,
                ))
            }
            (a, b) => a.or(b),
        };
        self.hits += other.hits;
        self.misses += other.misses;
        self.coalesced += other.coalesced;
        self.inserts += other.inserts;
        self.evictions += other.evictions;
        self.invalidations += other.invalidations;
        self.errors += other.errors;
        self.len = match (self.len, other.len) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        self.computations += other.computations;
        self.miss_time_total += other.miss_time_total;
        self.miss_time_mean = mean(self.miss_time_total, self.computations);
    }
}

pub(crate) fn mean(total: Duration, count: u64) -> Duration {
    match u32::try_from(count) {
        Ok(0) => Duration::ZERO,
        Ok(count) => total / count,
        Err(_) => Duration::from_secs_f64(total.as_secs_f64() / count as f64),
    }
}

/// One snapshot per cache in the process, sorted by name: every `#[cache]` function that has
/// been called (a generic function's value types together), and every [`crate::LruStore`]
/// alive, one row each with the functions that share it (`#[cache(store = ...)]`). For a store,
/// a `get` that finds nothing is not counted as a miss: nothing was computed.
///
/// ```
/// # use cached_core::cache;
/// #[cache(name = "doc-stats")]
/// fn f(x: u8) -> u8 {
///     x
/// }
/// f(1);
/// assert!(cached_core::stats().iter().any(|s| s.name == "doc-stats"));
/// ```
pub fn stats() -> Vec<CacheStats> {
    let mut by_name: BTreeMap<String, CacheStats> = BTreeMap::new();
    for stats in crate::registry::all_stats() {
        match by_name.get_mut(&stats.name) {
            Some(seen) => seen.merge(&stats),
            None => {
                by_name.insert(stats.name.clone(), stats);
            }
        }
    }
    by_name.into_values().collect()
}

/// A table of every cache, in the spirit of cProfile's: see [`Report`].
///
/// ```
/// # use cached_core::cache;
/// #[cache]
/// fn slow(x: u64) -> u64 {
///     x
/// }
/// slow(1);
/// slow(1);
/// println!("{}", cached_core::report());
/// ```
pub fn report() -> Report {
    Report::new(stats())
}

/// A table of caches, one row each, most time saved first (see [`CacheStats::time_saved`]),
/// with calls, hits, coalesced calls, hit ratio, entries, mean miss time, mean hit time where
/// measured (`-` before), and time saved, negative for a cache that costs time. Columns fit
/// their content; durations are in human units.
///
/// ```
/// # use cached_core::cache;
/// #[cache(name = "news::all_news")]
/// fn all_news() -> Vec<String> {
///     std::thread::sleep(std::time::Duration::from_millis(20));
///     vec![String::from("Rain tomorrow")]
/// }
///
/// for _ in 0..4 {
///     all_news();
/// }
/// let table = cached_core::report().to_string();
/// let mut lines = table.lines();
/// assert!(lines.next().unwrap().starts_with("cache"));
/// let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
/// // name, calls, hits, coalesced, hit ratio, entries
/// assert_eq!(row[..6], ["news::all_news", "4", "3", "0", "75.0%", "1"]);
/// ```
#[derive(Debug, Clone)]
pub struct Report {
    rows: Vec<CacheStats>,
}

impl Report {
    /// A report of these caches, sorted.
    pub(crate) fn new(mut rows: Vec<CacheStats>) -> Self {
        rows.sort_by(|a, b| {
            b.time_saved()
                .cmp(&a.time_saved())
                .then_with(|| a.name.cmp(&b.name))
        });
        Report { rows }
    }

    /// The rows, most time saved first.
    ///
    /// ```
    /// # use cached_core::cache;
    /// #[cache(name = "doc-hot")]
    /// fn hot(x: u32) -> u32 {
    ///     std::thread::sleep(std::time::Duration::from_millis(5));
    ///     x
    /// }
    ///
    /// #[cache(name = "doc-cold")]
    /// fn cold(x: u32) -> u32 {
    ///     x
    /// }
    ///
    /// cold(1);
    /// hot(1);
    /// hot(1);
    /// let report = cached_core::report();
    /// let names: Vec<&str> = report.rows().iter().map(|s| s.name.as_str()).collect();
    /// assert_eq!(names, ["doc-hot", "doc-cold"]);
    /// ```
    pub fn rows(&self) -> &[CacheStats] {
        &self.rows
    }
}

const HEADER: [&str; 9] = [
    "cache",
    "calls",
    "hits",
    "coalesced",
    "hit ratio",
    "entries",
    "mean miss",
    "mean hit",
    "time saved",
];

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rows.is_empty() {
            return writeln!(f, "no caches yet");
        }
        let cells: Vec<[String; 9]> = self
            .rows
            .iter()
            .map(|s| {
                [
                    s.name.clone(),
                    s.calls().to_string(),
                    s.hits.to_string(),
                    s.coalesced.to_string(),
                    format!("{:.1}%", s.hit_ratio() * 100.0),
                    s.len.map_or_else(|| "-".to_owned(), |n| n.to_string()),
                    human(s.miss_time_mean),
                    s.hit_time_mean.map_or_else(|| "-".to_owned(), human),
                    human_signed(s.time_saved()),
                ]
            })
            .collect();
        let mut widths = HEADER.map(str::len);
        for row in &cells {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, row: [&str; 9]| {
            // The name is left-aligned, numbers right-aligned.
            write!(f, "{:<w$}", row[0], w = widths[0])?;
            for (cell, width) in row.iter().zip(widths).skip(1) {
                write!(f, "  {cell:>width$}")?;
            }
            writeln!(f)
        };
        line(f, HEADER)?;
        for row in &cells {
            line(f, row.each_ref().map(String::as_str))?;
        }
        Ok(())
    }
}

/// A duration in the unit that suits it: `1.02 s`, `3.4 ms`, `85 us`, `120 ns`.
fn human(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos >= 1_000_000_000 {
        format!("{:.2} s", d.as_secs_f64())
    } else if nanos >= 1_000_000 {
        format!("{:.1} ms", nanos as f64 / 1e6)
    } else if nanos >= 1_000 {
        format!("{:.0} us", nanos as f64 / 1e3)
    } else {
        format!("{nanos} ns")
    }
}

/// Signed nanoseconds as [`human`] writes a duration, with a `-` when negative: `-1.2 ms`.
fn human_signed(nanos: i128) -> String {
    let magnitude = u64::try_from(nanos.unsigned_abs()).unwrap_or(u64::MAX);
    let sign = if nanos < 0 { "-" } else { "" };
    format!("{sign}{}", human(Duration::from_nanos(magnitude)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_human_units() {
        assert_eq!(human(Duration::from_millis(1020)), "1.02 s");
        assert_eq!(human(Duration::from_micros(3400)), "3.4 ms");
        assert_eq!(human(Duration::from_micros(85)), "85 us");
        assert_eq!(human(Duration::from_nanos(120)), "120 ns");
        assert_eq!(human(Duration::ZERO), "0 ns");
        assert_eq!(human_signed(-1_200_000), "-1.2 ms");
        assert_eq!(human_signed(85_000), "85 us");
        assert_eq!(human_signed(0), "0 ns");
    }

    #[test]
    fn merging_recomputes_the_means() {
        let mut a = CacheStats::new("f");
        a.computations = 1;
        a.miss_time_total = Duration::from_millis(10);
        a.len = Some(1);
        (a.hits, a.hit_time_mean) = (1, Some(Duration::from_micros(10)));
        let mut b = CacheStats::new("f");
        b.computations = 3;
        b.miss_time_total = Duration::from_millis(30);
        b.len = Some(2);
        (b.hits, b.hit_time_mean) = (3, Some(Duration::from_micros(30)));
        b.coalesced = 4;
        a.merge(&b);
        assert_eq!(a.miss_time_mean, Duration::from_millis(10));
        assert_eq!(a.len, Some(3));
        assert_eq!((a.hits, a.coalesced), (4, 4));
        // (10 us x 1 + 30 us x 3) / 4 hits
        let hit = a.hit_time_mean.unwrap();
        assert!(
            hit.abs_diff(Duration::from_micros(25)) < Duration::from_nanos(10),
            "{hit:?}"
        );
        // A side with no hit time measured leaves the other's.
        let mut c = CacheStats::new("f");
        c.hits = 100;
        c.merge(&a);
        assert_eq!(c.hit_time_mean, a.hit_time_mean);
    }

    /// A row as a cache with these counts would report it.
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
        let mut news = row("news::all_news", 9, 1, Duration::from_millis(1020));
        news.coalesced = 5;
        let text = Report::new(vec![news]).to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let header: Vec<&str> = lines[0]
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        let cells: Vec<&str> = lines[1]
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(
            header,
            [
                "cache",
                "calls",
                "hits",
                "coalesced",
                "hit ratio",
                "entries",
                "mean miss",
                "mean hit",
                "time saved"
            ]
        );
        // 15 calls, 14 of which did not run the body; the coalesced calls save no time counted.
        assert_eq!(
            cells,
            [
                "news::all_news",
                "15",
                "9",
                "5",
                "93.3%",
                "1",
                "1.02 s",
                "-",
                "9.18 s"
            ]
        );
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

    #[test]
    fn a_hit_slower_than_the_computation_costs_time() {
        // A remote store's hit (4.6 ms) in front of a body that takes 24 us.
        let mut remote = row("remote", 100, 4, Duration::from_micros(24));
        remote.hit_time_mean = Some(Duration::from_micros(4600));
        assert_eq!(remote.time_saved(), -(4_576_000 * 100));
        // An in-process hit, timed, saves the difference.
        let mut local = row("local", 100, 4, Duration::from_micros(24));
        local.hit_time_mean = Some(Duration::from_nanos(50));
        assert_eq!(local.time_saved(), (24_000 - 50) * 100);
        let unused = row("unused", 0, 1, Duration::from_micros(24));

        let table = Report::new(vec![remote, unused, local]);
        let names: Vec<&str> = table.rows().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["local", "unused", "remote"],
            "most saved first, costs last"
        );
        let text = table.to_string();
        let remote_line = text.lines().find(|l| l.starts_with("remote")).unwrap();
        assert!(remote_line.ends_with("-457.6 ms"), "{text}");
        assert!(remote_line.contains("4.6 ms"), "{text}");
        let local_line = text.lines().find(|l| l.starts_with("local")).unwrap();
        assert!(local_line.ends_with(" 2.4 ms"), "{text}");
    }

    #[test]
    fn the_hit_ratio_counts_coalesced_calls_as_avoided_bodies() {
        // A stampede of 50 callers: one computed, 49 waited for its value.
        let mut s = row("stampede", 0, 1, Duration::from_millis(20));
        s.coalesced = 49;
        assert_eq!(s.calls(), 50);
        assert!((s.hit_ratio() - 0.98).abs() < 1e-9, "{}", s.hit_ratio());
        assert_eq!(CacheStats::new("idle").hit_ratio(), 0.0);
    }
}
