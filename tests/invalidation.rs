//! `#[invalidates]` on the talk's news site: saving a news item clears that item, the list of
//! all news and the category lists, so that no page shows the old item.
//!
//! The tests run in parallel and assert exact counts: each uses its own functions, counters
//! and tags (tags are global to the process), so that none invalidates another's entries.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;

use cached_core::{cache, cache_put, invalidates};

#[derive(Clone, Debug, PartialEq)]
struct Noticia {
    id: u32,
    category: u32,
    title: String,
}

/// The database.
static DB: Mutex<Vec<Noticia>> = Mutex::new(Vec::new());
static QUERIES: AtomicU32 = AtomicU32::new(0);

fn query<T>(f: impl FnOnce(&[Noticia]) -> T) -> T {
    QUERIES.fetch_add(1, SeqCst);
    f(&DB.lock().unwrap())
}

#[cache]
fn all_news() -> Vec<Noticia> {
    query(|db| db.to_vec())
}

#[cache]
fn news_item(id: u32) -> Option<Noticia> {
    query(|db| db.iter().find(|n| n.id == id).cloned())
}

#[cache(tags = [format!("category:{category}")])]
fn news_in(category: u32, page: u32) -> Vec<Noticia> {
    query(|db| {
        db.iter()
            .filter(|n| n.category == category)
            .skip(page as usize * 10)
            .cloned()
            .collect()
    })
}

impl Noticia {
    /// Clears the list of all news and every list of the item's category, and writes the item
    /// itself through.
    #[invalidates(all_news)]
    #[invalidates(tag = format!("category:{}", self.category))]
    #[cache_put(news_item(self.id) = Some(self.clone()))]
    fn save(&self) -> Result<(), String> {
        if self.title.is_empty() {
            return Err("a news item needs a title".into());
        }
        let mut db = DB.lock().unwrap();
        match db.iter_mut().find(|n| n.id == self.id) {
            Some(stored) => *stored = self.clone(),
            None => db.push(self.clone()),
        }
        Ok(())
    }
}

fn item(id: u32, category: u32, title: &str) -> Noticia {
    Noticia {
        id,
        category,
        title: title.into(),
    }
}

#[test]
fn saving_a_news_item_leaves_no_page_stale() {
    item(1, 7, "Rain tomorrow").save().unwrap();
    item(2, 8, "Match tonight").save().unwrap();

    // Every page is computed once, then served from the cache.
    let pages = || (all_news(), news_item(1), news_item(2), news_in(7, 0));
    let before = pages();
    let queries = QUERIES.load(SeqCst);
    assert_eq!(pages(), before);
    assert_eq!(
        QUERIES.load(SeqCst),
        queries,
        "the second read hit the database"
    );

    // The save writes the item through and clears the full list and its category's lists...
    item(1, 7, "Sun tomorrow").save().unwrap();
    assert_eq!(news_item(1).unwrap().title, "Sun tomorrow");
    assert_eq!(
        QUERIES.load(SeqCst),
        queries,
        "the saved item was not written through"
    );
    assert!(all_news().iter().any(|n| n.title == "Sun tomorrow"));
    assert_eq!(news_in(7, 0)[0].title, "Sun tomorrow");
    assert_eq!(QUERIES.load(SeqCst), queries + 2);
    // ...and nothing else: the other item and the other category are still cached.
    assert_eq!(news_item(2), before.2);
    news_in(8, 0);
    assert_eq!(
        QUERIES.load(SeqCst),
        queries + 3,
        "the first read of category 8 queries once"
    );

    // A save that fails clears nothing and stores nothing.
    assert!(item(1, 7, "").save().is_err());
    assert_eq!(news_item(1).unwrap().title, "Sun tomorrow");
    assert_eq!(all_news().len(), 2);
    news_in(7, 0);
    assert_eq!(
        QUERIES.load(SeqCst),
        queries + 3,
        "a failed save invalidated entries"
    );

    let stats = cached_core::stats();
    let of = |name: &str| {
        stats
            .iter()
            .find(|s| s.name.ends_with(name))
            .unwrap()
            .invalidations
    };
    assert!(of("::all_news") >= 1);
}

