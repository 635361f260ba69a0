//! Cache keys: the [`CacheKey`] trait and its stable byte encoding.
//!
//! Every key is turned into bytes once, and those bytes are what the stores compare (and, for a
//! remote store, what ends up in the remote key). The encoding is:
//!
//! - **injective**: two different values of one type never share bytes, including inside tuples,
//!   so `("a:b", "c")` and `("a", "b:c")` are different keys;
//! - **self-describing**: every value starts with a *tag* byte that says what kind of value
//!   follows, so keys of different types do not share bytes either (`42u32` and `'*'`,
//!   `("user", 7u64)` and `("user", 0u32, 7u32)`, `UserId(7)` and `OrderId(7)`); see
//!   [`CacheKey`] for exactly what holds;
//! - **stable**: the bytes depend only on the value (and, for a derived type, on its path),
//!   never on the build, the platform or the process, so keys written by one server are found
//!   by the next.
//!
//! Each encoding is also *self-delimiting*: reading the bytes from the start, one can tell where
//! the value ends. That is what makes the concatenation of several keys (a tuple, a struct, the
//! parameters of a function) injective as well. The format (varints are unsigned LEB128,
//! integers are big-endian):
//!
//! | type | tag | then |
//! |---|---|---|
//! | `bool` | `0x01` for `false`, `0x02` for `true` | nothing |
//! | `Option<T>` | `0x03` for `None`, `0x04` for `Some` | nothing; for `Some`, the value |
//! | `char` | `0x05` | its scalar value, 4 bytes |
//! | `str`, `String` | `0x06` | the length in bytes as a varint, then the UTF-8 bytes |
//! | `[T]`, `Vec<T>`, `[T; N]`, `VecDeque<T>` | `0x07` | the length as a varint, then each element |
//! | `BTreeSet<T>`, `HashSet<T>` | `0x08` | the length as a varint, then each element, in the order of their encoded bytes |
//! | `BTreeMap<K, V>`, `HashMap<K, V>` | `0x09` | the length as a varint, then each key and its value, in the order of the keys' encoded bytes |
//! | `u8`, `u16`, `u32`, `u64`, `u128` | `0x10`, `0x11`, `0x12`, `0x13`, `0x14` | the value, 1 to 16 bytes |
//! | `usize` | `0x13` (a `u64`) | the value, 8 bytes, on every platform |
//! | `i8`, `i16`, `i32`, `i64`, `i128` | `0x18`, `0x19`, `0x1A`, `0x1B`, `0x1C` | the value, two's complement, 1 to 16 bytes |
//! | `isize` | `0x1B` (an `i64`) | the value, 8 bytes, on every platform |
//! | `()` and tuples of 1 to 8 elements | `0x20` + the arity (`0x20` to `0x28`) | each element in order |
//! | `#[derive(CacheKey)]` struct | `0x30` | the type's id (4 bytes), then each field in order |
//! | `#[derive(CacheKey)]` enum | `0x31` | the type's id (4 bytes), the variant's index as a varint, then its fields |
//! | `&T`, `&mut T`, `Box<T>`, `Rc<T>`, `Arc<T>`, `Cow<T>` | none of their own | the same bytes as `T` |
//!
//! A derived type's id is the FNV-1a 32-bit hash (big-endian) of its path,
//! `concat!(module_path!(), "::", "Name")` (`my_app::orders::OrderId`), computed at compile time:
//! it keeps apart two derived types of the same shape, stays the same from build to build, and
//! changes when the type is renamed or moved to another module.
//!
//! No other tag is used. `0x00` starts no key, and `0xFF` is reserved: no key starts with it
//! (`FUNCTION_NAMESPACE`, the start of a function's keys in a shared store).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::rc::Rc;
use std::sync::Arc;

