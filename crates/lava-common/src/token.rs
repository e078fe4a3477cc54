//! Secrets: API and worker tokens, generated here and stored only as hashes.

use rand::Rng;
use sha2::{Digest, Sha256};

/// The length of a generated token, as LAVA's (32 characters).
pub const TOKEN_LEN: usize = 32;

/// Makes a new random token of [`TOKEN_LEN`] letters and digits.
pub fn generate() -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(TOKEN_LEN)
        .map(char::from)
        .collect()
}

/// The hash stored in the database for `token` (SHA-256, hex).
///
/// Tokens are long random strings, so a fast hash is enough: there is nothing to brute-force
/// that a slow hash would protect, and it keeps token checks cheap on every API call.
pub fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let a = generate();
        let b = generate();
        assert_eq!(a.len(), TOKEN_LEN);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_ne!(hash(&a), hash(&b));
    }
}
