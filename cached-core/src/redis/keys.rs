//! Redis key names: `<prefix>:<cache name>:<key>`, readable in `redis-cli`, and injective.
//!
//! The key's bytes (the same encoding as the in-process store's) are percent-escaped: printable
//! ASCII stays as it is, except `%`, `:` and `#`, and every other byte becomes `%XX`. No escaped
//! key contains `:`, so the last `:` of a name separates the cache from the key; a key that
//! would be longer than [`MAX_KEY`] is replaced by `#` and the hex SHA-256 of its bytes (never
//! cut short into a collision). Names keep their `:` (`app::profile`) and escape the rest. The
//! prefix is escaped like a key (`app:x` reads `app%3Ax`), so the first `:` ends it: prefix
//! `app` with a cache `x:y` and prefix `app:x` with a cache `y` never share a key.
//!
//! Beside the values, each cache has a generation key, `<prefix>:<name>:%gen`, and each tag
//! one, `<prefix>:%tag:<tag>`; the explicit API's entries live under `<prefix>:%kv:<name>:`.
//! None of these can be the name of a function's value, as no escaped key or name holds `%`
//! followed by anything but two hex digits.

use sha2::{Digest, Sha256};

/// The longest escaped key kept as it is.
pub(crate) const MAX_KEY: usize = 200;

fn hex(out: &mut Vec<u8>, byte: u8) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    out.push(DIGITS[usize::from(byte >> 4)]);
    out.push(DIGITS[usize::from(byte & 15)]);
}

fn escape(out: &mut Vec<u8>, bytes: &[u8], keep_colon: bool) {
    for &byte in bytes {
        let plain =
            byte.is_ascii_graphic() && byte != b'%' && byte != b'#' && (keep_colon || byte != b':');
        if plain {
            out.push(byte);
        } else {
            out.push(b'%');
            hex(out, byte);
        }
    }
}

/// Appends the escaped form of a key (or tag), hashed if it is too long.
pub(crate) fn push_key(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    escape(out, bytes, false);
    if out.len() - start > MAX_KEY {
        out.truncate(start);
        out.push(b'#');
        for byte in Sha256::digest(bytes) {
            hex(out, byte);
        }
    }
}

/// Appends the escaped prefix and its `:`.
fn push_prefix(out: &mut Vec<u8>, prefix: &str) {
    escape(out, prefix.as_bytes(), false);
    out.push(b':');
}

/// `<prefix>:<name>:`, the start of every value key of a cached function.
pub(crate) fn space(prefix: &str, name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + name.len() + 2);
    push_prefix(&mut out, prefix);
    escape(&mut out, name.as_bytes(), true);
    out.push(b':');
    out
}

/// `<prefix>:%kv:<name>:`, the start of every key of a store's explicit API: no function's.
pub(crate) fn explicit_space(prefix: &str, name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + name.len() + 6);
    push_prefix(&mut out, prefix);
    out.extend_from_slice(b"%kv:");
    escape(&mut out, name.as_bytes(), true);
    out.push(b':');
    out
}

/// The generation key of the cache whose value keys start with `space`.
pub(crate) fn generation(space: &[u8]) -> Vec<u8> {
    let mut out = space.to_vec();
    out.extend_from_slice(b"%gen");
    out
}

/// The generation key of a tag.
pub(crate) fn tag(prefix: &str, tag: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + tag.len() + 6);
    push_prefix(&mut out, prefix);
    out.extend_from_slice(b"%tag:");
    push_key(&mut out, tag.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(bytes: &[u8]) -> String {
        let mut out = space("app", "news::item");
        push_key(&mut out, bytes);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn keys_are_readable_and_escaped() {
        assert_eq!(key(b"abc"), "app:news::item:abc");
        assert_eq!(key(&[0, 0, 0, 7]), "app:news::item:%00%00%00%07");
        assert_eq!(key(b"a:b%#"), "app:news::item:a%3Ab%25%23");
        assert_eq!(key(b"a b"), "app:news::item:a%20b");
    }

    #[test]
    fn long_keys_are_hashed_whole() {
        let long = vec![b'x'; MAX_KEY + 1];
        let mut other = long.clone();
        other.push(b'y');
        let (a, b) = (key(&long), key(&other));
        assert!(a.starts_with("app:news::item:#"), "{a}");
        assert_eq!(a.len(), "app:news::item:#".len() + 64);
        assert_ne!(a, b);
        assert_eq!(
            key(&[b'x'; MAX_KEY]).len(),
            "app:news::item:".len() + MAX_KEY
        );
    }

    #[test]
    fn generation_and_tag_keys_are_no_value_keys() {
        let space = space("app", "f");
        assert_eq!(generation(&space), b"app:f:%gen");
        assert_eq!(tag("app", "category:7"), b"app:%tag:category%3A7");
        // A cache named like the tag space escapes its `%`.
        assert_eq!(super::space("app", "%tag"), b"app:%25tag:");
    }

    #[test]
    fn the_explicit_api_has_a_space_no_function_name_produces() {
        assert_eq!(explicit_space("app", "store"), b"app:%kv:store:");
        assert_eq!(space("app", "store"), b"app:store:");
        assert_eq!(space("app", "%kv:store"), b"app:%25kv:store:");
    }

    #[test]
    fn a_colon_in_the_prefix_is_escaped() {
        assert_eq!(space("app", "x:y"), b"app:x:y:");
        assert_eq!(space("app:x", "y"), b"app%3Ax:y:");
        assert_eq!(tag("app:x", "t"), b"app%3Ax:%tag:t");
        assert_eq!(explicit_space("a%b", "s"), b"a%25b:%kv:s:");
        assert_eq!(
            space("news", "profile"),
            b"news:profile:",
            "plain prefixes read as before"
        );
    }
}
