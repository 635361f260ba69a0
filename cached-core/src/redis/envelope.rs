//! What Redis holds for a value: a small versioned envelope around its MessagePack encoding.
//!
//! ```text
//! version (1 byte) | type fingerprint (8) | generations (1 + n * (8 + 1 + len)) | MessagePack
//! ```
//!
//! The fingerprint is a hash of the value type's name, size and alignment: a value written by a
//! build whose type had another name or layout reads as a miss. The encoding names struct
//! fields, so a value whose fields changed without changing the layout (one renamed, or of
//! another type of the same size) fails to decode: also a miss, never garbage and never an
//! error. The generations are those of the cache and of the entry's tags when its
//! computation began; an entry whose generations are not the current ones is stale.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The first byte of every envelope of this format.
const VERSION: u8 = 1;

/// The first byte of a tombstone: what an invalidated entry holds until its next computation,
/// so that a computation that began before the invalidation cannot store over it.
const TOMBSTONE: u8 = 0;

/// A stable hash of a value type, for the envelope: of its name, and of its size and
/// alignment, which change with most changes of its fields (one added with a serde default
/// would otherwise decode, as a value the old code never computed).
pub(crate) fn fingerprint<V>() -> [u8; 8] {
    fingerprint_of(
        std::any::type_name::<V>(),
        std::mem::size_of::<V>(),
        std::mem::align_of::<V>(),
    )
}

fn fingerprint_of(name: &str, size: usize, align: usize) -> [u8; 8] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update((size as u64).to_le_bytes());
    hasher.update((align as u64).to_le_bytes());
    let digest = hasher.finalize();
    let mut out = [0; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// A stable short id of a generation key, to pair it with its value in the envelope.
pub(crate) fn dependency_id(key: &[u8]) -> [u8; 8] {
    // FNV-1a: stable across builds and processes, and the ids only tell apart the few
    // generations of one entry.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in key {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash.to_le_bytes()
}

/// One generation an entry depends on: its key's id and its value when the entry was computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dependency {
    pub(crate) id: [u8; 8],
    pub(crate) token: Vec<u8>,
}

/// The envelope of `value`. An entry whose dependencies do not all fit (more than 255, or a
/// token longer than 255 bytes) is not encoded: one left out would let its invalidation miss
/// the entry.
pub(crate) fn encode<V: Serialize>(
    value: &V,
    fingerprint: [u8; 8],
    dependencies: &[Dependency],
) -> Result<Vec<u8>, rmp_serde::encode::Error> {
    let too_many = || {
        rmp_serde::encode::Error::Syntax(
            "an entry depends on at most 255 generations (its function's and its tags'), \
             each a token of at most 255 bytes"
                .to_owned(),
        )
    };
    let mut out = Vec::with_capacity(64);
    out.push(VERSION);
    out.extend_from_slice(&fingerprint);
    out.push(u8::try_from(dependencies.len()).map_err(|_| too_many())?);
    for dependency in dependencies {
        out.extend_from_slice(&dependency.id);
        out.push(u8::try_from(dependency.token.len()).map_err(|_| too_many())?);
        out.extend_from_slice(&dependency.token);
    }
    rmp_serde::encode::write_named(&mut out, value)?;
    Ok(out)
}

/// A tombstone, unique to this invalidation.
pub(crate) fn tombstone(token: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + token.len());
    out.push(TOMBSTONE);
    out.extend_from_slice(token);
    out
}

/// Why an envelope holds no usable value.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// Another format, another value type, or bytes that do not decode: a value to overwrite.
    Undecodable,
    /// A generation moved on since the value was computed.
    Stale,
    /// The entry was invalidated.
    Tombstone,
}

