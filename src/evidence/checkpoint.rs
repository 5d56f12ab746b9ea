//! Signed checkpoints: Ed25519 over `(seq, head hash, time, key id)`, so that a cut-off tail
//! or a rewritten history shows even to someone who does not hold the MAC key.

use super::entry::{length_prefixed, rfc3339_millis, truncate_to_millis};
use super::key::{KeyError, load_or_create_secret, load_secret};
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

const ENCODING: &[u8] = b"clearance.checkpoint.v1";

/// The signing key file inside the data folder.
pub const SIGNING_KEY_FILE: &str = "audit-signing.key";

/// A signed statement that the log's entry `seq` has hash `head_hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The last entry covered.
    pub seq: u64,
    /// That entry's `entry_hash`.
    pub head_hash: String,
    /// When it was signed (milliseconds).
    pub at: DateTime<Utc>,
    /// Which key signed it: see [`PublicKey::key_id`].
    pub key_id: String,
    /// Hex Ed25519 signature over the canonical encoding.
    pub signature: String,
}

impl Checkpoint {
    /// The signed bytes: `clearance.checkpoint.v1`, then seq (decimal), head hash, at
    /// (RFC 3339, milliseconds, `Z`) and key id, each as a 4-byte big-endian length and its
    /// UTF-8 bytes.
    pub fn message(&self) -> Vec<u8> {
        let seq = self.seq.to_string();
        let at = rfc3339_millis(self.at);
        length_prefixed(ENCODING, &[&seq, &self.head_hash, &at, &self.key_id])
    }

    /// Whether `key` signed this checkpoint.
    pub fn verify(&self, key: &PublicKey) -> bool {
        if !super::entry::is_lower_hex(&self.signature) {
            return false;
        }
        let Ok(bytes) = hex::decode(&self.signature) else {
            return false;
        };
        let Ok(signature) = Signature::from_slice(&bytes) else {
            return false;
        };
        self.key_id == key.key_id && key.key.verify(&self.message(), &signature).is_ok()
    }
}

/// The service's checkpoint signing key.
#[derive(Debug, Clone)]
pub struct Signer {
    key: SigningKey,
    public: PublicKey,
}

impl Signer {
    /// A signer from its 32 secret bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&bytes);
        let public = PublicKey::new(key.verifying_key());
        Self { key, public }
    }

    /// Reads the key at `path`, or creates it (mode 0600).
    pub fn load_or_create(path: &Path) -> Result<Self, KeyError> {
        load_or_create_secret(path).map(Self::from_bytes)
    }

    /// Reads the key at `path`.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        load_secret(path).map(Self::from_bytes)
    }

    /// The key that verifies this signer's checkpoints.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs that entry `seq` has hash `head_hash`, at `at` (truncated to milliseconds).
    pub fn sign(&self, seq: u64, head_hash: &str, at: DateTime<Utc>) -> Checkpoint {
        let mut checkpoint = Checkpoint {
            seq,
            head_hash: head_hash.to_owned(),
            at: truncate_to_millis(at),
            key_id: self.public.key_id.clone(),
            signature: String::new(),
        };
        checkpoint.signature = hex::encode(self.key.sign(&checkpoint.message()).to_bytes());
        checkpoint
    }
}

/// An Ed25519 public key and its id (the first 16 hex digits of its SHA-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    key_id: String,
}

/// How a public key is published: `GET /v1/audit/public-key`, and the file
/// `clearance audit verify --public-key` reads.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublishedKey {
    /// Always `ed25519`.
    pub algorithm: String,
    /// The key's id, as checkpoints name it.
    pub key_id: String,
    /// The 32-byte public key, hex.
    pub public_key: String,
}

impl PublicKey {
    fn new(key: VerifyingKey) -> Self {
        let key_id = hex::encode(Sha256::digest(key.as_bytes()))
            .chars()
            .take(16)
            .collect();
        Self { key, key_id }
    }

    /// The key's id.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The published form.
    pub fn published(&self) -> PublishedKey {
        PublishedKey {
            algorithm: "ed25519".into(),
            key_id: self.key_id.clone(),
            public_key: hex::encode(self.key.as_bytes()),
        }
    }

    /// Parses the published JSON form, or a bare hex key.
    pub fn parse(text: &str) -> Option<Self> {
        let hex_key = match serde_json::from_str::<PublishedKey>(text) {
            Ok(published) if published.algorithm == "ed25519" => published.public_key,
            Ok(_) => return None,
            Err(_) => text.trim().to_owned(),
        };
        let bytes: [u8; 32] = hex::decode(hex_key).ok()?.try_into().ok()?;
        VerifyingKey::from_bytes(&bytes).ok().map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_verifies_only_unchanged_and_under_its_key() {
        let signer = Signer::from_bytes([7; 32]);
        let at = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        let checkpoint = signer.sign(42, &"ab".repeat(32), at);
        let key = signer.public_key();
        assert!(checkpoint.verify(key));
        let published = serde_json::to_string(&key.published()).unwrap();
        assert_eq!(PublicKey::parse(&published).as_ref(), Some(key));
        assert_eq!(
            PublicKey::parse(&key.published().public_key).as_ref(),
            Some(key)
        );

        let mut changed = checkpoint.clone();
        changed.seq = 41;
        assert!(!changed.verify(key));
        let mut changed = checkpoint.clone();
        changed.head_hash.replace_range(0..1, "c");
        assert!(!changed.verify(key));
        let mut changed = checkpoint.clone();
        changed.at += chrono::Duration::milliseconds(1);
        assert!(!changed.verify(key));
        let other = Signer::from_bytes([8; 32]);
        assert!(!checkpoint.verify(other.public_key()));
    }
}
