//! What the user typed: a meta-command (`\d`, `\run funnel`, …) or SQL, and whether SQL is
//! complete yet (it ends with `;` outside strings and comments).

/// One line or statement block entered at the prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A `\` command and its argument text.
    Meta {
        /// The command name without the backslash, such as `d` or `run`.
        name: String,
        /// The rest of the line, trimmed.
        args: String,
    },
    /// `\e` at the end of a buffer: edit what comes before it.
    Edit(String),
    /// SQL text (one or more statements).
    Sql(String),
    /// Leave the REPL (`\q`, `quit`, `exit`).
    Quit,
}

/// Classifies a complete buffer.
pub fn classify(buffer: &str) -> Input {
    let trimmed = buffer.trim();
    if matches!(
        trimmed.trim_end_matches(';'),
        "quit" | "exit" | "\\q" | "\\quit"
    ) {
        return Input::Quit;
    }
    if let Some(before) = trimmed.strip_suffix("\\e") {
        return Input::Edit(before.trim_end().to_string());
    }
    if let Some(command) = trimmed.strip_prefix('\\') {
        let (name, args) = command
            .split_once(char::is_whitespace)
            .unwrap_or((command, ""));
        return Input::Meta {
            name: name.to_string(),
            args: args.trim().to_string(),
        };
    }
    Input::Sql(trimmed.to_string())
}

/// True when the buffer can be run: empty, a meta-command, `\e`, or SQL whose last
/// significant character is `;`.
pub fn is_complete(buffer: &str) -> bool {
    let trimmed = buffer.trim();
    trimmed.is_empty()
        || trimmed.starts_with('\\')
        || trimmed.ends_with("\\e")
        || matches!(trimmed, "quit" | "exit")
        || last_significant_char(buffer) == Some(';')
}

/// The last character that is not in a comment or whitespace (a `;` in a string is not one:
/// an unterminated string makes the text incomplete).
fn last_significant_char(text: &str) -> Option<char> {
    let mut last = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                let quote = c;
                let mut closed = false;
                while let Some(inner) = chars.next() {
                    if inner == quote {
                        if chars.peek() == Some(&quote) {
                            chars.next();
                            continue;
                        }
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return None;
                }
                last = Some(quote);
            }
            '-' if chars.peek() == Some(&'-') => {
                for inner in chars.by_ref() {
                    if inner == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut previous = ' ';
                for inner in chars.by_ref() {
                    if previous == '*' && inner == '/' {
                        break;
                    }
                    previous = inner;
                }
            }
            c if c.is_whitespace() => {}
            c => last = Some(c),
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_end_at_a_semicolon_outside_strings_and_comments() {
        assert!(is_complete("select 1;"));
        assert!(is_complete("select 1; -- done\n"));
        assert!(!is_complete("select 1"));
        assert!(!is_complete("select ';"));
        assert!(!is_complete("select 1 -- ;"));
        assert!(!is_complete("select 1 /* ; */"));
        assert!(is_complete("select 'it''s';"));
        assert!(is_complete("\\d"));
        assert!(is_complete("select *\nfrom reps\n\\e"));
        assert!(is_complete(""));
    }

    #[test]
    fn buffers_are_classified() {
        assert_eq!(classify("\\q"), Input::Quit);
        assert_eq!(classify("exit"), Input::Quit);
        assert_eq!(
            classify("\\run funnel since=2024-01-01"),
            Input::Meta {
                name: "run".into(),
                args: "funnel since=2024-01-01".into()
            }
        );
        assert_eq!(classify("select 1\n\\e"), Input::Edit("select 1".into()));
        assert_eq!(classify(" select 1; "), Input::Sql("select 1;".into()));
    }
}