/// A value that can identify a cached result.
///
/// Implemented for integers, `bool`, `char`, strings, `Option`, sequences, arrays, sets and
/// maps (`BTreeSet`, `HashSet`, `BTreeMap`, `HashMap`: equal collections are equal keys, in
/// whatever order they hold their entries), tuples up to eight elements and smart pointers; `#[derive(CacheKey)]` implements it for your own structs
/// and enums, field by field. Floating-point numbers are not keys (`NaN != NaN`); key on
/// `f64::to_bits` if you need them.
///
/// # What the encoding promises
///
/// The bytes start with a tag that says what kind of value follows, and end where the value
/// ends (varints are unsigned LEB128, integers are big-endian):
///
/// | type | tag | then |
/// |---|---|---|
/// | `bool` | `0x01` for `false`, `0x02` for `true` | nothing |
/// | `Option<T>` | `0x03` for `None`, `0x04` for `Some` | nothing; for `Some`, the value |
/// | `char` | `0x05` | its scalar value, 4 bytes |
/// | `str`, `String` | `0x06` | the length in bytes as a varint, then the UTF-8 bytes |
/// | `[T]`, `Vec<T>`, `[T; N]`, `VecDeque<T>` | `0x07` | the length as a varint, then each element |
/// | `BTreeSet<T>`, `HashSet<T>` | `0x08` | the length as a varint, then each element, in the order of their encoded bytes |
/// | `BTreeMap<K, V>`, `HashMap<K, V>` | `0x09` | the length as a varint, then each key and its value, in the order of the keys' encoded bytes |
/// | `u8`, `u16`, `u32`, `u64`, `u128` | `0x10`, `0x11`, `0x12`, `0x13`, `0x14` | the value, 1 to 16 bytes |
/// | `usize` | `0x13` (a `u64`) | the value, 8 bytes, on every platform |
/// | `i8`, `i16`, `i32`, `i64`, `i128` | `0x18`, `0x19`, `0x1A`, `0x1B`, `0x1C` | the value, two's complement, 1 to 16 bytes |
/// | `isize` | `0x1B` (an `i64`) | the value, 8 bytes, on every platform |
/// | `()` and tuples of 1 to 8 elements | `0x20` + the arity (`0x20` to `0x28`) | each element in order |
/// | `#[derive(CacheKey)]` struct | `0x30` | the type's id (4 bytes), then each field in order |
/// | `#[derive(CacheKey)]` enum | `0x31` | the type's id (4 bytes), the variant's index as a varint, then its fields |
/// | `&T`, `&mut T`, `Box<T>`, `Rc<T>`, `Arc<T>`, `Cow<T>` | none of their own | the same bytes as `T` |
///
/// A derived type's id is the FNV-1a 32-bit hash (big-endian) of its path,
/// `concat!(module_path!(), "::", "Name")`, computed at compile time: it stays the same from
/// build to build, and changes when the type is renamed or moved to another module (its
/// entries in Redis then become misses). So:
///
/// - two different values of one type never share bytes;
/// - **two keys of different types never share bytes**, nor is one the start of the other (so
///   the concatenations stay apart too), **except**:
///   - where the types are meant to be one key: `&T`, `&mut T`, `Box<T>`, `Rc<T>`, `Arc<T>`,
///     `Cow<T>` encode exactly as `T`; `str` and `String` alike; `[T]`, `Vec<T>`, `[T; N]` and
///     `VecDeque<T>` alike (a sequence); `BTreeSet<T>` and `HashSet<T>` alike (a set);
///     `BTreeMap<K, V>` and `HashMap<K, V>` alike (a map); `usize` as `u64` and `isize` as
///     `i64`;
///   - values that hold no element do not say the element's type: `None::<u32>` and
///     `None::<String>` are the same key, and so are two empty sequences (sets, maps);
///   - a hand-written implementation encodes as what it writes: the `Email` below, which
///     delegates to a `String`, *is* that string as a key (`Email("a@b".into())` and `"a@b"`
///     collide; to keep such a type apart, derive `CacheKey` instead). One that writes raw
///     bytes ([`KeyEncoder::write_raw`]) has no tag, and is outside this promise;
///   - two derived types whose 32-bit ids (a hash of the type's path) are equal: a chance of
///     one in about four billion for a given pair of paths;
///   - two derived types of one name declared inside two functions of one module: their paths
///     are the same (`module_path!()` does not name the function), so their ids are too.
///
/// No key starts with the byte `0xFF` (nor `0x00`): a store shared by cached functions keeps
/// their entries under keys that start with it, apart from every explicit key.
///
/// # Example
///
/// ```
/// use cached_core::{encode_key, CacheKey};
///
/// #[derive(CacheKey)]
/// struct Page {
///     category: u32,
///     number: u32,
/// }
///
/// #[derive(CacheKey)]
/// struct Slot {
///     category: u32,
///     number: u32,
/// }
///
/// let page = encode_key(&Page { category: 7, number: 1 });
/// assert_ne!(page, encode_key(&Slot { category: 7, number: 1 })); // another type
/// assert_ne!(page, encode_key(&(7u32, 1u32))); // a struct is not the tuple of its fields
/// assert_ne!(encode_key(&42u32), encode_key(&'*'));
/// assert_ne!(encode_key(&("a:b", "c")), encode_key(&("a", "b:c")));
/// assert_eq!(encode_key(&String::from("a")), encode_key("a"));
///
/// // Sets and maps: equal collections are equal keys, and not the sequence of their entries.
/// use std::collections::{BTreeMap, HashMap, HashSet};
/// let filters: HashMap<&str, u32> = [("page", 2), ("category", 7)].into();
/// let same: BTreeMap<&str, u32> = [("category", 7), ("page", 2)].into();
/// assert_eq!(encode_key(&filters), encode_key(&same));
/// let tags: HashSet<u32> = [3, 1, 2].into();
/// assert_ne!(encode_key(&tags), encode_key(&vec![1u32, 2, 3]));
/// ```
///
/// # Implementing it by hand
///
/// Delegate to the fields' encodings, so the result stays self-delimiting and starts with a
/// tag. The type then encodes as what it delegates to (here, a string):
///
/// ```
/// use cached_core::{encode_key, CacheKey, KeyEncoder};
///
/// struct Email(String);
///
/// impl CacheKey for Email {
///     fn encode_key(&self, out: &mut KeyEncoder) {
///         // Case does not matter for an e-mail address: equal keys, equal results.
///         self.0.to_lowercase().encode_key(out);
///     }
/// }
///
/// assert_eq!(encode_key(&Email("A@example.com".into())), encode_key("a@example.com"));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a cache key",
    label = "`{Self}` does not implement `CacheKey`",
    note = "keys are integers, `bool`, `char`, strings, `Option`, sequences, tuples, or types with `#[derive(CacheKey)]`",
    note = "to leave a parameter out of the key, name the ones that identify the result: `#[cache(key = ...)]`"
)]
pub trait CacheKey {
    /// Appends this value's bytes to `out`.
    fn encode_key(&self, out: &mut KeyEncoder);
}

/// The growing byte encoding of a key; see [`CacheKey`].
///
/// ```
/// use cached_core::{CacheKey, KeyEncoder};
///
/// let mut out = KeyEncoder::new();
/// "id".encode_key(&mut out);
/// 7u16.encode_key(&mut out);
/// // A string (tag 0x06) of 2 bytes, then a `u16` (tag 0x11).
/// assert_eq!(out.as_bytes(), &[0x06, 2, b'i', b'd', 0x11, 0, 7]);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KeyEncoder {
    bytes: KeyBytes,
}

