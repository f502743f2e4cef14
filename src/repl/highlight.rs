//! Syntax colours for the input line: keywords, strings, numbers and comments. A small lexer
//! that never fails on partial input (an unterminated string is coloured to the end) and keeps
//! the text's display width unchanged.

use datafusion::sql::sqlparser::keywords::ALL_KEYWORDS;

const KEYWORD: &str = "\x1b[1;34m";
const STRING: &str = "\x1b[32m";
const NUMBER: &str = "\x1b[33m";
const COMMENT: &str = "\x1b[90m";
const META: &str = "\x1b[35m";
const RESET: &str = "\x1b[0m";

/// `text` with ANSI colours.
pub fn highlight(text: &str) -> String {
    if text.trim_start().starts_with('\\') {
        return format!("{META}{text}{RESET}");
    }
    let mut out = String::with_capacity(text.len() * 2);
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    let slice = |from: usize, to: usize| -> &str {
        let start = chars.get(from).map_or(text.len(), |c| c.0);
        let end = chars.get(to).map_or(text.len(), |c| c.0);
        &text[start..end]
    };
    while i < chars.len() {
        let c = chars[i].1;
        let next = chars.get(i + 1).map(|c| c.1);
        let (end, colour) = if c == '\'' {
            let mut j = i + 1;
            while j < chars.len() {
                if chars[j].1 == '\'' {
                    if chars.get(j + 1).map(|c| c.1) == Some('\'') {
                        j += 2;
                        continue;
                    }
                    j += 1;
                    break;
                }
                j += 1;
            }
            (j, Some(STRING))
        } else if c == '-' && next == Some('-') {
            let j = chars[i..]
                .iter()
                .position(|c| c.1 == '\n')
                .map_or(chars.len(), |p| i + p);
            (j, Some(COMMENT))
        } else if c == '/' && next == Some('*') {
            let mut j = i + 2;
            while j < chars.len() && !(chars[j].1 == '/' && chars[j - 1].1 == '*' && j > i + 2) {
                j += 1;
            }
            ((j + 1).min(chars.len()), Some(COMMENT))
        } else if c.is_ascii_digit() {
            let j = chars[i..]
                .iter()
                .position(|c| !(c.1.is_ascii_alphanumeric() || c.1 == '.'))
                .map_or(chars.len(), |p| i + p);
            (j, Some(NUMBER))
        } else if c.is_alphabetic() || c == '_' {
            let j = chars[i..]
                .iter()
                .position(|c| !(c.1.is_alphanumeric() || c.1 == '_'))
                .map_or(chars.len(), |p| i + p);
            let word = slice(i, j).to_ascii_uppercase();
            let is_keyword = ALL_KEYWORDS.binary_search(&word.as_str()).is_ok();
            (j, is_keyword.then_some(KEYWORD))
        } else {
            (i + 1, None)
        };
        match colour {
            Some(colour) => {
                out.push_str(colour);
                out.push_str(slice(i, end));
                out.push_str(RESET);
            }
            None => out.push_str(slice(i, end)),
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(text: &str) -> String {
        let mut out = String::new();
        let mut in_escape = false;
        for c in text.chars() {
            match (in_escape, c) {
                (false, '\x1b') => in_escape = true,
                (true, 'm') => in_escape = false,
                (true, _) => {}
                (false, c) => out.push(c),
            }
        }
        out
    }

    #[test]
    fn colours_never_change_the_text() {
        for text in [
            "select 'it''s', 42 -- note\nfrom reps;",
            "select 'unterminated",
            "/* open comment",
            "SELECT count(*) FROM x WHERE y = 1.5e3",
            "élan ß",
        ] {
            assert_eq!(strip(&highlight(text)), text);
        }
    }

    #[test]
    fn keywords_strings_numbers_and_comments_get_colours() {
        let out = highlight("select 'a', 1 -- c");
        assert!(
            out.starts_with(&format!("{KEYWORD}select{RESET}")),
            "{out:?}"
        );
        assert!(out.contains(&format!("{STRING}'a'{RESET}")), "{out:?}");
        assert!(out.contains(&format!("{NUMBER}1{RESET}")), "{out:?}");
        assert!(out.contains(&format!("{COMMENT}-- c{RESET}")), "{out:?}");
        assert!(
            !highlight("reps").contains('\x1b'),
            "a table name is not a keyword"
        );
    }
}
