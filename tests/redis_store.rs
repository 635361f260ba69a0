//! `RedisStore` against a real `redis-server` of the test's own: two "servers" (two stores on
//! one Redis) share entries, invalidations and puts; TTLs, corrupted and retyped values; the
//! explicit API; single-flight.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use cached_core::{cache, cache_put, entries, entry, invalidates, RedisStore};
use serde::{Deserialize, Serialize};
use support::redis_server::RedisServer;

static SERVER: LazyLock<RedisServer> = LazyLock::new(RedisServer::start);

// Two stores on one Redis: what two processes behind a load balancer see.
static A: LazyLock<RedisStore> = LazyLock::new(|| {
    RedisStore::builder(&SERVER.url())
        .prefix("t")
        .build()
        .unwrap()
});
static B: LazyLock<RedisStore> = LazyLock::new(|| {
    RedisStore::builder(&SERVER.url())
        .prefix("t")
        .build()
        .unwrap()
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    id: u64,
    name: String,
    team: u32,
}

/// Runs of the body per id: the tests run at once, each with ids of its own.
static PROFILE_RUNS: Mutex<BTreeMap<u64, usize>> = Mutex::new(BTreeMap::new());

fn load(id: u64) -> Profile {
    *PROFILE_RUNS.lock().unwrap().entry(id).or_default() += 1;
    Profile {
        id,
        name: format!("user {id}"),
        team: (id % 3) as u32,
    }
}

// The same cache, as built into two processes.
#[cache(store = A, name = "profile", ttl = 60)]
async fn profile_a(id: u64) -> Result<Profile, String> {
    Ok(load(id))
}

#[cache(store = B, name = "profile", ttl = 60)]
async fn profile_b(id: u64) -> Result<Profile, String> {
    Ok(load(id))
}

/// Runs of the body for the ids in `ids`.
fn runs(ids: impl std::ops::RangeBounds<u64>) -> usize {
    PROFILE_RUNS
        .lock()
        .unwrap()
        .range(ids)
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test]
async fn a_value_computed_by_one_process_is_a_hit_in_the_other() {
    let before = runs(1..=1);
    assert_eq!(profile_a(1).await.unwrap().name, "user 1");
    assert_eq!(runs(1..=1), before + 1);
    assert_eq!(profile_b(1).await.unwrap().name, "user 1");
    assert_eq!(profile_a(1).await.unwrap().name, "user 1");
    assert_eq!(runs(1..=1), before + 1, "both later calls are hits");
    // The key is readable: prefix, cache name, key (escaped bytes of the encoded `1u64`).
    let keys = SERVER.keys("t:profile:*");
    assert!(
        keys.iter()
            .any(|key| key.ends_with("%00%00%00%00%00%00%00%01")),
        "{keys:?}"
    );
    assert!(keys.contains(&"t:profile:%gen".to_owned()), "{keys:?}");
}

#[invalidates(profile_a(id))]
async fn rename(id: u64) -> Result<(), String> {
    Ok(())
}

#[tokio::test]
async fn one_entry_invalidated_by_one_process_is_gone_for_the_other() {
    profile_a(2).await.unwrap();
    profile_a(3).await.unwrap();
    let before = runs(2..=3);
    rename(2).await.unwrap();
    profile_b(2).await.unwrap();
    assert_eq!(runs(2..=3), before + 1, "2 is computed again");
    profile_b(3).await.unwrap();
    assert_eq!(runs(2..=3), before + 1, "3 is still cached");
    assert!(entry!(profile_b(3)).invalidate().await);
    assert!(!entry!(profile_b(3)).invalidate().await, "already gone");
    assert_eq!(entry!(profile_a(3)).peek().await, None);
}

static CATALOG_RUNS: AtomicUsize = AtomicUsize::new(0);

// A cache of its own: invalidating all of it must not disturb the other tests.
#[cache(store = A, name = "catalog", ttl = 60)]
async fn catalog_a(id: u64) -> Vec<u64> {
    CATALOG_RUNS.fetch_add(1, Ordering::SeqCst);
    vec![id; 3]
}

#[cache(store = B, name = "catalog", ttl = 60)]
async fn catalog_b(id: u64) -> Vec<u64> {
    CATALOG_RUNS.fetch_add(1, Ordering::SeqCst);
    vec![id; 3]
}

#[invalidates(catalog_a)]
async fn restock() -> Result<(), String> {
    Ok(())
}

#[tokio::test]
async fn a_whole_function_invalidated_by_one_process_is_gone_for_the_other() {
    let runs = || CATALOG_RUNS.load(Ordering::SeqCst);
    for id in 10..20 {
        catalog_a(id).await;
    }
    let before = runs();
    restock().await.unwrap();
    for id in 10..20 {
        catalog_b(id).await;
    }
    assert_eq!(runs(), before + 10, "every entry is computed again");
    for id in 10..20 {
        catalog_b(id).await;
    }
    assert_eq!(runs(), before + 10, "and cached again");
    entries!(catalog_b).invalidate().await;
    assert_eq!(entry!(catalog_a(10)).peek().await, None);
}

/// Runs of the body per team.
static TEAM_RUNS: Mutex<BTreeMap<u32, usize>> = Mutex::new(BTreeMap::new());

fn team_runs(teams: impl std::ops::RangeBounds<u32>) -> usize {
    TEAM_RUNS.lock().unwrap().range(teams).map(|(_, n)| n).sum()
}

#[cache(store = A, name = "member", tags = [format!("team:{team}")])]
async fn member_a(team: u32, id: u64) -> String {
    *TEAM_RUNS.lock().unwrap().entry(team).or_default() += 1;
    format!("member {id} of team {team}")
}

#[cache(store = B, name = "member", tags = [format!("team:{team}")])]
async fn member_b(team: u32, id: u64) -> String {
    *TEAM_RUNS.lock().unwrap().entry(team).or_default() += 1;
    format!("member {id} of team {team}")
}

#[invalidates(tag = format!("team:{team}"))]
async fn reorganize(team: u32) -> Result<(), String> {
    Ok(())
}

#[tokio::test]
async fn a_tag_invalidated_by_one_process_is_gone_for_the_other() {
    for id in 0..5 {
        member_a(7, id).await;
        member_a(8, id).await;
    }
    let before = team_runs(7..=8);
    for id in 0..5 {
        member_b(7, id).await;
    }
    assert_eq!(team_runs(7..=8), before, "tagged entries hit");
    reorganize(7).await.unwrap();
    for id in 0..5 {
        member_b(7, id).await;
        member_b(8, id).await;
    }
    assert_eq!(team_runs(7..=8), before + 5, "team 7 only");
    A.invalidate_tag("team:8").await.unwrap();
    member_b(8, 0).await;
    assert_eq!(team_runs(7..=8), before + 6);
}

#[cache_put(profile_a(profile.id) = profile.clone())]
async fn save(profile: &Profile) -> Result<(), String> {
    Ok(())
}

#[tokio::test]
async fn a_value_put_by_one_process_is_read_by_the_other() {
    let before = runs(30..=30);
    let new = Profile {
        id: 30,
        name: "Ada".into(),
        team: 1,
    };
    save(&new).await.unwrap();
    assert_eq!(profile_b(30).await.unwrap(), new);
    assert_eq!(runs(30..=30), before, "the put value is a hit");
    entry!(profile_b(30)).put(load(30)).await;
    assert_eq!(profile_a(30).await.unwrap().name, "user 30");
}

static SHORT_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cache(store = A, ttl = Duration::from_secs(2))]
async fn short_lived(id: u32) -> u32 {
    SHORT_RUNS.fetch_add(1, Ordering::SeqCst);
    id
}

