//! Cache keys: the [`CacheKey`] trait and its stable byte encoding.
//!
//! Every key is turned into bytes once, and those bytes are what the stores compare (and, for a
//! remote store, what ends up in the remote key). The encoding is:
//!
//! - **injective**: two different values of one type never share bytes, including inside tuples,
//!   so `("a:b", "c")` and `("a", "b:c")` are different keys;
//! - **stable**: the bytes depend only on the value, never on the build, the platform or the
//!   process, so keys written by one server are found by the next.
//!
//! Each encoding is *self-delimiting*: reading the bytes from the start, one can tell where the
//! value ends. That is what makes the concatenation of several keys (a tuple, a struct, the
//! parameters of a function) injective as well:
//!
//! | type | bytes |
//! |---|---|
//! | `u8`..`u128`, `i8`..`i128` | fixed width, big-endian |
//! | `usize`, `isize` | as `u64`, `i64` (the same on every platform) |
//! | `bool` | one byte, `0` or `1` |
//! | `char` | its scalar value as `u32` |
//! | `str`, `String` | the length in bytes as a LEB128 varint, then the UTF-8 bytes |
//! | `Option<T>` | `0`, or `1` followed by the value |
//! | `[T]`, `Vec<T>`, `[T; N]`, `VecDeque<T>` | the length as a varint, then each element |
//! | tuples (up to 8), `()` | each element in order |
//! | `&T`, `Box<T>`, `Rc<T>`, `Arc<T>`, `Cow<T>` | the same bytes as `T` |
//! | `#[derive(CacheKey)]` struct | each field in order |
//! | `#[derive(CacheKey)]` enum | the variant's index as a varint, then its fields |

use std::borrow::Cow;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

/// A value that can identify a cached result.
///
/// Implemented for integers, `bool`, `char`, strings, `Option`, sequences, arrays, tuples up to
/// eight elements and smart pointers; `#[derive(CacheKey)]` implements it for your own structs
/// and enums, field by field. Floating-point numbers are not keys (`NaN != NaN`); key on
/// `f64::to_bits` if you need them.
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
/// let a = encode_key(&Page { category: 7, number: 1 });
/// let b = encode_key(&(7u32, 1u32));
/// assert_eq!(a, b); // a struct encodes as the tuple of its fields
/// assert_ne!(encode_key(&("a:b", "c")), encode_key(&("a", "b:c")));
/// ```
///
/// # Implementing it by hand
///
/// Delegate to the fields' encodings, so the result stays self-delimiting:
///
/// ```
/// use cached_core::{CacheKey, KeyEncoder};
///
/// struct Email(String);
///
/// impl CacheKey for Email {
///     fn encode_key(&self, out: &mut KeyEncoder) {
///         // Case does not matter for an e-mail address: equal keys, equal results.
///         self.0.to_lowercase().encode_key(out);
///     }
/// }
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
/// assert_eq!(out.as_bytes(), &[2, b'i', b'd', 0, 7]);
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
    /// write a fixed number of bytes, or call [`KeyEncoder::write_len`] first.
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
        let mut n = len as u64;
        if n < 0x80 {
            return self.write_raw(&[n as u8]);
        }
        let mut buf = [0u8; 10];
        let mut i = 0;
        while n >= 0x80 {
            buf[i] = (n as u8) | 0x80;
            n >>= 7;
            i += 1;
        }
        buf[i] = n as u8;
        self.write_raw(&buf[..=i]);
    }
}

impl std::fmt::Debug for KeyEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyEncoder({:02x?})", self.as_bytes())
    }
}

/// The bytes of one key, as the stores see them.
///
/// ```
/// assert_eq!(cached_core::encode_key(&(1u8, "x")), vec![1, 1, b'x']);
/// ```
pub fn encode_key<K: CacheKey + ?Sized>(key: &K) -> Vec<u8> {
    let mut out = KeyEncoder::new();
    key.encode_key(&mut out);
    out.as_bytes().to_vec()
}

macro_rules! fixed_width {
    ($($t:ty => $as:ty),* $(,)?) => {$(
        impl CacheKey for $t {
            #[inline]
            fn encode_key(&self, out: &mut KeyEncoder) {
                out.write_raw(&(*self as $as).to_be_bytes());
            }
        }
    )*};
}

fixed_width! {
    u8 => u8, u16 => u16, u32 => u32, u64 => u64, u128 => u128, usize => u64,
    i8 => i8, i16 => i16, i32 => i32, i64 => i64, i128 => i128, isize => i64,
    char => u32, bool => u8,
}

impl CacheKey for str {
    #[inline]
    fn encode_key(&self, out: &mut KeyEncoder) {
        out.write_len(self.len());
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
            None => out.write_raw(&[0]),
            Some(value) => {
                out.write_raw(&[1]);
                value.encode_key(out);
            }
        }
    }
}

impl<T: CacheKey> CacheKey for [T] {
    fn encode_key(&self, out: &mut KeyEncoder) {
        out.write_len(self.len());
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
        out.write_len(self.len());
        for item in self {
            item.encode_key(out);
        }
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
    ($(($($name:ident),*)),* $(,)?) => {$(
        impl<$($name: CacheKey),*> CacheKey for ($($name,)*) {
            #[inline]
            #[allow(non_snake_case, unused_variables)]
            fn encode_key(&self, out: &mut KeyEncoder) {
                let ($($name,)*) = self;
                $($name.encode_key(out);)*
            }
        }
    )*};
}

tuples! {
    (),
    (A),
    (A, B),
    (A, B, C),
    (A, B, C, D),
    (A, B, C, D, E),
    (A, B, C, D, E, F),
    (A, B, C, D, E, F, G),
    (A, B, C, D, E, F, G, H),
}

#[cfg(test)]
mod tests {
    use super::*;

    // The bytes are a format other processes rely on: these pin it.
    #[test]
    fn encoding_is_the_documented_format() {
        assert_eq!(encode_key(&0x0102u16), [1, 2]);
        assert_eq!(encode_key(&-1i8), [0xff]);
        assert_eq!(encode_key(&7usize), [0, 0, 0, 0, 0, 0, 0, 7]);
        assert_eq!(encode_key(&true), [1]);
        assert_eq!(encode_key(&'A'), [0, 0, 0, 65]);
        assert_eq!(encode_key("ab"), [2, b'a', b'b']);
        assert_eq!(encode_key(&Some(1u8)), [1, 1]);
        assert_eq!(encode_key(&None::<u8>), [0]);
        assert_eq!(encode_key(&vec![1u8, 2]), [2, 1, 2]);
        assert_eq!(encode_key(&[1u8, 2]), encode_key(&vec![1u8, 2]));
        assert_eq!(encode_key(&()), Vec::<u8>::new());
        let long = "x".repeat(200);
        assert_eq!(encode_key(long.as_str())[..2], [0xc8, 0x01]);
    }

    #[test]
    fn long_keys_spill_to_the_heap_unchanged() {
        let mut out = KeyEncoder::new();
        for i in 0..100u32 {
            i.encode_key(&mut out);
        }
        let expected: Vec<u8> = (0..100u32).flat_map(u32::to_be_bytes).collect();
        assert_eq!(out.as_bytes(), expected);
        // Equal keys are equal however they were built.
        let mut short = KeyEncoder::new();
        "a".encode_key(&mut short);
        assert_eq!(short, {
            let mut again = KeyEncoder::new();
            again.write_len(1);
            again.write_raw(b"a");
            again
        });
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
}