static PROFILES: AtomicU32 = AtomicU32::new(0);

struct Repo {
    tenant: u32,
    names: Mutex<Vec<String>>,
}

impl Repo {
    #[cache(key = (self.tenant, id))]
    fn name(&self, id: usize) -> String {
        PROFILES.fetch_add(1, SeqCst);
        self.names.lock().unwrap()[id].clone()
    }

    /// The key uses `self`, so the entry takes the receiver first.
    #[invalidates(Self::name(self, id))]
    fn rename(&self, id: usize, name: &str) {
        self.names.lock().unwrap()[id] = name.to_owned();
    }

    /// `Type::method` works from outside the impl as well.
    #[invalidates(Repo::name)]
    fn rename_all(&self, name: &str) {
        for n in self.names.lock().unwrap().iter_mut() {
            *n = name.to_owned();
        }
    }
}

#[test]
fn methods_are_invalidated_by_their_key_arguments() {
    let repo = Repo {
        tenant: 1,
        names: Mutex::new(vec!["ann".into(), "bob".into()]),
    };
    let other = Repo {
        tenant: 2,
        names: Mutex::new(vec!["cid".into()]),
    };
    assert_eq!(
        (repo.name(0), repo.name(1), other.name(0)),
        ("ann".into(), "bob".into(), "cid".into())
    );
    repo.rename(0, "amy");
    assert_eq!(repo.name(0), "amy");
    assert_eq!(
        PROFILES.load(SeqCst),
        4,
        "only (tenant 1, id 0) was recomputed"
    );
    repo.rename_all("zed");
    assert_eq!((repo.name(1), other.name(0)), ("zed".into(), "cid".into()));
    assert_eq!(PROFILES.load(SeqCst), 6, "every entry of `name` went");
}

static SCORES: Mutex<Vec<u32>> = Mutex::new(Vec::new());

#[cache]
async fn score(id: usize) -> u32 {
    tokio::task::yield_now().await;
    SCORES.lock().unwrap()[id]
}

#[invalidates(score(id))]
async fn add_point(id: usize) -> Result<u32, String> {
    tokio::task::yield_now().await;
    let mut scores = SCORES.lock().unwrap();
    let score = scores.get_mut(id).ok_or("no such player")?;
    *score += 1;
    Ok(*score)
}

#[tokio::test]
async fn async_functions_invalidate_before_returning() {
    SCORES.lock().unwrap().extend([10, 20]);
    assert_eq!(score(0).await, 10);
    assert_eq!(add_point(0).await, Ok(11));
    assert_eq!(score(0).await, 11);
    assert!(add_point(9).await.is_err());
}

trait Catalog {
    fn title(&self, id: u32) -> String;
}

struct Shop;
static TITLES: AtomicU32 = AtomicU32::new(0);

#[cache]
impl Catalog for Shop {
    #[cache]
    fn title(&self, id: u32) -> String {
        TITLES.fetch_add(1, SeqCst);
        format!("item {id}")
    }
}

#[invalidates(Shop::title(id))]
fn retitle(id: u32) {
    let _ = id;
}

#[test]
fn trait_impl_methods_can_be_invalidated() {
    Shop.title(1);
    Shop.title(1);
    assert_eq!(TITLES.load(SeqCst), 1);
    retitle(1);
    Shop.title(1);
    assert_eq!(TITLES.load(SeqCst), 2);
}

static PAGES: AtomicU32 = AtomicU32::new(0);

/// Every page of a section carries the section's tag (not `category:`, which the news above
/// use: a parallel test's save would invalidate these pages).
#[cache(tags = [format!("section:{category}"), "section-pages"])]
fn page_of(category: u32, page: u32) -> String {
    PAGES.fetch_add(1, SeqCst);
    format!("{category}/{page}")
}