#[tokio::test]
async fn redis_expires_entries_after_their_ttl() {
    short_lived(1).await;
    short_lived(1).await;
    assert_eq!(SHORT_RUNS.load(Ordering::SeqCst), 1);
    let key = SERVER
        .keys("t:*short_lived:*%01")
        .pop()
        .expect("the entry's key");
    let ttl: i64 = SERVER.cli(&["PTTL", &key]).unwrap().trim().parse().unwrap();
    assert!(ttl > 0 && ttl <= 2000, "Redis holds the TTL: {ttl} ms");
    // Redis removes the entry by itself once the TTL is over.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while SERVER.cli(&["EXISTS", &key]).unwrap().trim() != "0" {
        assert!(
            std::time::Instant::now() < deadline,
            "the entry outlived its TTL"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    short_lived(1).await;
    assert_eq!(SHORT_RUNS.load(Ordering::SeqCst), 2);
}

static PAGE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cache(store = A, name = "page")]
async fn page(path: String) -> String {
    PAGE_RUNS.fetch_add(1, Ordering::SeqCst);
    format!("<html>{path}</html>")
}

#[tokio::test]
async fn a_value_corrupted_by_hand_is_a_miss_then_overwritten() {
    page("/home".into()).await;
    let key = SERVER.keys("t:page:*/home").pop().expect("the page's key");
    assert!(key.ends_with("/home"), "{key}");
    assert_eq!(SERVER.cli(&["SET", &key, "garbage"]).unwrap().trim(), "OK");
    let misses = cached_core::stats()
        .into_iter()
        .find(|s| s.name == "page")
        .unwrap()
        .misses;
    assert_eq!(page("/home".into()).await, "<html>/home</html>");
    assert_eq!(
        PAGE_RUNS.load(Ordering::SeqCst),
        2,
        "the corrupted value is a miss"
    );
    let stats = cached_core::stats()
        .into_iter()
        .find(|s| s.name == "page")
        .unwrap();
    assert_eq!(stats.misses, misses + 1, "counted as a miss");
    assert_ne!(
        SERVER.cli(&["GET", &key]).unwrap().trim(),
        "garbage",
        "overwritten"
    );
    page("/home".into()).await;
    assert_eq!(PAGE_RUNS.load(Ordering::SeqCst), 2, "then a hit");
}

