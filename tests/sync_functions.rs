//! `#[cache]` on plain functions: keys, TTL, capacity, `unless`, `Result`, references.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use cached_core::cache;

macro_rules! counter {
    ($name:ident) => {
        static $name: AtomicU32 = AtomicU32::new(0);
    };
}

counter!(SQUARES);
#[cache]
fn square(x: u64) -> u64 {
    SQUARES.fetch_add(1, SeqCst);
    x * x
}

#[test]
fn a_repeated_call_returns_the_stored_value() {
    assert_eq!(square(3), 9);
    assert_eq!(square(3), 9);
    assert_eq!(square(4), 16);
    assert_eq!(square(3), 9);
    assert_eq!(SQUARES.load(SeqCst), 2);
}

counter!(GREETINGS);
#[cache]
fn greet(name: &str, times: usize) -> String {
    GREETINGS.fetch_add(1, SeqCst);
    name.repeat(times)
}

#[test]
fn reference_parameters_are_copied_into_the_key() {
    let first = String::from("ab");
    assert_eq!(greet(&first, 2), "abab");
    drop(first);
    let second = String::from("ab");
    assert_eq!(greet(&second, 2), "abab");
    assert_eq!(GREETINGS.load(SeqCst), 1);
    // Every parameter is part of the key.
    assert_eq!(greet("ab", 3), "ababab");
    assert_eq!(greet("a", 2), "aa");
    assert_eq!(GREETINGS.load(SeqCst), 3);
}

counter!(SLICES);
#[cache]
fn total(values: &[u32], label: Option<&str>) -> u64 {
    SLICES.fetch_add(1, SeqCst);
    values.iter().map(|&v| u64::from(v)).sum::<u64>() + label.map_or(0, |l| l.len() as u64)
}

#[test]
fn slices_and_options_are_keys() {
    assert_eq!(total(&[1, 2], None), 3);
    assert_eq!(total(&Vec::from([1, 2]), None), 3);
    assert_eq!(total(&[1, 2], Some("x")), 4);
    assert_eq!(total(&[12], None), 12);
    assert_eq!(SLICES.load(SeqCst), 3);
}

counter!(USERS);
#[cache(key = format!("user:{id}"))]
fn user(id: u64, _request_id: u128) -> String {
    USERS.fetch_add(1, SeqCst);
    format!("user #{id}")
}

#[test]
fn an_explicit_key_leaves_other_parameters_out() {
    assert_eq!(user(1, 100), "user #1");
    assert_eq!(user(1, 200), "user #1");
    assert_eq!(user(2, 100), "user #2");
    assert_eq!(USERS.load(SeqCst), 2);
}

counter!(LABELS);
#[cache(key = (tenant, name))]
fn label(tenant: u32, name: String, _verbose: bool) -> String {
    LABELS.fetch_add(1, SeqCst);
    // The key expression did not move `name`: the body still owns it.
    format!("{tenant}/{name}")
}

#[test]
fn a_key_expression_does_not_move_parameters() {
    assert_eq!(label(1, "a".into(), true), "1/a");
    assert_eq!(label(1, "a".into(), false), "1/a");
    assert_eq!(label(2, "a".into(), false), "2/a");
    assert_eq!(LABELS.load(SeqCst), 2);
}

counter!(SHORT_LIVED);
#[cache(ttl = Duration::from_millis(150))]
fn short_lived(x: u32) -> u32 {
    SHORT_LIVED.fetch_add(1, SeqCst) + x
}

#[test]
fn an_entry_older_than_its_ttl_is_not_returned() {
    let first = short_lived(0);
    // Past the TTL however slow the machine: the sleep starts after the entry was stored.
    std::thread::sleep(Duration::from_millis(400));
    let second = short_lived(0);
    assert_ne!(first, second, "the expired entry was returned");
    assert_eq!(SHORT_LIVED.load(SeqCst), 2);
}

