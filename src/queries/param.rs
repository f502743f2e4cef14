//! Typed parameters: the types a saved query may declare, the parsing of `--param` text into
//! typed values, and the binding of those values to a statement's `$name` placeholders.
//! Values are bound as DataFusion literals, never spliced into SQL text.

use std::collections::HashMap;

use datafusion::arrow::datatypes::{DataType, IntervalUnit, TimeUnit};
use datafusion::common::ParamValues;
use datafusion::scalar::ScalarValue;

use crate::error::{Error, Result};
use crate::queries::header::ParamDecl;

/// A parameter type of SPEC §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// `BOOLEAN`.
    Boolean,
    /// `INT` (32 bits).
    Int,
    /// `BIGINT` (64 bits).
    BigInt,
    /// `DOUBLE`.
    Double,
    /// `DECIMAL(precision, scale)`; plain `DECIMAL` is `DECIMAL(38, 10)`.
    Decimal(u8, i8),
    /// `VARCHAR`.
    Varchar,
    /// `DATE`.
    Date,
    /// `TIMESTAMP` (UTC, nanoseconds).
    Timestamp,
    /// `INTERVAL`, such as `30 days` or `1 month`.
    Interval,
}

impl ParamType {
    /// Parses a type name as written in a header (case-insensitive, with common synonyms).
    pub fn parse(name: &str) -> Result<Self, String> {
        let upper = name.trim().to_ascii_uppercase();
        let compact: String = upper.split_whitespace().collect::<Vec<_>>().join(" ");
        let parsed = match compact.as_str() {
            "BOOLEAN" | "BOOL" => ParamType::Boolean,
            "INT" | "INTEGER" | "INT4" => ParamType::Int,
            "BIGINT" | "INT8" | "LONG" => ParamType::BigInt,
            "DOUBLE" | "DOUBLE PRECISION" | "FLOAT" | "FLOAT8" | "REAL" => ParamType::Double,
            "DECIMAL" | "NUMERIC" => ParamType::Decimal(38, 10),
            "VARCHAR" | "TEXT" | "STRING" => ParamType::Varchar,
            "DATE" => ParamType::Date,
            "TIMESTAMP" => ParamType::Timestamp,
            "INTERVAL" => ParamType::Interval,
            other => {
                return parse_decimal(other).ok_or_else(|| {
                    format!(
                        "unknown type `{}` (use BOOLEAN, INT, BIGINT, DOUBLE, DECIMAL, VARCHAR, DATE, TIMESTAMP or INTERVAL)",
                        name.trim()
                    )
                });
            }
        };
        Ok(parsed)
    }

    /// The Arrow type of this parameter's values.
    pub fn data_type(self) -> DataType {
        match self {
            ParamType::Boolean => DataType::Boolean,
            ParamType::Int => DataType::Int32,
            ParamType::BigInt => DataType::Int64,
            ParamType::Double => DataType::Float64,
            ParamType::Decimal(precision, scale) => DataType::Decimal128(precision, scale),
            ParamType::Varchar => DataType::Utf8,
            ParamType::Date => DataType::Date32,
            ParamType::Timestamp => DataType::Timestamp(TimeUnit::Nanosecond, None),
            ParamType::Interval => DataType::Interval(IntervalUnit::MonthDayNano),
        }
    }

    /// The SQL name of this type, for messages and listings.
    pub fn sql_name(self) -> String {
        match self {
            ParamType::Boolean => "BOOLEAN".into(),
            ParamType::Int => "INT".into(),
            ParamType::BigInt => "BIGINT".into(),
            ParamType::Double => "DOUBLE".into(),
            ParamType::Decimal(p, s) => format!("DECIMAL({p},{s})"),
            ParamType::Varchar => "VARCHAR".into(),
            ParamType::Date => "DATE".into(),
            ParamType::Timestamp => "TIMESTAMP".into(),
            ParamType::Interval => "INTERVAL".into(),
        }
    }

    /// Parses `text` into a value of this type, or says why it cannot.
    pub fn parse_value(self, text: &str) -> Result<ScalarValue, String> {
        let trimmed = text.trim();
        let invalid = || format!("{text:?} is not a valid {}", self.sql_name());
        match self {
            ParamType::Varchar => Ok(ScalarValue::Utf8(Some(text.to_string()))),
            ParamType::Boolean => match trimmed.to_ascii_lowercase().as_str() {
                "true" | "t" | "yes" | "y" | "on" | "1" => Ok(ScalarValue::Boolean(Some(true))),
                "false" | "f" | "no" | "n" | "off" | "0" => Ok(ScalarValue::Boolean(Some(false))),
                _ => Err(invalid()),
            },
            ParamType::Int => trimmed
                .parse::<i32>()
                .map(|v| ScalarValue::Int32(Some(v)))
                .map_err(|_| invalid()),
            ParamType::BigInt => trimmed
                .parse::<i64>()
                .map(|v| ScalarValue::Int64(Some(v)))
                .map_err(|_| invalid()),
            ParamType::Double => trimmed
                .parse::<f64>()
                .map(|v| ScalarValue::Float64(Some(v)))
                .map_err(|_| invalid()),
            ParamType::Decimal(..)
            | ParamType::Date
            | ParamType::Timestamp
            | ParamType::Interval => {
                if trimmed.is_empty() {
                    return Err(invalid());
                }
                ScalarValue::Utf8(Some(trimmed.to_string()))
                    .cast_to(&self.data_type())
                    .ok()
                    .filter(|value| !value.is_null())
                    .ok_or_else(invalid)
            }
        }
    }
}