mod v1 {
    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    pub struct Article {
        pub title: String,
    }
}

mod v2 {
    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    pub struct Article {
        pub title: String,
        pub words: u32,
    }
}

static ARTICLE_RUNS: AtomicUsize = AtomicUsize::new(0);

// One cache, before and after a deploy that changed its value type.
#[cache(store = A, name = "article")]
async fn article_before(id: u32) -> v1::Article {
    ARTICLE_RUNS.fetch_add(1, Ordering::SeqCst);
    v1::Article {
        title: format!("#{id}"),
    }
}

#[cache(store = B, name = "article")]
async fn article_after(id: u32) -> v2::Article {
    ARTICLE_RUNS.fetch_add(1, Ordering::SeqCst);
    v2::Article {
        title: format!("#{id}"),
        words: 900,
    }
}

#[tokio::test]
async fn a_value_of_the_type_before_a_deploy_is_a_miss() {
    article_before(1).await;
    assert_eq!(article_after(1).await.words, 900);
    assert_eq!(
        ARTICLE_RUNS.load(Ordering::SeqCst),
        2,
        "the old value is a miss"
    );
    article_after(1).await;
    assert_eq!(
        ARTICLE_RUNS.load(Ordering::SeqCst),
        2,
        "the new one is a hit"
    );
}

#[tokio::test]
async fn the_explicit_api_shares_values_between_processes() {
    A.set(("sidebar", 1), &"<nav>".to_owned(), None)
        .await
        .unwrap();
    assert_eq!(
        B.get::<String>(("sidebar", 1)).await.unwrap().as_deref(),
        Some("<nav>")
    );
    assert_eq!(
        B.get::<u64>(("sidebar", 1)).await.unwrap(),
        None,
        "another type: a miss"
    );
    assert_eq!(B.get::<String>(("sidebar", 2)).await.unwrap(), None);
    assert!(B.delete(("sidebar", 1)).await.unwrap());
    assert!(!A.delete(("sidebar", 1)).await.unwrap());
    assert_eq!(A.get::<String>(("sidebar", 1)).await.unwrap(), None);

    let computed = AtomicUsize::new(0);
    let compute = || async {
        computed.fetch_add(1, Ordering::SeqCst);
        vec![1u8, 2, 3]
    };
    let ttl = Some(Duration::from_secs(60));
    assert_eq!(
        A.get_or_set_with("list", ttl, compute).await.unwrap(),
        [1, 2, 3]
    );
    assert_eq!(
        B.get_or_set_with("list", ttl, compute).await.unwrap(),
        [1, 2, 3]
    );
    assert_eq!(computed.load(Ordering::SeqCst), 1);
    let hits = |s: &cached_core::CacheStats| s.hits;
    let row = || {
        cached_core::stats()
            .into_iter()
            .find(|s| s.name == "store")
            .unwrap()
    };
    let before = hits(&row());
    assert!(A.get::<Vec<u8>>("list").await.unwrap().is_some());
    assert_eq!(
        hits(&row()),
        before + 1,
        "an explicit get that finds a value is a hit"
    );
    // The explicit API's keys, readable, and apart from every function's.
    let keys = SERVER.keys("t:%kv:store:*");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].ends_with("%04list"), "{keys:?}");
    assert_eq!(SERVER.keys("t:store:*"), Vec::<String>::new());
    assert!(cached_core::stats()
        .iter()
        .any(|s| s.name == "store" && s.hits >= 1));
}

