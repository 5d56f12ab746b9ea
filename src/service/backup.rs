//! Online backup (admin): a consistent copy of the running server's data as a tar archive —
//! a manifest, the database as of a snapshot, and the audit key files — and the check of a
//! copy once unpacked into a folder of its own.

use super::{Actor, Service, ServiceError};
use crate::evidence::{Verifier, VerifyReport};
use crate::store::{AuditQueries, BackupCopy, Holdings, NewAuditEntry, Store, StoreError};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// The manifest's name in the archive and in the folder it is unpacked into.
pub const MANIFEST: &str = "clearance-backup.json";
/// The manifest's format.
const FORMAT: u32 = 1;

/// What a backup is: written first in its archive.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The manifest's format (1).
    pub format: u32,
    /// The clearance version that made it.
    pub version: String,
    /// When it began.
    pub taken_at: DateTime<Utc>,
    /// Who asked for it.
    pub taken_by: String,
    /// What the copy holds: every change answered before the backup began is at or before
    /// its `journal_seq`.
    #[serde(flatten)]
    pub holdings: Holdings,
    /// The files after the manifest, as named in a data folder.
    pub files: Vec<String>,
}

/// A backup ready to be written out; its copy is removed when it is dropped.
#[derive(Debug)]
pub struct Backup {
    copy: BackupCopy,
    manifest: Manifest,
}

impl Service {
    /// Copies the data as it is now (admin): every change answered before this call is in
    /// the copy. Records who asked in the audit log first, so the copy holds that entry too.
    pub fn back_up(&self, actor: &Actor) -> Result<Backup, ServiceError> {
        actor.require(&[], "back up the data")?;
        let taken_at = self.clock.now();
        let entry = NewAuditEntry {
            kind: "backup.taken",
            actor: actor.audit_name(),
            subject: "data".to_owned(),
            data: serde_json::json!({}),
        };
        self.store.write(|w| w.audit(entry, taken_at))?;
        let copy = self.store.back_up().map_err(|e| backup_failed(&e))?;
        let manifest = Manifest {
            format: FORMAT,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            taken_at,
            taken_by: actor.audit_name(),
            holdings: copy.holdings().clone(),
            files: copy.files().map(|(name, _)| name.to_owned()).collect(),
        };
        Ok(Backup { copy, manifest })
    }
}

impl Backup {
    /// A name for the archive: `clearance-backup-<when>.tar`.
    pub fn file_name(&self) -> String {
        format!(
            "clearance-backup-{}.tar",
            self.manifest.taken_at.format("%Y%m%dT%H%M%SZ")
        )
    }

    /// Writes the archive to `sink` in chunks, until done or until `sink` returns false (the
    /// reader went away); then the copy is removed.
    pub fn write_tar(self, sink: &mut dyn FnMut(Vec<u8>) -> bool) -> Result<(), ServiceError> {
        let mut out = Chunks::new(sink);
        match self.write_into(&mut out) {
            Ok(()) => Ok(()),
            Err(_) if out.refused => Ok(()),
            Err(e) => Err(backup_failed(&e)),
        }
    }

    fn write_into(&self, out: &mut Chunks<'_>) -> std::io::Result<()> {
        let mut tar = tar::Builder::new(out);
        let manifest = serde_json::to_vec_pretty(&self.manifest)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(manifest.len() as u64);
        header.set_mode(0o600);
        header.set_mtime(self.manifest.taken_at.timestamp().max(0).unsigned_abs());
        tar.append_data(&mut header, MANIFEST, manifest.as_slice())?;
        for (name, path) in self.copy.files() {
            tar.append_path_with_name(path, name)?;
        }
        tar.into_inner()?.flush()
    }
}

fn backup_failed(error: &dyn std::fmt::Display) -> ServiceError {
    tracing::error!(%error, "a backup could not be made or written out");
    ServiceError::BackupFailed
}

/// Bytes gathered into chunks of [`Chunks::SIZE`] for a sink.
struct Chunks<'s> {
    sink: &'s mut dyn FnMut(Vec<u8>) -> bool,
    buf: Vec<u8>,
    refused: bool,
}

impl<'s> Chunks<'s> {
    const SIZE: usize = 256 * 1024;

    fn new(sink: &'s mut dyn FnMut(Vec<u8>) -> bool) -> Self {
        Self {
            sink,
            buf: Vec::with_capacity(Self::SIZE),
            refused: false,
        }
    }
}

impl Write for Chunks<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= Self::SIZE {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(Self::SIZE));
        if (self.sink)(chunk) {
            Ok(())
        } else {
            self.refused = true;
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }
}

/// What the check of an unpacked backup found.
#[derive(Debug)]
pub struct BackupCheck {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// What the folder holds, opened as a server would.
    pub holdings: Holdings,
    /// The verification of its audit log.
    pub audit: VerifyReport,
    /// What is wrong, if anything: the backup is good when this is empty.
    pub problems: Vec<String>,
}

/// Why a backup folder could not be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The manifest is missing or unreadable.
    #[error("{path}: {reason}")]
    Manifest {
        /// The manifest file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A file the manifest lists is not there: opening the folder would start afresh.
    #[error("{0} is missing from the backup")]
    Missing(String),
    /// The folder does not open as a data folder.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Opens the data folder `dir` a backup was unpacked into, as a server would, and checks it
/// against its manifest: the same changes, the same end of the audit log, and an audit log
/// that verifies.
pub fn check_backup(dir: &Path) -> Result<BackupCheck, CheckError> {
    let path = dir.join(MANIFEST);
    let bad = |reason: String| CheckError::Manifest {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read(&path).map_err(|e| bad(e.to_string()))?;
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
    if manifest.format != FORMAT {
        let found = manifest.format;
        return Err(bad(format!("format {found}; this version reads {FORMAT}")));
    }
    if let Some(name) = manifest.files.iter().find(|name| !dir.join(name).is_file()) {
        return Err(CheckError::Missing(name.clone()));
    }
    let store = Store::open(dir)?;
    let read = store.read()?;
    let holdings = read.holdings()?;
    let mut verifier = Verifier::new(Some(store.audit_key().clone()))
        .with_public_key(Some(store.public_key().clone()));
    read.verify_audit(&mut verifier)?;
    let audit = verifier.finish();
    let problems = problems(&manifest.holdings, &holdings, &audit);
    Ok(BackupCheck {
        manifest,
        holdings,
        audit,
        problems,
    })
}

fn problems(expected: &Holdings, found: &Holdings, audit: &VerifyReport) -> Vec<String> {
    let mut out = Vec::new();
    if found.journal_seq != expected.journal_seq {
        out.push(format!(
            "it holds the changes up to #{}, but the server copied those up to #{}",
            found.journal_seq, expected.journal_seq
        ));
    }
    if (found.audit_seq, &found.audit_hash) != (expected.audit_seq, &expected.audit_hash) {
        out.push(format!(
            "its audit log ends at seq {:?}, but the server's copy ended at seq {:?} (or with \
             another entry)",
            found.audit_seq, expected.audit_seq
        ));
    }
    if let Some(fault) = &audit.fault {
        out.push(format!(
            "its audit log does not verify at seq {}: {:?}",
            fault.seq, fault.kind
        ));
    }
    out
}
