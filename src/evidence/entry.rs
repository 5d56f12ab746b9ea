//! One chained audit entry and its canonical encoding.

use super::key::MacKey;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt::Write as _;

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Domain separation for the canonical encoding; changes if the encoding ever does.
const ENCODING: &[u8] = b"clearance.audit.v1";

/// An entry of the audit log, as stored and exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// Dense sequence number, from 1.
    pub seq: u64,
    /// When (millisecond precision).
    pub at: DateTime<Utc>,
    /// What happened, such as `request.decided`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Who did it.
    pub actor: String,
    /// To what: a request, grant, tool, user, … id.
    pub subject: String,
    /// Details, including the policy version where one applies.
    pub data: serde_json::Value,
    /// `entry_hash` of the entry before, or [`GENESIS`].
    pub prev_hash: String,
    /// Hex SHA-256 of the canonical encoding.
    pub entry_hash: String,
    /// Hex HMAC-SHA-256 of `entry_hash` under the service's audit key.
    pub entry_mac: String,
}

impl AuditRecord {
    /// Seals a new entry after the one whose hash is `prev_hash`.
    #[allow(clippy::too_many_arguments)]
    pub fn seal(
        seq: u64,
        at: DateTime<Utc>,
        kind: String,
        actor: String,
        subject: String,
        data: serde_json::Value,
        prev_hash: String,
        key: &MacKey,
    ) -> Self {
        let at = truncate_to_millis(at);
        let mut record = Self {
            seq,
            at,
            kind,
            actor,
            subject,
            // Stored with sorted keys, so that the exported text of `data` is its canonical
            // JSON and a verifier can hash it as it reads it.
            data: sorted(data),
            prev_hash,
            entry_hash: String::new(),
            entry_mac: String::new(),
        };
        record.entry_hash = record.computed_hash();
        record.entry_mac = key.mac(&record.entry_hash);
        record
    }

    /// The hash of this entry's content as it is now.
    pub fn computed_hash(&self) -> String {
        hex32(&Sha256::digest(self.canonical_bytes()))
    }

    /// The canonical encoding: a fixed prefix, then each field as a 4-byte big-endian length
    /// and its UTF-8 bytes, in the order seq (decimal), at (RFC 3339, milliseconds, `Z`),
    /// type, actor, subject, data (canonical JSON), prev_hash.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let data = canonical_json(&self.data);
        let fields = [
            &*self.kind,
            &self.actor,
            &self.subject,
            &data,
            &self.prev_hash,
        ];
        canonical(self.seq, self.at, fields)
    }
}

/// The canonical encoding of an entry whose type, actor, subject, canonical data and
/// prev_hash are `fields`.
fn canonical(seq: u64, at: DateTime<Utc>, fields: [&str; 5]) -> Vec<u8> {
    let seq = seq.to_string();
    let at = rfc3339_millis(at);
    let [kind, actor, subject, data, prev_hash] = fields;
    length_prefixed(
        ENCODING,
        &[&seq, &at, kind, actor, subject, data, prev_hash],
    )
}

/// An entry as a verifier reads it from an export line: borrowed, with `data` as its text.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEntry<'a> {
    pub seq: u64,
    at: DateTime<Utc>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    actor: Cow<'a, str>,
    #[serde(borrow)]
    subject: Cow<'a, str>,
    #[serde(borrow)]
    data: &'a RawValue,
    #[serde(borrow)]
    pub prev_hash: Cow<'a, str>,
    #[serde(borrow)]
    pub entry_hash: Cow<'a, str>,
    #[serde(borrow)]
    pub entry_mac: Cow<'a, str>,
}

impl RawEntry<'_> {
    /// Whether the content hashes to `entry_hash`: from `data`'s text when that is already
    /// canonical (as the service writes it), else from its canonical form.
    pub fn hash_matches(&self) -> bool {
        let hash = |data: &str| {
            let fields = [
                &*self.kind,
                &self.actor,
                &self.subject,
                data,
                &self.prev_hash,
            ];
            hex_matches(
                &Sha256::digest(canonical(self.seq, self.at, fields)),
                &self.entry_hash,
            )
        };
        hash(self.data.get())
            || serde_json::from_str(self.data.get()).is_ok_and(|data| hash(&canonical_json(&data)))
    }
}

/// Lower-case hex of a 32-byte digest (the hex crate's char-by-char encoding is the slow
/// part of verifying otherwise).
pub(super) fn hex32(bytes: &[u8]) -> String {
    let mut buf = [0u8; 64];
    match hex::encode_to_slice(bytes, &mut buf).map(|()| String::from_utf8(buf.to_vec())) {
        Ok(Ok(text)) => text,
        _ => hex::encode(bytes),
    }
}

/// Whether `hex` is the lower-case hex of `digest`, without allocating.
/// Whether `text` is lower-case hex: the only form entries and checkpoints are written in,
/// so that no two spellings of one export both verify.
pub(super) fn is_lower_hex(text: &str) -> bool {
    text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

pub(super) fn hex_matches(digest: &[u8], hex: &str) -> bool {
    let mut buf = [0u8; 64];
    hex::encode_to_slice(digest, &mut buf).is_ok() && buf.as_slice() == hex.as_bytes()
}

/// `value` with every object's keys in byte order.
fn sorted(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut fields: Vec<(String, Value)> = map.into_iter().collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(fields.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// `prefix`, then each field as a 4-byte big-endian length and its UTF-8 bytes.
pub(super) fn length_prefixed(prefix: &[u8], fields: &[&str]) -> Vec<u8> {
    let size = prefix.len() + fields.iter().map(|f| f.len() + 4).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(prefix);
    for field in fields {
        let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out
}

/// A time as the canonical encodings and exports write it: RFC 3339, milliseconds, `Z`.
pub fn rfc3339_millis(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `at` without its sub-millisecond part, as entries and checkpoints keep times.
pub(super) fn truncate_to_millis(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at)
}

/// JSON with object keys in byte order and no whitespace; strings and numbers as serde_json
/// writes them.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}:", Value::String(key.clone()));
                if let Some(v) = map.get(key) {
                    write_canonical(v, out);
                }
            }
            out.push('}');
        }
        scalar => {
            let _ = write!(out, "{scalar}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let value = json!({"b": [1, {"z": true, "a": null}], "a": "x\n\"y\""});
        assert_eq!(
            canonical_json(&value),
            r#"{"a":"x\n\"y\"","b":[1,{"a":null,"z":true}]}"#
        );
    }

    #[test]
    fn the_hash_covers_every_field() {
        let key = MacKey::from_bytes([7; 32]);
        let at = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        let base = AuditRecord::seal(
            3,
            at,
            "grant.created".into(),
            "tok".into(),
            "grt_1".into(),
            json!({"a": 1}),
            GENESIS.into(),
            &key,
        );
        assert_eq!(base.computed_hash(), base.entry_hash);
        let mutations: [fn(&mut AuditRecord); 7] = [
            |r| r.seq += 1,
            |r| r.at += chrono::Duration::milliseconds(1),
            |r| r.kind.push('x'),
            |r| r.actor.push('x'),
            |r| r.subject.push('x'),
            |r| r.data = json!({"a": 2}),
            |r| r.prev_hash.replace_range(0..1, "1"),
        ];
        for mutate in mutations {
            let mut changed = base.clone();
            mutate(&mut changed);
            assert_ne!(changed.computed_hash(), base.entry_hash);
        }
    }
}
