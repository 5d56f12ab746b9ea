//! A policy bundle: the policy files and the schema, and the version that names them.

use super::PolicyError;
use crate::domain::{PolicyFile as BundleFile, PolicySource, PolicyVersionId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Policy files (sorted by path) and the schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// `*.cedar` files, sorted by path.
    pub files: Vec<BundleFile>,
    /// The Cedar schema.
    pub schema: BundleFile,
}

impl Bundle {
    /// A bundle of the given files; they are put in canonical (path) order.
    pub fn new(mut files: Vec<BundleFile>, schema: BundleFile) -> Self {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Self { files, schema }
    }

    /// Reads every `*.cedar` file directly in `dir`, and the schema file.
    pub fn load(dir: &Path, schema_path: &Path) -> Result<Self, PolicyError> {
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| PolicyError::Io { path, source }
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let path = entry.map_err(io(dir))?.path();
            if path.is_file() && path.extension().is_some_and(|e| e == "cedar") {
                let content = std::fs::read_to_string(&path).map_err(io(&path))?;
                files.push(BundleFile {
                    path: file_name(&path),
                    content,
                });
            }
        }
        let schema = BundleFile {
            path: file_name(schema_path),
            content: std::fs::read_to_string(schema_path).map_err(io(schema_path))?,
        };
        Ok(Self::new(files, schema))
    }

    /// The version: SHA-256 over the canonical encoding (see README, "Policy versions").
    pub fn version(&self) -> PolicyVersionId {
        let mut hash = Sha256::new();
        for file in &self.files {
            encode_part(&mut hash, "policy", file);
        }
        encode_part(&mut hash, "schema", &self.schema);
        PolicyVersionId::from_digest(&hash.finalize())
    }
}

/// `kind LF path LF byte-length LF content LF`: unambiguous, whatever the content holds.
fn encode_part(hash: &mut Sha256, kind: &str, file: &BundleFile) {
    hash.update(kind.as_bytes());
    hash.update(b"\n");
    hash.update(file.path.as_bytes());
    hash.update(b"\n");
    hash.update(file.content.len().to_string().as_bytes());
    hash.update(b"\n");
    hash.update(file.content.as_bytes());
    hash.update(b"\n");
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Describes `dir`, asking git for the commit when the folder is in a checkout.
pub fn source_of(dir: &Path) -> PolicySource {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let git_commit = git(&["rev-parse", "HEAD"]).filter(|c| !c.is_empty());
    let git_dirty = git_commit.is_some()
        && git(&["status", "--porcelain", "--", "."]).is_some_and(|s| !s.is_empty());
    let folder = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    PolicySource {
        folder: folder.display().to_string(),
        git_commit,
        git_dirty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, content: &str) -> BundleFile {
        BundleFile {
            path: path.into(),
            content: content.into(),
        }
    }

    #[test]
    fn version_ignores_file_order_but_not_boundaries() {
        let schema = file("s.cedarschema", "namespace X {}");
        let a = Bundle::new(
            vec![file("a.cedar", "ab"), file("b.cedar", "c")],
            schema.clone(),
        );
        let b = Bundle::new(
            vec![file("b.cedar", "c"), file("a.cedar", "ab")],
            schema.clone(),
        );
        let c = Bundle::new(vec![file("a.cedar", "a"), file("b.cedar", "bc")], schema);
        assert_eq!(a.version(), b.version());
        assert_ne!(a.version(), c.version());
    }
}