/// Bytes kept inline before a key spills to the heap: most keys (a few integers, a short
/// string) fit, so building a key allocates nothing.
const INLINE: usize = WORDS * 8;
const WORDS: usize = 3;

/// The bytes of a key.
///
/// Inline keys are kept in whole machine words, written and read a word at a time: the hit
/// path reads a key right after writing it, and a read wider than the writes before it stalls
/// the processor for longer than the rest of the lookup takes. (For the same reason this is a
/// struct of word-sized fields rather than an enum: the compiler builds it in place.) The
/// words hold the bytes in memory order, so [`KeyBytes::as_slice`] is a plain view, and the
/// unused tail stays zero, so equal keys have equal words. A longer key lives in `heap`.
#[derive(Clone, Default)]
pub(crate) struct KeyBytes {
    /// The bytes of a key of at most `INLINE` bytes; zero otherwise.
    words: [u64; WORDS],
    /// The key's length in bytes.
    len: usize,
    /// The bytes of a longer key. Boxed although a `Vec` is on the heap already: the box is
    /// one word where the `Vec` is three, and every short key pays for the field's size.
    #[allow(clippy::box_collection)]
    heap: Option<Box<Vec<u8>>>,
}

impl PartialEq for KeyBytes {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        // One word at a time: left alone, the compiler compares two words with one wide load,
        // which stalls on a key just written a word at a time (see the type's docs).
        // Volatile reads are plain loads the compiler may not merge.
        let word = |words: &[u64; WORDS], i: usize| {
            // SAFETY: `i < WORDS`, so the pointer is in bounds, aligned and initialised.
            unsafe { std::ptr::read_volatile(words.as_ptr().add(i)) }
        };
        self.len == other.len
            && (0..WORDS).all(|i| word(&self.words, i) == word(&other.words, i))
            && self.heap == other.heap
    }
}

impl Eq for KeyBytes {}

impl KeyBytes {
    /// The key's hash under per-store random `seeds`.
    ///
    /// An inline key is hashed from its words, as they were written, with two independent
    /// folded multiplies (the mixing step of foldhash and wyhash): a chain of one multiply per
    /// word would cost more than the rest of a hit. A longer key goes through `fallback`.
    #[inline]
    pub(crate) fn hash(&self, seeds: &[u64; 4], fallback: &impl std::hash::BuildHasher) -> u64 {
        match &self.heap {
            None => {
                let [w0, w1, w2] = self.words;
                folded_multiply(w0 ^ seeds[0], w1 ^ seeds[1])
                    ^ folded_multiply(w2 ^ seeds[2], self.len as u64 ^ seeds[3])
            }
            Some(heap) => fallback.hash_one(heap.as_slice()),
        }
    }

    #[inline]
    pub(crate) fn as_slice(&self) -> &[u8] {
        if let Some(heap) = &self.heap {
            return heap;
        }
        let bytes: *const [u8; INLINE] = self.words.as_ptr().cast();
        // SAFETY: `[u64; WORDS]` is `INLINE` initialised bytes with no padding, and `u8` has
        // no alignment or validity requirement; the view borrows `self.words`.
        let bytes = unsafe { &*bytes };
        &bytes[..self.len]
    }
}

