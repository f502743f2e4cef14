//! Cell text for the human formats (table, expanded, markdown): values rendered with Arrow's
//! display machinery, control characters made visible so that a row never spans two lines,
//! and display widths measured in terminal columns.

use datafusion::arrow::array::Array;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use unicode_width::UnicodeWidthStr;

/// The text shown for NULL.
pub const NULL_TEXT: &str = "NULL";

/// The display options shared by the human formats.
pub fn format_options() -> FormatOptions<'static> {
    FormatOptions::default().with_null(NULL_TEXT)
}

/// Renders row `row` of `array` as one line of text.
pub fn cell_text(formatter: &ArrayFormatter<'_>, row: usize) -> String {
    let text = formatter.value(row).to_string();
    if text.chars().any(char::is_control) {
        text.chars()
            .map(|c| match c {
                '\n' => '↵',
                '\t' => '→',
                c if c.is_control() => '�',
                c => c,
            })
            .collect()
    } else {
        text
    }
}

/// A formatter for `array` with the human formats' options.
pub fn formatter(array: &dyn Array) -> Result<ArrayFormatter<'_>, ArrowError> {
    ArrayFormatter::try_new(array, &format_options())
}

/// The number of terminal columns `text` occupies.
pub fn display_width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` cut to at most `width` terminal columns, ending in `…` when it was cut.
pub fn truncate(text: &str, width: usize) -> String {
    if display_width(text) <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut kept = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        kept.push(c);
        used += w;
    }
    kept.push('…');
    kept
}

/// True for types shown right-aligned (numbers).
pub fn is_numeric(data_type: &DataType) -> bool {
    data_type.is_numeric() || matches!(data_type, DataType::Dictionary(_, v) if v.is_numeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_terminal_columns() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("日本語テキスト", 5), "日本…");
        assert_eq!(display_width("日本"), 4);
    }

    #[test]
    fn control_characters_never_break_a_line() {
        let array = datafusion::arrow::array::StringArray::from(vec![Some("a\nb\tc"), None]);
        let f = formatter(&array).unwrap();
        assert_eq!(cell_text(&f, 0), "a↵b→c");
        assert_eq!(cell_text(&f, 1), "NULL");
    }
}
