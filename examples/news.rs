//! The news page from "Don't scale servers, scale code": the list of news comes from a
//! database query that takes about a second. Cached for an hour, the second request skips it;
//! saving a news item clears the cached list, so the next request shows the change.
//!
//! Run with `cargo run --example news`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use cached_core::{cache, entry, invalidates};

#[derive(Clone, Debug)]
struct News {
    id: u32,
    title: String,
}

/// The database: three headlines.
static DB: Mutex<Vec<(u32, &str)>> = Mutex::new(Vec::new());

/// The slow part of the page: a database query (simulated with a one-second sleep).
#[cache(ttl = 3600)]
fn all_news() -> Vec<News> {
    std::thread::sleep(Duration::from_secs(1));
    let db = DB.lock().unwrap_or_else(|e| e.into_inner());
    db.iter()
        .map(|&(id, title)| News {
            id,
            title: title.to_owned(),
        })
        .collect()
}

impl News {
    /// Saves the item; the cached list is cleared once the save succeeds.
    #[invalidates(all_news)]
    fn save(&self, title: &'static str) -> Result<(), String> {
        let mut db = DB.lock().map_err(|e| e.to_string())?;
        let row = db
            .iter_mut()
            .find(|(id, _)| *id == self.id)
            .ok_or("no such news")?;
        row.1 = title;
        Ok(())
    }
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
    DB.lock().unwrap_or_else(|e| e.into_inner()).extend([
        (1, "Rain tomorrow"),
        (2, "Match tonight"),
        (3, "New bridge opens"),
    ]);

    let (page, miss) = timed(news_page);
    let (again, hit) = timed(news_page);
    assert_eq!(page, again);

    println!("GET /news\n{page}\n");
    println!("{:<28} {:>12}", "request", "time");
    println!("{:<28} {:>12.2?}", "first  (cache miss)", miss);
    println!("{:<28} {:>12.2?}", "second (cache hit)", hit);
    let speedup = miss.as_secs_f64() / hit.as_secs_f64().max(1e-9);
    println!("\nthe cached page is served {speedup:.0}x faster\n");

    // An editor fixes a headline: the save clears the cached list...
    let first = all_news().remove(0);
    first.save("Sun tomorrow").expect("saved");
    let (page, after_save) = timed(news_page);
    println!("POST /news/1  (title: \"Sun tomorrow\")\nGET /news\n{page}\n");
    // ...so the next request reads the database again and shows the new title.
    assert!(page.contains("Sun tomorrow") && !page.contains("Rain tomorrow"));
    println!("{:<28} {:>12.2?}\n", "after the save (miss)", after_save);

    // Code that is not an annotated function (an admin command after a bulk import, say)
    // reaches the same entries through typed handles.
    assert!(entry!(all_news()).peek().is_some());
    entry!(all_news()).invalidate();
    println!(
        "admin: cleared /news by hand; cached now: {}\n",
        entry!(all_news()).peek().is_some()
    );

    // What every cache in the process did, and the time it saved.
    print!("{}", cached_core::report());
}
