//! Many threads on a small cache: every call returns its key's value, the capacity holds, and
//! the store stays consistent through evictions in every shard.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::thread;

use cached_core::cache;

static COMPUTED: AtomicU64 = AtomicU64::new(0);

/// A different value per key, so a wrong entry is visible.
#[cache(capacity = 600)]
fn value(key: u64) -> String {
    COMPUTED.fetch_add(1, SeqCst);
    format!("value of {key}")
}

static LONG: AtomicU64 = AtomicU64::new(0);

/// Keys longer than the inline buffer, built on the heap.
#[cache(capacity = 300)]
fn long(prefix: &str, key: u64) -> String {
    LONG.fetch_add(1, SeqCst);
    format!("{prefix}{key}")
}

/// A small deterministic generator: the test needs no randomness crate.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn threads_hitting_and_evicting_always_see_their_keys_values() {
    let handles: Vec<_> = (0..8u64)
        .map(|thread| {
            thread::spawn(move || {
                let mut state = 0x9e37_79b9_7f4a_7c15 ^ (thread + 1);
                let prefix = "a prefix long enough to spill out of the inline key buffer/";
                for _ in 0..20_000 {
                    // A skewed spread over 2000 keys: hot keys hit, cold ones evict.
                    let key = next(&mut state) % 2000 % (next(&mut state) % 2000 + 1);
                    assert_eq!(value(key), format!("value of {key}"));
                    if key.is_multiple_of(4) {
                        assert_eq!(long(prefix, key), format!("{prefix}{key}"));
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    let computed = COMPUTED.load(SeqCst);
    assert!(
        computed >= 600,
        "fewer computations than distinct keys held: {computed}"
    );
    assert!(computed < 8 * 20_000, "nothing was served from the cache");
    assert!(LONG.load(SeqCst) > 0);
}

static EDGES: AtomicU64 = AtomicU64::new(0);

#[cache]
fn edge(key: &[u8]) -> usize {
    EDGES.fetch_add(1, SeqCst);
    key.len()
}

#[test]
fn keys_around_the_inline_size_are_told_apart() {
    // Encoded as a length byte and the bytes: 22 to 26 bytes cross the 24-byte inline buffer.
    let keys: Vec<Vec<u8>> = (21..=25).map(|n| vec![7u8; n]).collect();
    for key in &keys {
        assert_eq!(edge(key), key.len());
    }
    for key in &keys {
        assert_eq!(edge(key), key.len());
    }
    assert_eq!(EDGES.load(SeqCst), keys.len() as u64);
    // Same length, one byte different at the end.
    let mut other = vec![7u8; 25];
    other[24] = 8;
    assert_eq!(edge(&other), 25);
    assert_eq!(EDGES.load(SeqCst), keys.len() as u64 + 1);
}
