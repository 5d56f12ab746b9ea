//! `clearance backup OUT`: fetches a running server's online backup into a new folder,
//! unpacks it, and checks it as a restore would open it (`clearance serve --data-dir OUT`).

use super::audit::verdict;
use super::client::{Client, ServerArgs, runtime};
use super::{new_folder, unusable};
use crate::service::{BackupCheck, MANIFEST, check_backup};
use clap::Args;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `clearance backup`.
#[derive(Debug, Args)]
pub(super) struct BackupArgs {
    /// The folder to write; it must not exist or be empty. Restore by serving it:
    /// `clearance serve --data-dir OUT`.
    out: PathBuf,
    /// The server's `secrets.key`, to copy into the backup. The server never sends it (it
    /// opens the connectors' and Jira's credentials); without it they must be set again
    /// after a restore.
    #[arg(long)]
    secrets_key: Option<PathBuf>,
    #[command(flatten)]
    server: ServerArgs,
}

/// The archive while it downloads, inside the new folder.
const DOWNLOAD: &str = ".clearance-backup.tar.partial";

/// Fetches, unpacks and checks; prints the report and exits 0 when the backup is good, 1
/// when it is not, 2 when it could not be fetched or opened.
pub(super) fn backup(args: &BackupArgs) -> ExitCode {
    let fetched = runtime().and_then(|rt| rt.block_on(fetch(args)));
    let checked = fetched
        .and_then(|()| place_secrets_key(args))
        .and_then(|()| check_backup(&args.out).map_err(|e| e.to_string()));
    match checked {
        Ok(check) => verdict(&report(args, &check), check.problems.is_empty()),
        Err(e) => unusable(&e),
    }
}

async fn fetch(args: &BackupArgs) -> Result<(), String> {
    new_folder(&args.out)?;
    let archive = args.out.join(DOWNLOAD);
    Client::new(&args.server)
        .download("/v1/admin/backup", &[], &archive)
        .await?;
    unpack(&archive, &args.out)?;
    std::fs::remove_file(&archive).map_err(|e| format!("{}: {e}", archive.display()))
}

/// Unpacks the archive's files into `out`: plain names only, each readable by its owner
/// alone (they include the audit keys).
fn unpack(archive: &Path, out: &Path) -> Result<(), String> {
    let shown = |e: &dyn std::fmt::Display| format!("{}: {e}", archive.display());
    let file = std::fs::File::open(archive).map_err(|e| shown(&e))?;
    let mut tar = tar::Archive::new(file);
    for entry in tar.entries().map_err(|e| shown(&e))? {
        let mut entry = entry.map_err(|e| shown(&e))?;
        let path = entry.path().map_err(|e| shown(&e))?.into_owned();
        let name = match path.file_name() {
            Some(name) if path.parent() == Some(Path::new("")) => name.to_owned(),
            _ => return Err(shown(&format!("unexpected entry {}", path.display()))),
        };
        let target = out.join(name);
        entry.unpack(&target).map_err(|e| shown(&e))?;
        owner_only(&target)?;
    }
    Ok(())
}

/// Copies `--secrets-key` into the backup, if given.
fn place_secrets_key(args: &BackupArgs) -> Result<(), String> {
    let Some(key) = &args.secrets_key else {
        return Ok(());
    };
    let target = args.out.join(crate::secrets::KEY_FILE);
    std::fs::copy(key, &target).map_err(|e| format!("{}: {e}", key.display()))?;
    owner_only(&target)
}

fn owner_only(path: &Path) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn report(args: &BackupArgs, check: &BackupCheck) -> serde_json::Value {
    let secrets_key = match (
        &args.secrets_key,
        check.manifest.holdings.sealed_credentials,
    ) {
        (Some(key), _) => format!("copied from {}", key.display()),
        (None, false) => "not needed: the backup holds no credentials".to_owned(),
        (None, true) => format!(
            "missing: the backup holds connector or Jira credentials, sealed with the server's \
             {0}; copy that file over {1} before serving the backup, or set the credentials \
             again after the restore",
            crate::secrets::KEY_FILE,
            args.out.join(crate::secrets::KEY_FILE).display()
        ),
    };
    json!({
        "backup": args.out,
        "manifest": MANIFEST,
        "taken_at": check.manifest.taken_at,
        "holds_changes_up_to": check.holdings.journal_seq,
        "audit": check.audit,
        "secrets_key": secrets_key,
        "ok": check.problems.is_empty(),
        "problems": check.problems,
    })
}
