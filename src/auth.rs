//! The API key: one key per engine, checked by the REST API and the WebSocket server.
//!
//! The key is stored only as a salted Argon2id hash (PHC string) in
//! `<data-dir>/apikey.argon2`, mode 0600; the key itself is printed once, when generated,
//! and never when it was given (`--api-key`, `TICKFILL_API_KEY`). Without a given key the
//! first start generates a 256-bit one. A hash file of the earlier format
//! (`apikey.sha256`, unsalted SHA-256) is still accepted; it is made 0600 at start and
//! replaced by an Argon2id file the first time the right key is presented.
//!
//! # Performance
//! Argon2id is slow on purpose (about 20 ms), so it runs at most once per process: the
//! first key that verifies (or the key known at start) is kept in memory as a SHA-256
//! digest under a random per-process salt, and every later check is one SHA-256 and a
//! constant-time compare. Only one key is right, so once it is cached a candidate that
//! does not match the cache is wrong without running the KDF.
//!
//! Failed attempts per source address are limited by [`guard`], before this check.
//!
//! # Known limitations
//! - Until the right key has been seen once (a key stored from an earlier start), each
//!   wrong key costs one Argon2id run: on the REST blocking pool, but on the WebSocket
//!   server's own thread, which it stalls for that long. The address limit bounds how
//!   often one address can do that.

#![forbid(unsafe_code)]

pub mod guard;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use subtle::ConstantTimeEq;
use thiserror::Error;

/// The Argon2id hash file.
pub const HASH_FILE: &str = "apikey.argon2";
/// The earlier unsalted SHA-256 file, accepted and migrated.
pub const LEGACY_FILE: &str = "apikey.sha256";

/// What the key is checked against when it is not cached yet.
#[derive(Debug)]
enum Stored {
    /// An Argon2id PHC string.
    Argon2(String),
    /// A legacy SHA-256 hash; migrated into `dir` on the first right key.
    Legacy { hash: [u8; 32], dir: PathBuf },
    /// Only the cache (the key was known at start).
    CacheOnly,
}

#[derive(Debug)]
struct Inner {
    stored: Stored,
    salt: [u8; 32],
    cache: OnceLock<[u8; 32]>,
}

/// The verifier (cheap to clone: every clone shares the cache).
#[derive(Clone)]
pub struct KeyStore {
    inner: Arc<Inner>,
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
    /// The hash file is not what tickfill writes; delete it to generate a new key.
    #[error("api key file {0} is corrupt; delete it to generate a new key")]
    Corrupt(PathBuf),
    /// The OS random source failed.
    #[error("cannot generate an api key: {0}")]
    Random(String),
    /// The KDF refused its input (should not happen for a valid key).
    #[error("cannot hash the api key: {0}")]
    Hash(String),
    /// A given key is unusable.
    #[error("--api-key must be 16 to 256 printable ASCII characters")]
    BadKey,
}

/// What [`KeyStore::open`] did.
#[derive(Debug)]
pub enum KeyOrigin {
    /// The key was given on the command line or in the environment (never print it).
    Given,
    /// A stored hash was found; the key is whatever was printed when it was made.
    Stored,
    /// A legacy SHA-256 hash was found; it becomes Argon2id on the first right key.
    StoredLegacy,
    /// A new key was generated; print it once, it is not stored anywhere.
    Generated(String),
}

fn random32() -> Result<[u8; 32], KeyError> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(raw)
}

fn valid(key: &str) -> bool {
    (16..=256).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// Argon2id with its default parameters and a random 16-byte salt.
fn argon2_hash(key: &str) -> Result<String, KeyError> {
    let salt = random32()?;
    let hash = Argon2::default()
        .hash_password_with_salt(key.as_bytes(), &salt[..16])
        .map_err(|e| KeyError::Hash(e.to_string()))?;
    Ok(hash.to_string())
}

/// Writes `text` to `dir/name` with mode 0600 (a fresh file renamed over the old one).
fn write_private(dir: &Path, name: &str, text: &str) -> Result<(), KeyError> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let io = |source| KeyError::Io { path: path.clone(), source };
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)?;
    Ok(())
}

