//! One cache's part of a Redis store (a `#[cache(store = REDIS)]` function, or the explicit
//! API's): the lookup that fetches a value and its generations in one round trip, the
//! single-flight of its computation in this process, and its counts.
//!
//! The single-flight keeps the promises of `crate::flight` through Redis:
//! - **A change ends the flight for new callers.** A flight remembers what its leader's lookup
//!   saw (the bytes of the key and the generations' tokens): a caller whose own lookup saw
//!   something else (an invalidation, in any process, came in between) does not join it, and
//!   starts a fresh flight in its place. The old leader's compare-and-set keeps its value out
//!   of Redis. Invalidations and puts through this process's handles end the flight as well,
//!   and so does a plain `invalidate_tag` of one of its tags in this process (the flight holds
//!   their in-process generations: see `crate::flight`).
//! - **Check and join are one step.** A counter of the flights ended, per slot of keys, is read
//!   before the lookup and checked under the flights' lock: a caller that missed just before a
//!   flight of its slot ended looks again (and finds the value) rather than compute it again.
//! - **No caller waits for itself, and a failure is no queue**: a caller whose wait would close
//!   a cycle (its own flight, or one whose leader waits for it: see `crate::flight`), or that
//!   finds a flight begun after the one that failed for it, computes alone and stores nothing.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::envelope::{self, Dependency, Unusable};
use super::repair::Repair;
use super::Shared;
use crate::error::Error;
use crate::flight::{Flight, Outcome};
use crate::stats::CacheStats;
use crate::sync::lock;

/// A computed value, as the flight hands it to the callers waiting for it.
type Erased = Arc<dyn Any + Send + Sync>;

/// Stores `ARGV[2]` at `KEYS[1]` (for `ARGV[3]` ms unless it is 0) if the key still holds what
/// the computation's lookup saw: nothing (`ARGV[1]` = "0") or the bytes `ARGV[4]`. So a value
/// computed before an invalidation, or beside another process's, does not overwrite theirs. A
/// key of another Redis type (a list, a hash: the lookup's `MGET` saw nothing there) holds no
/// value, and is overwritten.
const STORE_IF_UNCHANGED: &str = r"
local now = false
if redis.call('TYPE', KEYS[1]).ok == 'string' then
  now = redis.call('GET', KEYS[1])
end
if ARGV[1] == '0' then
  if now then return 0 end
elseif now ~= ARGV[4] then
  return 0
end
if ARGV[3] == '0' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
end
return 1
";

/// Puts the tombstone `ARGV[1]` at `KEYS[1]` for `ARGV[2]` ms, whatever the key holds (a key
/// of another Redis type included); returns what it held, if it was a string.
const TOMBSTONE: &str = r"
local before = false
if redis.call('TYPE', KEYS[1]).ok == 'string' then
  before = redis.call('GET', KEYS[1])
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return before
";

/// Returns the token of each generation `KEYS[i]`, first replacing with `ARGV[i]` any that is
/// missing, of another Redis type, or not a well-formed token (see [`well_formed`]): these keys
/// can be written by anyone, and no content of theirs may weaken invalidation.
const GENERATIONS: &str = r"
local tokens = {}
for i, key in ipairs(KEYS) do
  local token = false
  if redis.call('TYPE', key).ok == 'string' then
    token = redis.call('GET', key)
  end
  if not token or string.len(token) ~= 16 or string.find(token, '[^0-9a-f]') then
    token = ARGV[i]
    redis.call('SET', key, token)
  end
  tokens[i] = token
end
return tokens
";

fn script(cell: &'static std::sync::OnceLock<redis::Script>, code: &str) -> &'static redis::Script {
    cell.get_or_init(|| redis::Script::new(code))
}

fn store_if_unchanged() -> &'static redis::Script {
    static SCRIPT: std::sync::OnceLock<redis::Script> = std::sync::OnceLock::new();
    script(&SCRIPT, STORE_IF_UNCHANGED)
}

fn tombstone_script() -> &'static redis::Script {
    static SCRIPT: std::sync::OnceLock<redis::Script> = std::sync::OnceLock::new();
    script(&SCRIPT, TOMBSTONE)
}

fn generations_script() -> &'static redis::Script {
    static SCRIPT: std::sync::OnceLock<redis::Script> = std::sync::OnceLock::new();
    script(&SCRIPT, GENERATIONS)
}

/// The length of a generation token.
const TOKEN_LEN: usize = 16;