static SLOW_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cache(store = A)]
async fn slow(id: u32) -> u32 {
    SLOW_RUNS.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    id * 2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_in_one_process_compute_once() {
    let calls: Vec<_> = (0..16).map(|_| tokio::spawn(slow(5))).collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), 10);
    }
    assert_eq!(SLOW_RUNS.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn remote_caches_report_hits_misses_and_hit_time() {
    profile_a(40).await.unwrap();
    profile_a(40).await.unwrap();
    let stats = cached_core::stats()
        .into_iter()
        .filter(|s| s.name == "profile")
        .collect::<Vec<_>>();
    assert_eq!(stats.len(), 1, "one row for the two functions of one name");
    assert!(stats[0].hits >= 1 && stats[0].misses >= 1, "{:?}", stats[0]);
    assert!(stats[0].hit_time_mean.is_some_and(|t| t > Duration::ZERO));
    assert_eq!(stats[0].len, None, "Redis does not tell per cache");
}

static HELD_RUNS: AtomicUsize = AtomicUsize::new(0);
/// Callers found waiting for `held`'s computation in progress.
static HELD_WAITS: LazyLock<tokio::sync::watch::Sender<usize>> =
    LazyLock::new(|| tokio::sync::watch::Sender::new(0));
const HELD_CALLERS: usize = 16;

#[cache(store = A, name = "held")]
async fn held(id: u32) -> u32 {
    HELD_RUNS.fetch_add(1, Ordering::SeqCst);
    // Lasts until every other caller waits for it (an event, not a time).
    let mut waits = HELD_WAITS.subscribe();
    let all_wait = waits.wait_for(|&n| n >= HELD_CALLERS - 1);
    // (A minute is reached only if the callers did not join: the assertions below then fail.)
    let _ = tokio::time::timeout(Duration::from_secs(60), all_wait).await;
    id
}

#[tokio::test(flavor = "current_thread")]
async fn callers_served_by_another_callers_computation_are_coalesced() {
    let _events = tracing::subscriber::set_default(support::waits::Waits {
        cache: "held",
        count: HELD_WAITS.clone(),
    });
    let calls: Vec<_> = (0..HELD_CALLERS).map(|_| tokio::spawn(held(1))).collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), 1);
    }
    assert_eq!(HELD_RUNS.load(Ordering::SeqCst), 1);
    let row = cached_core::stats()
        .into_iter()
        .find(|s| s.name == "held")
        .unwrap();
    let callers = HELD_CALLERS as u64;
    assert_eq!(
        (row.misses, row.coalesced, row.hits),
        (1, callers - 1, 0),
        "{row:?}"
    );
    let avoided = (callers - 1) as f64 / callers as f64;
    assert!((row.hit_ratio() - avoided).abs() < 1e-9, "{row:?}");
}

#[cache(store = A, name = "instant")]
async fn instant(id: u32) -> u32 {
    id
}

#[tokio::test]
async fn a_hit_slower_than_the_body_shows_as_time_lost() {
    // The body takes well under a microsecond; a hit is a round trip to Redis.
    instant(1).await;
    for _ in 0..10 {
        instant(1).await;
    }
    let row = cached_core::stats()
        .into_iter()
        .find(|s| s.name == "instant")
        .unwrap();
    assert_eq!((row.misses, row.hits), (1, 10));
    let hit = row.hit_time_mean.unwrap();
    assert!(hit > row.miss_time_mean, "{row:?}");
    assert!(row.time_saved() < 0, "{row:?}");
    let report = cached_core::report().to_string();
    let line = report.lines().find(|l| l.starts_with("instant ")).unwrap();
    let saved = line.split_whitespace().rev().nth(1).unwrap();
    assert!(saved.starts_with('-'), "the time lost is shown: {report}");
}

static LOCKED: LazyLock<RedisServer> = LazyLock::new(|| {
    let server = RedisServer::start();
    server
        .cli(&["ACL", "SETUSER", "app", "on", ">s3cret", "~*", "+@all"])
        .unwrap();
    server
        .cli(&["CONFIG", "SET", "requirepass", "admin"])
        .unwrap();
    server
});
static LOCKED_STORE: LazyLock<RedisStore> = LazyLock::new(|| {
    // A user, a password and database 3, from the URL alone.
    let url = format!("redis://app:s3cret@127.0.0.1:{}/3", LOCKED.port);
    RedisStore::builder(&url)
        .timeout(Duration::from_secs(2))
        .fail_closed()
        .build()
        .unwrap()
});

