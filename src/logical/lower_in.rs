//! [`LowercaseComparison`]: `lower(x) = 'won'` and `lower(x) IN ('won', 'lost')` without
//! lowercasing `x`.
//!
//! Sales data spells statuses and activity types in whatever case the CRM used, so the saved
//! queries compare `lower(status)` with constants. DataFusion lowercases every row into a new
//! array, then compares it; that was a tenth of the queries filtering on status. [`lower_in`]
//! compares each row with the constants in place: an ASCII row (the usual case) matches when
//! it has a constant's length and its bytes, lowercased one at a time, are the constant's;
//! any other row is lowercased as DataFusion's `lower` does (`str::to_lowercase`) and compared.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, BooleanBufferBuilder, StringArrayType, StringViewArray,
};
use datafusion::arrow::buffer::BooleanBuffer;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::functions::string::lower::LowerFunc;
use datafusion::logical_expr::expr::{Cast, InList, ScalarFunction};
use datafusion::logical_expr::expr_rewriter::NamePreserver;
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Expr, LogicalPlan, Operator, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

use crate::functions::lower::Lower;
use crate::text_views::{LowercaseProbe, is_inline_ascii};

const NAME: &str = "lower_in";

/// Rewrites comparisons of `lower(text)` with text constants into [`lower_in`].
#[derive(Debug, Default)]
pub struct LowercaseComparison;

impl OptimizerRule for LowercaseComparison {
    fn name(&self) -> &str {
        "salesql_lowercase_comparison"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        if !matches!(
            plan,
            LogicalPlan::Filter(_) | LogicalPlan::Projection(_) | LogicalPlan::Aggregate(_)
        ) {
            return Ok(Transformed::no(plan));
        }
        let names = NamePreserver::new(&plan);
        let mut rewrite = |expression: Expr| {
            let name = names.save(&expression);
            expression
                .transform_up(|e| Ok(lowercase_comparison(e)))
                .map(|rewritten| rewritten.update_data(|e| name.restore(e)))
        };
        plan.map_expressions(|expression| {
            // A grouping set keeps the names of the expressions inside it, not its own.
            if let Expr::GroupingSet(_) = &expression {
                expression.map_children(&mut rewrite)
            } else {
                rewrite(expression)
            }
        })
    }
}

/// `expression` as a [`lower_in`] call when it compares `lower(text)` with text constants.
fn lowercase_comparison(expression: Expr) -> Transformed<Expr> {
    let rewritten = match &expression {
        Expr::BinaryExpr(BinaryExpr { left, op, right })
            if matches!(op, Operator::Eq | Operator::NotEq) =>
        {
            let pair = lowered(left)
                .zip(text_constant(right))
                .or_else(|| lowered(right).zip(text_constant(left)));
            pair.map(|(text, constant)| {
                let call = lower_in_call(text, vec![constant]);
                if *op == Operator::NotEq {
                    Expr::Not(Box::new(call))
                } else {
                    call
                }
            })
        }
        Expr::InList(InList {
            expr,
            list,
            negated,
        }) if !list.is_empty() => lowered(expr).and_then(|text| {
            let constants = list.iter().map(text_constant).collect::<Option<Vec<_>>>()?;
            let call = lower_in_call(text, constants);
            Some(if *negated {
                Expr::Not(Box::new(call))
            } else {
                call
            })
        }),
        _ => None,
    };
    match rewritten {
        Some(call) => Transformed::yes(call),
        None => Transformed::no(expression),
    }
}

/// The argument of `lower(argument)`.
fn lowered(expression: &Expr) -> Option<&Expr> {
    let Expr::ScalarFunction(ScalarFunction { func, args }) = expression else {
        return None;
    };
    match args.as_slice() {
        [argument]
            if func.inner().downcast_ref::<LowerFunc>().is_some()
                || func.inner().downcast_ref::<Lower>().is_some() =>
        {
            Some(argument)
        }
        _ => None,
    }
}

/// A non-NULL text constant, possibly cast to another text type (as type coercion leaves it
/// before the first simplification).
fn text_constant(expression: &Expr) -> Option<Expr> {
    match expression {
        Expr::Literal(
            ScalarValue::Utf8(Some(_))
            | ScalarValue::Utf8View(Some(_))
            | ScalarValue::LargeUtf8(Some(_)),
            _,
        ) => Some(expression.clone()),
        Expr::Cast(Cast { expr, field })
            if matches!(
                field.data_type(),
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
            ) =>
        {
            text_constant(expr).map(|_| expression.clone())
        }
        _ => None,
    }
}

fn lower_in_call(text: &Expr, constants: Vec<Expr>) -> Expr {
    let mut args = vec![text.clone()];
    args.extend(constants);
    Expr::ScalarFunction(ScalarFunction::new_udf(lower_in(), args))
}

/// `lower_in(text, constant, …)`: whether `lower(text)` equals one of the constants; NULL
/// where `text` is NULL. Only [`LowercaseComparison`] calls it (it is not registered).
pub fn lower_in() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::from(LowerIn {
            signature: Signature::variadic_any(Volatility::Immutable),
        }))
    });
    Arc::clone(&UDF)
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct LowerIn {
    signature: Signature,
}