/// Whether a generation key's value is a token as [`token`] makes them (16 lowercase hex
/// digits). Anything else was written by someone else: it is no generation to rely on.
pub(crate) fn well_formed(token: &[u8]) -> bool {
    token.len() == TOKEN_LEN
        && token
            .iter()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(byte))
}

/// A new generation value, unique with overwhelming odds across processes and time.
pub(crate) fn token() -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish()).into_bytes()
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

fn millis(ttl: Option<Duration>) -> u64 {
    // At least 1 ms: `PX 0` is an error, and a TTL below a millisecond is as good as none.
    ttl.map_or(0, |ttl| {
        u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
    })
}

#[derive(Default)]
struct Counts {
    hits: AtomicU64,
    misses: AtomicU64,
    /// Callers served by another caller's computation in this process.
    coalesced: AtomicU64,
    inserts: AtomicU64,
    invalidations: AtomicU64,
    errors: AtomicU64,
    computations: AtomicU64,
    miss_nanos: AtomicU64,
    hit_nanos: AtomicU64,
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Slots of keys for the counts of flights ended (a power of two).
const SLOTS: usize = 64;

/// The most lookups one call makes before it computes: a caller looks again when a flight of
/// its slot ended between its lookup and its join (the value may just have been stored), or
/// once when its lookup and a flight's leader's disagree (its own may be the older one).
const MAX_LOOKUPS: u32 = 4;

/// The slot of a key (FNV-1a).
fn slot(key: &[u8]) -> usize {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in key {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Truncation intended: the low bits pick the slot.
    (hash as usize) & (SLOTS - 1)
}

/// What a lookup saw of an entry, which a value computed after it is computed from: what the
/// key held, and the tokens of the generations the entry depends on (`None` for one that could
/// not be read nor created).
#[derive(PartialEq, Eq)]
struct View {
    held: Option<Vec<u8>>,
    tokens: Vec<Option<Vec<u8>>>,
}

/// A computation in progress in this process, and what its leader's lookup saw (`None`: the
/// lookup failed, and the value is computed without Redis).
struct InFlight {
    flight: Arc<Flight<Erased>>,
    view: Option<Arc<View>>,
}

/// The entries of one cache in a Redis store.
pub(crate) struct Space {
    pub(crate) name: &'static str,
    /// `<prefix>:<name>:` (`<prefix>:%kv:<name>:` for the explicit API).
    start: Vec<u8>,
    /// The generation of the whole cache, if it can be invalidated as a whole.
    generation: Option<Vec<u8>>,
    flights: Mutex<HashMap<Vec<u8>, InFlight>>,
    /// Flights ended (or ended by a change), per slot of keys: changed under the flights' lock.
    ended: [AtomicU64; SLOTS],
    counts: Counts,
    warned_unencodable: AtomicBool,
}

/// The guard of the caller computing one key in this process; see `crate::flight::Leader`.
struct Lead<'a> {
    space: &'a Space,
    key: Vec<u8>,
    slot: usize,
    flight: Arc<Flight<Erased>>,
    finished: bool,
}

impl Lead<'_> {
    /// Ends the flight (taking it out of the map, unless a change or a newer flight took its
    /// place already), then hands `outcome` to its waiters.
    fn end(&mut self, outcome: Outcome<Erased>) {
        self.finished = true;
        {
            let mut flights = lock(&self.space.flights);
            let ours = flights
                .get(&self.key)
                .is_some_and(|current| Arc::ptr_eq(&current.flight, &self.flight));
            if ours {
                flights.remove(&self.key);
            }
            self.space.ended[self.slot].fetch_add(1, Ordering::Release);
        }
        self.flight.end(move || outcome);
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.end(Outcome::Abandoned);
        }
    }
}

enum Joined<'a> {
    /// Compute, and store the value.
    Lead(Lead<'a>),
    /// Wait for this flight's value.
    Wait(Arc<Flight<Erased>>),
    /// Compute without a flight and store nothing: the flight found is the caller's own (it
    /// would wait for itself), or the caller retries after a failed flight and found another
    /// retrier's (waiting would turn the retries into a queue).
    Alone,
    /// Look the key up again.
    Again,
}

/// What one lookup found.
struct Found {
    /// What the key held, if anything.
    held: Option<Vec<u8>>,
    /// The generations now; `None` for one that does not exist yet.
    generations: Vec<Option<Vec<u8>>>,
}

