//! `#[cache_put]` writes through, and the typed handles work from plain code.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::{Duration, Instant};

use cached_core::{cache, cache_put, entries, entry};

#[derive(Clone, Debug, PartialEq)]
struct Noticia {
    id: u32,
    title: String,
}

static READS: AtomicU32 = AtomicU32::new(0);

#[cache]
fn news_item(id: u32) -> Option<Noticia> {
    READS.fetch_add(1, SeqCst);
    None.filter(|_| id > 0)
}

impl Noticia {
    /// Stores the saved item itself as its entry.
    #[cache_put(news_item(self.id) = Some(self.clone()))]
    fn save(&self) -> Result<(), String> {
        if self.title.is_empty() {
            return Err("a news item needs a title".into());
        }
        Ok(())
    }
}

#[test]
fn a_save_writes_the_item_through() {
    let item = Noticia {
        id: 1,
        title: "Rain".into(),
    };
    item.save().unwrap();
    assert_eq!(news_item(1), Some(item.clone()));
    assert_eq!(
        READS.load(SeqCst),
        0,
        "the read after the save hit the database"
    );

    // A failed save stores nothing.
    let bad = Noticia {
        id: 2,
        title: String::new(),
    };
    assert!(bad.save().is_err());
    assert_eq!(news_item(2), None);
    assert_eq!(READS.load(SeqCst), 1);
}

static SCORE_READS: AtomicU32 = AtomicU32::new(0);

#[cache(ttl = 3600)]
fn score(player: u32) -> Result<u32, String> {
    SCORE_READS.fetch_add(1, SeqCst);
    Ok(player)
}

/// Stores the function's own `Ok` value.
#[cache_put(score(player))]
fn set_score(player: u32, points: u32) -> Result<u32, String> {
    if points > 100 {
        return Err("too many points".into());
    }
    Ok(points)
}

#[test]
fn the_ok_value_is_stored() {
    assert_eq!(set_score(7, 42), Ok(42));
    assert_eq!(score(7), Ok(42));
    assert!(set_score(7, 1000).is_err());
    assert_eq!(score(7), Ok(42), "an Err stored nothing");
    assert_eq!(SCORE_READS.load(SeqCst), 0);
}

static RANK_READS: AtomicU32 = AtomicU32::new(0);
const RANK_TTL: Duration = Duration::from_millis(200);

#[cache(ttl = RANK_TTL)]
fn rank(player: u32) -> u32 {
    RANK_READS.fetch_add(1, SeqCst);
    player
}

#[cache_put(rank(player))]
fn set_rank(player: u32, rank: u32) -> u32 {
    let _ = player;
    rank
}

#[test]
fn a_put_value_has_the_functions_ttl() {
    let put = Instant::now();
    set_rank(7, 42);
    let early = entry!(rank(7)).peek();
    // Only a read well within the TTL must find the value: a slow machine may take longer.
    if put.elapsed() < RANK_TTL / 2 {
        assert_eq!(early, Some(42));
    }
    // Past the TTL, however long that took, the value put is gone.
    while put.elapsed() <= RANK_TTL {
        std::thread::sleep(RANK_TTL);
    }
    assert_eq!(rank(7), 7, "the put value outlived the function's TTL");
    assert_eq!(RANK_READS.load(SeqCst), 1);
}

static LABELS: AtomicU32 = AtomicU32::new(0);

struct Shop {
    tenant: u32,
}

impl Shop {
    #[cache(key = (self.tenant, id))]
    async fn label(&self, id: u32, _trace: &str) -> String {
        LABELS.fetch_add(1, SeqCst);
        format!("{}-{id}", self.tenant)
    }
}

#[tokio::test]
async fn handles_reach_method_caches_from_plain_code() {
    let shop = Shop { tenant: 3 };
    assert_eq!(entry!(Shop::label(&shop, 1)).peek(), None);
    assert_eq!(shop.label(1, "a").await, "3-1");
    assert_eq!(entry!(Shop::label(&shop, 1)).peek().as_deref(), Some("3-1"));
    entry!(Shop::label(&shop, 2)).put("set by hand".into());
    assert_eq!(shop.label(2, "b").await, "set by hand");
    assert!(entry!(Shop::label(&shop, 1)).invalidate());
    assert_eq!(shop.label(1, "c").await, "3-1");
    assert_eq!(LABELS.load(SeqCst), 2);
    assert_eq!(entries!(Shop::label).invalidate(), 2);
    assert_eq!(entry!(Shop::label(&shop, 2)).peek(), None);
}

#[cache(tags = [format!("shelf:{shelf}")])]
fn book(shelf: u32, id: u32) -> String {
    format!("book {id} on shelf {shelf}")
}

#[test]
fn a_put_entry_carries_the_function_tags() {
    entry!(book(1, 2)).put("put by hand".into());
    assert_eq!(entry!(book(1, 2)).peek().as_deref(), Some("put by hand"));
    cached_core::invalidate_tag("shelf:2");
    assert!(entry!(book(1, 2)).peek().is_some(), "another shelf's tag");
    cached_core::invalidate_tag("shelf:1");
    assert_eq!(
        entry!(book(1, 2)).peek(),
        None,
        "the put entry has the shelf's tag"
    );
}
