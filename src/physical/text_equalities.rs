//! [`Arguments`]: the argument expressions of an aggregation, evaluated per batch, with the
//! equality tests of one text column against constants done together.
//!
//! Funnel conditions are written as `stage = 'prospecting', stage = 'qualification', …`:
//! DataFusion evaluates each as its own comparison kernel, which reads every row's string view
//! again and branches on its length and prefix, and that was a tenth of the stage funnel's
//! time. A test of a `Utf8View` column against a constant needs only the row's 16-byte view
//! when the constant is inline (12 bytes or fewer), and its first 8 bytes (length and prefix)
//! before the rare full comparison otherwise; [`equal_to_each`] does every constant of one
//! column that way, branch-free for inline constants.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringViewArray,
};
use datafusion::arrow::buffer::BooleanBuffer;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{BinaryExpr, Column, Literal};

use crate::text_views::ViewProbe;

/// The argument expressions of each aggregate function of an aggregation.
pub(super) struct Arguments {
    expressions: Vec<Vec<Arc<dyn PhysicalExpr>>>,
    /// The `column = 'constant'` arguments, per input column of type `Utf8View` tested against
    /// more than one constant.
    equalities: Vec<ColumnEqualities>,
}

/// The equality tests of one text column: each constant and the (function, argument)
/// positions it answers.
struct ColumnEqualities {
    column: usize,
    constants: Vec<Vec<u8>>,
    positions: Vec<(usize, usize)>,
}

impl Arguments {
    /// The arguments `expressions` (one list per aggregate function) over rows of `schema`.
    pub(super) fn new(expressions: Vec<Vec<Arc<dyn PhysicalExpr>>>, schema: &Schema) -> Self {
        let mut by_column: BTreeMap<usize, ColumnEqualities> = BTreeMap::new();
        for (function, arguments) in expressions.iter().enumerate() {
            for (argument, expression) in arguments.iter().enumerate() {
                let Some((column, constant)) = text_equality(expression.as_ref()) else {
                    continue;
                };
                if schema.field(column).data_type() != &DataType::Utf8View {
                    continue;
                }
                let tests = by_column.entry(column).or_insert_with(|| ColumnEqualities {
                    column,
                    constants: Vec::new(),
                    positions: Vec::new(),
                });
                tests.constants.push(constant);
                tests.positions.push((function, argument));
            }
        }
        let equalities = by_column
            .into_values()
            .filter(|tests| tests.constants.len() > 1)
            .collect();
        Self {
            expressions,
            equalities,
        }
    }

    /// Each function's argument values for `batch`.
    pub(super) fn evaluate(&self, batch: &RecordBatch) -> Result<Vec<Vec<ArrayRef>>> {
        let mut values: Vec<Vec<Option<ArrayRef>>> = self
            .expressions
            .iter()
            .map(|arguments| vec![None; arguments.len()])
            .collect();
        for tests in &self.equalities {
            // The plan's input schema said `Utf8View`; a batch that disagrees is left to the
            // expressions themselves.
            let Some(column) = batch.column(tests.column).as_string_view_opt() else {
                continue;
            };
            let results = equal_to_each(column, &tests.constants);
            for (&(function, argument), result) in tests.positions.iter().zip(results) {
                values[function][argument] = Some(Arc::new(result));
            }
        }
        values
            .into_iter()
            .zip(&self.expressions)
            .map(|(computed, expressions)| {
                computed
                    .into_iter()
                    .zip(expressions)
                    .map(|(value, expression)| match value {
                        Some(value) => Ok(value),
                        None => expression.evaluate(batch)?.into_array(batch.num_rows()),
                    })
                    .collect()
            })
            .collect()
    }
}

/// The column and constant of `column = 'constant'` (either way round), with a non-NULL text
/// constant.
fn text_equality(expression: &dyn PhysicalExpr) -> Option<(usize, Vec<u8>)> {
    let binary = expression.downcast_ref::<BinaryExpr>()?;
    if *binary.op() != Operator::Eq {
        return None;
    }
    let column_and_literal = |a: &Arc<dyn PhysicalExpr>, b: &Arc<dyn PhysicalExpr>| {
        let column = a.downcast_ref::<Column>()?;
        let literal = b.downcast_ref::<Literal>()?;
        match literal.value() {
            ScalarValue::Utf8View(Some(text))
            | ScalarValue::Utf8(Some(text))
            | ScalarValue::LargeUtf8(Some(text)) => {
                Some((column.index(), text.as_bytes().to_vec()))
            }
            _ => None,
        }
    };
    column_and_literal(binary.left(), binary.right())
        .or_else(|| column_and_literal(binary.right(), binary.left()))
}

