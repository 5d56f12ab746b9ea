//! Turning Cedar's diagnostics into `file:line:column: message` records.

use serde::Serialize;

/// One problem in a bundle, located in its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PolicyDiagnostic {
    /// The file, relative to the policies folder (or the schema's file name).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for PolicyDiagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

impl PolicyDiagnostic {
    /// A problem at byte `offset` of `text` (or the whole file when unknown).
    pub fn at(file: &str, text: &str, offset: Option<usize>, message: String) -> Self {
        let (line, column) = match offset {
            Some(offset) => {
                let (line, column) = line_column(text, offset);
                (Some(line), Some(column))
            }
            None => (None, None),
        };
        Self {
            file: file.to_owned(),
            line,
            column,
            message,
        }
    }

    /// A problem reported by Cedar, placed at its first labelled span.
    pub fn from_cedar(file: &str, text: &str, diag: &dyn miette::Diagnostic) -> Self {
        let offset = diag
            .labels()
            .and_then(|mut labels| labels.next())
            .map(|label| label.offset());
        let mut message = diag.to_string();
        if let Some(help) = diag.help() {
            message.push_str(&format!(" (help: {help})"));
        }
        Self::at(file, text, offset, message)
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn offsets_become_lines_and_columns() {
        let text = "ab\ncd\nef";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 4), (2, 2));
        assert_eq!(line_column(text, 6), (3, 1));
    }
}
