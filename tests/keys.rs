//! Key encoding: `#[derive(CacheKey)]` and the injectivity of the byte encoding, within one type
//! and across types.

use cached_core::{encode_key, CacheKey, KeyEncoder};
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

#[derive(CacheKey, Debug, Clone, PartialEq)]
struct UserId(u32);

#[derive(CacheKey, Debug, Clone, PartialEq)]
struct OrderId(u32);

#[allow(non_camel_case_types)]
#[derive(CacheKey)]
struct r#type(u8);

/// Compiles: an enum without variants has no value to encode.
#[allow(dead_code)]
#[derive(CacheKey)]
enum Never {}

/// The header of a derived type declared in this file: its tag and the id of its path.
fn header(tag: u8, name: &str) -> Vec<u8> {
    let path = format!("{}::{name}", module_path!());
    let mut hash: u32 = 0x811c_9dc5;
    for byte in path.bytes() {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    let mut bytes = vec![tag];
    bytes.extend(hash.to_be_bytes());
    bytes
}

#[test]
fn a_struct_encodes_its_header_then_its_fields() {
    let page = Page {
        category: "sport".into(),
        number: 2,
    };
    let mut expected = header(0x30, "Page");
    expected.extend([0x06, 5]);
    expected.extend(b"sport");
    expected.extend([0x12, 0, 0, 0, 2]);
    assert_eq!(encode_key(&page), expected);
    assert_eq!(
        KeyEncoder::__derived_struct(concat!(module_path!(), "::Page")).to_vec(),
        header(0x30, "Page")
    );
    assert_eq!(encode_key(&Unit), header(0x30, "Unit"));
    assert_eq!(encode_key(&r#type(1))[..5], header(0x30, "type"));
    let mut generic = header(0x30, "Generic");
    generic.extend([0x04, 0x10, 1]);
    assert_eq!(encode_key(&Generic { inner: Some(1u8) }), generic);
}

#[test]
fn an_enum_encodes_its_header_its_variant_then_its_fields() {
    let listing = header(0x31, "Listing");
    let with = |tail: &[u8]| [listing.as_slice(), tail].concat();
    assert_eq!(encode_key(&Listing::All), with(&[0]));
    assert_eq!(
        encode_key(&Listing::Category(7)),
        with(&[1, 0x12, 0, 0, 0, 7])
    );
    assert_eq!(
        encode_key(&Listing::Search {
            text: "a".into(),
            page: 1
        }),
        with(&[2, 0x06, 1, b'a', 0x12, 0, 0, 0, 1])
    );
}

#[test]
fn derived_types_of_the_same_shape_differ() {
    assert_ne!(encode_key(&UserId(7)), encode_key(&OrderId(7)));
    assert_ne!(encode_key(&UserId(7)), encode_key(&7u32));
    assert_ne!(encode_key(&UserId(7)), encode_key(&(7u32,)));
    assert_ne!(encode_key(&Unit), encode_key(&()));
    mod other {
        #[derive(cached_core::CacheKey)]
        pub struct UserId(pub u32);
    }
    assert_ne!(encode_key(&UserId(7)), encode_key(&other::UserId(7)));
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

/// A key of one of many types, and what it is as a value: equal models if and only if equal
/// bytes is the promise of `CacheKey` across types.
#[derive(Debug, Clone)]
enum AnyKey {
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    U128(u128),
    Usize(usize),
    I8(i8),
    I32(i32),
    I64(i64),
    Isize(isize),
    Bool(bool),
    Char(char),
    Str(String),
    Unit(()),
    OptU8(Option<u8>),
    OptStr(Option<String>),
    OptOptBool(Option<Option<bool>>),
    VecU8(Vec<u8>),
    VecStr(Vec<String>),
    VecPair(Vec<(u8, bool)>),
    Array([u16; 2]),
    One((u8,)),
    PairU8((u8, u8)),
    PairStrU32((String, u32)),
    Left(((u8, u8), u8)),
    Right((u8, (u8, u8))),
    User(UserId),
    Order(OrderId),
    Listing(Listing),
    Page(Page),
}

/// A key as a value of no particular type: what the encoding is meant to tell apart.
#[derive(Debug, PartialEq)]
enum Model {
    Int {
        bits: u32,
        signed: bool,
        value: i128,
    },
    Bool(bool),
    Char(char),
    Str(String),
    Option(Option<Box<Model>>),
    Sequence(Vec<Model>),
    Tuple(Vec<Model>),
    Struct(&'static str, Vec<Model>),
    Enum(&'static str, usize, Vec<Model>),
}

fn unsigned(bits: u32, value: u128) -> Model {
    Model::Int {
        bits,
        signed: false,
        value: value as i128,
    }
}

fn signed(bits: u32, value: i128) -> Model {
    Model::Int {
        bits,
        signed: true,
        value,
    }
}

fn str_model(s: &str) -> Model {
    Model::Str(s.to_owned())
}

fn option<T>(value: &Option<T>, model: impl Fn(&T) -> Model) -> Model {
    Model::Option(value.as_ref().map(|v| Box::new(model(v))))
}

fn listing_model(listing: &Listing) -> Model {
    match listing {
        Listing::All => Model::Enum("Listing", 0, vec![]),
        Listing::Category(c) => Model::Enum("Listing", 1, vec![unsigned(32, (*c).into())]),
        Listing::Search { text, page } => Model::Enum(
            "Listing",
            2,
            vec![str_model(text), unsigned(32, (*page).into())],
        ),
    }
}

impl AnyKey {
    fn encode(&self) -> Vec<u8> {
        match self {
            AnyKey::U8(v) => encode_key(v),
            AnyKey::U16(v) => encode_key(v),
            AnyKey::U32(v) => encode_key(v),
            AnyKey::U64(v) => encode_key(v),
            AnyKey::U128(v) => encode_key(v),
            AnyKey::Usize(v) => encode_key(v),
            AnyKey::I8(v) => encode_key(v),
            AnyKey::I32(v) => encode_key(v),
            AnyKey::I64(v) => encode_key(v),
            AnyKey::Isize(v) => encode_key(v),
            AnyKey::Bool(v) => encode_key(v),
            AnyKey::Char(v) => encode_key(v),
            AnyKey::Str(v) => encode_key(v),
            AnyKey::Unit(v) => encode_key(v),
            AnyKey::OptU8(v) => encode_key(v),
            AnyKey::OptStr(v) => encode_key(v),
            AnyKey::OptOptBool(v) => encode_key(v),
            AnyKey::VecU8(v) => encode_key(v),
            AnyKey::VecStr(v) => encode_key(v),
            AnyKey::VecPair(v) => encode_key(v),
            AnyKey::Array(v) => encode_key(v),
            AnyKey::One(v) => encode_key(v),
            AnyKey::PairU8(v) => encode_key(v),
            AnyKey::PairStrU32(v) => encode_key(v),
            AnyKey::Left(v) => encode_key(v),
            AnyKey::Right(v) => encode_key(v),
            AnyKey::User(v) => encode_key(v),
            AnyKey::Order(v) => encode_key(v),
            AnyKey::Listing(v) => encode_key(v),
            AnyKey::Page(v) => encode_key(v),
        }
    }

    fn model(&self) -> Model {
        let u8m = |v: &u8| unsigned(8, (*v).into());
        match self {
            AnyKey::U8(v) => u8m(v),
            AnyKey::U16(v) => unsigned(16, (*v).into()),
            AnyKey::U32(v) => unsigned(32, (*v).into()),
            AnyKey::U64(v) => unsigned(64, (*v).into()),
            AnyKey::U128(v) => unsigned(128, *v),
            AnyKey::Usize(v) => unsigned(64, *v as u128), // a `usize` is a `u64`
            AnyKey::I8(v) => signed(8, (*v).into()),
            AnyKey::I32(v) => signed(32, (*v).into()),
            AnyKey::I64(v) => signed(64, (*v).into()),
            AnyKey::Isize(v) => signed(64, *v as i128), // an `isize` is an `i64`
            AnyKey::Bool(v) => Model::Bool(*v),
            AnyKey::Char(v) => Model::Char(*v),
            AnyKey::Str(v) => str_model(v),
            AnyKey::Unit(()) => Model::Tuple(vec![]),
            AnyKey::OptU8(v) => option(v, u8m),
            AnyKey::OptStr(v) => option(v, |s| str_model(s)),
            AnyKey::OptOptBool(v) => option(v, |inner| option(inner, |b| Model::Bool(*b))),
            AnyKey::VecU8(v) => Model::Sequence(v.iter().map(u8m).collect()),
            AnyKey::VecStr(v) => Model::Sequence(v.iter().map(|s| str_model(s)).collect()),
            AnyKey::VecPair(v) => Model::Sequence(
                v.iter()
                    .map(|(a, b)| Model::Tuple(vec![u8m(a), Model::Bool(*b)]))
                    .collect(),
            ),
            AnyKey::Array(v) => {
                Model::Sequence(v.iter().map(|x| unsigned(16, (*x).into())).collect())
            }
            AnyKey::One((a,)) => Model::Tuple(vec![u8m(a)]),
            AnyKey::PairU8((a, b)) => Model::Tuple(vec![u8m(a), u8m(b)]),
            AnyKey::PairStrU32((a, b)) => {
                Model::Tuple(vec![str_model(a), unsigned(32, (*b).into())])
            }
            AnyKey::Left(((a, b), c)) => {
                Model::Tuple(vec![Model::Tuple(vec![u8m(a), u8m(b)]), u8m(c)])
            }
            AnyKey::Right((a, (b, c))) => {
                Model::Tuple(vec![u8m(a), Model::Tuple(vec![u8m(b), u8m(c)])])
            }
            AnyKey::User(UserId(v)) => Model::Struct("UserId", vec![unsigned(32, (*v).into())]),
            AnyKey::Order(OrderId(v)) => Model::Struct("OrderId", vec![unsigned(32, (*v).into())]),
            AnyKey::Listing(v) => listing_model(v),
            AnyKey::Page(Page { category, number }) => Model::Struct(
                "Page",
                vec![str_model(category), unsigned(32, (*number).into())],
            ),
        }
    }
}

/// Keys of many types whose values are small, so that the same numbers, characters and
/// lengths come up in several types at once.
fn any_key() -> impl Strategy<Value = AnyKey> {
    let small = 0u8..3;
    prop_oneof![
        small.clone().prop_map(AnyKey::U8),
        (0u16..600).prop_map(AnyKey::U16),
        (0u32..3).prop_map(AnyKey::U32),
        (0u64..3).prop_map(AnyKey::U64),
        (0u128..3).prop_map(AnyKey::U128),
        (0usize..3).prop_map(AnyKey::Usize),
        (-2i8..3).prop_map(AnyKey::I8),
        (-2i32..3).prop_map(AnyKey::I32),
        (-2i64..3).prop_map(AnyKey::I64),
        (-2isize..3).prop_map(AnyKey::Isize),
        any::<bool>().prop_map(AnyKey::Bool),
        prop::char::range('\0', '\u{3}').prop_map(AnyKey::Char),
        text().prop_map(AnyKey::Str),
        Just(AnyKey::Unit(())),
        prop::option::of(small.clone()).prop_map(AnyKey::OptU8),
        prop::option::of(text()).prop_map(AnyKey::OptStr),
        prop::option::of(prop::option::of(any::<bool>())).prop_map(AnyKey::OptOptBool),
        prop::collection::vec(small.clone(), 0..3).prop_map(AnyKey::VecU8),
        prop::collection::vec(text(), 0..3).prop_map(AnyKey::VecStr),
        prop::collection::vec((small.clone(), any::<bool>()), 0..3).prop_map(AnyKey::VecPair),
        (0u16..3, 0u16..3).prop_map(|(a, b)| AnyKey::Array([a, b])),
        small.clone().prop_map(|a| AnyKey::One((a,))),
        (small.clone(), small.clone()).prop_map(AnyKey::PairU8),
        (text(), 0u32..3).prop_map(AnyKey::PairStrU32),
        (small.clone(), small.clone(), small.clone())
            .prop_map(|(a, b, c)| AnyKey::Left(((a, b), c))),
        (small.clone(), small.clone(), small).prop_map(|(a, b, c)| AnyKey::Right((a, (b, c)))),
        (0u32..3).prop_map(|v| AnyKey::User(UserId(v))),
        (0u32..3).prop_map(|v| AnyKey::Order(OrderId(v))),
        listing().prop_map(AnyKey::Listing),
        (text(), 0u32..3).prop_map(|(category, number)| AnyKey::Page(Page { category, number })),
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

    /// Keys of different types never share bytes (but for the exceptions the `CacheKey` docs
    /// list, which the model shares: `usize` is `u64`, `None` and empty sequences say no
    /// element type), and no key is the start of another: concatenations stay apart too.
    #[test]
    fn keys_of_different_types_never_collide(
        a in any_key(), b in any_key(), c in any_key(), d in any_key(),
    ) {
        let (ka, kb) = (a.encode(), b.encode());
        prop_assert_eq!(a.model() == b.model(), ka == kb, "{:?} {:02x?} / {:?} {:02x?}", a, ka, b, kb);
        prop_assert!(ka == kb || !kb.starts_with(&ka), "{:02x?} starts {:02x?}", kb, ka);
        let (first, second) = ([ka, c.encode()].concat(), [kb, d.encode()].concat());
        prop_assert_eq!(
            (a.model(), c.model()) == (b.model(), d.model()),
            first == second
        );
        prop_assert_ne!(first[0], 0xFF, "no key starts with the reserved byte");
    }
}

// ---- Sets and maps ----------------------------------------------------------------------------

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};

#[test]
fn sets_and_maps_have_their_own_tags_and_sorted_entries() {
    let set: BTreeSet<u8> = [2, 1].into();
    assert_eq!(encode_key(&set), [0x08, 2, 0x10, 1, 0x10, 2]);
    let map: BTreeMap<&str, bool> = [("b", true), ("a", false)].into();
    assert_eq!(
        encode_key(&map),
        [0x09, 2, 0x06, 1, b'a', 0x01, 0x06, 1, b'b', 0x02]
    );
}

proptest! {
    /// A `HashMap` or `HashSet` holds its entries in an order of its own (another in each
    /// process): equal ones are still equal keys, and equal to the `BTree` ones.
    #[test]
    fn equal_maps_and_sets_are_equal_keys_whatever_their_order(
        entries in proptest::collection::btree_map(text(), any::<u32>(), 0..20),
    ) {
        let mut reversed = HashMap::new();
        for (key, value) in entries.iter().rev() {
            reversed.insert(key.clone(), *value);
        }
        prop_assert_eq!(encode_key(&entries), encode_key(&reversed));
        let keys: BTreeSet<&String> = entries.keys().collect();
        let hashed: HashSet<&String> = entries.keys().collect();
        prop_assert_eq!(encode_key(&keys), encode_key(&hashed));
    }

    #[test]
    fn different_maps_are_different_keys(
        a in proptest::collection::btree_map(text(), any::<u32>(), 0..6),
        b in proptest::collection::btree_map(text(), any::<u32>(), 0..6),
    ) {
        prop_assert_eq!(a == b, encode_key(&a) == encode_key(&b));
    }
}

static SEARCHES: AtomicU32 = AtomicU32::new(0);

#[cached_core::cache]
fn search(filters: &HashMap<String, String>) -> usize {
    SEARCHES.fetch_add(1, Ordering::SeqCst);
    filters.len()
}

#[test]
fn a_function_keyed_by_a_map_hits_for_an_equal_map() {
    let mut first = HashMap::new();
    first.insert("category".to_owned(), "7".to_owned());
    first.insert("page".to_owned(), "2".to_owned());
    // Another map (another hasher seed, another order) with the same entries.
    let mut second = HashMap::new();
    second.insert("page".to_owned(), "2".to_owned());
    second.insert("category".to_owned(), "7".to_owned());
    assert_eq!(search(&first), 2);
    assert_eq!(search(&second), 2);
    assert_eq!(SEARCHES.load(Ordering::SeqCst), 1);
}
