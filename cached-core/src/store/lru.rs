//! The in-process store: a bounded LRU with per-entry deadlines, split into shards.
//!
//! A hit locks one shard (never a lock shared by every key), finds the key in a table of
//! indices into the shard's dense array of nodes, reads a clock only when the entry has a TTL
//! (and a cheap one: see `clock`), and moves the node to the front of the shard's recency
//! list, which links nodes by index.
//!
//! The capacity is one bound over all shards, kept in an atomic counter that only inserts and
//! evictions touch: a store of capacity 1000 holds 1000 entries however the keys spread. When
//! it is full, an insert evicts the least recently used entry of its own shard, so the order is
//! exact within a shard; small caches (the ones where the order is visible) have one shard.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use hashbrown::HashTable;

use crate::clock::{self, Nanos};
use crate::flight::{Flight, Leader};
use crate::key::KeyEncoder;
use crate::sync::modelled::{lock, Mutex, MutexGuard};

/// What the store needs of a key: equality, and a hash computed once per call.
pub trait StoreKey: Clone + Eq + Hash + Send + Sync + 'static {
    /// Computes and remembers the key's hash.
    fn seal(&mut self, hashing: &Hashing);
    /// The hash [`StoreKey::seal`] computed.
    fn hash_value(&self) -> u64;
}

/// The per-store random state keys are hashed with.
pub struct Hashing {
    seeds: [u64; 4],
    fallback: foldhash::fast::RandomState,
}

impl Hashing {
    fn new() -> Self {
        let fallback = foldhash::fast::RandomState::default();
        // Odd, so that no seed can zero a multiply by itself.
        let seeds = [1u64, 2, 3, 4].map(|i| fallback.hash_one(i) | 1);
        Hashing { seeds, fallback }
    }
}

/// A key in its byte encoding (see `CacheKey`), with its hash.
///
/// Built in place by the caller and then only borrowed on the hit path: moving a key that was
/// just written costs more than the whole lookup (the processor cannot forward the many
/// narrow writes of the encoding to the wide reads of a copy).
#[derive(Clone, Default)]
pub struct Key {
    hash: u64,
    encoder: KeyEncoder,
}

impl Key {
    /// An empty key.
    #[inline]
    pub fn new() -> Self {
        Key::default()
    }

    /// Where the key's parts are written.
    #[inline]
    pub fn encoder(&mut self) -> &mut KeyEncoder {
        &mut self.encoder
    }

    /// The encoded key.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.encoder.as_bytes()
    }
}

impl PartialEq for Key {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.encoder.bytes() == other.encoder.bytes()
    }
}

impl Eq for Key {}

impl Hash for Key {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl StoreKey for Key {
    #[inline]
    fn seal(&mut self, hashing: &Hashing) {
        self.hash = self.encoder.bytes().hash(&hashing.seeds, &hashing.fallback);
    }

    #[inline]
    fn hash_value(&self) -> u64 {
        self.hash
    }
}

/// The key of a function whose only key is one integer (or `bool`, or `char`): the value
/// itself, compared and hashed as one word instead of as encoded bytes. Within one function
/// the type is fixed, so the word identifies the value as its encoding would.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct WordKey {
    hash: u64,
    word: u64,
}

impl WordKey {
    /// The key of `word`.
    #[inline]
    pub fn new(word: u64) -> Self {
        WordKey { hash: 0, word }
    }
}

impl Hash for WordKey {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl StoreKey for WordKey {
    #[inline]
    fn seal(&mut self, hashing: &Hashing) {
        self.hash = crate::key::folded_multiply(self.word ^ hashing.seeds[0], hashing.seeds[1]);
    }