counter!(LONG_LIVED);
#[cache(ttl = 3600)]
fn long_lived(x: u32) -> u32 {
    LONG_LIVED.fetch_add(1, SeqCst);
    x
}

#[test]
fn an_entry_within_its_ttl_is_returned() {
    long_lived(1);
    // Time passes, an hour short of the TTL: no machine is that slow.
    std::thread::sleep(Duration::from_millis(50));
    long_lived(1);
    assert_eq!(LONG_LIVED.load(SeqCst), 1);
}

counter!(SMALL);
#[cache(capacity = 2)]
fn small(x: u32) -> u32 {
    SMALL.fetch_add(1, SeqCst);
    x
}

#[test]
fn the_least_recently_used_entry_is_evicted_first() {
    small(1);
    small(2);
    small(1); // 2 is now the least recently used
    small(3); // evicts 2
    assert_eq!(SMALL.load(SeqCst), 3);
    small(1);
    small(3);
    assert_eq!(SMALL.load(SeqCst), 3, "1 and 3 should still be cached");
    small(2);
    assert_eq!(SMALL.load(SeqCst), 4, "2 should have been evicted");
}

counter!(LOOKUPS);
#[cache(unless = Option::is_none)]
fn lookup(id: u32) -> Option<String> {
    LOOKUPS.fetch_add(1, SeqCst);
    id.is_multiple_of(2).then(|| format!("even {id}"))
}

#[test]
fn unless_returns_a_value_without_storing_it() {
    assert_eq!(lookup(1), None);
    assert_eq!(lookup(1), None);
    assert_eq!(LOOKUPS.load(SeqCst), 2);
    assert_eq!(lookup(2).as_deref(), Some("even 2"));
    assert_eq!(lookup(2).as_deref(), Some("even 2"));
    assert_eq!(LOOKUPS.load(SeqCst), 3);
}

counter!(MAYBE);
#[cache]
fn maybe(id: u32) -> Option<u32> {
    MAYBE.fetch_add(1, SeqCst);
    None.filter(|_| id > 0)
}

#[test]
fn none_is_stored_like_any_other_value() {
    assert_eq!(maybe(1), None);
    assert_eq!(maybe(1), None);
    assert_eq!(MAYBE.load(SeqCst), 1);
}

counter!(PARSES);
#[cache(unless = |v: &u32| *v == 0)]
fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
    PARSES.fetch_add(1, SeqCst);
    let n: u32 = text.trim().parse()?;
    if n > 1000 {
        return Ok(1000);
    }
    Ok(n)
}

#[test]
fn only_ok_values_of_a_result_are_stored() {
    assert!(parse("x").is_err());
    assert!(parse("x").is_err());
    assert_eq!(PARSES.load(SeqCst), 2, "an Err must not be stored");
    assert_eq!(parse("7"), Ok(7));
    assert_eq!(parse("7"), Ok(7));
    assert_eq!(PARSES.load(SeqCst), 3);
    assert_eq!(
        parse("5000"),
        Ok(1000),
        "an early `return` keeps its meaning"
    );
    assert_eq!(parse("0"), Ok(0));
    assert_eq!(parse("0"), Ok(0));
    assert_eq!(PARSES.load(SeqCst), 6, "`unless` applies to the Ok value");
}

mod io_result {
    use super::*;
    counter!(READS);

    /// A `Result` alias is a `Result` too: its last path segment decides.
    #[cache]
    pub fn read(fail: bool) -> std::io::Result<u32> {
        READS.fetch_add(1, SeqCst);
        if fail {
            Err(std::io::Error::other("disk"))
        } else {
            Ok(1)
        }
    }

    #[test]
    fn a_result_alias_caches_ok_only() {
        assert!(read(true).is_err());
        assert!(read(true).is_err());
        read(false).ok();
        read(false).ok();
        assert_eq!(READS.load(SeqCst), 3);
    }
}

