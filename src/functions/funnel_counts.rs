//! What `step_conversion`, `funnel_shape` and `funnel_leak` share: their argument, a list of
//! per-step counts (as `funnel` returns), and the step conversions read from it.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, Float64Array};
use datafusion::arrow::datatypes::{DataType, Field, Float64Type};
use datafusion::common::plan_err;
use datafusion::error::Result;

/// Coerces the single `counts` argument to a list of DOUBLE.
pub fn coerce_counts(function: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
    let [counts] = arg_types else {
        return plan_err!(
            "{function} takes one argument (counts), not {}",
            arg_types.len()
        );
    };
    let element = match counts {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => f.data_type(),
        DataType::Null => &DataType::Null,
        other => {
            return plan_err!(
                "{function}: argument `counts` must be a list of numbers, not {other}"
            );
        }
    };
    if !(element.is_numeric() || element.is_null()) {
        return plan_err!(
            "{function}: argument `counts` must be a list of numbers, not a list of {element}"
        );
    }
    Ok(vec![DataType::List(Arc::new(Field::new_list_field(
        DataType::Float64,
        true,
    )))])
}

/// Calls `f` with each row's counts (`None` for a NULL list).
pub fn for_each_counts(array: &ArrayRef, mut f: impl FnMut(Option<Counts<'_>>)) {
    let lists = array.as_list::<i32>();
    let values = lists.values().as_primitive::<Float64Type>();
    let offsets = lists.value_offsets();
    for row in 0..lists.len() {
        if lists.is_null(row) {
            f(None);
        } else {
            f(Some(Counts {
                values,
                start: offsets[row] as usize,
                end: offsets[row + 1] as usize,
            }));
        }
    }
}

/// `f` of each row's defined conversions (see [`Counts::defined_conversions`]); NULL for a
/// NULL list.
pub fn map_conversions<T>(
    array: &ArrayRef,
    mut f: impl FnMut(&[f64]) -> Option<T>,
) -> Vec<Option<T>> {
    let mut ratios = Vec::new();
    let mut out = Vec::new();
    for_each_counts(array, |counts| {
        out.push(counts.and_then(|counts| {
            counts.defined_conversions(&mut ratios);
            f(&ratios)
        }));
    });
    out
}

/// One row's counts.
#[derive(Debug, Clone, Copy)]
pub struct Counts<'a> {
    values: &'a Float64Array,
    start: usize,
    end: usize,
}

impl Counts<'_> {
    /// The number of steps.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// True without steps.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Count `k` (0-based), if not NULL.
    pub fn get(&self, k: usize) -> Option<f64> {
        let index = self.start + k;
        self.values
            .is_valid(index)
            .then(|| self.values.value(index))
    }

    /// The conversion from step `k` to `k + 1` (0-based): NULL where count `k` is 0 or either
    /// count is NULL.
    pub fn conversion(&self, k: usize) -> Option<f64> {
        match (self.get(k), self.get(k + 1)) {
            (Some(from), Some(to)) if from != 0.0 => Some(to / from),
            _ => None,
        }
    }

    /// The defined conversions, in order, up to the first zero (or NULL) count.
    pub fn defined_conversions(&self, out: &mut Vec<f64>) {
        out.clear();
        for k in 0..self.len().saturating_sub(1) {
            match self.conversion(k) {
                Some(ratio) => out.push(ratio),
                None => break,
            }
        }
    }
}