    #[inline]
    fn hash_value(&self) -> u64 {
        self.hash
    }
}

/// Hashes a [`StoreKey`] by its precomputed hash (for the map of flights).
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        // Only keys are hashed here, through `write_u64`; fold anything else in all the same.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// No node: the end of the recency list.
const NIL: u32 = u32::MAX;

struct Node<K, V> {
    key: K,
    value: V,
    validity: Validity,
}

/// Until when an entry may be returned: its deadline, and the generations of its tags.
pub(crate) struct Validity {
    pub(crate) deadline: Nanos,
    /// Boxed: most entries have no tags, and every entry pays for the field's size.
    pub(crate) tags: Option<Box<crate::tags::Tags>>,
}

impl Validity {
    /// No TTL, no tags.
    #[cfg(test)]
    pub(crate) const FOREVER: Validity = Validity {
        deadline: clock::NEVER,
        tags: None,
    };

    pub(crate) fn new(deadline: Nanos, tags: crate::tags::Tags) -> Self {
        Validity {
            deadline,
            tags: (!tags.is_empty()).then(|| Box::new(tags)),
        }
    }

    #[inline]
    fn is_live(&self) -> bool {
        clock::is_live(self.deadline) && !self.is_invalidated()
    }

    /// Whether one of its tags was invalidated since it was stored.
    #[inline]
    fn is_invalidated(&self) -> bool {
        self.tags.as_ref().is_some_and(|t| !t.are_current())
    }
}

/// A node's place in the recency list. Kept apart from the nodes: a hit rewrites the links of
/// three nodes, and this small array stays in the fastest cache where the nodes would not.
#[derive(Clone, Copy)]
struct Link {
    /// Towards the most recently used.
    newer: u32,
    /// Towards the least recently used.
    older: u32,
}

/// What one shard has seen, kept under its lock: a hit adds one to a field the lock already
/// guards, where a shared counter would be written by every hit on every core.
#[derive(Clone, Copy, Default)]
pub(crate) struct Counts {
    pub(crate) hits: u64,
    /// Lookups that found no value, a caller waiting for another's computation included until
    /// its value arrives (then it moves to `coalesced`): counted in the locked step in which
    /// the caller leads or joins the computation.
    pub(crate) misses: u64,
    /// Callers served by another caller's computation.
    pub(crate) coalesced: u64,
    pub(crate) inserts: u64,
    pub(crate) evictions: u64,
    pub(crate) invalidations: u64,
    /// Computations finished (a value or an `Err`), and the time they took.
    pub(crate) computed: u64,
    pub(crate) compute_nanos: u64,
    /// Hits timed (one in [`HIT_SAMPLE`]), and the time they took.
    pub(crate) hits_timed: u64,
    pub(crate) hit_nanos: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.hits += other.hits;
        self.misses += other.misses;
        self.coalesced += other.coalesced;
        self.inserts += other.inserts;
        self.evictions += other.evictions;
        self.invalidations += other.invalidations;
        self.computed += other.computed;
        self.compute_nanos += other.compute_nanos;
        self.hits_timed += other.hits_timed;
        self.hit_nanos += other.hit_nanos;
    }
}

/// One hit in this many, per shard, is timed (a power of two). Reading the clock costs more
/// than a hit (see BENCHMARKS.md): timing every hit would more than double its cost, timing one
/// in 1024 adds a fraction of a nanosecond to the mean; and the shard's hit count, which the
/// hit updates under the lock anyway, picks which one without a counter of its own.
const HIT_SAMPLE: u64 = 1024;

/// One shard: an exact LRU.
struct Shard<K, V> {
    counts: Counts,
    /// Indices into `nodes`, found by the key's hash.
    table: HashTable<u32>,
    /// Dense: a removed node's slot is filled by the last one.
    nodes: Vec<Node<K, V>>,
    /// `links[i]` places `nodes[i]`.
    links: Vec<Link>,
    newest: u32,
    oldest: u32,
    flights: HashMap<K, Arc<Flight<V>>, BuildHasherDefault<PassThrough>>,
}

impl<K: StoreKey, V> Shard<K, V> {
    fn new() -> Self {
        Shard {
            counts: Counts::default(),
            table: HashTable::new(),
            nodes: Vec::new(),
            links: Vec::new(),
            newest: NIL,
            oldest: NIL,
            flights: HashMap::default(),
        }
    }

