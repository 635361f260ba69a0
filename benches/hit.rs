//! The hit path of `#[cache]`, beside the peers it is measured against, in one run.
//!
//! Run with `cargo bench -p cached-benches --bench hit`; BENCHMARKS.md records the ratios.

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::sync::Mutex;

use cached::proc_macro::cached;
use cached_core::cache;
use criterion::{criterion_group, criterion_main, Criterion};

const KEYS: u64 = 1000;

#[cache(capacity = 1000)]
fn ours_plain(x: u64) -> u64 {
    x.wrapping_mul(31)
}

#[cache(capacity = 1000, ttl = 3600)]
fn ours_ttl(x: u64) -> u64 {
    x.wrapping_mul(31)
}

#[cached(max_size = 1000)]
fn peer_cached_plain(x: u64) -> u64 {
    x.wrapping_mul(31)
}

#[cached(max_size = 1000, ttl_secs = 3600)]
fn peer_cached_ttl(x: u64) -> u64 {
    x.wrapping_mul(31)
}

/// Times hits of `f`: on all `KEYS` keys in turn (each entry is cold in the processor's
/// caches, as in a service with many users), and on one hot key. Every key is cached before
/// timing starts.
fn bench_hits(c: &mut Criterion, name: &str, f: impl Fn(u64) -> u64) {
    for x in 0..KEYS {
        f(x);
    }
    let mut x = 0;
    c.bench_function(&format!("hit, {KEYS} keys in turn/{name}"), |b| {
        b.iter(|| {
            x = (x + 1) % KEYS;
            black_box(f(black_box(x)))
        })
    });
    c.bench_function(&format!("hit, one hot key/{name}"), |b| {
        b.iter(|| black_box(f(black_box(7))))
    });
}

fn hits(c: &mut Criterion) {
    let capacity = NonZeroUsize::new(KEYS as usize).unwrap_or(NonZeroUsize::MIN);
    let lru = Mutex::new(lru::LruCache::<u64, u64>::new(capacity));
    let lru_get = |x: u64| {
        let mut lru = lru.lock().unwrap_or_else(|e| e.into_inner());
        match lru.get(&x) {
            Some(v) => *v,
            None => {
                let v = x.wrapping_mul(31);
                lru.put(x, v);
                v
            }
        }
    };
    bench_hits(c, "lru+Mutex, no ttl", lru_get);
    bench_hits(c, "cached-core, no ttl", ours_plain);
    bench_hits(c, "cached-core, ttl", ours_ttl);
    bench_hits(c, "cached, no ttl", peer_cached_plain);
    bench_hits(c, "cached, ttl", peer_cached_ttl);
}

criterion_group!(benches, hits);
criterion_main!(benches);