/// The 128-bit product of `a` and `b`, its halves xored.
#[inline]
pub(crate) fn folded_multiply(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

/// Ors `bytes` into `words` from byte offset `at`; the caller checked that they fit.
#[inline]
fn write_words(words: &mut [u64; WORDS], mut at: usize, bytes: &[u8]) {
    for chunk in bytes.chunks(8) {
        let mut buf = [0u8; 8];
        buf[..chunk.len()].copy_from_slice(chunk);
        // Byte k of the chunk at bits 8k: stored with `to_le`, the word's memory holds the
        // bytes in order on every platform.
        let value = u64::from_le_bytes(buf);
        let (index, shift) = (at / 8, (at % 8) * 8);
        words[index] |= (value << shift).to_le();
        if shift != 0 && index + 1 < WORDS {
            words[index + 1] |= (value >> (64 - shift)).to_le();
        }
        at += chunk.len();
    }
}

impl KeyEncoder {
    /// An empty key.
    #[inline]
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes written so far.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.as_slice()
    }

    #[inline]
    pub(crate) fn bytes(&self) -> &KeyBytes {
        &self.bytes
    }

    /// Appends bytes as they are. The caller must keep the whole encoding self-delimiting:
    /// write a fixed number of bytes, or call [`KeyEncoder::write_len`] first. Bytes written
    /// this way carry no tag: a key of your own made of them is outside the promise that keys
    /// of different types never collide (see [`CacheKey`]), and must not start with `0xFF`.
    /// Prefer delegating to the encodings of other keys.
    ///
    /// ```
    /// let mut out = cached_core::KeyEncoder::new();
    /// out.write_len(3);
    /// out.write_raw(b"abc");
    /// assert_eq!(out.as_bytes(), b"\x03abc");
    /// ```
    #[inline]
    pub fn write_raw(&mut self, bytes: &[u8]) {
        let key = &mut self.bytes;
        let end = key.len + bytes.len();
        if end <= INLINE {
            write_words(&mut key.words, key.len, bytes);
        } else {
            self.write_heap(bytes);
        }
        self.bytes.len = end;
    }

    /// The key is (or becomes) longer than the inline words: its bytes move to the heap.
    #[cold]
    fn write_heap(&mut self, more: &[u8]) {
        let key = &mut self.bytes;
        if key.heap.is_none() {
            let mut heap = Vec::with_capacity((key.len + more.len()).max(2 * INLINE));
            heap.extend_from_slice(key.as_slice());
            key.words = [0; WORDS];
            key.heap = Some(Box::new(heap));
        }
        if let Some(heap) = &mut key.heap {
            heap.extend_from_slice(more);
        }
    }

    /// Appends a length (or an enum variant's index) as an unsigned LEB128 varint.
    ///
    /// ```
    /// let mut out = cached_core::KeyEncoder::new();
    /// out.write_len(300);
    /// assert_eq!(out.as_bytes(), &[0xac, 0x02]);
    /// ```
    #[inline]
    pub fn write_len(&mut self, len: usize) {
        if len < 0x80 {
            self.write_word(len as u64, 1);
        } else {
            self.write_head(&[], len);
        }
    }

    /// Appends the `n` low bytes of `word` (byte `k` at bits `8k`, the order they take in
    /// memory; the bytes above `n` are zero), `1 <= n <= 8`. The small writes of an encoding
    /// (a tag, a tagged integer, a short length) come this way, computed in registers: a
    /// buffer of bytes on the stack, read back a word at a time, would stall the hit path
    /// (see [`KeyBytes`]).
    #[inline(always)]
    fn write_word(&mut self, word: u64, n: usize) {
        let key = &mut self.bytes;
        let end = key.len + n;
        if end <= INLINE {
            // `key.len < end <= INLINE`, so `index < WORDS`.
            let (index, shift) = (key.len / 8, (key.len % 8) * 8);
            key.words[index] |= (word << shift).to_le();
            if shift != 0 && index + 1 < WORDS {
                key.words[index + 1] |= (word >> (64 - shift)).to_le();
            }
            key.len = end;
        } else {
            self.write_heap(&word.to_le_bytes()[..n]);
            self.bytes.len = end;
        }
    }

    /// Appends `tag` and then a length as a varint.
    #[inline(always)]
    fn write_tag_len(&mut self, tag: u8, len: usize) {
        if len < 0x80 {
            self.write_word(u64::from(tag) | (len as u64) << 8, 2);
        } else {
            self.write_head(&[tag], len);
        }
    }

    /// Appends `head` (at most [`TYPE_HEADER`] bytes) and then `len` as a varint, through a
    /// buffer: for lengths of 128 and more, whose values are long anyway.
    #[inline(never)]
    fn write_head(&mut self, head: &[u8], len: usize) {
        let mut buf = [0u8; TYPE_HEADER + 10];
        buf[..head.len()].copy_from_slice(head);
        let mut i = head.len();
        let mut n = len as u64;
        while n >= 0x80 {
            buf[i] = (n as u8) | 0x80;
            n >>= 7;
            i += 1;
        }
        buf[i] = n as u8;
        self.write_raw(&buf[..=i]);
    }

    /// The header of a `#[derive(CacheKey)]` struct whose path is `path`: its tag and its id
    /// (see the format). Not public API: what the derive emits, as a constant.
    ///
    /// ```
    /// # use cached_core::{encode_key, CacheKey, KeyEncoder};
    /// #[derive(CacheKey)]
    /// struct Unit;
    ///
    /// const HEADER: [u8; 5] = KeyEncoder::__derived_struct(concat!(module_path!(), "::Unit"));
    /// let mut out = KeyEncoder::new();
    /// out.__write_struct(&HEADER);
    /// assert_eq!(encode_key(&Unit), out.as_bytes());
    /// assert_eq!(encode_key(&Unit), HEADER);
    /// ```
    #[doc(hidden)]
    pub const fn __derived_struct(path: &str) -> [u8; TYPE_HEADER] {
        type_header(tag::STRUCT, path)
    }

    /// The header of a `#[derive(CacheKey)]` enum whose path is `path`; see
    /// [`KeyEncoder::__derived_struct`]. Not public API.
    ///
    /// ```
    /// # use cached_core::{encode_key, CacheKey, KeyEncoder};
    /// #[derive(CacheKey)]
    /// enum Side { Left, Right }
    ///
    /// const HEADER: [u8; 5] = KeyEncoder::__derived_enum(concat!(module_path!(), "::Side"));
    /// let mut out = KeyEncoder::new();
    /// out.__write_variant(&HEADER, 1);
    /// assert_eq!(encode_key(&Side::Right), out.as_bytes());
    /// ```
    #[doc(hidden)]
    pub const fn __derived_enum(path: &str) -> [u8; TYPE_HEADER] {
        type_header(tag::ENUM, path)
    }

    /// Appends a derived struct's header. Not public API: what the derive emits.
    ///
    /// ```
    /// let header = cached_core::KeyEncoder::__derived_struct("my_app::UserId");
    /// let mut out = cached_core::KeyEncoder::new();
    /// out.__write_struct(&header);
    /// assert_eq!(out.as_bytes(), header);
    /// ```
    #[doc(hidden)]
    #[inline(always)]
    pub fn __write_struct(&mut self, header: &[u8; TYPE_HEADER]) {
        let [a, b, c, d, e] = *header;
        self.write_word(u64::from_le_bytes([a, b, c, d, e, 0, 0, 0]), TYPE_HEADER);
    }

    /// Appends a derived enum's header and then the variant's index. Not public API: what the
    /// derive emits.
    ///
    /// ```
    /// let header = cached_core::KeyEncoder::__derived_enum("my_app::Side");
    /// let mut out = cached_core::KeyEncoder::new();
    /// out.__write_variant(&header, 1);
    /// assert_eq!(out.as_bytes()[..5], header);
    /// assert_eq!(out.as_bytes()[5..], [1]);
    /// ```
    #[doc(hidden)]
    #[inline(always)]
    pub fn __write_variant(&mut self, header: &[u8; TYPE_HEADER], index: usize) {
        let [a, b, c, d, e] = *header;
        if index < 0x80 {
            let word = u64::from_le_bytes([a, b, c, d, e, index as u8, 0, 0]);
            self.write_word(word, TYPE_HEADER + 1);
        } else {
            self.write_head(header, index);
        }
    }

    /// Appends `tag` and then the `width` bytes of `value`, big-endian (`width` is 1, 2, 4, 8 or
    /// 16; `value` has no bit above them).
    #[inline(always)]
    fn write_tagged(&mut self, tag: u8, value: u128, width: usize) {
        // The bytes in memory order, as a little-endian number: the tag, then the value's
        // bytes from the most significant one.
        let be = value.swap_bytes() >> (128 - 8 * width);
        let tag = u64::from(tag);
        let first = tag | (be as u64) << 8;
        let rest = be >> 56;
        match width {
            1 | 2 | 4 => self.write_word(first, width + 1),
            8 => self.write_two_words(first, rest as u64, 9),
            _ => {
                self.write_two_words(first, rest as u64, 16);
                self.write_word((rest >> 64) as u64, 1);
            }
        }
    }

    /// Appends the `n` low bytes of `low` and then `high` (one little-endian number of two
    /// words), `8 < n <= 16`; see [`KeyEncoder::write_word`].
    #[inline(always)]
    fn write_two_words(&mut self, low: u64, high: u64, n: usize) {
        let key = &mut self.bytes;
        let end = key.len + n;
        if end <= INLINE {
            // More than 8 bytes end within the words: `index + 1 < WORDS`.
            let (index, shift) = (key.len / 8, (key.len % 8) * 8);
            if shift == 0 {
                key.words[index] |= low.to_le();
                key.words[index + 1] |= high.to_le();
            } else {
                key.words[index] |= (low << shift).to_le();
                key.words[index + 1] |= ((low >> (64 - shift)) | (high << shift)).to_le();
                if index + 2 < WORDS {
                    key.words[index + 2] |= (high >> (64 - shift)).to_le();
                }
            }
            key.len = end;
        } else {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&low.to_le_bytes());
            bytes[8..].copy_from_slice(&high.to_le_bytes());
            self.write_heap(&bytes[..n]);
            self.bytes.len = end;
        }
    }
}

