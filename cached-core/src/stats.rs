//! What each cache is doing and what it saves: [`stats`] and [`report`].
//!
//! Statistics are always on. A hit adds one to a counter of the shard it already holds locked,
//! so counting costs the hit path nothing measurable (see BENCHMARKS.md); misses also record how
//! long the computation took.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// A snapshot of one cache's statistics; see [`stats`].
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
/// assert_eq!((stats.hits, stats.misses, stats.inserts), (1, 1, 1));
/// assert_eq!(stats.hit_ratio(), 0.5);
/// assert_eq!(stats.len, Some(1));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CacheStats {
    /// The cache's name: `#[cache(name = ...)]`, or the function's path.
    pub name: String,
    /// Calls answered from the cache.
    pub hits: u64,
    /// Calls that did not find a value: they computed it, or waited for another caller that
    /// did.
    pub misses: u64,
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
    /// Their mean time: what a miss costs, and so what a hit saves.
    pub miss_time_mean: Duration,
    /// The mean time of a hit, where it is measured (not for in-process caches: timing each
    /// hit would cost more than the hit).
    pub hit_time_mean: Option<Duration>,
}

impl CacheStats {
    /// Empty statistics for a cache called `name`.
    ///
    /// ```
    /// let stats = cached_core::CacheStats::new("empty");
    /// assert_eq!(stats.calls(), 0);
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        CacheStats {
            name: name.into(),
            hits: 0,
            misses: 0,
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

    /// Hits and misses.
    ///
    /// ```
    /// let mut stats = cached_core::CacheStats::new("x");
    /// (stats.hits, stats.misses) = (3, 1);
    /// assert_eq!(stats.calls(), 4);
    /// ```
    pub fn calls(&self) -> u64 {
        self.hits + self.misses
    }

    /// The share of calls answered from the cache, from 0 to 1 (0 before any call).
    ///
    /// ```
    /// let mut stats = cached_core::CacheStats::new("x");
    /// assert_eq!(stats.hit_ratio(), 0.0);
    /// (stats.hits, stats.misses) = (3, 1);
    /// assert_eq!(stats.hit_ratio(), 0.75);
    /// ```
    pub fn hit_ratio(&self) -> f64 {
        match self.calls() {
            0 => 0.0,
            calls => self.hits as f64 / calls as f64,
        }
    }

    /// The time the hits saved, estimated as hits times the mean miss time.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut stats = cached_core::CacheStats::new("x");
    /// stats.hits = 10;
    /// stats.miss_time_mean = Duration::from_millis(100);
    /// assert_eq!(stats.time_saved(), Duration::from_secs(1));
    /// ```
    pub fn time_saved(&self) -> Duration {
        let hits = u32::try_from(self.hits).unwrap_or(u32::MAX);
        self.miss_time_mean.saturating_mul(hits)
    }

    /// Adds `other`'s counts to these (the caches of one generic function, one per value type).
    fn merge(&mut self, other: &CacheStats) {
        self.hits += other.hits;
        self.misses += other.misses;
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

/// A table of caches, one row each, sorted by the time they saved (hits times the mean miss
/// time), with calls, hit ratio, mean miss time, mean hit time where measured, and time saved.
/// Columns fit their content; durations are in human units.
///
/// ```
/// use std::time::Duration;
/// use cached_core::{CacheStats, Report};
///
/// let mut news = CacheStats::new("news::all_news");
/// (news.hits, news.misses, news.computations) = (99, 1, 1);
/// news.miss_time_total = Duration::from_millis(1020);
/// news.miss_time_mean = Duration::from_millis(1020);
/// let table = Report::new(vec![news]).to_string();
/// assert!(table.contains("news::all_news"));
/// assert!(table.contains("99.0%"));
/// assert!(table.contains("1.02 s"));
/// ```
#[derive(Debug, Clone)]
pub struct Report {
    rows: Vec<CacheStats>,
}

impl Report {
    /// A report of these caches, sorted.
    ///
    /// ```
    /// let empty = cached_core::Report::new(Vec::new());
    /// assert_eq!(empty.to_string(), "no caches yet\n");
    /// ```
    pub fn new(mut rows: Vec<CacheStats>) -> Self {
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
    /// use cached_core::{CacheStats, Report};
    /// let mut hot = CacheStats::new("hot");
    /// hot.hits = 10;
    /// hot.miss_time_mean = std::time::Duration::from_millis(5);
    /// let report = Report::new(vec![CacheStats::new("cold"), hot]);
    /// assert_eq!(report.rows()[0].name, "hot");
    /// ```
    pub fn rows(&self) -> &[CacheStats] {
        &self.rows
    }
}

const HEADER: [&str; 8] = [
    "cache",
    "calls",
    "hits",
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
        let cells: Vec<[String; 8]> = self
            .rows
            .iter()
            .map(|s| {
                [
                    s.name.clone(),
                    s.calls().to_string(),
                    s.hits.to_string(),
                    format!("{:.1}%", s.hit_ratio() * 100.0),
                    s.len.map_or_else(|| "-".to_owned(), |n| n.to_string()),
                    human(s.miss_time_mean),
                    s.hit_time_mean.map_or_else(|| "-".to_owned(), human),
                    human(s.time_saved()),
                ]
            })
            .collect();
        let mut widths = HEADER.map(str::len);
        for row in &cells {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, row: [&str; 8]| {
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
    }

    #[test]
    fn merging_recomputes_the_mean() {
        let mut a = CacheStats::new("f");
        a.computations = 1;
        a.miss_time_total = Duration::from_millis(10);
        a.len = Some(1);
        let mut b = CacheStats::new("f");
        b.computations = 3;
        b.miss_time_total = Duration::from_millis(30);
        b.len = Some(2);
        a.merge(&b);
        assert_eq!(a.miss_time_mean, Duration::from_millis(10));
        assert_eq!(a.len, Some(3));
    }
}
