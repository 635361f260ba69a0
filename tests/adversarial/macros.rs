//! Regressions of the attribute macros.
//!
//! A return type that reaches an attribute through a `macro_rules!` `$t:ty` fragment arrives as
//! an invisible group (`Type::Group`), not as a path: `#[cache]`, `#[invalidates]` and
//! `#[cache_put]` must all still see that it is a `Result` and act on `Ok` only. Each test has
//! its own functions and counters, so tests running in parallel share nothing.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

use cached_core::{cache, cache_put, invalidates};

/// Declares, in module `$module`, a cached `stock` (its body runs counted in `RUNS`) and a
/// `restock` that invalidates it, with the return type `$returns` of `restock` given as a
/// `$t:ty` fragment. `restock(id, true)` fails.
macro_rules! invalidates_through_a_fragment {
    ($module:ident, $returns:ty) => {
        #[allow(unused_parens)] // one instance gives the type in parentheses, on purpose
        mod $module {
            use super::*;

            pub(super) static RUNS: AtomicU32 = AtomicU32::new(0);

            #[cache]
            pub(super) fn stock(id: u32) -> u32 {
                RUNS.fetch_add(1, SeqCst);
                id * 10
            }

            #[invalidates(stock(id))]
            pub(super) fn restock(id: u32, fail: bool) -> $returns {
                let _ = id;
                if fail {
                    return Err("the warehouse is closed".to_owned());
                }
                Ok(())
            }
        }
    };
}

invalidates_through_a_fragment!(fragment, Result<(), String>);
invalidates_through_a_fragment!(parenthesised, (Result<(), String>));

#[test]
fn invalidates_through_a_ty_fragment_keeps_the_entry_after_err() {
    use fragment::{restock, stock, RUNS};
    assert_eq!(stock(1), 10);
    assert_eq!(RUNS.load(SeqCst), 1);

    assert!(restock(1, true).is_err());
    assert_eq!(stock(1), 10);
    assert_eq!(
        RUNS.load(SeqCst),
        1,
        "a failed `#[invalidates]` function invalidated the entry"
    );

    // Control: a success does invalidate.
    assert!(restock(1, false).is_ok());
    assert_eq!(stock(1), 10);
    assert_eq!(RUNS.load(SeqCst), 2, "a successful call did not invalidate");
}

#[test]
fn invalidates_through_a_parenthesised_ty_fragment_keeps_the_entry_after_err() {
    use parenthesised::{restock, stock, RUNS};
    assert_eq!(stock(2), 20);
    assert!(restock(2, true).is_err());
    assert_eq!(stock(2), 20);
    assert_eq!(
        RUNS.load(SeqCst),
        1,
        "a failed `#[invalidates]` function invalidated the entry"
    );

    assert!(restock(2, false).is_ok());
    assert_eq!(stock(2), 20);
    assert_eq!(RUNS.load(SeqCst), 2, "a successful call did not invalidate");
}

/// `#[cache_put(f(args) = <expr>)]` on a function whose `Result` arrives as a fragment.
macro_rules! put_expr_through_a_fragment {
    ($returns:ty) => {
        static PRICE_RUNS: AtomicU32 = AtomicU32::new(0);

        #[cache]
        fn price(id: u32) -> u32 {
            PRICE_RUNS.fetch_add(1, SeqCst);
            id
        }

        #[cache_put(price(id) = value)]
        fn set_price(id: u32, value: u32) -> $returns {
            let _ = id;
            if value == 0 {
                return Err("a price of 0 is refused".to_owned());
            }
            Ok(())
        }
    };
}

put_expr_through_a_fragment!(Result<(), String>);

#[test]
fn cache_put_through_a_ty_fragment_stores_nothing_after_err() {
    assert_eq!(price(3), 3);
    assert!(set_price(3, 0).is_err());
    assert_eq!(
        price(3),
        3,
        "a failed `#[cache_put]` function stored its value"
    );
    assert_eq!(PRICE_RUNS.load(SeqCst), 1);

    // Control: a success stores the value, and the read does not run the body.
    assert!(set_price(3, 42).is_ok());
    assert_eq!(price(3), 42);
    assert_eq!(PRICE_RUNS.load(SeqCst), 1);
}

/// `#[cache_put(f(args))]` (store the returned `Ok` value) on a function whose `Result` arrives
/// as a fragment, and a `#[cache]` function whose `Result` arrives as one (caches `Ok` only).
macro_rules! put_returned_through_a_fragment {
    ($read:ty, $write:ty) => {
        static SCORE_RUNS: AtomicU32 = AtomicU32::new(0);

        #[cache]
        fn score(player: u32) -> $read {
            SCORE_RUNS.fetch_add(1, SeqCst);
            if player == 0 {
                return Err("no player 0".to_owned());
            }
            Ok(player)
        }

        #[cache_put(score(player))]
        fn set_score(player: u32, points: u32) -> $write {
            let _ = player;
            if points > 100 {
                return Err("too many points".to_owned());
            }
            Ok(points)
        }
    };
}

put_returned_through_a_fragment!(Result<u32, String>, Result<u32, String>);

#[test]
fn cache_put_of_the_returned_value_through_a_ty_fragment_stores_the_ok_value_only() {
    assert_eq!(score(4), Ok(4));
    assert_eq!(set_score(4, 1000), Err("too many points".to_owned()));
    assert_eq!(
        score(4),
        Ok(4),
        "a failed `#[cache_put]` function stored a value"
    );
    assert_eq!(SCORE_RUNS.load(SeqCst), 1);

    assert_eq!(set_score(4, 42), Ok(42));
    assert_eq!(score(4), Ok(42));
    assert_eq!(
        SCORE_RUNS.load(SeqCst),
        1,
        "the stored `Ok` value was not read"
    );

    // The cached function's own `Result` through a fragment: an `Err` is not cached.
    assert!(score(0).is_err());
    assert!(score(0).is_err());
    assert_eq!(SCORE_RUNS.load(SeqCst), 3, "an `Err` was cached");
}
