//! Tags: invalidate every entry stored with a tag, in any cache, in constant time.
//!
//! Each tag has a generation number. An entry stored with tags records their generations as
//! they were when its computation began; invalidating a tag increments its generation, and an
//! entry whose recorded generation is behind is stale: a miss, removed when next looked up. So
//! no entry is visited when a tag is invalidated, and a computation that began before the
//! invalidation cannot store a value that looks fresh.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock, Weak};

type Generation = Arc<AtomicU64>;

/// The generation of each tag that a live entry (or a computation) depends on, in shards, so
/// that a miss with a new tag locks one shard, not the whole table.
///
/// The table holds generations weakly: the entries that depend on one hold it, and a tag that
/// no live entry uses anymore (a tag per user, say) leaves the table, which is swept whenever it
/// has doubled since the last sweep. Invalidating such a tag has nothing to do; a computation
/// that uses it again starts a new generation, which no older entry can hold.
struct Table {
    shards: Box<[RwLock<Shard>]>,
    hashing: std::collections::hash_map::RandomState,
}

#[derive(Default)]
struct Shard {
    generations: HashMap<String, Weak<AtomicU64>>,
    /// The size at which the next sweep runs.
    sweep_at: usize,
}

/// The least size of a shard at which it is swept.
const MIN_SWEEP: usize = 64;

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| Table {
        shards: (0..16).map(|_| RwLock::default()).collect(),
        hashing: Default::default(),
    })
}

impl Table {
    fn shard(&self, tag: &str) -> &RwLock<Shard> {
        let hash = self.hashing.hash_one(tag);
        &self.shards[(hash as usize) % self.shards.len()]
    }

    /// The generation of `tag`, if a live entry or computation depends on it.
    fn find(&self, tag: &str) -> Option<Generation> {
        crate::sync::read(self.shard(tag))
            .generations
            .get(tag)
            .and_then(Weak::upgrade)
    }

    fn generation(&self, tag: &str) -> Generation {
        if let Some(generation) = self.find(tag) {
            return generation;
        }
        let mut shard = crate::sync::write(self.shard(tag));
        if let Some(generation) = shard.generations.get(tag).and_then(Weak::upgrade) {
            return generation;
        }
        let generation = Generation::default();
        shard
            .generations
            .insert(tag.to_owned(), Arc::downgrade(&generation));
        if shard.generations.len() >= shard.sweep_at {
            shard.generations.retain(|_, weak| weak.strong_count() > 0);
            shard.sweep_at = (shard.generations.len() * 2).max(MIN_SWEEP);
        }
        generation
    }

    /// Tags in the table, live or not yet swept.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| crate::sync::read(shard).generations.len())
            .sum()
    }
}

fn generation(tag: &str) -> Generation {
    table().generation(tag)
}

/// Generations as a computation saw them when it began: the tags it depends on (and a shared
/// store's function). It holds them, so none of them leaves the table while it lives.
#[derive(Default, Clone)]
pub(crate) struct Seen(Vec<(Generation, u64)>);

impl Seen {
    fn add(&mut self, generation: Generation) {
        let now = generation.load(Ordering::Acquire);
        self.0.push((generation, now));
    }

    /// The generations of the in-process tags named `names`, as they are now: a computation of
    /// a remote store depends on them too, in this process (a plain `invalidate_tag` reaches
    /// the remote store later).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn of_names(names: &[String]) -> Self {
        let mut seen = Seen::default();
        for name in names {
            seen.add(generation(name));
        }
        seen
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether none of these generations has moved since.
    #[inline]
    pub(crate) fn are_current(&self) -> bool {
        self.0
            .iter()
            .all(|(generation, seen)| generation.load(Ordering::Acquire) == *seen)
    }
}

/// The tags of one computation: for an in-process store, their generations when it began; for
/// a remote store, which keeps the generations itself, their names.
#[derive(Default)]
pub struct Tags {
    seen: Seen,
    /// `Some` for a remote store's computation.
    names: Option<Vec<String>>,
}

impl Tags {
    /// The tags of a remote store's computation: names only.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn named() -> Self {
        Tags {
            seen: Seen::default(),
            names: Some(Vec::new()),
        }
    }

    /// Adds a tag.
    pub fn add(&mut self, tag: impl AsRef<str>) {
        match &mut self.names {
            Some(names) => names.push(tag.as_ref().to_owned()),
            None => self.seen.add(generation(tag.as_ref())),
        }
    }

    /// The names of the tags added to a remote store's computation.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn names(&self) -> &[String] {
        self.names.as_deref().unwrap_or_default()
    }

    /// Adds a generation that is not a named tag (a shared store's function).
    pub(crate) fn add_generation(&mut self, generation: &Generation) {
        self.seen.add(Arc::clone(generation));
    }

    /// The generations the computation depends on, as it saw them.
    pub(crate) fn seen(&self) -> &Seen {
        &self.seen
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Whether no tag has been invalidated since.
    #[inline]
    pub(crate) fn are_current(&self) -> bool {
        self.seen.are_current()
    }
}

/// Invalidates every entry stored with `tag`, in every cache, in constant time.
///
/// `#[invalidates(tag = ...)]` calls it after the function succeeds; call it yourself from code
/// that is not an annotated function. The caches of this process are cleared before it returns.
/// Remote stores (feature `redis`) cannot be reached without waiting: the invalidation is
/// queued in each `RedisStore` of the process, applied before that store's next lookup, and
/// sent at once from a task when called within a tokio runtime. To wait until Redis has it,
/// use `#[invalidates(tag = ...)]` on an `async fn`, or `RedisStore::invalidate_tag`.
///
/// ```
/// use cached_core::cache;
///
/// #[cache(tags = [format!("category:{category}")])]
/// fn news_in(category: u32, page: u32) -> String {
///     format!("category {category}, page {page}")
/// }
///
/// news_in(7, 1);
/// cached_core::invalidate_tag("category:7"); // every page of category 7, at once
/// ```
pub fn invalidate_tag(tag: impl AsRef<str>) {
    invalidate_local_tag(tag.as_ref());
    #[cfg(feature = "redis")]
    crate::redis::invalidate_tag_later(tag.as_ref());
}

/// Invalidates `tag` in the caches of this process. A computation in progress that depends on
/// it holds its generation (see [`Seen`]): it stores nothing, and new callers do not join it.
pub(crate) fn invalidate_local_tag(tag: &str) {
    // A tag no live entry or computation has has nothing to invalidate.
    if let Some(generation) = table().find(tag) {
        generation.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_no_entry_uses_leave_the_table() {
        // A tag per user, each used by one entry that is then evicted.
        for user in 0..20_000 {
            let mut tags = Tags::default();
            tags.add(format!("test-user:{user}"));
            drop(tags);
        }
        // Each shard sweeps when it doubles: far fewer than 20 000 are left.
        assert!(
            table().len() < 16 * MIN_SWEEP * 2,
            "{} tags kept",
            table().len()
        );
    }

    #[test]
    fn a_live_entry_keeps_its_tag_and_sees_its_invalidation() {
        let mut tags = Tags::default();
        tags.add("test-kept");
        for user in 0..5_000 {
            Tags::default().add(format!("test-churn:{user}"));
        }
        assert!(tags.are_current());
        invalidate_local_tag("test-kept");
        assert!(!tags.are_current(), "the sweep lost a live entry's tag");
    }
}