/// The tags: the first byte of every encoding, saying what kind of value follows (the table in
/// the module docs).
mod tag {
    pub(super) const FALSE: u8 = 0x01;
    pub(super) const TRUE: u8 = 0x02;
    pub(super) const NONE: u8 = 0x03;
    pub(super) const SOME: u8 = 0x04;
    pub(super) const CHAR: u8 = 0x05;
    pub(super) const STR: u8 = 0x06;
    pub(super) const SEQUENCE: u8 = 0x07;
    pub(super) const SET: u8 = 0x08;
    pub(super) const MAP: u8 = 0x09;
    pub(super) const U8: u8 = 0x10;
    pub(super) const U16: u8 = 0x11;
    pub(super) const U32: u8 = 0x12;
    pub(super) const U64: u8 = 0x13;
    pub(super) const U128: u8 = 0x14;
    pub(super) const I8: u8 = 0x18;
    pub(super) const I16: u8 = 0x19;
    pub(super) const I32: u8 = 0x1A;
    pub(super) const I64: u8 = 0x1B;
    pub(super) const I128: u8 = 0x1C;
    /// `()`; a tuple of `n` elements is `TUPLE + n`.
    pub(super) const TUPLE: u8 = 0x20;
    pub(super) const STRUCT: u8 = 0x30;
    pub(super) const ENUM: u8 = 0x31;
    /// The largest tag.
    pub(super) const LAST: u8 = ENUM;
}

/// The first byte of the keys of cached functions in a store they share with the explicit API
/// (a shared `LruStore`): no `CacheKey` encoding starts with it (every one starts with a tag,
/// and the largest tag is far below it), so a function's namespace written after it can never
/// meet an explicit key, whatever the key's type.
pub(crate) const FUNCTION_NAMESPACE: u8 = 0xFF;

// Every tag stays clear of the reserved byte.
const _: () = assert!(tag::LAST < FUNCTION_NAMESPACE);

/// The length of a derived type's header: its tag and its 4-byte id.
const TYPE_HEADER: usize = 5;

/// A derived type's header: `tag`, then the FNV-1a 32-bit hash of `path`, big-endian.
const fn type_header(tag: u8, path: &str) -> [u8; TYPE_HEADER] {
    let bytes = path.as_bytes();
    let mut hash: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u32;
        hash = hash.wrapping_mul(0x0100_0193);
        i += 1;
    }
    let [a, b, c, d] = hash.to_be_bytes();
    [tag, a, b, c, d]
}

impl std::fmt::Debug for KeyEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyEncoder({:02x?})", self.as_bytes())
    }
}

/// The bytes of one key, as the stores see them.
///
/// ```
/// // A pair (tag 0x22): a `u8` (0x10), then a string (0x06) of 1 byte.
/// assert_eq!(cached_core::encode_key(&(1u8, "x")), vec![0x22, 0x10, 1, 0x06, 1, b'x']);
/// ```
pub fn encode_key<K: CacheKey + ?Sized>(key: &K) -> Vec<u8> {
    let mut out = KeyEncoder::new();
    key.encode_key(&mut out);
    out.as_bytes().to_vec()
}