    #[inline]
    fn find(&self, key: &K) -> Option<u32> {
        let nodes = &self.nodes;
        self.table
            .find(key.hash_value(), |&i| {
                nodes.get(i as usize).is_some_and(|n| n.key == *key)
            })
            .copied()
    }

    #[inline]
    fn node(&self, index: u32) -> Option<&Node<K, V>> {
        self.nodes.get(index as usize)
    }

    /// The live value of `key`, if any, counted as a hit and made the most recently used.
    #[inline(always)]
    fn hit(&mut self, key: &K) -> Option<V>
    where
        V: Clone,
    {
        let index = self.find(key)?;
        let node = self.node(index)?;
        if !node.validity.is_live() {
            return None;
        }
        let value = node.value.clone();
        self.touch(index);
        self.counts.hits += 1;
        Some(value)
    }

    /// [`Shard::hit`], timed: from the lookup to the copy of the value, with the shard locked
    /// (the lock itself and the key's hash are not in it, but one read of the clock is).
    #[cold]
    #[inline(never)]
    fn timed_hit(&mut self, key: &K) -> Option<V>
    where
        V: Clone,
    {
        let start = std::time::Instant::now();
        let value = self.hit(key)?;
        let took = start.elapsed();
        self.counts.hits_timed += 1;
        self.counts.hit_nanos += u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        Some(value)
    }

    #[inline]
    fn link_mut(&mut self, index: u32) -> Option<&mut Link> {
        self.links.get_mut(index as usize)
    }

    fn unlink(&mut self, index: u32) {
        let Some(&Link { newer, older }) = self.links.get(index as usize) else {
            return;
        };
        match self.link_mut(newer) {
            Some(n) => n.older = older,
            None => self.newest = older,
        }
        match self.link_mut(older) {
            Some(n) => n.newer = newer,
            None => self.oldest = newer,
        }
    }

    fn link_newest(&mut self, index: u32) {
        let old_newest = self.newest;
        if let Some(link) = self.link_mut(index) {
            *link = Link {
                newer: NIL,
                older: old_newest,
            };
        }
        match self.link_mut(old_newest) {
            Some(n) => n.newer = index,
            None => self.oldest = index,
        }
        self.newest = index;
    }

    /// Marks a node as the most recently used.
    #[inline]
    fn touch(&mut self, index: u32) {
        if self.newest != index {
            self.unlink(index);
            self.link_newest(index);
        }
    }

    /// Inserts or replaces; returns whether the key is new.
    fn put(&mut self, key: K, value: V, validity: Validity) -> bool {
        if let Some(index) = self.find(&key) {
            if let Some(node) = self.nodes.get_mut(index as usize) {
                node.value = value;
                node.validity = validity;
            }
            self.touch(index);
            return false;
        }
        let index = self.nodes.len() as u32;
        let hash = key.hash_value();
        self.nodes.push(Node {
            key,
            value,
            validity,
        });
        self.links.push(Link {
            newer: NIL,
            older: NIL,
        });
        let nodes = &self.nodes;
        self.table.insert_unique(hash, index, |&i| {
            nodes.get(i as usize).map_or(0, |n| n.key.hash_value())
        });
        self.link_newest(index);
        true
    }

    /// Removes a node; the last node takes its slot.
    fn remove(&mut self, index: u32) {
        let Some(hash) = self.node(index).map(|n| n.key.hash_value()) else {
            return;
        };
        self.unlink(index);
        if let Ok(entry) = self.table.find_entry(hash, |&i| i == index) {
            entry.remove();
        }
        let last = self.nodes.len() as u32 - 1;
        self.nodes.swap_remove(index as usize);
        self.links.swap_remove(index as usize);
        if index == last {
            return;
        }
        // The node that was last now lives at `index`: repoint whatever pointed to `last`.
        let (Some(moved), Some(&Link { newer, older })) =
            (self.node(index), self.links.get(index as usize))
        else {
            return;
        };
        let hash = moved.key.hash_value();
        match self.link_mut(newer) {
            Some(n) => n.older = index,
            None => self.newest = index,
        }
        match self.link_mut(older) {
            Some(n) => n.newer = index,
            None => self.oldest = index,
        }
        if let Some(slot) = self.table.find_mut(hash, |&i| i == last) {
            *slot = index;
        }
    }