/// `DECIMAL(p,s)` / `NUMERIC(p, s)` / `DECIMAL(p)`.
fn parse_decimal(upper: &str) -> Option<ParamType> {
    let inner = upper
        .strip_prefix("DECIMAL")
        .or_else(|| upper.strip_prefix("NUMERIC"))?
        .trim()
        .strip_prefix('(')?
        .strip_suffix(')')?;
    let mut parts = inner.split(',').map(str::trim);
    let precision: u8 = parts.next()?.parse().ok()?;
    let scale: i8 = match parts.next() {
        Some(scale) => scale.parse().ok()?,
        None => 0,
    };
    let valid = (1..=38).contains(&precision) && scale >= 0 && scale as u8 <= precision;
    (parts.next().is_none() && valid).then_some(ParamType::Decimal(precision, scale))
}

/// Binds `given` (`--param NAME=VALUE` pairs) to the declared parameters: every name must be
/// declared, every declared parameter without a default must be given, and every value must
/// parse to its declared type. Errors name the parameter and list the declared ones.
pub fn bind(declared: &[ParamDecl], given: &[(String, String)]) -> Result<ParamValues> {
    let listing = declared_list(declared);
    let mut values: HashMap<String, ScalarValue> = HashMap::new();
    for (name, text) in given {
        let Some(decl) = declared.iter().find(|d| d.name == *name) else {
            return Err(Error::Parameter {
                name: name.clone(),
                message: format!("unknown; {listing}"),
            });
        };
        let value = decl
            .param_type
            .parse_value(text)
            .map_err(|message| Error::Parameter {
                name: name.clone(),
                message,
            })?;
        values.insert(name.clone(), value);
    }
    for decl in declared {
        if values.contains_key(&decl.name) {
            continue;
        }
        let Some(default) = &decl.default else {
            return Err(Error::Parameter {
                name: decl.name.clone(),
                message: format!(
                    "missing: give it with --param {}=VALUE; {listing}",
                    decl.name
                ),
            });
        };
        let value = decl
            .param_type
            .parse_value(default)
            .map_err(|message| Error::Parameter {
                name: decl.name.clone(),
                message: format!("default: {message}"),
            })?;
        values.insert(decl.name.clone(), value);
    }
    Ok(ParamValues::Map(
        values.into_iter().map(|(k, v)| (k, v.into())).collect(),
    ))
}

/// Binds ad-hoc parameters (given to `query`, or `\set` in the REPL) that no header declares:
/// each value gets the narrowest type that reads it (BIGINT, DOUBLE, BOOLEAN, DATE,
/// TIMESTAMP), else VARCHAR.
pub fn bind_untyped(given: &[(String, String)]) -> ParamValues {
    ParamValues::Map(
        given
            .iter()
            .map(|(name, text)| (name.clone(), infer_value(text).into()))
            .collect(),
    )
}

/// The value of `text` with the narrowest type that reads it.
pub fn infer_value(text: &str) -> ScalarValue {
    [
        ParamType::BigInt,
        ParamType::Double,
        ParamType::Date,
        ParamType::Timestamp,
    ]
    .into_iter()
    .find_map(|t| t.parse_value(text).ok())
    .or_else(|| match text.trim().to_ascii_lowercase().as_str() {
        "true" => Some(ScalarValue::Boolean(Some(true))),
        "false" => Some(ScalarValue::Boolean(Some(false))),
        _ => None,
    })
    .unwrap_or_else(|| ScalarValue::Utf8(Some(text.to_string())))
}