static SUMMARIES: AtomicU32 = AtomicU32::new(0);

/// Another function under the same tag.
#[cache(tags = [format!("section:{category}")])]
async fn summary(category: u32) -> String {
    SUMMARIES.fetch_add(1, SeqCst);
    format!("summary of {category}")
}

#[invalidates(tag = format!("section:{category}"))]
fn publish(category: u32) -> Result<(), String> {
    (category != 0)
        .then_some(())
        .ok_or_else(|| "no section 0".to_owned())
}

#[tokio::test]
async fn a_tag_invalidates_every_page_of_a_category_in_every_cache() {
    for page in 0..3 {
        page_of(7, page);
        page_of(8, page);
    }
    summary(7).await;
    summary(8).await;
    assert_eq!((PAGES.load(SeqCst), SUMMARIES.load(SeqCst)), (6, 2));

    publish(7).unwrap();
    for page in 0..3 {
        page_of(7, page);
        page_of(8, page);
    }
    summary(7).await;
    summary(8).await;
    // Category 7's three pages and summary were recomputed; category 8's were not.
    assert_eq!((PAGES.load(SeqCst), SUMMARIES.load(SeqCst)), (9, 3));

    // A failed publish invalidates nothing.
    assert!(publish(0).is_err());
    cached_core::invalidate_tag("no such tag");
    page_of(7, 0);
    assert_eq!(PAGES.load(SeqCst), 9);

    // From plain code, and with a tag shared by every page.
    cached_core::invalidate_tag("section-pages");
    page_of(8, 1);
    assert_eq!(PAGES.load(SeqCst), 10);
}

static SLOW_PAGES: AtomicU32 = AtomicU32::new(0);

/// Set by the test: the next computation of `slow_page` signals that it started, then waits.
static SLOW_STARTED: Mutex<Option<Sender<()>>> = Mutex::new(None);
static SLOW_GO: Mutex<Option<Receiver<()>>> = Mutex::new(None);

#[cache(tags = ["slow"])]
fn slow_page(n: u32) -> u32 {
    SLOW_PAGES.fetch_add(1, SeqCst);
    let started = SLOW_STARTED.lock().unwrap().take();
    if let Some(started) = started {
        let go = SLOW_GO.lock().unwrap().take().unwrap();
        started.send(()).unwrap();
        go.recv().unwrap();
    }
    n
}

#[test]
fn a_tag_invalidated_during_a_computation_keeps_its_value_out() {
    let (started_tx, started) = channel();
    let (go, go_rx) = channel();
    *SLOW_STARTED.lock().unwrap() = Some(started_tx);
    *SLOW_GO.lock().unwrap() = Some(go_rx);

    let computing = std::thread::spawn(|| slow_page(1));
    started.recv().unwrap(); // the page is being computed...
    cached_core::invalidate_tag("slow"); // ...when the data changes
    go.send(()).unwrap();
    assert_eq!(computing.join().unwrap(), 1);
    slow_page(1);
    assert_eq!(SLOW_PAGES.load(SeqCst), 2, "the stale value was served");
    slow_page(1);
    assert_eq!(SLOW_PAGES.load(SeqCst), 2);
}

static USERS: AtomicU32 = AtomicU32::new(0);

/// The key names `id` only inside a format string: it is still the key argument.
#[cache(key = format!("user:{id}"))]
fn user(id: u64, _request: u128) -> String {
    USERS.fetch_add(1, SeqCst);
    format!("user {id}")
}

#[invalidates(user(id))]
fn rename_user(id: u64) {
    let _ = id;
}

#[test]
fn key_arguments_include_inline_format_arguments() {
    user(5, 1);
    user(5, 2);
    assert_eq!(USERS.load(SeqCst), 1);
    rename_user(5);
    user(5, 3);
    assert_eq!(USERS.load(SeqCst), 2);
}
