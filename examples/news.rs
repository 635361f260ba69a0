//! The news page from "Don't scale servers, scale code": the list of news comes from a
//! database query that takes about a second. Cached for an hour, the second request skips it.
//!
//! Run with `cargo run --example news`.

use std::time::{Duration, Instant};

use cached_core::cache;

#[derive(Clone, Debug)]
struct News {
    id: u32,
    title: String,
}

/// The slow part of the page: a database query (simulated with a one-second sleep).
#[cache(ttl = 3600)]
fn all_news() -> Vec<News> {
    std::thread::sleep(Duration::from_secs(1));
    (1..=3)
        .map(|id| News {
            id,
            title: format!("Headline number {id}"),
        })
        .collect()
}

/// Renders `/news`.
fn news_page() -> String {
    let items: String = all_news()
        .iter()
        .map(|news| {
            format!(
                "  <li><a href=\"/news/{}\">{}</a></li>\n",
                news.id, news.title
            )
        })
        .collect();
    format!("<ul>\n{items}</ul>")
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

fn main() {
    let (page, miss) = timed(news_page);
    let (again, hit) = timed(news_page);
    assert_eq!(page, again);

    println!("GET /news\n{page}\n");
    println!("{:<28} {:>12}", "request", "time");
    println!("{:<28} {:>12.2?}", "first  (cache miss)", miss);
    println!("{:<28} {:>12.2?}", "second (cache hit)", hit);
    let speedup = miss.as_secs_f64() / hit.as_secs_f64().max(1e-9);
    println!("\nthe cached page is served {speedup:.0}x faster\n");

    // What every cache in the process did, and the time it saved.
    print!("{}", cached_core::report());
}