/// `column = constant` for each of `constants`, as DataFusion's comparison gives it: NULL
/// where the row is NULL.
pub(super) fn equal_to_each(column: &StringViewArray, constants: &[Vec<u8>]) -> Vec<BooleanArray> {
    let views = column.views();
    constants
        .iter()
        .map(|constant| {
            let probe = ViewProbe::new(constant);
            let matches = match probe {
                ViewProbe::Inline { view, mask } => {
                    BooleanBuffer::collect_bool(views.len(), |row| (views[row] ^ view) & mask == 0)
                }
                ViewProbe::Outside { head } => BooleanBuffer::collect_bool(views.len(), |row| {
                    views[row] as u64 == head
                        && column.is_valid(row)
                        && column.value(row).as_bytes() == constant
                }),
            };
            BooleanArray::new(matches, column.logical_nulls())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::compute::kernels::cmp::eq;
    use datafusion::arrow::datatypes::Field;
    use proptest::prelude::*;

    use super::*;

    fn words() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            Just(None),
            Just(Some(String::new())),
            "[ab]{0,14}".prop_map(Some),
            prop::sample::select(vec![
                "prospecting",
                "qualification",
                "qualificatiom",
                "qualm",
                "closed_won",
                "closed_wonder",
                "abcdefghijkl",
                "abcdefghijklm",
            ])
            .prop_map(|w| Some(w.to_string())),
        ]
    }

    proptest! {
        /// Every constant's result equals Arrow's comparison kernel, NULLs included, for
        /// inline and out-of-line strings and for sliced arrays.
        #[test]
        fn equal_to_each_is_arrows_equality(
            rows in prop::collection::vec(words(), 0..60),
            constants in prop::collection::vec(words().prop_filter_map("a constant", |w| w), 1..5),
            offset in 0usize..5,
        ) {
            let column = StringViewArray::from_iter(rows.iter().map(|r| r.as_deref()));
            let offset = offset.min(column.len());
            let column = column.slice(offset, column.len() - offset);
            let constants: Vec<Vec<u8>> = constants.iter().map(|c| c.as_bytes().to_vec()).collect();
            let found = equal_to_each(&column, &constants);
            for (constant, found) in constants.iter().zip(found) {
                let scalar = StringViewArray::new_scalar(std::str::from_utf8(constant).unwrap());
                let wanted = eq(&column, &scalar).unwrap();
                prop_assert_eq!(found, wanted);
            }
        }
    }

    #[test]
    fn only_columns_tested_against_several_constants_are_shared() {
        let schema = Schema::new(vec![
            Field::new("stage", DataType::Utf8View, true),
            Field::new("name", DataType::Utf8, true),
        ]);
        let stage = Arc::new(Column::new("stage", 0)) as Arc<dyn PhysicalExpr>;
        let name = Arc::new(Column::new("name", 1)) as Arc<dyn PhysicalExpr>;
        let test = |column: &Arc<dyn PhysicalExpr>, text: &str, flipped: bool| {
            let constant = if column.downcast_ref::<Column>().unwrap().index() == 0 {
                ScalarValue::Utf8View(Some(text.into()))
            } else {
                ScalarValue::Utf8(Some(text.into()))
            };
            let literal = Arc::new(Literal::new(constant)) as Arc<dyn PhysicalExpr>;
            let (left, right) = if flipped {
                (literal, Arc::clone(column))
            } else {
                (Arc::clone(column), literal)
            };
            Arc::new(BinaryExpr::new(left, Operator::Eq, right)) as Arc<dyn PhysicalExpr>
        };
        let arguments = Arguments::new(
            vec![
                vec![test(&stage, "won", false), test(&name, "a", false)],
                vec![test(&stage, "lost", true), test(&name, "b", false)],
            ],
            &schema,
        );
        assert_eq!(arguments.equalities.len(), 1, "only the Utf8View column");
        assert_eq!(arguments.equalities[0].positions, vec![(0, 0), (1, 0)]);

        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringViewArray::from(vec![Some("won"), None, Some("lost")])),
                Arc::new(datafusion::arrow::array::StringArray::from(vec![
                    "a", "b", "a",
                ])),
            ],
        )
        .unwrap();
        let values = arguments.evaluate(&batch).unwrap();
        let as_bools = |array: &ArrayRef| array.as_boolean().iter().collect::<Vec<_>>();
        assert_eq!(as_bools(&values[0][0]), [Some(true), None, Some(false)]);
        assert_eq!(as_bools(&values[1][0]), [Some(false), None, Some(true)]);
        assert_eq!(
            as_bools(&values[0][1]),
            [Some(true), Some(false), Some(true)]
        );
        assert_eq!(
            as_bools(&values[1][1]),
            [Some(false), Some(true), Some(false)]
        );
    }
}