#[cache(store = LOCKED_STORE, name = "locked")]
async fn locked(id: u32) -> Result<u32, cached_core::Error> {
    Ok(id + 1)
}

#[tokio::test]
async fn a_url_with_user_password_and_database_reaches_that_database() {
    assert_eq!(
        locked(1).await.unwrap(),
        2,
        "fail-closed: an auth error would show"
    );
    let keys = LOCKED
        .cli(&["--user", "app", "--pass", "s3cret", "-n", "3", "--scan"])
        .unwrap();
    assert!(
        keys.lines().any(|key| key.starts_with("cached:locked:")),
        "{keys}"
    );
    let db0 = LOCKED
        .cli(&["--user", "app", "--pass", "s3cret", "-n", "0", "--scan"])
        .unwrap();
    assert_eq!(db0.trim(), "", "nothing in database 0");
}

#[tokio::test]
async fn a_put_entry_carries_the_function_tags() {
    entry!(member_a(4, 1)).put("put by hand".into()).await;
    assert_eq!(
        entry!(member_b(4, 1)).peek().await.as_deref(),
        Some("put by hand")
    );
    let before = team_runs(4..=4);
    assert_eq!(member_b(4, 1).await, "put by hand");
    reorganize(4).await.unwrap();
    assert_eq!(
        member_b(4, 1).await,
        "member 1 of team 4",
        "the tag reached the put entry"
    );
    assert_eq!(team_runs(4..=4), before + 1);
}

struct Repo {
    tenant: u32,
}

static REPO_RUNS: AtomicUsize = AtomicUsize::new(0);

impl Repo {
    #[cache(store = A, key = (self.tenant, id), ttl = 60)]
    async fn label(&self, id: u64, _trace: &str) -> Result<String, String> {
        REPO_RUNS.fetch_add(1, Ordering::SeqCst);
        Ok(format!("tenant {} item {id}", self.tenant))
    }

    #[invalidates(Self::label(self, id))]
    async fn relabel(&self, id: u64) -> Result<(), String> {
        Ok(())
    }
}

#[tokio::test]
async fn methods_are_cached_in_redis_by_their_key_expression() {
    let (one, two) = (Repo { tenant: 1 }, Repo { tenant: 2 });
    assert_eq!(one.label(5, "a").await.unwrap(), "tenant 1 item 5");
    assert_eq!(one.label(5, "b").await.unwrap(), "tenant 1 item 5");
    assert_eq!(two.label(5, "a").await.unwrap(), "tenant 2 item 5");
    assert_eq!(
        REPO_RUNS.load(Ordering::SeqCst),
        2,
        "one computation per tenant"
    );
    one.relabel(5).await.unwrap();
    assert_eq!(entry!(Repo::label(&one, 5)).peek().await, None);
    assert!(entry!(Repo::label(&two, 5)).peek().await.is_some());
    // Named after the type and the method: one key per tenant (the first holds the
    // invalidation's tombstone), and the cache's generation.
    let keys = SERVER.keys("t:*Repo::label:*");
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(keys
        .iter()
        .all(|key| key.starts_with("t:redis_store::Repo::label:")));
}

static CROWDED: LazyLock<RedisServer> = LazyLock::new(RedisServer::start);
static CROWDED_STORE: LazyLock<RedisStore> = LazyLock::new(|| {
    RedisStore::builder(&CROWDED.url())
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
});

#[cache(store = CROWDED_STORE)]
async fn crowded(id: u32) -> u32 {
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_arriving_together_share_one_connection() {
    let calls: Vec<_> = (0..64).map(|id| tokio::spawn(crowded(id))).collect();
    for (id, call) in calls.into_iter().enumerate() {
        assert_eq!(call.await.unwrap(), id as u32);
    }
    let info = CROWDED.cli(&["INFO", "clients"]).unwrap();
    let clients: u32 = info
        .lines()
        .find_map(|line| line.strip_prefix("connected_clients:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(
        clients, 2,
        "the store's one connection, and redis-cli's: {info}"
    );
}

/// A value whose serialization fails.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Unencodable(u32);

impl Serialize for Unencodable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("not today"))
    }
}