impl Space {
    /// The entries whose keys start with `start` (see `keys::space`), with a generation of
    /// their own if `whole` (they can be invalidated all at once).
    pub(crate) fn new(start: Vec<u8>, name: &'static str, whole: bool) -> Self {
        Space {
            name,
            generation: whole.then(|| super::keys::generation(&start)),
            start,
            flights: Mutex::new(HashMap::new()),
            ended: std::array::from_fn(|_| AtomicU64::new(0)),
            counts: Counts::default(),
            warned_unencodable: AtomicBool::new(false),
        }
    }

    /// The Redis key of an encoded key.
    pub(crate) fn key(&self, encoded: &[u8]) -> Vec<u8> {
        let mut key = Vec::with_capacity(self.start.len() + encoded.len() * 3);
        key.extend_from_slice(&self.start);
        super::keys::push_key(&mut key, encoded);
        key
    }

    /// The generation keys of an entry with these tags: the cache's, then the tags'.
    pub(crate) fn generations(&self, shared: &Shared, tags: &[String]) -> Vec<Vec<u8>> {
        self.generation
            .iter()
            .cloned()
            .chain(tags.iter().map(|tag| super::keys::tag(&shared.prefix, tag)))
            .collect()
    }

    /// Counts a failure of the store.
    pub(crate) fn failed(&self) {
        add(&self.counts.errors, 1);
    }

    /// Counts a hit of the explicit API, which took `took`.
    pub(crate) fn hit(&self, took: Duration) {
        add(&self.counts.hits, 1);
        add(&self.counts.hit_nanos, nanos(took));
    }

    /// The value and the generations, in one round trip.
    async fn fetch(
        &self,
        shared: &Shared,
        key: &[u8],
        generations: &[Vec<u8>],
    ) -> Result<Found, Error> {
        if shared.repairs.are_pending() {
            // Boxed: rare, and kept out of every call's future.
            Box::pin(shared.repairs.apply(&shared.link))
                .await
                .inspect_err(|_| self.failed())?;
        }
        let mut values: Vec<Option<Vec<u8>>> = shared
            .link
            .run(|mut connection| async move {
                let mut command = redis::cmd("MGET");
                command.arg(key).arg(generations);
                command.query_async(&mut connection).await
            })
            .await
            .inspect_err(|_| self.failed())?;
        if values.is_empty() {
            return Err(Error::remote("MGET answered nothing"));
        }
        let held = values.remove(0);
        Ok(Found {
            held,
            generations: values,
        })
    }

    /// The value `found` holds, if it is a current `V`.
    fn usable<V: DeserializeOwned>(
        &self,
        found: &Found,
        fingerprint: [u8; 8],
        generations: &[Vec<u8>],
    ) -> Option<V> {
        let held = found.held.as_ref()?;
        // A generation that is not a well-formed token is none: what depends on it is stale.
        let current: Vec<Dependency> = generations
            .iter()
            .zip(&found.generations)
            .filter_map(|(key, token)| {
                let token = token.as_ref().filter(|token| well_formed(token))?;
                Some(Dependency {
                    id: envelope::dependency_id(key),
                    token: token.clone(),
                })
            })
            .collect();
        match envelope::decode(held, fingerprint, &current) {
            Ok(value) => Some(value),
            Err(why) => {
                if why == Unusable::Undecodable {
                    tracing::debug!(cache = self.name, "cached value does not decode: a miss");
                }
                None
            }
        }
    }

