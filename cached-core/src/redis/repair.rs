//! Invalidations that failed while Redis could not be reached, applied when it answers again.
//!
//! When Redis is slow or cut off (not restarted empty), the values it holds survive the outage:
//! an invalidation that failed meanwhile would leave them stale until their TTL. So each failed
//! invalidation (and each failed write, whose old value may be stale) is kept here, and the
//! first lookup after the outage applies them all, in one round trip, before it reads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::link::Link;
use crate::error::Error;
use crate::sync::lock;

/// The most repairs kept: past it, new ones are dropped (and logged).
const MAX_PENDING: usize = 10_000;

/// One change Redis missed.
#[derive(Debug, Clone)]
pub(crate) enum Repair {
    /// The entry at `key` is no longer current: a tombstone for `ttl_ms`.
    Tombstone { key: Vec<u8>, ttl_ms: u64 },
    /// Every entry depending on the generation at `key` is no longer current.
    Generation { key: Vec<u8> },
}

#[derive(Default)]
pub(crate) struct Repairs {
    pending: Mutex<Vec<Repair>>,
    any: AtomicBool,
}

impl Repairs {
    /// Keeps `repair` for when Redis answers again.
    pub(crate) fn push(&self, repair: Repair) {
        let mut pending = lock(&self.pending);
        if pending.len() >= MAX_PENDING {
            tracing::warn!(
                "Redis cache store: too many invalidations missed during the outage; \
                 some entries may stay stale until their TTL"
            );
            return;
        }
        pending.push(repair);
        self.any.store(true, Ordering::Release);
    }

    /// Whether any repair waits.
    #[inline]
    pub(crate) fn are_pending(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    /// Applies every waiting repair in one round trip; those that could not be applied wait for
    /// the next attempt.
    pub(crate) async fn apply(&self, link: &Link) -> Result<(), Error> {
        let repairs = {
            let mut pending = lock(&self.pending);
            self.any.store(false, Ordering::Release);
            std::mem::take(&mut *pending)
        };
        if repairs.is_empty() {
            return Ok(());
        }
        let mut pipeline = redis::pipe();
        for repair in &repairs {
            match repair {
                Repair::Tombstone { key, ttl_ms } => {
                    let tombstone = super::envelope::tombstone(&super::space::token());
                    pipeline
                        .cmd("SET")
                        .arg(key)
                        .arg(tombstone)
                        .arg("PX")
                        .arg(*ttl_ms)
                        .ignore();
                }
                Repair::Generation { key } => {
                    pipeline
                        .cmd("SET")
                        .arg(key)
                        .arg(super::space::token())
                        .ignore();
                }
            }
        }
        let applied = link
            .run(|mut connection| async move { pipeline.query_async::<()>(&mut connection).await })
            .await;
        if applied.is_err() {
            let mut pending = lock(&self.pending);
            let newer = std::mem::replace(&mut *pending, repairs);
            pending.extend(newer);
            self.any.store(true, Ordering::Release);
        } else {
            tracing::info!(
                repairs = repairs.len(),
                "Redis cache store answers again: invalidations missed during the outage applied"
            );
        }
        applied
    }
}
