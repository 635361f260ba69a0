//! Each miss emits a `tracing` debug event with the cache's name and the compute time; a
//! failing remote store, a warning, at most every few seconds.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cached_core::{cache, RedisStore};
use support::redis_server::RedisServer;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// An event's level and its fields, as text.
type CapturedEvent = (Level, Vec<(String, String)>);

/// Every event seen.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<CapturedEvent>>>);

struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_owned(), value.to_owned()));
    }
}

impl Subscriber for Captured {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), fields.0));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[cache(name = "traced")]
fn traced(x: u32) -> u32 {
    // A lower bound of the compute time the event reports (a test of time itself).
    std::thread::sleep(Duration::from_millis(3));
    x
}

#[test]
fn a_miss_emits_a_debug_event_with_the_cache_and_the_compute_time() {
    let captured = Captured::default();
    tracing::subscriber::with_default(captured.clone(), || {
        traced(1);
        traced(1); // a hit: no event
    });
    let events = captured.0.lock().unwrap().clone();
    let misses: Vec<_> = events
        .iter()
        .filter(|(_, fields)| fields.iter().any(|(k, v)| k == "cache" && v == "traced"))
        .collect();
    assert_eq!(misses.len(), 1, "{events:?}");
    let (level, fields) = misses[0];
    assert_eq!(*level, Level::DEBUG);
    let took = fields
        .iter()
        .find(|(k, _)| k == "took")
        .map(|(_, v)| v.clone())
        .expect("a `took` field");
    // At least the body's 3 ms, however slow the machine (`Duration`'s `Debug`: `3.1ms`, `1.2s`).
    let millis = match took.strip_suffix("ms") {
        Some(ms) => ms.parse::<f64>().ok(),
        None => took
            .strip_suffix('s')
            .and_then(|s| s.parse::<f64>().ok())
            .map(|s| s * 1000.0),
    };
    assert!(
        millis.is_some_and(|ms| ms >= 3.0),
        "compute time {took}, not the body's"
    );
}

static SERVER: std::sync::LazyLock<RedisServer> = std::sync::LazyLock::new(RedisServer::start);
static REDIS: std::sync::LazyLock<RedisStore> =
    std::sync::LazyLock::new(|| RedisStore::new(&SERVER.url()).unwrap());

#[cache(store = REDIS, name = "traced-remote")]
async fn traced_remote(x: u32) -> u32 {
    x
}

#[test]
fn a_failing_remote_store_emits_one_warning_for_many_failures() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let captured = Captured::default();
    tracing::subscriber::with_default(captured.clone(), || {
        runtime.block_on(async {
            traced_remote(1).await;
            SERVER.kill();
            for _ in 0..10 {
                assert_eq!(traced_remote(1).await, 1);
            }
        })
    });
    let events = captured.0.lock().unwrap().clone();
    let warnings: Vec<_> = events
        .iter()
        .filter(|(level, _)| *level == Level::WARN)
        .collect();
    assert_eq!(warnings.len(), 1, "rate-limited: {events:?}");
    let fields = &warnings[0].1;
    assert!(
        fields
            .iter()
            .any(|(k, v)| k == "store" && v.contains(&SERVER.port.to_string())),
        "{fields:?}"
    );
    assert!(fields.iter().any(|(k, _)| k == "error"), "{fields:?}");
}
