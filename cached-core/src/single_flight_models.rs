//! Model tests of the single-flight: every interleaving of a few threads through the shard's
//! lookup, the flight's end and an invalidation, explored by loom. Run them with
//! `RUSTFLAGS="--cfg cached_loom" cargo test -p cached-core --lib --release single_flight_models`
//! (and a target directory of their own: the flag rebuilds everything).
//!
//! Each model is the protocol a defect lived in: a caller that arrives after an invalidation
//! must not get a value computed before it, a failed or abandoned computation must wake every
//! waiter, and at most one caller computes a key at a time.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use loom::sync::atomic::AtomicU32;
use loom::thread;

use crate::flight::Outcome;
use crate::store::lru::{Key, Lookup, LruShards, Validity};

fn store() -> Arc<LruShards<Key, u32>> {
    Arc::new(LruShards::new(NonZeroUsize::MIN.saturating_add(9)))
}

fn key(store: &LruShards<Key, u32>) -> Key {
    let mut key = Key::new();
    crate::CacheKey::encode_key(&1u32, key.encoder());
    store.seal(&mut key);
    key
}

/// What one caller does, as `memo::find` does it: the value, computing it with `compute` if it
/// leads (`computed` counts computations).
fn call(store: &LruShards<Key, u32>, compute: impl Fn() -> u32, computed: &AtomicUsize) -> u32 {
    let key = key(store);
    loop {
        match store.lookup(&key, &Default::default()) {
            Lookup::Hit(found) => return found,
            Lookup::Lead(leader) => {
                computed.fetch_add(1, Ordering::SeqCst);
                let value = compute();
                leader.finish(Some((value, Validity::FOREVER)), &value, Default::default());
                return value;
            }
            Lookup::Wait(flight) => {
                if let Some(Outcome::Value(found)) = flight.wait() {
                    return found;
                }
            }
        }
    }
}

#[test]
fn concurrent_callers_compute_once_and_all_get_the_value() {
    loom::model(|| {
        let store = store();
        let computed = Arc::new(AtomicUsize::new(0));
        let other = {
            let (store, computed) = (Arc::clone(&store), Arc::clone(&computed));
            thread::spawn(move || call(&store, || 7, &computed))
        };
        let mine = call(&store, || 7, &computed);
        let theirs = other.join().unwrap();
        assert_eq!((mine, theirs), (7, 7));
        assert_eq!(computed.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn a_lookup_after_an_invalidation_never_gets_a_value_computed_before_it() {
    loom::model(|| {
        let store = store();
        // The data, version 1; a computation reads it when it begins.
        let data = Arc::new(AtomicU32::new(1));
        let reader = {
            let (store, data) = (Arc::clone(&store), Arc::clone(&data));
            thread::spawn(move || {
                let computed = AtomicUsize::new(0);
                call(&store, || data.load(Ordering::SeqCst), &computed)
            })
        };
        // The writer saves version 2, then invalidates; from then on every read sees 2.
        data.store(2, Ordering::SeqCst);
        store.invalidate(&key(&store));
        let computed = AtomicUsize::new(0);
        let after = call(&store, || data.load(Ordering::SeqCst), &computed);
        assert_eq!(after, 2, "a read after the invalidation got the old data");
        let _ = reader.join().unwrap(); // it began before: either version is fine for it
        assert_ne!(
            store.peek(&key(&store)),
            Some(1),
            "a value of the old data was stored"
        );
    });
}

#[test]
fn a_failed_or_abandoned_computation_wakes_its_waiter_which_then_leads() {
    for failed in [true, false] {
        loom::model(move || {
            let store = store();
            let Lookup::Lead(leader) = store.lookup(&key(&store), &Default::default()) else {
                panic!("an empty store's first lookup leads")
            };
            let waiter = {
                let store = Arc::clone(&store);
                thread::spawn(move || {
                    let computed = AtomicUsize::new(0);
                    let value = call(&store, || 3, &computed);
                    (value, computed.load(Ordering::SeqCst))
                })
            };
            if failed {
                leader.fail(Default::default());
            } else {
                drop(leader); // a panic, or a cancelled future
            }
            // The waiter never hangs, and computes the value itself.
            assert_eq!(waiter.join().unwrap(), (3, 1));
        });
    }
}
