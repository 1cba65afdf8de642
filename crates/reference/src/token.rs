//! Virtual keys and their hashes: what the cache and the tables are keyed by.

use sha2::{Digest, Sha256};

/// LiteLLM's `hash_token`: lowercase hex SHA-256 of the UTF-8 key.
pub(crate) fn hash_token(raw: &str) -> String {
    Sha256::digest(raw.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The last `n` characters of `text` (all of it when shorter).
pub(crate) fn last_chars(text: &str, n: usize) -> &str {
    let start = text.char_indices().rev().nth(n.saturating_sub(1)).map_or(0, |(i, _)| i);
    if n == 0 { "" } else { &text[start..] }
}

/// Where LiteLLM accepts a raw key or its hash: hash it when it starts with `sk-`.
pub(crate) fn hash_if_needed(key_or_hash: &str) -> String {
    if key_or_hash.starts_with("sk-") { hash_token(key_or_hash) } else { key_or_hash.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_sha256_hex_and_hashes_pass_through() {
        let h = hash_token("sk-1234");
        assert_eq!(h.len(), 64);
        assert!(h.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
        assert_eq!(hash_if_needed("sk-1234"), h);
        assert_eq!(hash_if_needed(&h), h);
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn last_chars_counts_characters() {
        assert_eq!(last_chars("sk-abcdef", 4), "cdef");
        assert_eq!(last_chars("ab", 4), "ab");
        assert_eq!(last_chars("xéééé", 4), "éééé");
        assert_eq!(last_chars("abc", 0), "");
    }
}
