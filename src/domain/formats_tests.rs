use super::*;

#[test]
fn every_pattern_compiles() {
    for format in ALL {
        assert!(Regex::new(format.pattern).is_ok(), "{}", format.name);
    }
}

/// `(format, accepted, refused)`: each case is a line of the contract.
fn cases() -> Vec<(&'static Format, Vec<String>, Vec<String>)> {
    let s = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        (
            &EMAIL,
            s(&[
                "alice@example.com",
                "Alice.O'Brien+ai@Mail.Example.co.uk",
                "a@b.io",
            ]),
            s(&[
                "",
                "alice",
                "@example.com",
                "alice@example",
                "a b@example.com",
                ".alice@example.com",
                "alice.@example.com",
                "al..ice@example.com",
                "alice@.example.com",
                "alice@example..com",
                "a/b@example.com",
                "alice@exa_mple.com",
                "alice@-example.com",
                "alice@example.com\n",
                " alice@example.com",
            ]),
        ),
        (
            &ISSUE_KEY,
            s(&["AIR-1", "AIR-123", "A2_B-10"]),
            s(&[
                "AIR-0", "AIR-01", "air-1", "AIR-", "AIR", "-1", "AIR-1a", "2AIR-1", " AIR-1",
                "_A-1",
            ]),
        ),
        (
            &GROUP,
            s(&["employees", "team.ai_users-2", "0"]),
            s(&[".", "..", ".hidden", "-x", "_x", "", "Employees", "a/b"]),
        ),
        (
            &REQUEST_REF,
            s(&["req_0123456789abcdef0123456789abcdef", "AIR-7"]),
            s(&[
                "req_0123456789ABCDEF0123456789abcdef",
                "req_12",
                "AIR-07",
                "grt_0123456789abcdef0123456789abcdef",
            ]),
        ),
        (
            &PROSE,
            s(&[
                "Draft emails",
                "  padded  ",
                "line one\nline two\ttabbed\r\n",
                "日本語",
                "שלום",
            ]),
            s(&[
                "",
                "   ",
                "\u{200B}\u{200B}",
                "\u{FEFF}",
                "bell\u{7}",
                "nul\u{0}",
                "esc\u{1b}[31m",
                "abc\u{202E}txt.exe",
                "x\u{2066}y",
                "\u{85}next",
                "\u{3164}",
            ]),
        ),
        (
            &LABEL,
            s(&["", "AIR", "Request access"]),
            s(&["  ", "\u{0}"]),
        ),
    ]
}

#[test]
fn each_format_accepts_and_refuses_what_the_contract_says() {
    for (format, accepted, refused) in cases() {
        for raw in accepted {
            assert!(
                format.matches(&raw),
                "{} should accept {raw:?}",
                format.name
            );
        }
        for raw in refused {
            assert!(
                !format.matches(&raw),
                "{} should refuse {raw:?}",
                format.name
            );
        }
    }
}

#[test]
fn length_is_counted_in_characters_before_trimming() {
    let at_limit = "é".repeat(2000);
    assert!(PROSE.matches(&at_limit));
    assert!(!PROSE.matches(&format!(" {at_limit}")));
    assert_eq!(text(&PROSE, "purpose", "  x  ").as_deref(), Ok("x"));
}
