//! The news page of the `news` example, cached in Redis: what every server behind the load
//! balancer shares. Two stores stand for two servers; the second one's first request is a hit.
//! Saving an item on one server clears it for both. Each request is labelled with what the
//! cache did for it, read from `cached_core::stats()`; if Redis cannot be reached, the pages are
//! still served (each request runs the query), and the example says so.
//!
//! Run with
//! `REDIS_URL=redis://127.0.0.1:6379/ cargo run --example news_redis --features redis`
//! (any Redis URL; `rediss://` for TLS with the `redis-tls` feature of `cached-core`).

use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use cached_core::{cache, invalidates, RedisStore};
use serde::{Deserialize, Serialize};

fn store() -> RedisStore {
    let Ok(url) = std::env::var("REDIS_URL") else {
        eprintln!("set REDIS_URL to a Redis to use, e.g. REDIS_URL=redis://127.0.0.1:6379/");
        std::process::exit(2);
    };
    RedisStore::builder(&url)
        .prefix("news-example")
        .build()
        .unwrap_or_else(|error| {
            eprintln!("{error}");
            std::process::exit(2)
        })
}

// One store per "server"; in a real deployment each process has one `static`.
static SERVER_1: LazyLock<RedisStore> = LazyLock::new(store);
static SERVER_2: LazyLock<RedisStore> = LazyLock::new(store);

#[derive(Clone, Debug, Serialize, Deserialize)]
struct News {
    id: u32,
    title: String,
}

static DB: Mutex<Vec<(u32, String)>> = Mutex::new(Vec::new());

/// The slow query (a one-second sleep).
async fn query() -> Result<Vec<News>, String> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let db = DB.lock().map_err(|e| e.to_string())?;
    Ok(db
        .iter()
        .map(|(id, title)| News {
            id: *id,
            title: title.clone(),
        })
        .collect())
}

// The same cache, as each server's build has it.
#[cache(store = SERVER_1, name = "all_news", ttl = 3600)]
async fn all_news_1() -> Result<Vec<News>, String> {
    query().await
}

#[cache(store = SERVER_2, name = "all_news", ttl = 3600)]
async fn all_news_2() -> Result<Vec<News>, String> {
    query().await
}

/// Saves a headline on server 1; the cached list goes, for every server.
#[invalidates(all_news_1)]
async fn save(id: u32, title: &str) -> Result<(), String> {
    let mut db = DB.lock().map_err(|e| e.to_string())?;
    let row = db
        .iter_mut()
        .find(|(i, _)| *i == id)
        .ok_or("no such news")?;
    row.1 = title.to_owned();
    Ok(())
}

/// The `all_news` cache's hits and Redis failures so far (the functions of both servers are
/// one row: they share the name); zeros before its first call.
fn hits_and_errors() -> (u64, u64) {
    cached_core::stats()
        .into_iter()
        .find(|s| s.name == "all_news")
        .map_or((0, 0), |s| (s.hits, s.errors))
}

/// Runs one request: its value, how long it took, and what the cache did for it.
async fn request<T>(f: impl std::future::Future<Output = T>) -> (T, Duration, &'static str) {
    let (hits, errors) = hits_and_errors();
    let start = Instant::now();
    let value = f.await;
    let took = start.elapsed();
    let (hits_after, errors_after) = hits_and_errors();
    let what = if errors_after > errors {
        "miss: Redis not reached"
    } else if hits_after > hits {
        "shared hit"
    } else {
        "miss"
    };
    (value, took, what)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    DB.lock().map_err(|e| e.to_string())?.extend([
        (1, "Rain tomorrow".to_owned()),
        (2, "Match tonight".to_owned()),
    ]);
    // Start from a known state: earlier runs left the list in Redis.
    cached_core::entries!(all_news_1).invalidate().await;

    let (_, first, first_was) = request(all_news_1()).await;
    let (news, second, second_was) = request(all_news_2()).await;
    assert_eq!(news?.len(), 2);
    save(1, "Sun tomorrow").await?;
    let (news, third, third_was) = request(all_news_2()).await;
    let news = news?;
    assert_eq!(
        news[0].title, "Sun tomorrow",
        "the save cleared every server's entry"
    );

    let rows = [
        (format!("server 1: GET /news ({first_was})"), first),
        (format!("server 2: GET /news ({second_was})"), second),
        (
            format!("server 2 after a save on server 1 ({third_was})"),
            third,
        ),
    ];
    let width = rows.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    println!("{:<width$} {:>10}", "request", "time");
    for (label, took) in rows {
        println!("{label:<width$} {took:>10.2?}");
    }
    let (_, errors) = hits_and_errors();
    if errors > 0 {
        println!(
            "\nRedis was not reached ({errors} failed operations on `all_news`): each request \
             ran the query itself and nothing was shared between the servers. Is REDIS_URL right, \
             and is Redis running?"
        );
    }
    println!("\n{}", cached_core::report());
    Ok(())
}