    /// Removes the least recently used node; returns whether there was one.
    fn pop_oldest(&mut self) -> bool {
        let oldest = self.oldest;
        if oldest == NIL {
            return false;
        }
        self.remove(oldest);
        self.counts.evictions += 1;
        true
    }
}

/// Keeps each shard's lock on its own cache line, so cores working on different shards do not
/// slow each other down.
#[repr(align(128))]
struct Padded<T>(T);

type LockedShard<K, V> = Padded<Mutex<Shard<K, V>>>;

/// What a lookup found.
pub(crate) enum Lookup<'a, K: StoreKey, V: Clone> {
    Hit(V),
    /// Another caller is computing the value.
    Wait(Arc<Flight<V>>),
    /// This caller computes the value.
    Lead(Leader<'a, K, V>),
}

/// The sharded table behind every in-process cache.
pub(crate) struct LruShards<K, V> {
    shards: Box<[LockedShard<K, V>]>,
    hashing: Hashing,
    mask: u64,
    capacity: usize,
    /// Entries in all shards; written on insert and eviction only, never on a hit.
    len: Padded<AtomicUsize>,
}

/// Below this many entries per shard, splitting costs more LRU precision than it saves.
const MIN_SHARD_CAPACITY: usize = 256;

fn shard_count(capacity: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let by_size = (capacity / MIN_SHARD_CAPACITY).max(1);
    let by_size = 1 << by_size.ilog2();
    by_size.min((cores * 4).next_power_of_two())
}

impl<K: StoreKey, V: Clone> LruShards<K, V> {
    /// A store holding at most `capacity` entries in all.
    pub(crate) fn new(capacity: NonZeroUsize) -> Self {
        let count = shard_count(capacity.get());
        let shards = (0..count)
            .map(|_| Padded(Mutex::new(Shard::new())))
            .collect();
        LruShards {
            shards,
            hashing: Hashing::new(),
            mask: count as u64 - 1,
            // Node indices are `u32`, with `NIL` reserved.
            capacity: capacity.get().min(NIL as usize - 1),
            len: Padded(AtomicUsize::new(0)),
        }
    }

    /// Sets the hash of a key whose parts are written.
    #[inline]
    pub(crate) fn seal(&self, key: &mut K) {
        key.seal(&self.hashing);
    }

    #[inline]
    fn shard_index(&self, key: &K) -> usize {
        // The table uses the low bits (bucket) and the top seven (tag): take the shard from
        // the middle, so keys of one shard still spread over its table.
        ((key.hash_value() >> 32) & self.mask) as usize
    }

    #[inline]
    fn shard(&self, key: &K) -> &Mutex<Shard<K, V>> {
        &self.shards[self.shard_index(key)].0
    }