    /// After a miss: the flight to wait for, or what else to do. `ended` is the count of the
    /// key's slot read before the lookup, `view` what the lookup saw, `lookups` how many this
    /// call made.
    #[allow(clippy::too_many_arguments)] // one call site
    fn join(
        &self,
        key: &[u8],
        slot: usize,
        ended: u64,
        view: Option<&Arc<View>>,
        after_failure: bool,
        lookups: u32,
        tags: &[String],
    ) -> Joined<'_> {
        let mut flights = lock(&self.flights);
        if let Some(current) = flights.get(key) {
            if after_failure {
                return Joined::Alone;
            }
            // A caller whose lookup failed cannot tell: it shares the computation (an outage
            // is no time for a stampede).
            let same = current.flight.is_current()
                && match (view, &current.view) {
                    (None, _) => true,
                    (Some(mine), Some(theirs)) => mine == theirs,
                    (Some(_), None) => false,
                };
            if same {
                return Joined::Wait(Arc::clone(&current.flight));
            }
            // The flight began from other data: before a change, or (if this caller's lookup
            // is the older one) after it. Look again once, then take its place.
            if lookups == 1 {
                return Joined::Again;
            }
        } else if self.ended[slot].load(Ordering::Acquire) != ended && lookups < MAX_LOOKUPS {
            // A flight of this slot ended since the lookup: maybe this key's, with its value
            // stored just after the lookup missed it.
            return Joined::Again;
        }
        let flight = Arc::new(Flight::new(crate::tags::Seen::of_names(tags)));
        flights.insert(
            key.to_vec(),
            InFlight {
                flight: Arc::clone(&flight),
                view: view.cloned(),
            },
        );
        Joined::Lead(Lead {
            space: self,
            key: key.to_vec(),
            slot,
            flight,
            finished: false,
        })
    }

    /// Ends the flight of `key`, if there is one, for the callers that come after a change
    /// (its waiters still receive its value, which is not stored).
    fn end_flight(&self, key: &[u8]) {
        let mut flights = lock(&self.flights);
        flights.remove(key);
        self.ended[slot(key)].fetch_add(1, Ordering::Release);
    }

    /// Ends every flight of the cache (see [`end_flight`](Self::end_flight)).
    fn end_flights(&self) {
        let mut flights = lock(&self.flights);
        flights.clear();
        for ended in &self.ended {
            ended.fetch_add(1, Ordering::Release);
        }
    }

    /// The token of every generation an entry depends on, given what a lookup saw of them
    /// (`seen`, shorter if it saw none): those missing, not strings or not well-formed tokens
    /// are replaced with fresh ones first, in one round trip for them all (none when every
    /// token is well-formed).
    async fn resolve(
        &self,
        shared: &Shared,
        generations: &[Vec<u8>],
        seen: &[Option<Vec<u8>>],
    ) -> Result<Vec<Vec<u8>>, Error> {
        let good = |i: usize| {
            seen.get(i)
                .and_then(Option::as_deref)
                .filter(|token| well_formed(token))
        };
        let bad: Vec<usize> = (0..generations.len())
            .filter(|&i| good(i).is_none())
            .collect();
        let mut tokens: Vec<Vec<u8>> = (0..generations.len())
            .map(|i| good(i).map(<[u8]>::to_vec).unwrap_or_default())
            .collect();
        if bad.is_empty() {
            return Ok(tokens);
        }
        let keys: Vec<&[u8]> = bad.iter().map(|&i| generations[i].as_slice()).collect();
        let now: Vec<Vec<u8>> = shared
            .link
            .run(|mut connection| async move {
                let mut invocation = generations_script().prepare_invoke();
                for key in keys {
                    invocation.key(key);
                    invocation.arg(token());
                }
                invocation.invoke_async(&mut connection).await
            })
            .await
            .inspect_err(|_| self.failed())?;
        if now.len() != bad.len() || !now.iter().all(|token| well_formed(token)) {
            self.failed();
            return Err(Error::remote(
                "the generations script answered something else",
            ));
        }
        for (i, token) in bad.into_iter().zip(now) {
            tokens[i] = token;
        }
        Ok(tokens)
    }

    /// Stores `bytes` at `key` if it still holds `seen`; whether it did.
    async fn store(
        &self,
        shared: &Shared,
        key: &[u8],
        seen: Option<&[u8]>,
        bytes: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, Error> {
        let stored: i64 = shared
            .link
            .run(|mut connection| async move {
                let mut invocation = store_if_unchanged().key(key);
                invocation
                    .arg(if seen.is_some() { "1" } else { "0" })
                    .arg(bytes)
                    .arg(millis(ttl))
                    .arg(seen.unwrap_or_default());
                invocation.invoke_async(&mut connection).await
            })
            .await
            .inspect_err(|_| self.failed())?;
        if stored == 1 {
            add(&self.counts.inserts, 1);
        }
        Ok(stored == 1)
    }

    /// The value of `key`, or `compute`'s, computed once in this process for all concurrent
    /// callers and stored with the generations `generations` had when it began. A failure of
    /// the store is handed to `failed`, which returns the caller's answer; `None` computes.
    #[allow(clippy::too_many_arguments)] // the attribute's settings, passed through
    pub(crate) async fn run<V, R, F>(
        &self,
        shared: &Shared,
        fingerprint: [u8; 8],
        key: Vec<u8>,
        generations: Vec<Vec<u8>>,
        tags: &[String],
        ttl: Option<Duration>,
        value_of: impl Fn(&R) -> Option<(&V, bool)>,
        wrap: impl Fn(V) -> R,
        failed: impl Fn(Error) -> Option<R>,
        compute: F,
    ) -> R
    where
        V: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
        F: Future<Output = R>,
    {
        let start = Instant::now();
        let slot = slot(&key);
        let mut missed = false;
        let mut after_failure = false;
        let mut lookups = 0;
        loop {
            let ended = self.ended[slot].load(Ordering::Acquire);
            // `None`: the store failed, and the value is computed without it (still once for
            // all the callers waiting here: an outage is no time for a stampede).
            let found = match self.fetch(shared, &key, &generations).await {
                Ok(found) => Some(found),
                Err(error) => {
                    if !shared.fail_open {
                        if let Some(returned) = failed(error) {
                            add(&self.counts.misses, 1);
                            return returned;
                        }
                    }
                    None
                }
            };
            let usable = found
                .as_ref()
                .and_then(|found| self.usable::<V>(found, fingerprint, &generations));
            if let Some(value) = usable {
                if missed {
                    // Found on a second look: stored by a computation that ended meanwhile,
                    // which served this caller as well.
                    add(&self.counts.coalesced, 1);
                } else {
                    add(&self.counts.hits, 1);
                    add(&self.counts.hit_nanos, nanos(start.elapsed()));
                }
                return wrap(value);
            }
            missed = true;
            lookups += 1;
            // What a value computed now is computed from: the generations are resolved
            // (created or repaired if need be) before the join, so that this caller's view and
            // a leader's compare. Boxed, as the miss path's round trips are: inline, they would
            // make every call's future (a hit's included) several kilobytes to move.
            let (view, tokens) = match found {
                Some(found) => {
                    let resolved =
                        Box::pin(self.resolve(shared, &generations, &found.generations)).await;
                    let seen = match &resolved {
                        Ok(tokens) => tokens.iter().cloned().map(Some).collect(),
                        Err(_) => found
                            .generations
                            .into_iter()
                            .map(|token| token.filter(|token| well_formed(token)))
                            .collect(),
                    };
                    let view = View {
                        held: found.held,
                        tokens: seen,
                    };
                    (Some(Arc::new(view)), resolved.ok())
                }
                None => (None, None),
            };
            let joined = self.join(
                &key,
                slot,
                ended,
                view.as_ref(),
                after_failure,
                lookups,
                tags,
            );
            let joined = match joined {
                Joined::Wait(flight) => {
                    tracing::trace!(cache = self.name, "waiting for the computation in progress");
                    match flight.wait_async().await {
                        Some(Outcome::Value(value)) => {
                            if let Some(value) = value.downcast_ref::<V>() {
                                add(&self.counts.coalesced, 1);
                                return wrap(value.clone());
                            }
                            continue;
                        }
                        // Retry at once, and compute rather than wait for another flight.
                        Some(Outcome::Failed) => {
                            after_failure = true;
                            continue;
                        }
                        Some(Outcome::Abandoned) => continue,
                        // The flight's leader waits for this caller.
                        None => Joined::Alone,
                    }
                }
                joined => joined,
            };
            match joined {
                Joined::Again | Joined::Wait(_) => {}
                Joined::Alone => {
                    add(&self.counts.misses, 1);
                    let (returned, took) = self.computed(compute).await;
                    tracing::debug!(cache = self.name, ?took, "cache miss: computed alone");
                    return returned;
                }
                Joined::Lead(mut lead) => {
                    add(&self.counts.misses, 1);
                    let computing = lead.flight.computing(compute);
                    let (returned, took) = self.computed(computing).await;
                    let Some((value, keep)) = value_of(&returned) else {
                        tracing::debug!(cache = self.name, ?took, "cache miss: error, not stored");
                        lead.end(Outcome::Failed);
                        return returned;
                    };
                    tracing::debug!(cache = self.name, ?took, stored = keep, "cache miss");
                    if let (true, Some(view), Some(tokens)) = (keep, &view, tokens) {
                        let dependencies: Vec<Dependency> = generations
                            .iter()
                            .zip(tokens)
                            .map(|(key, token)| Dependency {
                                id: envelope::dependency_id(key),
                                token,
                            })
                            .collect();
                        match envelope::encode(value, fingerprint, &dependencies) {
                            Ok(bytes) => {
                                let seen = view.held.as_deref();
                                let _ = Box::pin(self.store(shared, &key, seen, &bytes, ttl)).await;
                            }
                            Err(error) => self.unencodable(&error),
                        }
                    }
                    lead.end(Outcome::Value(Arc::new(value.clone())));
                    return returned;
                }
            }
        }
    }

    /// Counts a value that cannot be encoded (a serde error), and logs the first.
    #[cold]
    fn unencodable(&self, error: &rmp_serde::encode::Error) {
        self.failed();
        if !self.warned_unencodable.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                cache = self.name,
                %error,
                "value cannot be encoded: not cached (logged once per cache)"
            );
        }
    }

    /// Runs a computation, timing and counting it.
    async fn computed<R>(&self, compute: impl Future<Output = R>) -> (R, Duration) {
        let start = Instant::now();
        let returned = compute.await;
        let took = start.elapsed();
        add(&self.counts.computations, 1);
        add(&self.counts.miss_nanos, nanos(took));
        #[cfg(feature = "metrics")]
        crate::metrics::record_miss(self.name, took);
        (returned, took)
    }

    /// The value of `key`, if it is a current `V`, without computing nor counting it.
    pub(crate) async fn peek<V: DeserializeOwned>(
        &self,
        shared: &Shared,
        fingerprint: [u8; 8],
        key: &[u8],
        generations: &[Vec<u8>],
    ) -> Result<Option<V>, Error> {
        let found = self.fetch(shared, key, generations).await?;
        Ok(self.usable(&found, fingerprint, generations))
    }

    /// Stores `value` as the entry `key`, whatever it held; a computation of it in progress in
    /// this process is no longer joined.
    pub(crate) async fn put<V: Serialize>(
        &self,
        shared: &Shared,
        fingerprint: [u8; 8],
        key: &[u8],
        generations: &[Vec<u8>],
        value: &V,
        ttl: Option<Duration>,
    ) -> Result<(), Error> {
        let put = self
            .put_in_redis(shared, fingerprint, key, generations, value, ttl)
            .await;
        self.end_flight(key);
        put
    }

    async fn put_in_redis<V: Serialize>(
        &self,
        shared: &Shared,
        fingerprint: [u8; 8],
        key: &[u8],
        generations: &[Vec<u8>],
        value: &V,
        ttl: Option<Duration>,
    ) -> Result<(), Error> {
        let ttl = millis(ttl);
        // If the store fails, the value there may predate the change this put was for.
        let repair = || {
            shared.keep(Repair::Tombstone {
                key: key.to_vec(),
                ttl_ms: tombstone_millis(ttl),
                cache: self.generation.clone(),
            })
        };
        if shared.repairs.are_pending() {
            // A tombstone kept for this key must land before the value, not after it. If the
            // repairs fail, so does the write below, most likely; if not, `written` drops it.
            let _ = Box::pin(shared.repairs.apply(&shared.link)).await;
        }
        let tokens = self
            .resolve(shared, generations, &[])
            .await
            .inspect_err(|_| repair())?;
        let dependencies: Vec<Dependency> = generations
            .iter()
            .zip(tokens)
            .map(|(key, token)| Dependency {
                id: envelope::dependency_id(key),
                token,
            })
            .collect();
        let bytes = envelope::encode(value, fingerprint, &dependencies).map_err(Error::encode)?;
        shared
            .link
            .run(|mut connection| async move {
                let mut command = redis::cmd("SET");
                command.arg(key).arg(bytes);
                if ttl > 0 {
                    command.arg("PX").arg(ttl);
                }
                command.query_async::<()>(&mut connection).await
            })
            .await
            .inspect_err(|_| {
                self.failed();
                repair();
            })?;
        shared.repairs.written(key);
        add(&self.counts.inserts, 1);
        Ok(())
    }

    /// Invalidates the entry `key`: a tombstone takes its place (for the TTL, at most a day),
    /// so that a computation in progress anywhere cannot store a value that predates the
    /// change, and a computation in progress in this process is no longer joined. Returns
    /// whether the key held a value.
    pub(crate) async fn invalidate(
        &self,
        shared: &Shared,
        key: &[u8],
        ttl: Option<Duration>,
    ) -> Result<bool, Error> {
        let tombstone = envelope::tombstone(&token());
        let ttl = tombstone_millis(millis(ttl));
        let before: Result<Option<Vec<u8>>, Error> = shared
            .link
            .run(|mut connection| async move {
                let mut invocation = tombstone_script().key(key);
                invocation.arg(tombstone).arg(ttl);
                invocation.invoke_async(&mut connection).await
            })
            .await
            .inspect_err(|_| {
                self.failed();
                shared.keep(Repair::Tombstone {
                    key: key.to_vec(),
                    ttl_ms: ttl,
                    cache: self.generation.clone(),
                });
            });
        self.end_flight(key);
        let held = before?.is_some_and(|bytes| bytes.first() != Some(&0));
        if held {
            add(&self.counts.invalidations, 1);
        }
        Ok(held)
    }

    /// Deletes the entry `key`; whether there was one.
    pub(crate) async fn delete(&self, shared: &Shared, key: &[u8]) -> Result<bool, Error> {
        let deleted: Result<i64, Error> = shared
            .link
            .run(|mut connection| async move {
                redis::cmd("DEL")
                    .arg(key)
                    .query_async(&mut connection)
                    .await
            })
            .await
            .inspect_err(|_| {
                self.failed();
                shared.keep(Repair::Tombstone {
                    key: key.to_vec(),
                    ttl_ms: tombstone_millis(0),
                    cache: self.generation.clone(),
                });
            });
        self.end_flight(key);
        let deleted = deleted?;
        if deleted > 0 {
            add(&self.counts.invalidations, 1);
        }
        Ok(deleted > 0)
    }

    /// Invalidates every entry of the cache, in one command whatever their number; the
    /// computations in progress in this process are no longer joined.
    pub(crate) async fn invalidate_all(&self, shared: &Shared) -> Result<(), Error> {
        let Some(generation) = &self.generation else {
            return Ok(());
        };
        let moved = new_generation(shared, generation)
            .await
            .inspect_err(|_| self.failed());
        self.end_flights();
        moved
    }

    /// The counts so far.
    pub(crate) fn stats(&self) -> CacheStats {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut stats = CacheStats::new(self.name);
        stats.hits = load(&self.counts.hits);
        stats.misses = load(&self.counts.misses);
        stats.coalesced = load(&self.counts.coalesced);
        stats.inserts = load(&self.counts.inserts);
        stats.invalidations = load(&self.counts.invalidations);
        stats.errors = load(&self.counts.errors);
        stats.computations = load(&self.counts.computations);
        stats.miss_time_total = Duration::from_nanos(load(&self.counts.miss_nanos));
        stats.miss_time_mean = crate::stats::mean(stats.miss_time_total, stats.computations);
        stats.hit_time_mean = (stats.hits > 0).then(|| {
            crate::stats::mean(
                Duration::from_nanos(load(&self.counts.hit_nanos)),
                stats.hits,
            )
        });
        stats
    }
}