macro_rules! fixed_width {
    ($($t:ty => $as:ty, $tag:expr),* $(,)?) => {$(
        impl CacheKey for $t {
            #[inline]
            fn encode_key(&self, out: &mut KeyEncoder) {
                out.write_tagged($tag, u128::from(*self as $as), core::mem::size_of::<$as>());
            }
        }
    )*};
}

fixed_width! {
    u8 => u8, tag::U8, u16 => u16, tag::U16, u32 => u32, tag::U32, u64 => u64, tag::U64,
    u128 => u128, tag::U128, usize => u64, tag::U64,
    // Signed integers as the unsigned of their width: their two's complement bytes.
    i8 => u8, tag::I8, i16 => u16, tag::I16, i32 => u32, tag::I32, i64 => u64, tag::I64,
    i128 => u128, tag::I128, isize => u64, tag::I64,
    char => u32, tag::CHAR,
}

impl CacheKey for bool {
    #[inline]
    fn encode_key(&self, out: &mut KeyEncoder) {
        out.write_word(u64::from(if *self { tag::TRUE } else { tag::FALSE }), 1);
    }
}

impl CacheKey for str {
    #[inline]
    fn encode_key(&self, out: &mut KeyEncoder) {
        out.write_tag_len(tag::STR, self.len());
        out.write_raw(self.as_bytes());
    }
}

impl CacheKey for String {
    #[inline]
    fn encode_key(&self, out: &mut KeyEncoder) {
        self.as_str().encode_key(out);
    }
}

impl<T: CacheKey> CacheKey for Option<T> {
    #[inline]
    fn encode_key(&self, out: &mut KeyEncoder) {
        match self {
            None => out.write_word(u64::from(tag::NONE), 1),
            Some(value) => {
                out.write_word(u64::from(tag::SOME), 1);
                value.encode_key(out);
            }
        }
    }
}

impl<T: CacheKey> CacheKey for [T] {
    fn encode_key(&self, out: &mut KeyEncoder) {
        out.write_tag_len(tag::SEQUENCE, self.len());
        for item in self {
            item.encode_key(out);
        }
    }
}

impl<T: CacheKey, const N: usize> CacheKey for [T; N] {
    fn encode_key(&self, out: &mut KeyEncoder) {
        self.as_slice().encode_key(out);
    }
}

impl<T: CacheKey> CacheKey for Vec<T> {
    fn encode_key(&self, out: &mut KeyEncoder) {
        self.as_slice().encode_key(out);
    }
}

impl<T: CacheKey> CacheKey for VecDeque<T> {
    fn encode_key(&self, out: &mut KeyEncoder) {
        out.write_tag_len(tag::SEQUENCE, self.len());
        for item in self {
            item.encode_key(out);
        }
    }
}

/// Appends a set or a map of `len` entries, each encoded by `entries` into bytes of its own and
/// written in the order of those bytes: equal collections are equal keys, whatever the order
/// they hold their entries in (a `HashMap`'s differs from process to process).
fn write_unordered(
    out: &mut KeyEncoder,
    tag: u8,
    len: usize,
    entries: impl Iterator<Item = Vec<u8>>,
) {
    let mut entries: Vec<Vec<u8>> = entries.collect();
    entries.sort_unstable();
    out.write_tag_len(tag, len);
    for entry in &entries {
        out.write_raw(entry);
    }
}

/// A map's entry: its key's bytes, then its value's (the key's end is known from its bytes).
fn map_entry<K: CacheKey, V: CacheKey>((key, value): (&K, &V)) -> Vec<u8> {
    let mut out = KeyEncoder::new();
    key.encode_key(&mut out);
    value.encode_key(&mut out);
    out.as_bytes().to_vec()
}

impl<T: CacheKey> CacheKey for BTreeSet<T> {
    fn encode_key(&self, out: &mut KeyEncoder) {
        write_unordered(out, tag::SET, self.len(), self.iter().map(encode_key));
    }
}

impl<T: CacheKey, S> CacheKey for HashSet<T, S> {
    fn encode_key(&self, out: &mut KeyEncoder) {
        write_unordered(out, tag::SET, self.len(), self.iter().map(encode_key));
    }
}

impl<K: CacheKey, V: CacheKey> CacheKey for BTreeMap<K, V> {
    fn encode_key(&self, out: &mut KeyEncoder) {
        write_unordered(out, tag::MAP, self.len(), self.iter().map(map_entry));
    }
}

impl<K: CacheKey, V: CacheKey, S> CacheKey for HashMap<K, V, S> {
    fn encode_key(&self, out: &mut KeyEncoder) {
        write_unordered(out, tag::MAP, self.len(), self.iter().map(map_entry));
    }
}

