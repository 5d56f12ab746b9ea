//! Secrets at rest: connector and Jira credentials are sealed with XChaCha20-Poly1305 under a
//! key kept in a file outside the database (mode 0600, created on first use, like the audit
//! keys), so that a copy of the database file alone reveals no credential.
//!
//! Each sealed value is bound to what it belongs to (its associated data, such as
//! `connector:okta-main`), so a sealed value copied onto another record does not open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::path::Path;

/// The key file inside the data folder, next to (never inside) the database file.
pub const KEY_FILE: &str = "secrets.key";

const NONCE_LEN: usize = 24;

/// Why a sealed value could not be made or opened. Never carries the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// The key file could not be read or created.
    #[error(transparent)]
    Key(#[from] crate::evidence::KeyError),
    /// No random bytes for a nonce.
    #[error("no randomness for a nonce")]
    Random,
    /// The value does not open with this key and owner: another key file, or tampering.
    #[error("a sealed secret does not open with this data folder's key file")]
    Unopenable,
}

/// The key that seals secrets.
#[derive(Clone)]
pub struct SecretsKey(XChaCha20Poly1305);

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsKey(…)")
    }
}

impl SecretsKey {
    /// Reads the key in `data_dir`, or creates it (mode 0600) with fresh random bytes.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, SecretsError> {
        let bytes = crate::evidence::key::load_or_create_secret(&data_dir.join(KEY_FILE))?;
        Ok(Self(XChaCha20Poly1305::new(&bytes.into())))
    }

    /// Seals `plaintext` for `owner`: hex of a random nonce followed by the ciphertext.
    pub fn seal(&self, owner: &str, plaintext: &[u8]) -> Result<String, SecretsError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| SecretsError::Random)?;
        let payload = Payload {
            msg: plaintext,
            aad: owner.as_bytes(),
        };
        let sealed = self
            .0
            .encrypt(XNonce::from_slice(&nonce), payload)
            .map_err(|_| SecretsError::Unopenable)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(hex::encode(out))
    }

    /// Opens what [`Self::seal`] made for `owner`.
    pub fn open(&self, owner: &str, sealed: &str) -> Result<Vec<u8>, SecretsError> {
        let bytes = hex::decode(sealed).map_err(|_| SecretsError::Unopenable)?;
        if bytes.len() < NONCE_LEN {
            return Err(SecretsError::Unopenable);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: owner.as_bytes(),
        };
        self.0
            .decrypt(XNonce::from_slice(nonce), payload)
            .map_err(|_| SecretsError::Unopenable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_owner() {
        let dir = tempfile::tempdir().unwrap();
        let key = SecretsKey::load_or_create(dir.path()).unwrap();
        let sealed = key.seal("connector:a", b"token-123").unwrap();
        assert!(!sealed.contains(&hex::encode(b"token-123")));
        assert_eq!(key.open("connector:a", &sealed).unwrap(), b"token-123");
        assert!(key.open("connector:b", &sealed).is_err());
        // The same key file opens it again; another folder's key does not.
        let again = SecretsKey::load_or_create(dir.path()).unwrap();
        assert_eq!(again.open("connector:a", &sealed).unwrap(), b"token-123");
        let other = tempfile::tempdir().unwrap();
        let stranger = SecretsKey::load_or_create(other.path()).unwrap();
        assert!(stranger.open("connector:a", &sealed).is_err());
        // Two seals of one value differ (fresh nonces).
        assert_ne!(key.seal("connector:a", b"token-123").unwrap(), sealed);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
