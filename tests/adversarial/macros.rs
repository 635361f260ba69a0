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

// ---- Naming entries by a path: what the call looks like, it stays ---------------------------
//
// Found by review of the fallback that reports a function without `#[cache]`: the arguments
// were bound with `let` first (a `&mut self` was moved, a temporary died too soon), a turbofish
// resolved under the glob import, `<Type>::f` lost its type, a raw name broke the expansion.

mod shelf {
    use cached_core::cache;

    #[cache]
    pub fn search(query: &str) -> usize {
        query.len()
    }

    /// A type of the same name as one at the crate root.
    #[derive(Clone, Copy)]
    pub struct Item(pub u8);

    #[cache]
    pub fn echo<T: cached_core::CacheKey + Clone + Send + Sync + 'static>(value: T) -> u32 {
        let _ = value;
        1
    }

    #[cache]
    pub fn r#match(id: u32) -> u32 {
        id
    }
}

#[derive(Clone, Copy, cached_core::CacheKey)]
struct Item(u32);

struct Names {
    tenant: u32,
    names: Vec<String>,
}

impl Names {
    #[cache(key = (self.tenant, id))]
    fn name(&self, id: u32) -> String {
        self.names[id as usize].clone()
    }

    /// `self` is `&mut Self` here, and the companion takes `&Self`: it is reborrowed.
    #[invalidates(Self::name(self, id))]
    fn rename(&mut self, id: u32, to: &str) {
        self.names[id as usize] = to.to_owned();
    }
}

#[test]
fn a_mut_self_argument_is_reborrowed_not_moved() {
    let mut names = Names {
        tenant: 1,
        names: vec!["ann".into()],
    };
    assert_eq!(names.name(0), "ann");
    names.rename(0, "bea");
    assert_eq!(names.name(0), "bea");
}

#[test]
fn a_temporary_in_an_argument_lives_to_the_end_of_the_statement() {
    let query = "  Rust ";
    shelf::search(query.trim().to_lowercase().as_str());
    assert_eq!(
        cached_core::entry!(shelf::search(query.trim().to_lowercase().as_str())).peek(),
        Some(4)
    );
}

#[test]
fn a_turbofish_names_the_callers_types() {
    shelf::echo(Item(1));
    assert_eq!(
        cached_core::entry!(shelf::echo::<Item>(Item(1))).peek(),
        Some(1)
    );
    let _ = shelf::Item(0).0;
}

struct Shop;

impl Shop {
    #[cache]
    fn title(id: u32) -> String {
        format!("title {id}")
    }
}

trait Titled {
    fn titled(&self, id: u32) -> String;
}

#[cache]
impl Titled for Shop {
    #[cache]
    fn titled(&self, id: u32) -> String {
        format!("titled {id}")
    }
}

#[test]
fn a_method_named_through_its_trait_is_found() {
    Shop.titled(3);
    assert_eq!(
        cached_core::entry!(<Shop as Titled>::titled(3))
            .peek()
            .as_deref(),
        Some("titled 3")
    );
}

#[test]
fn a_qualified_self_type_and_a_raw_name_are_named_like_the_call() {
    Shop::title(1);
    assert_eq!(
        cached_core::entry!(<Shop>::title(1)).peek().as_deref(),
        Some("title 1")
    );
    shelf::r#match(2);
    assert_eq!(cached_core::entry!(shelf::r#match(2)).peek(), Some(2));
}

// ---- A key check that lists the parameters rejects no valid key ------------------------------

fn normalize(tag: &str) -> String {
    tag.trim().to_lowercase()
}

#[allow(non_upper_case_globals)]
static salt: u32 = 7;

#[cache(key = tags.split(',').map(normalize).collect::<Vec<String>>())]
fn count(tags: &str) -> usize {
    tags.split(',').count()
}

#[cache(key = (id, salt, { let doubled = id * 2; doubled + 1 }))]
fn salted(id: u32) -> u32 {
    id + salt
}

#[test]
fn a_key_may_pass_functions_and_read_statics_and_blocks() {
    assert_eq!(count("A, b"), 2);
    assert_eq!(count("a,B "), 2);
    assert_eq!(salted(1), 8);
}
