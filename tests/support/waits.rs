//! A `tracing` subscriber that counts the callers that wait for a computation in progress,
//! so that a test can hold a computation until every other caller has joined it (an event,
//! not a sleep). Install it with `tracing::subscriber::set_default` on a current-thread
//! runtime: it sees the events of its own thread.

#![allow(dead_code)] // each test file uses part of what support holds

use tokio::sync::watch;

/// Counts, into a `watch`, the events of one cache with one message on this thread.
pub struct Waits {
    pub cache: &'static str,
    pub count: watch::Sender<usize>,
}

struct Fields {
    cache: bool,
    waiting: bool,
    of: &'static str,
}

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        match field.name() {
            "message" => self.waiting |= text.contains("waiting for the computation in progress"),
            "cache" => self.cache |= text.trim_matches('"') == self.of,
            _ => {}
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "cache" {
            self.cache |= value == self.of;
        }
    }
}

impl tracing::Subscriber for Waits {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields {
            cache: false,
            waiting: false,
            of: self.cache,
        };
        event.record(&mut fields);
        if fields.cache && fields.waiting {
            self.count.send_modify(|n| *n += 1);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