counter!(GENERIC);
/// Generic functions get one cache per value type.
#[cache]
fn describe<T>(value: T) -> (T, String)
where
    T: cached_core::CacheKey + std::fmt::Debug + Clone + Send + Sync + 'static,
{
    GENERIC.fetch_add(1, SeqCst);
    (value.clone(), format!("{value:?}"))
}

#[test]
fn a_generic_function_caches_per_value_type() {
    assert_eq!(describe(5u8).1, "5");
    assert_eq!(describe(5u8).1, "5");
    assert_eq!(describe(String::from("5")).1, "\"5\"");
    assert_eq!(describe(String::from("5")).1, "\"5\"");
    assert_eq!(GENERIC.load(SeqCst), 2);
}

counter!(UNITS);
#[cache]
#[inline(never)]
pub(crate) fn warm_up() {
    UNITS.fetch_add(1, SeqCst);
}

#[test]
fn functions_without_parameters_or_return_value_run_once() {
    warm_up();
    warm_up();
    assert_eq!(UNITS.load(SeqCst), 1);
}

counter!(MUTS);
#[cache(key = seed)]
fn shuffle(mut seed: u64, mut out: Vec<u64>) -> Vec<u64> {
    MUTS.fetch_add(1, SeqCst);
    seed = seed.wrapping_mul(3);
    out.push(seed);
    out
}

#[test]
fn mutable_parameters_work() {
    assert_eq!(shuffle(2, vec![]), [6]);
    assert_eq!(shuffle(2, vec![1]), [6]);
    assert_eq!(MUTS.load(SeqCst), 1);
}

counter!(NAMES);
/// The closure's parameter type is inferred from the value type.
#[cache(unless = |name| name.is_empty())]
fn nickname(id: u32) -> String {
    NAMES.fetch_add(1, SeqCst);
    if id == 0 {
        String::new()
    } else {
        format!("n{id}")
    }
}

#[test]
fn an_unless_closure_needs_no_type_annotation() {
    assert_eq!(nickname(0), "");
    assert_eq!(nickname(0), "");
    assert_eq!(nickname(1), "n1");
    assert_eq!(nickname(1), "n1");
    assert_eq!(NAMES.load(SeqCst), 3);
}

counter!(FIBS);
/// Recursion through the cache: each `n` is computed once, as with `functools.lru_cache`.
#[cache]
fn fib(n: u64) -> u64 {
    FIBS.fetch_add(1, SeqCst);
    if n < 2 {
        n
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

#[test]
fn recursive_calls_are_memoized() {
    assert_eq!(fib(90), 2_880_067_194_370_816_120);
    assert_eq!(FIBS.load(SeqCst), 91);
}

counter!(SIGNS);
/// One-word keys: negative integers, `bool` and `char` stay distinct.
#[cache]
fn sign(x: i64) -> i64 {
    SIGNS.fetch_add(1, SeqCst);
    x.signum()
}

counter!(FLAGS);
#[cache]
fn flag(on: bool) -> &'static str {
    FLAGS.fetch_add(1, SeqCst);
    if on {
        "on"
    } else {
        "off"
    }
}

counter!(LETTERS);
#[cache]
fn upper(letter: char) -> char {
    LETTERS.fetch_add(1, SeqCst);
    letter.to_ascii_uppercase()
}

#[test]
fn one_word_keys_keep_values_apart() {
    assert_eq!((sign(-1), sign(1), sign(0), sign(i64::MIN)), (-1, 1, 0, -1));
    assert_eq!((sign(-1), sign(1), sign(0), sign(i64::MIN)), (-1, 1, 0, -1));
    assert_eq!(SIGNS.load(SeqCst), 4);
    assert_eq!((flag(true), flag(false), flag(true)), ("on", "off", "on"));
    assert_eq!(FLAGS.load(SeqCst), 2);
    assert_eq!((upper('a'), upper('b'), upper('a')), ('A', 'B', 'A'));
    assert_eq!(LETTERS.load(SeqCst), 2);
}
