//! A small, fixed, platform-independent 64-bit hash.
//!
//! Used where the core needs a deterministic fingerprint (generated task ids, slot tags, "was this
//! task edited?"). `std`'s `DefaultHasher` is explicitly allowed to change between Rust releases,
//! and these values end up stored in KV and in ClearML tags, so we pin our own: FNV-1a over the
//! bytes, then the SplitMix64 finalizer so that nearby inputs give unrelated outputs.

/// Hashes a sequence of byte strings; each part is followed by a 0xFF separator so that
/// `["ab", "c"]` and `["a", "bc"]` differ.
pub(crate) fn hash64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.iter().chain(std::iter::once(&0xFF)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    // SplitMix64 finalizer.
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_values() {
        // These values are stored in KV and ClearML tags: they must never change.
        assert_eq!(hash64(&[b"ab", b"c"]), hash64(&[b"ab", b"c"]));
        assert_ne!(hash64(&[b"ab", b"c"]), hash64(&[b"a", b"bc"]));
        // Pinned: slot tags and fingerprints in KV and ClearML depend on it.
        assert_eq!(hash64(&[b"inst", b"retrain"]), 0x103d_2b87_6721_60e3);
    }
}
