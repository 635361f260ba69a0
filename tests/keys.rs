//! Key encoding: `#[derive(CacheKey)]` and the injectivity of the byte encoding.

use cached_core::{encode_key, CacheKey};
use proptest::prelude::*;

#[derive(CacheKey, Debug, Clone, PartialEq)]
struct Page {
    category: String,
    number: u32,
}

#[derive(CacheKey, Debug, Clone, PartialEq)]
struct Pair(String, String);

#[derive(CacheKey)]
struct Unit;

#[derive(CacheKey, Debug, Clone, PartialEq)]
enum Listing {
    All,
    Category(u32),
    Search { text: String, page: u32 },
}

#[derive(CacheKey)]
struct Generic<T> {
    inner: Option<T>,
}

#[test]
fn a_struct_encodes_as_the_tuple_of_its_fields() {
    let page = Page {
        category: "sport".into(),
        number: 2,
    };
    assert_eq!(encode_key(&page), encode_key(&("sport", 2u32)));
    assert_eq!(encode_key(&Unit), encode_key(&()));
    assert_eq!(
        encode_key(&Generic { inner: Some(1u8) }),
        encode_key(&Some(1u8))
    );
}

#[test]
fn an_enum_encodes_its_variant_then_its_fields() {
    assert_eq!(encode_key(&Listing::All), [0]);
    assert_eq!(encode_key(&Listing::Category(7)), [1, 0, 0, 0, 7]);
    assert_eq!(
        encode_key(&Listing::Search {
            text: "a".into(),
            page: 1
        }),
        [2, 1, b'a', 0, 0, 0, 1]
    );
}

fn text() -> impl Strategy<Value = String> {
    // A small alphabet with separators, so that different splits of the same characters
    // come up often.
    "[ab:|]{0,4}"
}

fn listing() -> impl Strategy<Value = Listing> {
    prop_oneof![
        Just(Listing::All),
        (0u32..3).prop_map(Listing::Category),
        (text(), 0u32..3).prop_map(|(text, page)| Listing::Search { text, page }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn string_pairs_are_injective(a in (text(), text()), b in (text(), text())) {
        prop_assert_eq!(a == b, encode_key(&a) == encode_key(&b));
        let (x, y) = (Pair(a.0.clone(), a.1.clone()), Pair(b.0.clone(), b.1.clone()));
        prop_assert_eq!(x == y, encode_key(&x) == encode_key(&y));
    }

    #[test]
    fn nested_values_are_injective(
        a in prop::collection::vec((prop::option::of(text()), listing()), 0..3),
        b in prop::collection::vec((prop::option::of(text()), listing()), 0..3),
    ) {
        prop_assert_eq!(a == b, encode_key(&a) == encode_key(&b));
    }

    #[test]
    fn sequences_of_bytes_are_injective(
        a in prop::collection::vec(prop::collection::vec(0u8..3, 0..3), 0..4),
        b in prop::collection::vec(prop::collection::vec(0u8..3, 0..3), 0..4),
    ) {
        prop_assert_eq!(a == b, encode_key(&a) == encode_key(&b));
    }
}
