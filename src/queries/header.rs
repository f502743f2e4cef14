//! The declaration at the top of a saved query: `-- description: …` and `-- param: NAME TYPE
//! [= DEFAULT]` lines in the leading comment block (SPEC §4).

use crate::queries::param::ParamType;

/// A declared parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDecl {
    /// Its name, bound as `$name` in the SQL.
    pub name: String,
    /// Its declared type.
    pub param_type: ParamType,
    /// Its default value as text (quotes removed); `None` makes the parameter required.
    pub default: Option<String>,
}

/// The parsed leading comment block of a saved query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Header {
    /// The one-line description.
    pub description: Option<String>,
    /// The declared parameters, in order.
    pub params: Vec<ParamDecl>,
}

/// Parses the header of `sql`. Only the leading block of comment (and blank) lines counts;
/// other comment lines in it are ignored. Errors give the 1-based line and what is wrong.
pub fn parse_header(sql: &str) -> Result<Header, String> {
    let mut header = Header::default();
    for (index, line) in sql.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let Some(comment) = line.strip_prefix("--") else {
            break;
        };
        let comment = comment.trim();
        let line_error = |message: String| format!("line {}: {message}", index + 1);
        if let Some(text) = strip_key(comment, "description") {
            header.description = Some(text.to_string());
        } else if let Some(text) = strip_key(comment, "param") {
            let decl = parse_param(text).map_err(line_error)?;
            if header.params.iter().any(|p| p.name == decl.name) {
                return Err(line_error(format!(
                    "parameter `{}` is declared twice",
                    decl.name
                )));
            }
            header.params.push(decl);
        }
    }
    Ok(header)
}

/// `comment` without its `key:` prefix (case-insensitive key), if it has one.
fn strip_key<'a>(comment: &'a str, key: &str) -> Option<&'a str> {
    let (head, rest) = comment.split_once(':')?;
    head.trim().eq_ignore_ascii_case(key).then(|| rest.trim())
}

/// Parses `NAME TYPE [= DEFAULT]`.
fn parse_param(text: &str) -> Result<ParamDecl, String> {
    let (declaration, default) = match text.split_once('=') {
        Some((declaration, default)) => (declaration.trim(), Some(unquote(default.trim()))),
        None => (text.trim(), None),
    };
    let (name, type_name) = declaration.split_once(char::is_whitespace).ok_or_else(|| {
        format!(
            "`-- param: {text}` needs a name and a type, as in `-- param: since DATE = 2024-01-01`"
        )
    })?;
    let name = name.trim().trim_start_matches('$');
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "`{name}` is not a valid parameter name (letters, digits and _)"
        ));
    }
    let param_type = ParamType::parse(type_name.trim())
        .map_err(|message| format!("parameter `{name}`: {message}"))?;
    if let Some(default) = &default {
        param_type
            .parse_value(default)
            .map_err(|message| format!("parameter `{name}`: default {default:?}: {message}"))?;
    }
    Ok(ParamDecl {
        name: name.to_string(),
        param_type,
        default,
    })
}

/// `text` without one pair of surrounding single quotes.
fn unquote(text: &str) -> String {
    text.strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .unwrap_or(text)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_description_and_params_with_and_without_defaults() {
        let sql = "-- description: Stage funnel per quarter\n\
                   -- param: since DATE = 2021-01-01\n\
                   --   param:  fiscal_start INT=1\n\
                   -- param: rep VARCHAR\n\
                   -- a free comment\n\
                   \n\
                   SELECT 1 -- param: not_this INT\n";
        let header = parse_header(sql).unwrap();
        assert_eq!(
            header.description.as_deref(),
            Some("Stage funnel per quarter")
        );
        let names: Vec<_> = header.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["since", "fiscal_start", "rep"]);
        assert_eq!(header.params[0].param_type, ParamType::Date);
        assert_eq!(header.params[0].default.as_deref(), Some("2021-01-01"));
        assert_eq!(header.params[1].param_type, ParamType::Int);
        assert_eq!(header.params[1].default.as_deref(), Some("1"));
        assert_eq!(header.params[2].default, None);
    }

    #[test]
    fn quotes_around_defaults_are_removed_once() {
        let header =
            parse_header("-- param: region VARCHAR = 'EMEA'\n-- param: q VARCHAR = ''it''\n")
                .unwrap();
        assert_eq!(header.params[0].default.as_deref(), Some("EMEA"));
        assert_eq!(header.params[1].default.as_deref(), Some("'it'"));
    }

    #[test]
    fn header_ends_at_the_first_statement_line() {
        let header = parse_header("SELECT 1;\n-- description: late\n").unwrap();
        assert_eq!(header, Header::default());
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        let err = parse_header("-- description: x\n-- param: since DATETIME\n").unwrap_err();
        assert!(err.starts_with("line 2: parameter `since`"), "{err}");
        let err = parse_header("-- param: since\n").unwrap_err();
        assert!(err.contains("needs a name and a type"), "{err}");
        let err = parse_header("-- param: n INT = ten\n").unwrap_err();
        assert!(
            err.contains("parameter `n`") && err.contains("ten"),
            "{err}"
        );
        let err = parse_header("-- param: a INT\n-- param: a INT\n").unwrap_err();
        assert!(err.contains("declared twice"), "{err}");
    }

    #[test]
    fn decimal_types_keep_precision_and_scale() {
        let header = parse_header("-- param: min_amount DECIMAL(18,2) = 1000.50\n").unwrap();
        assert_eq!(header.params[0].param_type, ParamType::Decimal(18, 2));
    }
}