    /// The live value of `key`, if any. The hit path: one shard lock, one table lookup. The
    /// shard's every [`HIT_SAMPLE`]th hit is timed; no other hit reads a clock.
    #[inline]
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let mut shard = lock(self.shard(key));
        if shard.counts.hits % HIT_SAMPLE == HIT_SAMPLE - 1 {
            return shard.timed_hit(key);
        }
        shard.hit(key)
    }

    /// Counts a caller that waited for another's computation of `key` and received its value:
    /// no longer a miss (it was counted as one when it joined), but served by that computation.
    #[cold]
    pub(crate) fn coalesced(&self, key: &K) {
        let mut shard = lock(self.shard(key));
        shard.counts.misses = shard.counts.misses.saturating_sub(1);
        shard.counts.coalesced += 1;
    }

    /// After a miss: the value if it arrived meanwhile, the flight to wait for, or the
    /// leadership of a new flight, whose computation depends on `depends`. An expired entry is
    /// removed on the way.
    #[cold]
    pub(crate) fn lookup(&self, key: &K, depends: &crate::tags::Seen) -> Lookup<'_, K, V> {
        let mut shard = lock(self.shard(key));
        if let Some(index) = shard.find(key) {
            match shard.node(index) {
                Some(node) if node.validity.is_live() => {
                    let value = node.value.clone();
                    shard.touch(index);
                    shard.counts.hits += 1;
                    return Lookup::Hit(value);
                }
                node => {
                    // Gone stale through a tag (or its function's clear in a shared store):
                    // that invalidation is counted now, once, as the entry leaves.
                    if node.is_some_and(|n| n.validity.is_invalidated()) {
                        shard.counts.invalidations += 1;
                    }
                    shard.remove(index);
                    self.len.0.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
        shard.counts.misses += 1;
        if let Some(flight) = shard.flights.get(key) {
            // A flight begun before an invalidation of one of its tags (or of its function, in
            // a shared store) may compute from the old data: a caller arriving after it starts
            // afresh (the old flight, detached, stores nothing).
            if flight.is_current() {
                return Lookup::Wait(Arc::clone(flight));
            }
        }
        let flight = Arc::new(Flight::new(depends.clone()));
        shard.flights.insert(key.clone(), Arc::clone(&flight));
        Lookup::Lead(Leader {
            store: self,
            key: key.clone(),
            flight,
            finished: false,
        })
    }

    /// Ends `flight`, the flight of `key`, storing its value if there is one to store and no
    /// change (an invalidation, a put) ended the flight meanwhile. `computed` is how long the
    /// computation took, when it finished (it did not if it panicked or was dropped).
    pub(crate) fn end_flight(
        &self,
        key: &K,
        flight: &Arc<Flight<V>>,
        stored: Option<(V, Validity)>,
        computed: Option<std::time::Duration>,
    ) {
        let index = self.shard_index(key);
        let mut shard = lock(&self.shards[index].0);
        // Detached by a change (and maybe replaced by a newer flight): not ours to remove, and
        // its value may predate the change.
        let attached = shard
            .flights
            .get(key)
            .is_some_and(|current| Arc::ptr_eq(current, flight));
        if attached {
            shard.flights.remove(key);
        }
        let stale = !attached;
        if let Some(took) = computed {
            shard.counts.computed += 1;
            shard.counts.compute_nanos += u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        }
        match stored {
            Some((value, validity)) if !stale => self.insert(shard, index, key, value, validity),
            _ => {}
        }
    }

    /// Stores a value under `key` in its locked shard, evicting to stay within capacity.
    fn insert(
        &self,
        mut shard: MutexGuard<'_, Shard<K, V>>,
        index: usize,
        key: &K,
        value: V,
        validity: Validity,
    ) {
        shard.counts.inserts += 1;
        if !shard.put(key.clone(), value, validity) {
            return; // replaced: same count
        }
        if self.len.0.fetch_add(1, Ordering::Relaxed) < self.capacity {
            return;
        }
        // Full: evict this shard's least recently used entry, or another shard's when this
        // one holds nothing but the new entry.
        if shard.nodes.len() > 1 && shard.pop_oldest() {
            self.len.0.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        drop(shard);
        for offset in 1..self.shards.len() {
            let other = (index + offset) & self.mask as usize;
            if lock(&self.shards[other].0).pop_oldest() {
                self.len.0.fetch_sub(1, Ordering::Relaxed);
                return;
            }
        }
    }

    /// Stores `value` under `key` now, as if computed. A computation of the same key in
    /// progress will not overwrite it, and new callers do not join it.
    pub(crate) fn put(&self, key: &K, value: V, validity: Validity) {
        let index = self.shard_index(key);
        let mut shard = lock(&self.shards[index].0);
        // A computation in progress may predate the value put: it stores nothing, and new
        // callers find the value put.
        shard.flights.remove(key);
        self.insert(shard, index, key, value, validity);
    }

    /// The live value of `key`, without counting a hit or changing the recency order.
    pub(crate) fn peek(&self, key: &K) -> Option<V> {
        let shard = lock(self.shard(key));
        let node = shard.node(shard.find(key)?)?;
        node.validity.is_live().then(|| node.value.clone())
    }

    /// Removes `key`'s entry, and ends a computation of it in progress for new callers (it
    /// stores nothing: its value may predate the change). Returns whether there was an entry.
    pub(crate) fn invalidate(&self, key: &K) -> bool {
        let mut shard = lock(self.shard(key));
        // A computation in progress may predate the change: it stores nothing, and its
        // waiters get its value, but a caller arriving from now on computes afresh.
        shard.flights.remove(key);
        let Some(index) = shard.find(key) else {
            return false;
        };
        shard.remove(index);
        shard.counts.invalidations += 1;
        self.len.0.fetch_sub(1, Ordering::Relaxed);
        true
    }

    /// Removes every entry, as [`LruShards::invalidate`] does one; returns how many there were.
    pub(crate) fn invalidate_all(&self) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = lock(&shard.0);
            shard.flights.clear();
            let n = shard.nodes.len();
            shard.table.clear();
            shard.nodes.clear();
            shard.links.clear();
            (shard.newest, shard.oldest) = (NIL, NIL);
            shard.counts.invalidations += n as u64;
            self.len.0.fetch_sub(n, Ordering::Relaxed);
            removed += n;
        }
        removed
    }

    /// The most entries held.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Entries held now, expired ones included until they are touched or evicted.
    pub(crate) fn len(&self) -> usize {
        self.len.0.load(Ordering::Relaxed)
    }

    /// The statistics of this store, under `name`.
    pub(crate) fn stats(&self, name: &'static str) -> crate::stats::CacheStats {
        let counts = self.counts();
        let mut stats = crate::stats::CacheStats::new(name);
        stats.hits = counts.hits;
        stats.misses = counts.misses;
        stats.coalesced = counts.coalesced;
        stats.inserts = counts.inserts;
        stats.evictions = counts.evictions;
        stats.invalidations = counts.invalidations;
        stats.len = Some(self.len());
        stats.computations = counts.computed;
        stats.miss_time_total = std::time::Duration::from_nanos(counts.compute_nanos);
        stats.miss_time_mean = crate::stats::mean(stats.miss_time_total, counts.computed);
        stats.hit_time_mean = (counts.hits_timed > 0).then(|| {
            crate::stats::mean(
                std::time::Duration::from_nanos(counts.hit_nanos),
                counts.hits_timed,
            )
        });
        stats
    }

    /// The counts of every shard, summed. Each shard is read under its lock, so each shard's
    /// counts are consistent with themselves.
    pub(crate) fn counts(&self) -> Counts {
        let mut total = Counts::default();
        for shard in self.shards.iter() {
            total.add(&lock(&shard.0).counts);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_counts_are_powers_of_two_and_small_caches_have_one() {
        for capacity in [1, 2, 255, 256, 511, 1000, 10_000, 1 << 20] {
            let n = shard_count(capacity);
            assert!(n.is_power_of_two(), "{capacity} -> {n}");
            assert!(n * MIN_SHARD_CAPACITY <= capacity.max(MIN_SHARD_CAPACITY));
        }
        assert_eq!(shard_count(511), 1);
    }

    fn key(store: &LruShards<Key, u32>, i: u32) -> Key {
        let mut key = Key::new();
        crate::CacheKey::encode_key(&i, key.encoder());
        store.seal(&mut key);
        key
    }

    fn fill(store: &LruShards<Key, u32>, keys: std::ops::Range<u32>) {
        for i in keys {
            match store.lookup(&key(store, i), &Default::default()) {
                Lookup::Lead(leader) => {
                    leader.finish(Some((i, Validity::FOREVER)), &i, Default::default())
                }
                _ => panic!("fresh key {i} was not a miss"),
            }
        }
    }

    fn held(store: &LruShards<Key, u32>) -> usize {
        store.shards.iter().map(|s| lock(&s.0).nodes.len()).sum()
    }

    #[test]
    fn total_capacity_is_respected() {
        let store = LruShards::<Key, u32>::new(NonZeroUsize::new(1000).unwrap());
        assert!(store.shards.len() > 1, "the test needs several shards");
        // Exactly `capacity` keys all fit, however they spread over the shards.
        fill(&store, 0..1000);
        assert_eq!(held(&store), 1000);
        assert!((0..1000).all(|i| store.get(&key(&store, i)) == Some(i)));
        fill(&store, 1000..5000);
        assert_eq!(held(&store), 1000);
        assert_eq!(store.len(), 1000);
    }

    #[test]
    fn a_shard_evicts_in_least_recently_used_order() {
        let store = LruShards::<Key, u32>::new(NonZeroUsize::new(3).unwrap());
        fill(&store, 0..3);
        assert_eq!(store.get(&key(&store, 0)), Some(0)); // 1 is now the oldest
        fill(&store, 3..4);
        let present: Vec<u32> = (0..4)
            .filter(|&i| store.get(&key(&store, i)).is_some())
            .collect();
        assert_eq!(present, [0, 2, 3]);
    }

    #[test]
    fn an_invalidation_during_a_computation_keeps_its_value_out() {
        let store = LruShards::<Key, u32>::new(NonZeroUsize::new(10).unwrap());
        let k = key(&store, 1);
        let Lookup::Lead(leader) = store.lookup(&k, &Default::default()) else {
            panic!("not a miss")
        };
        // The data changes while the value is being computed from the old data.
        assert!(!store.invalidate(&k));
        leader.finish(Some((1, Validity::FOREVER)), &1, Default::default());
        assert_eq!(store.peek(&k), None, "a stale value was stored");
        // A later computation stores as usual.
        fill(&store, 1..2);
        assert_eq!(store.peek(&k), Some(1));
        assert!(store.invalidate(&k));
        assert_eq!(store.peek(&k), None);
        assert_eq!(store.counts().invalidations, 1);
    }

    #[test]
    fn a_put_during_a_computation_wins() {
        let store = LruShards::<Key, u32>::new(NonZeroUsize::new(10).unwrap());
        let k = key(&store, 1);
        let Lookup::Lead(leader) = store.lookup(&k, &Default::default()) else {
            panic!("not a miss")
        };
        store.put(&k, 2, Validity::FOREVER);
        leader.finish(Some((1, Validity::FOREVER)), &1, Default::default());
        assert_eq!(store.peek(&k), Some(2));
    }

    #[test]
    fn invalidating_all_empties_every_shard() {
        let store = LruShards::<Key, u32>::new(NonZeroUsize::new(2000).unwrap());
        fill(&store, 0..1500);
        assert_eq!(store.invalidate_all(), 1500);
        assert_eq!((store.len(), held(&store)), (0, 0));
        assert!((0..1500).all(|i| store.peek(&key(&store, i)).is_none()));
        fill(&store, 0..10);
        assert_eq!(store.len(), 10);
    }

    #[test]
    fn removal_keeps_the_table_and_the_list_consistent() {
        // Evictions remove nodes from the middle of the dense array; every survivor must still
        // be found and the list must still be in recency order.
        let store = LruShards::<Key, u32>::new(NonZeroUsize::new(50).unwrap());
        for round in 0..20u32 {
            fill(&store, round * 30..round * 30 + 30);
            for i in (round * 30..round * 30 + 30).step_by(3) {
                store.get(&key(&store, i));
            }
        }
        let shard = lock(&store.shards[0].0);
        assert_eq!(shard.nodes.len(), 50);
        let mut walked = 0;
        let mut at = shard.newest;
        while let Some(node) = shard.node(at) {
            assert_eq!(shard.find(&node.key), Some(at));
            walked += 1;
            at = shard.links[at as usize].older;
        }
        assert_eq!(walked, 50);
    }
}