macro_rules! same_as_target {
    ($($(#[$meta:meta])* [$($generics:tt)*] $t:ty),* $(,)?) => {$(
        impl<$($generics)*> CacheKey for $t {
            #[inline]
            fn encode_key(&self, out: &mut KeyEncoder) {
                (**self).encode_key(out);
            }
        }
    )*};
}

same_as_target! {
    [T: CacheKey + ?Sized] &T,
    [T: CacheKey + ?Sized] &mut T,
    [T: CacheKey + ?Sized] Box<T>,
    [T: CacheKey + ?Sized] Rc<T>,
    [T: CacheKey + ?Sized] Arc<T>,
    ['a, T: CacheKey + ToOwned + ?Sized] Cow<'a, T>,
}

macro_rules! tuples {
    ($($arity:literal => ($($name:ident),*)),* $(,)?) => {$(
        impl<$($name: CacheKey),*> CacheKey for ($($name,)*) {
            #[inline]
            #[allow(non_snake_case, unused_variables)]
            fn encode_key(&self, out: &mut KeyEncoder) {
                out.write_word(u64::from(tag::TUPLE + $arity), 1);
                let ($($name,)*) = self;
                $($name.encode_key(out);)*
            }
        }
    )*};
}

tuples! {
    0 => (),
    1 => (A),
    2 => (A, B),
    3 => (A, B, C),
    4 => (A, B, C, D),
    5 => (A, B, C, D, E),
    6 => (A, B, C, D, E, F),
    7 => (A, B, C, D, E, F, G),
    8 => (A, B, C, D, E, F, G, H),
}

#[cfg(test)]
mod tests {
    use super::*;

    // The bytes are a format other processes rely on: these pin it.
    #[test]
    fn encoding_is_the_documented_format() {
        assert_eq!(encode_key(&false), [0x01]);
        assert_eq!(encode_key(&true), [0x02]);
        assert_eq!(encode_key(&None::<u8>), [0x03]);
        assert_eq!(encode_key(&Some(1u8)), [0x04, 0x10, 1]);
        assert_eq!(encode_key(&'A'), [0x05, 0, 0, 0, 65]);
        assert_eq!(encode_key("ab"), [0x06, 2, b'a', b'b']);
        assert_eq!(encode_key(&vec![1u8, 2]), [0x07, 2, 0x10, 1, 0x10, 2]);
        assert_eq!(encode_key(&[1u8, 2]), encode_key(&vec![1u8, 2]));
        assert_eq!(
            encode_key(&VecDeque::from([1u8, 2])),
            encode_key(&vec![1u8, 2])
        );
        assert_eq!(encode_key(&7u8), [0x10, 7]);
        assert_eq!(encode_key(&0x0102u16), [0x11, 1, 2]);
        assert_eq!(encode_key(&7u32), [0x12, 0, 0, 0, 7]);
        assert_eq!(encode_key(&7u64), [0x13, 0, 0, 0, 0, 0, 0, 0, 7]);
        assert_eq!(encode_key(&7usize), encode_key(&7u64));
        assert_eq!(encode_key(&1u128)[..2], [0x14, 0]);
        assert_eq!(encode_key(&1u128).len(), 17);
        assert_eq!(encode_key(&-1i8), [0x18, 0xff]);
        assert_eq!(encode_key(&-2i16), [0x19, 0xff, 0xfe]);
        assert_eq!(encode_key(&-1i32), [0x1a, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(encode_key(&-1isize), encode_key(&-1i64));
        assert_eq!(encode_key(&-1i64)[0], 0x1b);
        assert_eq!(encode_key(&-1i128)[0], 0x1c);
        assert_eq!(encode_key(&()), [0x20]);
        assert_eq!(encode_key(&(1u8,)), [0x21, 0x10, 1]);
        assert_eq!(encode_key(&(1u8, true)), [0x22, 0x10, 1, 0x02]);
        assert_eq!(
            encode_key(&(0u8, 0u8, 0u8, 0u8, 0u8, 0u8, 0u8, 0u8))[0],
            0x28
        );
        let long = "x".repeat(200);
        assert_eq!(encode_key(long.as_str())[..3], [0x06, 0xc8, 0x01]);
        // A derived type's id: FNV-1a 32 of its path.
        assert_eq!(
            KeyEncoder::__derived_struct("a"),
            [0x30, 0xe4, 0x0c, 0x29, 0x2c]
        );
        assert_eq!(KeyEncoder::__derived_enum("a")[0], 0x31);
    }

    #[test]
    fn the_two_tables_of_the_format_agree() {
        // The module's docs and the trait's (the public ones) show the same table.
        let source = include_str!("key.rs");
        let table = |prefix: &str| -> Vec<&str> {
            source
                .lines()
                .filter_map(|line| line.strip_prefix(prefix))
                .filter(|line| line.starts_with('|'))
                .collect()
        };
        let module = table("//! ");
        assert!(module.len() > 10);
        assert_eq!(module, table("/// "));
    }

    #[test]
    fn no_key_starts_with_the_function_namespace() {
        let keys = [
            encode_key(&u64::MAX),
            encode_key(&-1i64),
            encode_key(&'\u{10ffff}'),
            encode_key("\u{ff}"),
            encode_key(&vec![u8::MAX]),
            encode_key(&(u8::MAX,)),
            encode_key(&Some(u8::MAX)),
            KeyEncoder::__derived_struct("any").to_vec(),
            KeyEncoder::__derived_enum("any").to_vec(),
        ];
        for key in keys {
            assert_ne!(key[0], FUNCTION_NAMESPACE, "{key:02x?}");
            assert_ne!(key[0], 0, "{key:02x?}");
        }
    }

    #[test]
    fn long_keys_spill_to_the_heap_unchanged() {
        let mut out = KeyEncoder::new();
        for i in 0..100u32 {
            i.encode_key(&mut out);
        }
        let expected: Vec<u8> = (0..100u32)
            .flat_map(|i| {
                let mut bytes = vec![0x12];
                bytes.extend(i.to_be_bytes());
                bytes
            })
            .collect();
        assert_eq!(out.as_bytes(), expected);
        // Equal keys are equal however they were built.
        let mut short = KeyEncoder::new();
        "a".encode_key(&mut short);
        assert_eq!(short, {
            let mut again = KeyEncoder::new();
            again.write_raw(&[0x06]);
            again.write_len(1);
            again.write_raw(b"a");
            again
        });
        // A varint that crosses the inline bound.
        let mut crossing = KeyEncoder::new();
        crossing.write_raw(&[0; INLINE - 1]);
        crossing.write_head(&[tag::STR], 300);
        assert_eq!(crossing.as_bytes()[INLINE - 1..], [0x06, 0xac, 0x02]);
    }

    #[test]
    fn small_writes_land_at_every_offset() {
        // Each value after `at` bytes, inline, across words and across the heap's bound,
        // against its bytes written one by one.
        for at in 0..2 * INLINE {
            let prefix: Vec<u8> = (1..=at as u8).collect();
            let check = |key: &dyn Fn(&mut KeyEncoder), expected: &[u8]| {
                let mut out = KeyEncoder::new();
                out.write_raw(&prefix);
                key(&mut out);
                assert_eq!(&out.as_bytes()[..at], prefix.as_slice());
                assert_eq!(&out.as_bytes()[at..], expected, "after {at} bytes");
            };
            let tagged = |tag: u8, be: &[u8]| [&[tag], be].concat();
            check(&|o| 0xabu8.encode_key(o), &[0x10, 0xab]);
            check(
                &|o| 0xa1b2u16.encode_key(o),
                &tagged(0x11, &0xa1b2u16.to_be_bytes()),
            );
            check(
                &|o| 0xa1b2_c3d4u32.encode_key(o),
                &tagged(0x12, &0xa1b2_c3d4u32.to_be_bytes()),
            );
            let long = 0x0102_0304_0506_0708u64;
            check(&|o| long.encode_key(o), &tagged(0x13, &long.to_be_bytes()));
            let wide = u128::MAX / 3;
            check(&|o| wide.encode_key(o), &tagged(0x14, &wide.to_be_bytes()));
            check(
                &|o| (-2i64).encode_key(o),
                &tagged(0x1b, &(-2i64).to_be_bytes()),
            );
            check(
                &|o| 'é'.encode_key(o),
                &tagged(0x05, &u32::from('é').to_be_bytes()),
            );
            check(&|o| "ab".encode_key(o), &[0x06, 2, b'a', b'b']);
            check(&|o| (true, None::<u8>).encode_key(o), &[0x22, 0x02, 0x03]);
            check(&|o| o.write_len(0x7f), &[0x7f]);
            check(&|o| o.write_len(300), &[0xac, 0x02]);
            let header = KeyEncoder::__derived_enum("x");
            check(&|o| o.__write_struct(&header), &header);
            check(
                &|o| o.__write_variant(&header, 3),
                &[&header[..], &[3]].concat(),
            );
            check(
                &|o| o.__write_variant(&header, 300),
                &[&header[..], &[0xac, 0x02]].concat(),
            );
        }
    }

    #[test]
    fn common_keys_stay_inline() {
        let inline = |bytes: Vec<u8>| bytes.len() <= INLINE;
        assert!(inline(encode_key(&(7u64, 8u64))));
        assert!(inline(encode_key(&("user", 7u64))));
        assert!(inline(encode_key(&("category", 7u32, 2u32))));
        assert!(inline(encode_key(&Some(7u64))));
    }

    #[test]
    fn wrappers_encode_like_their_target() {
        let s = String::from("key");
        let expected = encode_key(&s);
        assert_eq!(encode_key(&&s), expected);
        assert_eq!(encode_key("key"), expected);
        assert_eq!(encode_key(&Box::new(s.clone())), expected);
        assert_eq!(encode_key(&Arc::new(s.clone())), expected);
        assert_eq!(encode_key(&Rc::new(s.clone())), expected);
        assert_eq!(encode_key(&Cow::Borrowed("key")), expected);
        let boxed: Box<str> = "key".into();
        assert_eq!(encode_key(&boxed), expected);
        let slice: &[u8] = &[1, 2];
        assert_eq!(
            encode_key(&Arc::<[u8]>::from(slice)),
            encode_key(&vec![1u8, 2])
        );
    }

    #[test]
    fn separators_inside_strings_do_not_collide() {
        assert_ne!(encode_key(&("a:b", "c")), encode_key(&("a", "b:c")));
        assert_ne!(encode_key(&("", "ab")), encode_key(&("ab", "")));
        assert_ne!(
            encode_key(&vec![vec![1u8], vec![]]),
            encode_key(&vec![vec![], vec![1u8]])
        );
    }

    #[test]
    fn keys_of_different_types_do_not_collide() {
        assert_ne!(encode_key(&1u8), encode_key(&true));
        assert_ne!(encode_key(&42u32), encode_key(&'*'));
        assert_ne!(encode_key(&42u32), encode_key(&42i32));
        assert_ne!(encode_key(&258u16), encode_key(&(1u8, 2u8)));
        assert_ne!(
            encode_key(&("user", 7u64)),
            encode_key(&("user", 0u32, 7u32))
        );
        assert_ne!(encode_key("a"), encode_key(&vec![b'a']));
        assert_ne!(encode_key(&()), encode_key(&((),)));
        assert_ne!(
            encode_key(&((1u8, 2u8), 3u8)),
            encode_key(&(1u8, (2u8, 3u8)))
        );
        assert_ne!(encode_key(&Some(true)), encode_key(&(true,)));
        assert_ne!(
            KeyEncoder::__derived_struct("app::UserId"),
            KeyEncoder::__derived_struct("app::OrderId")
        );
    }
}