static UNENCODABLE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cache(store = A, name = "unencodable")]
async fn unencodable(id: u32) -> Unencodable {
    UNENCODABLE_RUNS.fetch_add(1, Ordering::SeqCst);
    Unencodable(id)
}

#[tokio::test]
async fn a_value_that_cannot_be_encoded_is_returned_and_counted_not_stored() {
    assert_eq!(unencodable(1).await, Unencodable(1));
    assert_eq!(unencodable(1).await, Unencodable(1));
    assert_eq!(UNENCODABLE_RUNS.load(Ordering::SeqCst), 2, "nothing stored");
    let stats = cached_core::stats()
        .into_iter()
        .find(|s| s.name == "unencodable")
        .unwrap();
    assert_eq!((stats.misses, stats.errors, stats.inserts), (2, 2, 0));
}

static MAYBE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cache(store = A, name = "maybe", unless = Option::is_none)]
async fn maybe(id: u32) -> Option<u32> {
    MAYBE_RUNS.fetch_add(1, Ordering::SeqCst);
    id.is_multiple_of(2).then_some(id)
}

#[tokio::test]
async fn unless_keeps_a_value_out_of_redis() {
    assert_eq!(maybe(1).await, None);
    assert_eq!(maybe(1).await, None);
    assert_eq!(MAYBE_RUNS.load(Ordering::SeqCst), 2, "None is not stored");
    assert_eq!(maybe(2).await, Some(2));
    assert_eq!(maybe(2).await, Some(2));
    assert_eq!(MAYBE_RUNS.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn the_plain_invalidate_tag_reaches_redis_without_waiting() {
    member_a(9, 1).await;
    let generation = "t:%tag:team%3A9";
    let before = SERVER.cli(&["GET", generation]).unwrap();
    cached_core::invalidate_tag("team:9"); // a plain function: nothing awaited
                                           // Another process sees it soon, with no further lookup here (a task sent it).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while SERVER.cli(&["GET", generation]).unwrap() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the tag never reached Redis"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let runs = team_runs(9..=9);
    assert_eq!(member_b(9, 1).await, "member 1 of team 9");
    assert_eq!(team_runs(9..=9), runs + 1, "the entry was invalidated");
}

static LISTED: LazyLock<RedisServer> = LazyLock::new(RedisServer::start);
static LISTED_STORE: LazyLock<RedisStore> = LazyLock::new(|| {
    RedisStore::builder(&LISTED.url())
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
});
static LISTED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[cache(store = LISTED_STORE, name = "listed")]
async fn listed(id: u32) -> u32 {
    LISTED_RUNS.fetch_add(1, Ordering::SeqCst);
    id
}

/// The ids of the clients connected now whose last command is one the store sends on a lookup
/// (`redis-cli`s that just ran may not have been seen to leave yet).
fn store_client_ids(server: &RedisServer) -> Vec<String> {
    let clients = server.cli(&["CLIENT", "LIST"]).unwrap();
    clients
        .lines()
        .filter(|line| {
            ["cmd=mget ", "cmd=evalsha ", "cmd=eval "]
                .iter()
                .any(|c| line.contains(c))
        })
        .filter_map(|line| line.split(' ').find_map(|field| field.strip_prefix("id=")))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_key_of_another_redis_type_is_a_miss_then_overwritten_and_redis_stays_in_use() {
    listed(1).await;
    listed(2).await;
    let key = LISTED
        .keys("cached:listed:*%00%00%00%01")
        .pop()
        .expect("the entry's key");
    LISTED.cli(&["DEL", &key]).unwrap();
    LISTED.cli(&["RPUSH", &key, "not a value"]).unwrap(); // a list, by hand
    let before = store_client_ids(&LISTED);
    assert_eq!(before.len(), 1, "the store's connection: {before:?}");
    assert_eq!(listed(1).await, 1);
    assert_eq!(LISTED_RUNS.load(Ordering::SeqCst), 3, "the list is a miss");
    assert_eq!(LISTED.cli(&["TYPE", &key]).unwrap().trim(), "string");
    for _ in 0..5 {
        assert_eq!(listed(1).await, 1);
    }
    assert_eq!(
        LISTED_RUNS.load(Ordering::SeqCst),
        3,
        "overwritten by the value: then a hit each time"
    );
    assert_eq!(
        store_client_ids(&LISTED),
        before,
        "the same connection throughout"
    );
    listed(2).await;
    assert_eq!(
        LISTED_RUNS.load(Ordering::SeqCst),
        3,
        "other entries are still cached"
    );
}
