//! Each miss emits a `tracing` debug event with the cache's name and the compute time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cached_core::cache;
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
    assert!(took.ends_with("ms"), "compute time {took}");
}
