//! Policy versions as recorded: every distinct bundle that was ever activated.

use super::PolicyVersionId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One file of a policy bundle; `path` is its name relative to its folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicyFile {
    /// File name relative to its folder, `/`-separated.
    pub path: String,
    /// The full text.
    pub content: String,
}

/// Where a bundle was loaded from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicySource {
    /// The policies folder.
    pub folder: String,
    /// `HEAD` of the git checkout holding the folder, if it is in one.
    pub git_commit: Option<String>,
    /// Whether the checkout had uncommitted changes under the folder.
    #[serde(default)]
    pub git_dirty: bool,
}

/// A stored policy version with its full text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersionRecord {
    /// SHA-256 of the canonical bundle.
    pub version: PolicyVersionId,
    /// 1 for the first version ever stored, then 2, 3, …
    pub seq: u64,
    /// The `*.cedar` files, in canonical order.
    pub files: Vec<PolicyFile>,
    /// The schema.
    pub schema: PolicyFile,
    /// Where it was loaded from when first activated.
    pub source: PolicySource,
    /// When it first became active.
    pub activated_at: DateTime<Utc>,
    /// Who first activated it.
    pub activated_by: String,
}

/// One change of the active version (a version can be activated again later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicyActivation {
    /// The version made active.
    #[schema(value_type = String)]
    pub version: PolicyVersionId,
    /// Its sequence number.
    pub seq: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// By whom.
    pub actor: String,
    /// Where it was loaded from.
    pub source: PolicySource,
}

/// How a file differs between two versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileChange {
    /// Only in the newer version.
    Added,
    /// Only in the older version.
    Removed,
    /// In both, with different text.
    Modified,
}

/// One file that differs, with a unified diff of its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FileDiff {
    /// The file's name (the schema under its own name).
    pub path: String,
    /// How it changed.
    pub change: FileChange,
    /// `--- a/path` / `+++ b/path` unified diff with three lines of context.
    pub diff: String,
}

impl PolicyVersionRecord {
    /// Every file that differs from `self` to `newer`, schema last; files that are the same
    /// are left out.
    pub fn diff(&self, newer: &Self) -> Vec<FileDiff> {
        let mut paths: Vec<&str> = self
            .files
            .iter()
            .chain(&newer.files)
            .map(|f| f.path.as_str())
            .collect();
        paths.sort_unstable();
        paths.dedup();
        let find = |files: &'_ [PolicyFile], path: &str| {
            files
                .iter()
                .find(|f| f.path == path)
                .map(|f| f.content.clone())
        };
        let mut out: Vec<FileDiff> = paths
            .into_iter()
            .filter_map(|path| file_diff(path, find(&self.files, path), find(&newer.files, path)))
            .collect();
        let schema = |r: &Self| Some(r.schema.content.clone());
        out.extend(file_diff(&newer.schema.path, schema(self), schema(newer)));
        out
    }
}

fn file_diff(path: &str, old: Option<String>, new: Option<String>) -> Option<FileDiff> {
    let change = match (&old, &new) {
        (Some(a), Some(b)) if a == b => return None,
        (Some(_), Some(_)) => FileChange::Modified,
        (None, Some(_)) => FileChange::Added,
        (Some(_), None) => FileChange::Removed,
        (None, None) => return None,
    };
    let (old, new) = (old.unwrap_or_default(), new.unwrap_or_default());
    let diff = similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string();
    Some(FileDiff {
        path: path.to_owned(),
        change,
        diff,
    })
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn record(files: &[(&str, &str)], schema: &str) -> PolicyVersionRecord {
        let file = |(path, content): &(&str, &str)| PolicyFile {
            path: (*path).to_owned(),
            content: (*content).to_owned(),
        };
        PolicyVersionRecord {
            version: PolicyVersionId::from_digest(&[0; 32]),
            seq: 1,
            files: files.iter().map(file).collect(),
            schema: file(&("clearance.cedarschema", schema)),
            source: PolicySource {
                folder: "policies".into(),
                git_commit: None,
                git_dirty: false,
            },
            activated_at: DateTime::<Utc>::UNIX_EPOCH,
            activated_by: "test".into(),
        }
    }

    #[test]
    fn diff_lists_added_removed_and_modified_files_with_unified_text() {
        let old = record(
            &[
                ("a.cedar", "x\ny\n"),
                ("b.cedar", "same\n"),
                ("c.cedar", "gone\n"),
            ],
            "s\n",
        );
        let new = record(
            &[
                ("a.cedar", "x\nz\n"),
                ("b.cedar", "same\n"),
                ("d.cedar", "new\n"),
            ],
            "s\n",
        );
        let diff = old.diff(&new);
        let summary: Vec<_> = diff.iter().map(|d| (d.path.as_str(), d.change)).collect();
        assert_eq!(
            summary,
            [
                ("a.cedar", FileChange::Modified),
                ("c.cedar", FileChange::Removed),
                ("d.cedar", FileChange::Added)
            ]
        );
        assert_eq!(
            diff[0].diff,
            "--- a/a.cedar\n+++ b/a.cedar\n@@ -1,2 +1,2 @@\n x\n-y\n+z\n"
        );
        assert!(old.diff(&old).is_empty());
        let schema_changed = record(&[("a.cedar", "x\ny\n")], "t\n");
        let last = old.diff(&schema_changed).pop().map(|d| d.path);
        assert_eq!(last.as_deref(), Some("clearance.cedarschema"));
    }
}
