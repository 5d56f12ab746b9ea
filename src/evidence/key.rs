//! Key files: 32 secret bytes as hex in a file outside the database, created 0600.
//! The audit MAC key and the checkpoint signing key are both kept this way.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::io::Write;
use std::path::Path;

/// Why a key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or creating the file failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file does not hold 64 hex digits.
    #[error("key file {path} must hold 64 hex digits (32 bytes)")]
    Malformed {
        /// The file.
        path: String,
    },
}

/// Reads the 32 bytes at `path`, or creates the file (mode 0600) with fresh random bytes.
pub(crate) fn load_or_create_secret(path: &Path) -> Result<[u8; 32], KeyError> {
    let io = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    if path.exists() {
        return load_secret(path);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| io(std::io::Error::other(e.to_string())))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    file.write_all(format!("{}\n", hex::encode(bytes)).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io)?;
    Ok(bytes)
}

/// Reads 32 bytes written as hex at `path`.
pub(super) fn load_secret(path: &Path) -> Result<[u8; 32], KeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let malformed = || KeyError::Malformed {
        path: path.display().to_string(),
    };
    let bytes = hex::decode(text.trim()).map_err(|_| malformed())?;
    bytes.try_into().map_err(|_| malformed())
}

/// The HMAC-SHA-256 key that seals every audit entry, kept as the keyed MAC state so that
/// each entry pays only for its own bytes.
#[derive(Clone)]
pub struct MacKey(Hmac<Sha256>);

impl std::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MacKey(…)")
    }
}

impl MacKey {
    /// A key from its bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        // HMAC pads a key shorter than the hash's block with zeros, so the 32 bytes in a
        // zeroed block are the same key, and building from a whole block cannot fail.
        let mut block = hmac::digest::Key::<Hmac<Sha256>>::default();
        block.iter_mut().zip(bytes).for_each(|(b, k)| *b = k);
        Self(<Hmac<Sha256> as KeyInit>::new(&block))
    }

    /// Reads the key at `path`, or creates it (mode 0600) with fresh random bytes.
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        load_or_create_secret(path).map(Self::from_bytes)
    }

    /// Reads the key at `path`.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        load_secret(path).map(Self::from_bytes)
    }

    /// Hex HMAC-SHA-256 of `entry_hash`.
    pub fn mac(&self, entry_hash: &str) -> String {
        super::entry::hex32(&self.hmac(entry_hash).finalize().into_bytes())
    }

    /// Whether `mac` is the MAC of `entry_hash` as written (lower-case hex, compared in
    /// constant time).
    pub fn verify(&self, entry_hash: &str, mac: &str) -> bool {
        let mut bytes = [0u8; 32];
        super::entry::is_lower_hex(mac)
            && hex::decode_to_slice(mac, &mut bytes).is_ok()
            && self.hmac(entry_hash).verify_slice(&bytes).is_ok()
    }

    fn hmac(&self, entry_hash: &str) -> Hmac<Sha256> {
        let mut mac = self.0.clone();
        mac.update(entry_hash.as_bytes());
        mac
    }
}
