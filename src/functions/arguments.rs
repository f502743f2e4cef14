//! What the sales functions share about their arguments: constant (literal) arguments read at
//! planning time, in both the logical and the physical plan, with errors that name the
//! function and the argument; and the documentation section they all belong to.

use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::common::{exec_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, DocSection, Documentation, Expr};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Literal;
use datafusion::scalar::ScalarValue;

/// The documentation section of the sales functions.
pub const SALES_SECTION: DocSection = DocSection {
    include: true,
    label: "Sales Functions",
    description: Some("Funnels, conversion, cycle time, fiscal calendars and open pipeline."),
};

/// Builds a sales function's documentation.
pub fn document(
    description: &str,
    syntax: &str,
    example: &str,
    arguments: &[(&str, &str)],
) -> Documentation {
    let mut builder = Documentation::builder(SALES_SECTION, description, syntax)
        .with_sql_example(format!("```sql\n{example}\n```"));
    for (name, text) in arguments {
        builder = builder.with_argument(*name, *text);
    }
    builder.build()
}

/// The value of a constant argument in a logical plan, if it is one.
pub fn logical_constant(expr: &Expr) -> Option<&ScalarValue> {
    match expr {
        Expr::Literal(value, _) => Some(value),
        Expr::Cast(cast) => logical_constant(&cast.expr),
        Expr::TryCast(cast) => logical_constant(&cast.expr),
        _ => None,
    }
}

/// The value of a constant argument in a physical plan, if it is one.
pub fn physical_constant(expr: &Arc<dyn PhysicalExpr>) -> Option<&ScalarValue> {
    expr.downcast_ref::<Literal>().map(Literal::value)
}

/// The constant value of argument `name` (position `index`) of `function`, or a planning
/// error saying that it must be constant.
pub fn require_constant<'a>(
    function: &str,
    name: &str,
    value: Option<&'a ScalarValue>,
) -> Result<&'a ScalarValue> {
    value.map_or_else(
        || {
            plan_err!(
                "{function}: argument `{name}` must be a constant, not a column or expression"
            )
        },
        Ok,
    )
}

/// A constant integer argument within `range`.
pub fn constant_integer(
    function: &str,
    name: &str,
    value: &ScalarValue,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64> {
    let number = match value {
        ScalarValue::Int8(Some(v)) => i64::from(*v),
        ScalarValue::Int16(Some(v)) => i64::from(*v),
        ScalarValue::Int32(Some(v)) => i64::from(*v),
        ScalarValue::Int64(Some(v)) => *v,
        ScalarValue::UInt8(Some(v)) => i64::from(*v),
        ScalarValue::UInt16(Some(v)) => i64::from(*v),
        ScalarValue::UInt32(Some(v)) => i64::from(*v),
        ScalarValue::UInt64(Some(v)) => i64::try_from(*v).unwrap_or(i64::MAX),
        other if other.is_null() => {
            return plan_err!("{function}: argument `{name}` must not be NULL");
        }
        other => {
            return plan_err!(
                "{function}: argument `{name}` must be an integer, not {}",
                other.data_type()
            );
        }
    };
    if !range.contains(&number) {
        return plan_err!(
            "{function}: argument `{name}` must be between {} and {}, not {number}",
            range.start(),
            range.end()
        );
    }
    Ok(number)
}

/// A constant text argument.
pub fn constant_text<'a>(function: &str, name: &str, value: &'a ScalarValue) -> Result<&'a str> {
    match value.try_as_str() {
        Some(Some(text)) => Ok(text),
        Some(None) => plan_err!("{function}: argument `{name}` must not be NULL"),
        None => plan_err!(
            "{function}: argument `{name}` must be text, not {}",
            value.data_type()
        ),
    }
}

/// Runs a row-wise kernel over the arguments: all-constant arguments give a constant result,
/// otherwise constants are broadcast to the batch's length.
pub fn map_rows(
    args: &[ColumnarValue],
    number_rows: usize,
    kernel: impl Fn(&[ArrayRef]) -> Result<ArrayRef>,
) -> Result<ColumnarValue> {
    let all_scalar = args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
    if all_scalar {
        let arrays = args
            .iter()
            .map(|a| a.to_array(1))
            .collect::<Result<Vec<_>>>()?;
        let result = kernel(&arrays)?;
        return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
            &result, 0,
        )?));
    }
    let arrays = args
        .iter()
        .map(|a| a.to_array(number_rows))
        .collect::<Result<Vec<_>>>()?;
    Ok(ColumnarValue::Array(kernel(&arrays)?))
}

/// An execution error for a value no check could have caught at planning time.
pub fn bad_value<T>(function: &str, message: impl std::fmt::Display) -> Result<T> {
    exec_err!("{function}: {message}")
}