/// Makes an existing file 0600.
fn make_private(path: &Path) -> Result<(), KeyError> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|source| KeyError::Io { path: path.to_owned(), source })
}

impl KeyStore {
    fn build(stored: Stored, known: Option<&str>) -> Result<KeyStore, KeyError> {
        let inner = Inner { stored, salt: random32()?, cache: OnceLock::new() };
        if let Some(k) = known {
            let _ = inner.cache.set(inner.digest(k));
        }
        Ok(KeyStore { inner: Arc::new(inner) })
    }

    /// A store that accepts exactly `key` (nothing is written).
    pub fn from_key(key: &str) -> Result<KeyStore, KeyError> {
        if !valid(key) {
            return Err(KeyError::BadKey);
        }
        KeyStore::build(Stored::CacheOnly, Some(key))
    }

    /// Uses `given` if present (and stores its hash), else the stored hash, else
    /// generates a key and stores its hash.
    pub fn open(data_dir: &Path, given: Option<&str>) -> Result<(KeyStore, KeyOrigin), KeyError> {
        let path = data_dir.join(HASH_FILE);
        let legacy = data_dir.join(LEGACY_FILE);
        let io = |source| KeyError::Io { path: path.clone(), source };
        std::fs::create_dir_all(data_dir).map_err(io)?;
        if let Some(key) = given {
            if !valid(key) {
                return Err(KeyError::BadKey);
            }
            write_private(data_dir, HASH_FILE, &argon2_hash(key)?)?;
            let _ = std::fs::remove_file(&legacy);
            return Ok((KeyStore::build(Stored::CacheOnly, Some(key))?, KeyOrigin::Given));
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let phc = text.trim().to_owned();
                argon2::PasswordHash::new(&phc).map_err(|_| KeyError::Corrupt(path.clone()))?;
                make_private(&path)?;
                return Ok((KeyStore::build(Stored::Argon2(phc), None)?, KeyOrigin::Stored));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        match std::fs::read_to_string(&legacy) {
            Ok(text) => {
                let corrupt = || KeyError::Corrupt(legacy.clone());
                let bytes = hex::decode(text.trim()).map_err(|_| corrupt())?;
                let hash: [u8; 32] = bytes.try_into().map_err(|_| corrupt())?;
                make_private(&legacy)?;
                let stored = Stored::Legacy { hash, dir: data_dir.to_owned() };
                Ok((KeyStore::build(stored, None)?, KeyOrigin::StoredLegacy))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = hex::encode(random32()?);
                write_private(data_dir, HASH_FILE, &argon2_hash(&key)?)?;
                let store = KeyStore::build(Stored::CacheOnly, Some(&key))?;
                Ok((store, KeyOrigin::Generated(key)))
            }
            Err(e) => Err(KeyError::Io { path: legacy.clone(), source: e }),
        }
    }

    /// True once a right key is cached, so [`KeyStore::verify`] is cheap.
    pub fn is_cached(&self) -> bool {
        self.inner.cache.get().is_some()
    }

    /// Constant-time check of a candidate key; runs the KDF only until the first success.
    pub fn verify(&self, candidate: &str) -> bool {
        if candidate.len() > 1024 {
            return false;
        }
        let inner = &self.inner;
        let digest = inner.digest(candidate);
        if let Some(cached) = inner.cache.get() {
            return digest.ct_eq(cached).into();
        }
        let ok = match &inner.stored {
            Stored::Argon2(phc) => {
                Argon2::default().verify_password(candidate.as_bytes(), phc.as_str()).is_ok()
            }
            Stored::Legacy { hash, dir } => {
                let h: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
                let ok: bool = h.ct_eq(hash).into();
                if ok {
                    migrate(dir, candidate);
                }
                ok
            }
            Stored::CacheOnly => false,
        };
        if ok {
            let _ = inner.cache.set(digest);
        }
        ok
    }
}

impl Inner {
    fn digest(&self, key: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(key.as_bytes());
        h.finalize().into()
    }
}

/// Replaces a legacy hash file with an Argon2id one (best effort: a failure is logged
/// and the legacy file keeps working).
fn migrate(dir: &Path, key: &str) {
    let done = argon2_hash(key).and_then(|phc| write_private(dir, HASH_FILE, &phc));
    match done {
        Ok(()) => {
            let _ = std::fs::remove_file(dir.join(LEGACY_FILE));
            tracing::info!(file = HASH_FILE, "auth: api key hash upgraded to Argon2id");
        }
        Err(e) => tracing::warn!(error = %e, "auth: cannot upgrade the api key hash"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn generated_key_is_printed_once_and_only_its_salted_hash_is_stored_0600() {
        let dir = tempfile::tempdir().unwrap();
        let (store, origin) = KeyStore::open(dir.path(), None).unwrap();
        let KeyOrigin::Generated(key) = origin else { panic!("expected a new key") };
        assert_eq!(key.len(), 64);
        assert!(store.verify(&key));
        assert!(!store.verify("wrong"));
        let file = dir.path().join(HASH_FILE);
        let stored = std::fs::read_to_string(&file).unwrap();
        assert!(!stored.contains(&key));
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert_eq!(mode(&file), 0o600);
        let (again, origin) = KeyStore::open(dir.path(), None).unwrap();
        assert!(matches!(origin, KeyOrigin::Stored));
        assert!(!again.is_cached());
        assert!(!again.verify("wrong-but-long-enough"));
        assert!(again.verify(&key));
        assert!(again.is_cached(), "the right key is cached after one KDF run");
        assert!(again.clone().verify(&key));
        assert!(!again.verify(&format!("{key}x")));
    }

    #[test]
    fn the_same_key_hashes_differently_each_time() {
        let a = argon2_hash("a-very-secret-key-123").unwrap();
        let b = argon2_hash("a-very-secret-key-123").unwrap();
        assert_ne!(a, b, "salted");
    }

    #[test]
    fn given_key_replaces_the_stored_one_and_bad_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (s, _) = KeyStore::open(dir.path(), Some("a-very-secret-key-123")).unwrap();
        assert!(s.verify("a-very-secret-key-123"));
        assert!(matches!(KeyStore::open(dir.path(), Some("short")), Err(KeyError::BadKey)));
        let (s, _) = KeyStore::open(dir.path(), None).unwrap();
        assert!(s.verify("a-very-secret-key-123"));
        std::fs::write(dir.path().join(HASH_FILE), "zz").unwrap();
        let e = KeyStore::open(dir.path(), None).unwrap_err().to_string();
        assert!(e.contains("corrupt"), "{e}");
    }

    #[test]
    fn a_legacy_sha256_file_is_accepted_made_private_and_migrated() {
        let dir = tempfile::tempdir().unwrap();
        let key = "legacy-key-0123456789";
        let legacy = dir.path().join(LEGACY_FILE);
        std::fs::write(&legacy, hex::encode(Sha256::digest(key.as_bytes()))).unwrap();
        std::fs::set_permissions(&legacy, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (s, origin) = KeyStore::open(dir.path(), None).unwrap();
        assert!(matches!(origin, KeyOrigin::StoredLegacy));
        assert_eq!(mode(&legacy), 0o600);
        assert!(!s.verify("legacy-key-wrong-0000"));
        assert!(legacy.exists(), "a wrong key migrates nothing");
        assert!(s.verify(key));
        assert!(!legacy.exists());
        assert_eq!(mode(&dir.path().join(HASH_FILE)), 0o600);
        let (s, origin) = KeyStore::open(dir.path(), None).unwrap();
        assert!(matches!(origin, KeyOrigin::Stored));
        assert!(s.verify(key));
    }
}