/// The value in `bytes`, if it is a `V` whose generations are all in `current` (pairs of a
/// generation key's id and its value now; a generation not there is not current).
pub(crate) fn decode<V: DeserializeOwned>(
    bytes: &[u8],
    fingerprint: [u8; 8],
    current: &[Dependency],
) -> Result<V, Unusable> {
    let mut rest = bytes;
    let mut take = |n: usize| -> Result<&[u8], Unusable> {
        if rest.len() < n {
            return Err(Unusable::Undecodable);
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    match take(1)?[0] {
        VERSION => {}
        TOMBSTONE => return Err(Unusable::Tombstone),
        _ => return Err(Unusable::Undecodable),
    }
    if take(8)? != fingerprint {
        return Err(Unusable::Undecodable);
    }
    let count = take(1)?[0];
    let mut stale = false;
    for _ in 0..count {
        let id = take(8)?;
        let len = take(1)?[0];
        let token = take(usize::from(len))?;
        let now = current.iter().find(|dependency| dependency.id == id);
        stale |= now.is_none_or(|now| now.token != token);
    }
    if stale {
        return Err(Unusable::Stale);
    }
    rmp_serde::from_slice(rest).map_err(|_| Unusable::Undecodable)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dependency(key: &[u8], token: &[u8]) -> Dependency {
        Dependency {
            id: dependency_id(key),
            token: token.to_vec(),
        }
    }

    #[test]
    fn a_value_round_trips_while_its_generations_hold() {
        let generations = [dependency(b"g", b"1"), dependency(b"t", b"7")];
        let bytes = encode(&("title", 3u32), fingerprint::<(&str, u32)>(), &generations).unwrap();
        let value: (String, u32) =
            decode(&bytes, fingerprint::<(&str, u32)>(), &generations).unwrap();
        assert_eq!(value, ("title".to_owned(), 3));
        let moved = [dependency(b"g", b"1"), dependency(b"t", b"8")];
        let stale = decode::<(String, u32)>(&bytes, fingerprint::<(&str, u32)>(), &moved);
        assert_eq!(stale, Err(Unusable::Stale));
        let missing = decode::<(String, u32)>(&bytes, fingerprint::<(&str, u32)>(), &moved[..1]);
        assert_eq!(missing, Err(Unusable::Stale));
    }

    #[test]
    fn the_fingerprint_follows_name_and_layout() {
        assert_eq!(fingerprint::<u64>(), fingerprint::<u64>());
        assert_ne!(fingerprint::<u64>(), fingerprint::<i64>());
        // One type, as two builds would have it: a field added changes its size.
        let name = "app::Profile";
        assert_eq!(fingerprint_of(name, 24, 8), fingerprint_of(name, 24, 8));
        assert_ne!(fingerprint_of(name, 24, 8), fingerprint_of(name, 32, 8));
        assert_ne!(fingerprint_of(name, 24, 8), fingerprint_of(name, 24, 4));
    }

    #[test]
    fn dependencies_that_do_not_fit_are_an_error_never_left_out() {
        let long = [dependency(b"g", &[b'x'; 256])];
        assert!(encode(&1u8, fingerprint::<u8>(), &long).is_err());
        let many: Vec<Dependency> = (0..256u32)
            .map(|i| dependency(&i.to_be_bytes(), b"1"))
            .collect();
        assert!(encode(&1u8, fingerprint::<u8>(), &many).is_err());
        assert!(encode(&1u8, fingerprint::<u8>(), &many[..255]).is_ok());
    }

    #[test]
    fn another_type_garbage_and_tombstones_are_unusable() {
        let bytes = encode(&5u64, fingerprint::<u64>(), &[]).unwrap();
        assert_eq!(decode::<u64>(&bytes, fingerprint::<u64>(), &[]), Ok(5));
        assert_eq!(
            decode::<u64>(&bytes, fingerprint::<u32>(), &[]),
            Err(Unusable::Undecodable)
        );
        for garbage in [&b""[..], b"\x01", b"hello world", &bytes[..bytes.len() - 1]] {
            assert_eq!(
                decode::<u64>(garbage, fingerprint::<u64>(), &[]),
                Err(Unusable::Undecodable),
                "{garbage:?}"
            );
        }
        assert_eq!(
            decode::<u64>(&tombstone(b"x"), fingerprint::<u64>(), &[]),
            Err(Unusable::Tombstone)
        );
    }
}
