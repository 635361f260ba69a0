//! The generated code names everything by absolute path: it survives a crate that shadows
//! `core`, the prelude's types and common names.

#![allow(dead_code, non_camel_case_types)]

mod core {}
mod std {}
struct Option;
struct Result;
struct Some;
struct None;
struct Ok;
struct Err;
struct Duration;
struct Vec;
struct String;
struct Box;
fn concat() {}
fn module_path() {}

use cached_core::{cache, cache_put, entries, entry, invalidates};

static CALLS: ::std::sync::atomic::AtomicU32 = ::std::sync::atomic::AtomicU32::new(0);

#[cache(ttl = 60, capacity = 10)]
fn shadowed(x: u32) -> ::core::result::Result<u32, ()> {
    CALLS.fetch_add(1, ::std::sync::atomic::Ordering::SeqCst);
    ::core::result::Result::Ok(x)
}

#[cache(key = x, ttl = ::std::time::Duration::from_secs(5), unless = |_: &u32| false)]
async fn shadowed_async(x: u32) -> u32 {
    x
}

#[cache(tags = ["shadowed"])]
fn tagged(x: u32) -> u32 {
    x
}

#[invalidates(shadowed, tagged(x), tag = "shadowed")]
#[cache_put(tagged(x) = x + 1)]
fn writes(x: u32) -> ::core::result::Result<u32, ()> {
    ::core::result::Result::Ok(x)
}

#[derive(cached_core::CacheKey)]
struct Key {
    a: u32,
}

#[derive(cached_core::CacheKey)]
enum Kind {
    A(u8),
    B { b: u16 },
}

#[test]
fn expansion_survives_shadowing() {
    assert_eq!(shadowed(1), ::core::result::Result::Ok(1));
    assert_eq!(shadowed(1), ::core::result::Result::Ok(1));
    assert_eq!(CALLS.load(::std::sync::atomic::Ordering::SeqCst), 1);
    let runtime = ::tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(runtime.block_on(shadowed_async(2)), 2);
    assert_eq!(tagged(4), 4);
    assert_eq!(writes(4), ::core::result::Result::Ok(4));
    assert_eq!(tagged(4), 5);
    assert_eq!(entry!(tagged(4)).peek(), ::core::option::Option::Some(5));
    assert_eq!(entries!(tagged).invalidate(), 1);
}
