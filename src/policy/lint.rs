//! Lints on top of Cedar's validator: every policy carries `@id`, `@code` and `@reason`,
//! because decisions turn determining policies into reasons.

use super::diagnostics::PolicyDiagnostic;

/// The annotations the service reads from every policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyMeta {
    /// `@id`: the stable policy id reported in decisions.
    pub id: String,
    /// `@code`: the machine-readable reason code.
    pub code: String,
    /// `@reason`: the human-readable message.
    pub reason: String,
}

/// Reads and checks the annotations; `annotation` looks one up by key.
pub fn policy_meta<'a>(
    annotation: impl Fn(&str) -> Option<&'a str>,
    at: impl Fn(String) -> PolicyDiagnostic,
) -> Result<PolicyMeta, Vec<PolicyDiagnostic>> {
    let mut problems = Vec::new();
    let mut get = |key: &str, valid: fn(&str) -> bool, rule: &str| match annotation(key) {
        Some(value) if valid(value) => value.to_owned(),
        Some(value) => {
            problems.push(at(format!("@{key}(\"{value}\") must be {rule}")));
            String::new()
        }
        None => {
            problems.push(at(format!("policy has no @{key} annotation")));
            String::new()
        }
    };
    let id = get("id", is_policy_id, "letters, digits, '_', '-', '.' or ':'");
    let code = get("code", is_snake_case, "snake_case");
    let reason = get("reason", |r| !r.trim().is_empty(), "non-empty");
    if problems.is_empty() {
        Ok(PolicyMeta { id, code, reason })
    } else {
        Err(problems)
    }
}

fn is_policy_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

fn is_snake_case(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Byte offsets where each policy of a Cedar file starts (its first annotation or keyword).
///
/// Cedar's API does not expose a policy's location; policies end at a `;` outside string
/// literals and comments, which is all this scanner needs to know.
pub fn policy_starts(text: &str) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut in_policy = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '/' if chars.peek().is_some_and(|&(_, n)| n == '/') => {
                for (_, n) in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for (_, n) in chars.by_ref() {
                    match (escaped, n) {
                        (false, '\\') => escaped = true,
                        (false, '"') => break,
                        _ => escaped = false,
                    }
                }
            }
            ';' => in_policy = false,
            c if c.is_whitespace() => {}
            _ => {
                if !in_policy {
                    starts.push(i);
                    in_policy = true;
                }
            }
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_policy_starts_past_comments_and_strings() {
        let text = "// a; comment\n@id(\"x;y\")\npermit(principal, action, resource);\n\n  forbid(principal, action, resource) when { \"//\" == \";\" };";
        let starts = policy_starts(text);
        assert_eq!(starts.len(), 2);
        assert_eq!(text.get(starts[0]..starts[0] + 3), Some("@id"));
        assert_eq!(text.get(starts[1]..starts[1] + 6), Some("forbid"));
    }

    #[test]
    fn codes_must_be_snake_case() {
        assert!(is_snake_case("duplicate_request"));
        assert!(!is_snake_case("Duplicate"));
        assert!(!is_snake_case("dup-request"));
    }
}