impl ScalarUDFImpl for LowerIn {
    fn name(&self) -> &str {
        NAME
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let constants = args.args[1..]
            .iter()
            .map(|constant| match constant {
                ColumnarValue::Scalar(scalar) => match scalar.try_as_str() {
                    Some(Some(text)) => Ok(text.to_string()),
                    _ => exec_err!("{NAME}: constants must be non-NULL text, not {scalar}"),
                },
                ColumnarValue::Array(_) => exec_err!("{NAME}: constants must be scalars"),
            })
            .collect::<Result<Vec<_>>>()?;
        let rows = match &args.args[0] {
            ColumnarValue::Scalar(_) => 1,
            ColumnarValue::Array(array) => array.len(),
        };
        let text = args.args[0].to_array(rows)?;
        let matches: ArrayRef = match text.data_type() {
            DataType::Utf8 => Arc::new(lowercase_matches(&text.as_string::<i32>(), &constants)),
            DataType::LargeUtf8 => {
                Arc::new(lowercase_matches(&text.as_string::<i64>(), &constants))
            }
            // Views, and whatever else `lower` takes (a NULL, a dictionary of text), as views.
            _ => {
                let views = cast(&text, &DataType::Utf8View)?;
                Arc::new(lowercase_view_matches(views.as_string_view(), &constants))
            }
        };
        Ok(match &args.args[0] {
            ColumnarValue::Scalar(_) => {
                ColumnarValue::Scalar(ScalarValue::try_from_array(&matches, 0)?)
            }
            ColumnarValue::Array(_) => ColumnarValue::Array(matches),
        })
    }
}

/// Per row of `text`: whether its lowercase form is one of `constants` (NULL where it is
/// NULL).
fn lowercase_matches<'a, T: StringArrayType<'a>>(text: &T, constants: &[String]) -> BooleanArray {
    let matches = BooleanBuffer::collect_bool(text.len(), |row| {
        lowercase_is_one_of(text.value(row), constants)
    });
    BooleanArray::new(matches, text.logical_nulls())
}

/// [`lowercase_matches`] for string views: rows that are short and ASCII are compared with
/// each constant in their views, one pass per constant; the others (long strings, other
/// scripts) are lowercased and compared one by one.
fn lowercase_view_matches(text: &StringViewArray, constants: &[String]) -> BooleanArray {
    let views: &[u128] = text.views();
    let rows = views.len();
    let mut matches = BooleanBuffer::new_unset(rows);
    for probe in constants
        .iter()
        .filter_map(|constant| LowercaseProbe::new(constant.as_bytes()))
    {
        matches = &matches | &BooleanBuffer::collect_bool(rows, |row| probe.matches(views[row]));
    }
    let others = BooleanBuffer::collect_bool(rows, |row| !is_inline_ascii(views[row]));
    if others.count_set_bits() > 0 {
        let mut fixed = BooleanBufferBuilder::new(rows);
        fixed.append_buffer(&matches);
        for row in others.set_indices().filter(|row| text.is_valid(*row)) {
            fixed.set_bit(row, lowercase_is_one_of(text.value(row), constants));
        }
        matches = fixed.finish();
    }
    BooleanArray::new(matches, text.logical_nulls())
}

/// Whether `value.to_lowercase()` is one of `constants`, without building it for ASCII values.
fn lowercase_is_one_of(value: &str, constants: &[String]) -> bool {
    if value.is_ascii() {
        constants.iter().any(|constant| {
            constant.len() == value.len()
                && value
                    .bytes()
                    .zip(constant.bytes())
                    .all(|(v, c)| v.to_ascii_lowercase() == c)
        })
    } else {
        let lowered = value.to_lowercase();
        constants.contains(&lowered)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::StringArray;
    use proptest::prelude::*;

    use super::*;

    fn text() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            1 => Just(None),
            6 => "[WwOoNnLlSsTt]{0,5}".prop_map(Some),
            2 => prop::sample::select(vec!["İ", "Won", "WON", "wÖn", "ẞ", "Σ", "won", "lost", "ß"])
                .prop_map(|t| Some(t.to_string())),
            1 => "\\PC{0,4}".prop_map(Some),
        ]
    }

    proptest! {
        /// Every row answers as `lower(text) IN (constants)` does (DataFusion's `lower`, then
        /// equality), for ASCII and other text, NULLs, and each string type.
        #[test]
        fn lower_in_answers_as_lowercasing_then_comparing(
            rows in prop::collection::vec(text(), 0..40),
            constants in prop::collection::vec(text().prop_filter_map("a constant", |t| t), 1..4),
        ) {
            let wanted: Vec<Option<bool>> = rows
                .iter()
                .map(|row| row.as_ref().map(|r| constants.contains(&r.to_lowercase())))
                .collect();
            let views = StringViewArray::from_iter(rows.iter().map(|r| r.as_deref()));
            let plain = StringArray::from_iter(rows.iter().map(|r| r.as_deref()));
            for found in [
                lowercase_view_matches(&views, &constants),
                lowercase_matches(&&views, &constants),
                lowercase_matches(&&plain, &constants),
            ] {
                prop_assert_eq!(found.iter().collect::<Vec<_>>(), wanted.clone());
            }
        }
    }
}
