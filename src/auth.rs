//! The API key: one key per engine, checked by the REST API and the WebSocket server.
//!
//! Only the key's SHA-256 hash is stored (in `<data-dir>/apikey.sha256`); the key itself
//! is printed once, when generated. Comparisons are constant-time over the hashes, so the
//! time a check takes tells an attacker nothing about how much of a guess was right.
//! Without `--api-key` (or `TICKFILL_API_KEY`) the first start generates a 256-bit key.

#![forbid(unsafe_code)]

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use subtle::ConstantTimeEq;
use thiserror::Error;

const HASH_FILE: &str = "apikey.sha256";

/// The verifier.
#[derive(Clone)]
pub struct KeyStore {
    hash: [u8; 32],
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyStore(<hash>)")
    }
}

/// Why the key store could not be set up.
#[derive(Debug, Error)]
pub enum KeyError {
    /// The hash file could not be read or written; check the data dir's permissions.
    #[error("api key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The hash file is not 64 hex digits; delete it to generate a new key.
    #[error(
        "api key file {0} is corrupt (expected 64 hex digits); delete it to generate a new key"
    )]
    Corrupt(PathBuf),
    /// The OS random source failed.
    #[error("cannot generate an api key: {0}")]
    Random(String),
    /// A given key is unusable.
    #[error("--api-key must be 16 to 256 printable ASCII characters")]
    BadKey,
}

/// What [`KeyStore::open`] did.
#[derive(Debug)]
pub enum KeyOrigin {
    /// The key was given on the command line or in the environment.
    Given,
    /// A stored hash was found; the key is whatever was printed when it was made.
    Stored,
    /// A new key was generated; print it once, it is not stored anywhere.
    Generated(String),
}

fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl KeyStore {
    /// A store that accepts exactly `key`.
    pub fn from_key(key: &str) -> Result<KeyStore, KeyError> {
        let ok = (16..=256).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            return Err(KeyError::BadKey);
        }
        Ok(KeyStore { hash: hash(key) })
    }

    /// Uses `given` if present (and stores its hash), else the stored hash, else
    /// generates a key and stores its hash.
    pub fn open(data_dir: &Path, given: Option<&str>) -> Result<(KeyStore, KeyOrigin), KeyError> {
        let path = data_dir.join(HASH_FILE);
        let io = |source| KeyError::Io { path: path.clone(), source };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        if let Some(key) = given {
            let store = KeyStore::from_key(key)?;
            std::fs::write(&path, hex::encode(store.hash)).map_err(io)?;
            return Ok((store, KeyOrigin::Given));
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let bytes =
                    hex::decode(text.trim()).map_err(|_| KeyError::Corrupt(path.clone()))?;
                let hash: [u8; 32] =
                    bytes.try_into().map_err(|_| KeyError::Corrupt(path.clone()))?;
                Ok((KeyStore { hash }, KeyOrigin::Stored))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut raw = [0u8; 32];
                getrandom::fill(&mut raw).map_err(|e| KeyError::Random(e.to_string()))?;
                let key = hex::encode(raw);
                let store = KeyStore { hash: hash(&key) };
                std::fs::write(&path, hex::encode(store.hash)).map_err(io)?;
                Ok((store, KeyOrigin::Generated(key)))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Constant-time check of a candidate key.
    pub fn verify(&self, candidate: &str) -> bool {
        if candidate.len() > 1024 {
            return false;
        }
        hash(candidate).ct_eq(&self.hash).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_key_is_printed_once_and_only_its_hash_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let (store, origin) = KeyStore::open(dir.path(), None).unwrap();
        let KeyOrigin::Generated(key) = origin else { panic!("expected a new key") };
        assert_eq!(key.len(), 64);
        assert!(store.verify(&key));
        assert!(!store.verify("wrong"));
        let stored = std::fs::read_to_string(dir.path().join(HASH_FILE)).unwrap();
        assert!(!stored.contains(&key));
        let (again, origin) = KeyStore::open(dir.path(), None).unwrap();
        assert!(matches!(origin, KeyOrigin::Stored));
        assert!(again.verify(&key));
    }

    #[test]
    fn given_key_replaces_the_stored_one_and_bad_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (s, _) = KeyStore::open(dir.path(), Some("a-very-secret-key-123")).unwrap();
        assert!(s.verify("a-very-secret-key-123"));
        assert!(matches!(KeyStore::open(dir.path(), Some("short")), Err(KeyError::BadKey)));
        std::fs::write(dir.path().join(HASH_FILE), "zz").unwrap();
        let e = KeyStore::open(dir.path(), None).unwrap_err().to_string();
        assert!(e.contains("corrupt"), "{e}");
    }
}