/// Gives a generation a new value: every entry stored under the old one is stale. If Redis
/// cannot be reached, the change is kept and applied when it answers again. A generation that
/// does not exist is left so (`XX`): nothing can depend on it (an entry whose generation is
/// missing is stale already), and a tag per user invalidated often leaves no key behind.
pub(crate) async fn new_generation(shared: &Shared, key: &[u8]) -> Result<(), Error> {
    let token = token();
    shared
        .link
        .run(|mut connection| async move {
            redis::cmd("SET")
                .arg(key)
                .arg(token)
                .arg("XX")
                .query_async::<()>(&mut connection)
                .await
        })
        .await
        .inspect_err(|_| shared.keep(Repair::Generation { key: key.to_vec() }))
}

/// How long a tombstone stays: the entry's TTL (in ms, 0 for none), or a day without one.
fn tombstone_millis(ttl_ms: u64) -> u64 {
    if ttl_ms == 0 {
        86_400_000
    } else {
        ttl_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_well_formed_and_nothing_else_is() {
        for _ in 0..100 {
            assert!(well_formed(&token()));
        }
        let long = vec![b'a'; 300];
        for other in [
            &b""[..],
            b"0123456789abcde",
            b"0123456789ABCDEF",
            b"hello world 1234",
            &long,
        ] {
            assert!(!well_formed(other), "{other:?}");
        }
    }

    #[test]
    fn slots_spread_keys() {
        let slots: std::collections::HashSet<usize> =
            (0u32..1000).map(|i| slot(&i.to_be_bytes())).collect();
        assert_eq!(slots.len(), SLOTS);
    }
}
