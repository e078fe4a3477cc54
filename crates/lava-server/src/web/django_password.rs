//! Passwords a LAVA lab's Django stored, checked so that users brought over by
//! `manage import-lava` log in with the password they had.
//!
//! Django writes `pbkdf2_sha256$ITERATIONS$SALT$BASE64` (LAVA's default),
//! `pbkdf2_sha1$…`, and `argon2$argon2id$v=19$m=…,t=…,p=…$SALT$HASH` (a PHC string behind
//! the word `argon2`). Other algorithms (bcrypt, the unsalted ones Django refuses by default)
//! and unusable passwords (`!…`, or a string without an algorithm) match nothing. After a
//! successful login the hash is replaced by one of this server's own (see `auth::login`), as
//! Django itself upgrades a hash whose algorithm is not its first choice.

use std::num::NonZeroU32;

use base64::Engine as _;

/// The most PBKDF2 iterations checked: Django 5 uses about a million; a stored value past
/// this would make each login attempt a long computation.
const MAX_ITERATIONS: u32 = 10_000_000;

/// A Django password hash this server can check.
#[derive(Debug, PartialEq, Eq)]
pub enum DjangoHash<'a> {
    /// PBKDF2, as Django's `PBKDF2PasswordHasher` and `PBKDF2SHA1PasswordHasher` write it.
    Pbkdf2 {
        /// HMAC-SHA256 (`pbkdf2_sha256`), else HMAC-SHA1 (`pbkdf2_sha1`).
        sha256: bool,
        /// At most [`MAX_ITERATIONS`].
        iterations: NonZeroU32,
        /// Django's salt, used as its UTF-8 bytes.
        salt: &'a str,
        /// The derived key, decoded from base64.
        derived: Vec<u8>,
    },
    /// Django's argon2: the PHC string that follows the word `argon2`.
    Argon2(&'a str),
}

impl<'a> DjangoHash<'a> {
    /// The hash in `stored`, if it is one of the Django forms this server checks.
    pub fn parse(stored: &'a str) -> Option<DjangoHash<'a>> {
        if let Some(phc) = stored
            .strip_prefix("argon2")
            .filter(|phc| phc.starts_with("$argon2"))
        {
            return argon2::password_hash::PasswordHash::new(phc)
                .is_ok_and(|h| h.hash.is_some())
                .then_some(DjangoHash::Argon2(phc));
        }
        let mut parts = stored.split('$');
        let sha256 = match parts.next()? {
            "pbkdf2_sha256" => true,
            "pbkdf2_sha1" => false,
            _ => return None,
        };
        let iterations: u32 = parts.next()?.parse().ok()?;
        let salt = parts.next()?;
        let derived = base64::engine::general_purpose::STANDARD
            .decode(parts.next()?)
            .ok()?;
        if parts.next().is_some() || salt.is_empty() || derived.is_empty() {
            return None;
        }
        if iterations > MAX_ITERATIONS {
            return None;
        }
        Some(DjangoHash::Pbkdf2 {
            sha256,
            iterations: NonZeroU32::new(iterations)?,
            salt,
            derived,
        })
    }

    /// Whether `password` is the one this hash was made from (constant time in the hash).
    /// Slow on purpose: call it off the async threads.
    pub fn matches(&self, password: &str) -> bool {
        match self {
            DjangoHash::Pbkdf2 {
                sha256,
                iterations,
                salt,
                derived,
            } => {
                let algorithm = if *sha256 {
                    ring::pbkdf2::PBKDF2_HMAC_SHA256
                } else {
                    ring::pbkdf2::PBKDF2_HMAC_SHA1
                };
                ring::pbkdf2::verify(
                    algorithm,
                    *iterations,
                    salt.as_bytes(),
                    password.as_bytes(),
                    derived,
                )
                .is_ok()
            }
            DjangoHash::Argon2(phc) => {
                use argon2::password_hash::{PasswordHash, PasswordVerifier};
                PasswordHash::new(phc).is_ok_and(|h| {
                    argon2::Argon2::default()
                        .verify_password(password.as_bytes(), &h)
                        .is_ok()
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Django's PBKDF2 hash of `password`, made by Python's own hashlib as Django does.
    fn python_pbkdf2(algorithm: &str, password: &str, salt: &str, iterations: u32) -> String {
        let digest = algorithm.trim_start_matches("pbkdf2_");
        let script = format!(
            "import base64,hashlib,sys; \
             d=hashlib.pbkdf2_hmac('{digest}', sys.argv[1].encode(), b'{salt}', {iterations}); \
             print('{algorithm}${iterations}${salt}$' + base64.b64encode(d).decode())"
        );
        let out = std::process::Command::new("/usr/bin/python3")
            .args(["-c", &script, password])
            .output()
            .expect("python3 (Debian's python3 package) runs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    #[test]
    fn django_pbkdf2_hashes_match_their_password_only() {
        for algorithm in ["pbkdf2_sha256", "pbkdf2_sha1"] {
            let stored = python_pbkdf2(algorithm, "lètmein", "seasalt", 1000);
            let hash = DjangoHash::parse(&stored).expect(&stored);
            assert!(hash.matches("lètmein"), "{stored}");
            assert!(!hash.matches("letmein"), "{stored}");
            assert!(!hash.matches(""), "{stored}");
        }
    }

    #[test]
    fn django_argon2_hashes_are_checked_as_phc_strings() {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let phc = argon2::Argon2::default()
            .hash_password(b"s3cret", &salt)
            .unwrap()
            .to_string();
        let stored = format!("argon2{phc}");
        let hash = DjangoHash::parse(&stored).expect(&stored);
        assert_eq!(hash, DjangoHash::Argon2(&phc));
        assert!(hash.matches("s3cret"));
        assert!(!hash.matches("secret"));
    }

    #[test]
    fn other_forms_are_not_checked() {
        for stored in [
            "",
            "!unusable",
            "plain text",
            "bcrypt_sha256$$2b$12$abc",
            "md5$salt$0123",
            "pbkdf2_sha256$0$salt$AAAA",
            "pbkdf2_sha256$99999999$salt$AAAA",
            "pbkdf2_sha256$1000$$AAAA",
            "pbkdf2_sha256$1000$salt$not base64!",
            "pbkdf2_sha256$1000$salt$AAAA$extra",
            "argon2$argon2id$broken",
        ] {
            assert_eq!(DjangoHash::parse(stored), None, "{stored}");
        }
    }
}