/// "declared: since DATE = 2021-01-01, rep VARCHAR (required)" or "it declares none".
pub fn declared_list(declared: &[ParamDecl]) -> String {
    if declared.is_empty() {
        return "the query declares no parameters".into();
    }
    let items: Vec<String> = declared
        .iter()
        .map(|d| match &d.default {
            Some(default) => format!("{} {} = {default}", d.name, d.param_type.sql_name()),
            None => format!("{} {} (required)", d.name, d.param_type.sql_name()),
        })
        .collect();
    format!("declared: {}", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(name: &str, param_type: ParamType, default: Option<&str>) -> ParamDecl {
        ParamDecl {
            name: name.into(),
            param_type,
            default: default.map(Into::into),
        }
    }

    fn value_of(values: &ParamValues, name: &str) -> ScalarValue {
        match values {
            ParamValues::Map(map) => map[name].value.clone(),
            ParamValues::List(_) => panic!("named parameters are a map"),
        }
    }

    #[test]
    fn every_declared_type_parses_its_values() {
        assert_eq!(
            ParamType::Boolean.parse_value("TRUE").unwrap(),
            ScalarValue::Boolean(Some(true))
        );
        assert_eq!(
            ParamType::Int.parse_value(" 7 ").unwrap(),
            ScalarValue::Int32(Some(7))
        );
        assert_eq!(
            ParamType::BigInt.parse_value("-9000000000").unwrap(),
            ScalarValue::Int64(Some(-9_000_000_000))
        );
        assert_eq!(
            ParamType::Double.parse_value("0.25").unwrap(),
            ScalarValue::Float64(Some(0.25))
        );
        assert_eq!(
            ParamType::Decimal(18, 2).parse_value("1234.5").unwrap(),
            ScalarValue::Decimal128(Some(123_450), 18, 2)
        );
        assert_eq!(
            ParamType::Date.parse_value("2024-02-29").unwrap(),
            ScalarValue::Date32(Some(19_782))
        );
        assert_eq!(
            ParamType::Timestamp
                .parse_value("2024-01-01T00:00:01Z")
                .unwrap(),
            ScalarValue::TimestampNanosecond(Some(1_704_067_201_000_000_000), None)
        );
        assert!(matches!(
            ParamType::Interval.parse_value("30 days").unwrap(),
            ScalarValue::IntervalMonthDayNano(Some(v)) if v.days == 30
        ));
    }

    #[test]
    fn ill_typed_values_are_refused() {
        assert!(ParamType::Int.parse_value("1.5").is_err());
        assert!(ParamType::Int.parse_value("99999999999").is_err());
        assert!(ParamType::Date.parse_value("2024-02-30").is_err());
        assert!(ParamType::Date.parse_value("").is_err());
        assert!(ParamType::Boolean.parse_value("maybe").is_err());
        assert!(ParamType::Interval.parse_value("soon").is_err());
    }

    #[test]
    fn strings_are_values_not_sql() {
        let injection = "x' OR '1'='1";
        assert_eq!(
            ParamType::Varchar.parse_value(injection).unwrap(),
            ScalarValue::Utf8(Some(injection.into()))
        );
    }

    #[test]
    fn binding_applies_defaults_and_reports_unknown_and_missing_names() {
        let declared = [
            decl("since", ParamType::Date, Some("2021-01-01")),
            decl("rep", ParamType::Varchar, None),
        ];
        let values = bind(&declared, &[("rep".into(), "r1".into())]).unwrap();
        assert_eq!(
            value_of(&values, "since"),
            ScalarValue::Date32(Some(18_628))
        );
        assert_eq!(
            value_of(&values, "rep"),
            ScalarValue::Utf8(Some("r1".into()))
        );

        let err = bind(&declared, &[]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let message = err.to_string();
        assert!(message.starts_with("parameter `rep`: missing"), "{message}");
        assert!(message.contains("since DATE = 2021-01-01"), "{message}");

        let err = bind(
            &declared,
            &[
                ("rep".into(), "r".into()),
                ("sinse".into(), "2020-01-01".into()),
            ],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("parameter `sinse`: unknown; declared: since DATE"),
            "{err}"
        );

        let err = bind(
            &declared,
            &[
                ("rep".into(), "r".into()),
                ("since".into(), "yesterday".into()),
            ],
        )
        .unwrap_err()
        .to_string();
        assert_eq!(err, "parameter `since`: \"yesterday\" is not a valid DATE");
    }

    #[test]
    fn type_names_have_synonyms_and_decimal_shapes() {
        assert_eq!(ParamType::parse("integer").unwrap(), ParamType::Int);
        assert_eq!(
            ParamType::parse("double precision").unwrap(),
            ParamType::Double
        );
        assert_eq!(
            ParamType::parse("numeric(10, 3)").unwrap(),
            ParamType::Decimal(10, 3)
        );
        assert!(ParamType::parse("DECIMAL(2,5)").is_err());
        assert!(ParamType::parse("DATETIME").is_err());
    }

    #[test]
    fn untyped_values_get_the_narrowest_type() {
        assert_eq!(infer_value("42"), ScalarValue::Int64(Some(42)));
        assert_eq!(infer_value("4.5"), ScalarValue::Float64(Some(4.5)));
        assert_eq!(infer_value("2024-01-31"), ScalarValue::Date32(Some(19_753)));
        assert_eq!(infer_value("EMEA"), ScalarValue::Utf8(Some("EMEA".into())));
    }
}
