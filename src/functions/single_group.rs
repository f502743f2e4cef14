//! An [`Accumulator`] made from a sales aggregate's [`GroupsAccumulator`] with one group, so
//! each aggregate has one implementation whether or not the query groups rows. `evaluate` and
//! `state` leave the accumulator as it was (window frames call them repeatedly).

use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{ArrayRef, new_empty_array};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::{Accumulator, EmitTo, GroupsAccumulator};
use datafusion::scalar::ScalarValue;

/// Makes a fresh groups accumulator of one aggregate.
pub type Factory = Arc<dyn Fn() -> Result<Box<dyn GroupsAccumulator>> + Send + Sync>;

/// A one-group accumulator.
pub struct SingleGroup {
    factory: Factory,
    /// In a mutex only to be `Sync`; `&mut self` reaches it without locking.
    inner: Mutex<Box<dyn GroupsAccumulator>>,
    state_types: Vec<DataType>,
}

impl std::fmt::Debug for SingleGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SingleGroup").finish_non_exhaustive()
    }
}

impl SingleGroup {
    /// An accumulator over one group; `input_types` are the aggregate's argument types and
    /// `state_types` its state's.
    pub fn new(
        factory: Factory,
        input_types: &[DataType],
        state_types: Vec<DataType>,
    ) -> Result<Self> {
        let mut inner = factory()?;
        // Start with the one group, so that an empty input still has a value.
        let empty: Vec<ArrayRef> = input_types.iter().map(new_empty_array).collect();
        inner.update_batch(&empty, &[], None, 1)?;
        Ok(Self {
            factory,
            inner: Mutex::new(inner),
            state_types,
        })
    }

    /// The state as arrays, with the accumulator left as it was.
    fn peek_state(&mut self) -> Result<Vec<ArrayRef>> {
        let inner = self.inner_mut();
        let state = inner.state(EmitTo::All)?;
        inner.merge_batch(&state, &[0], 1)?;
        Ok(state)
    }

    fn inner_mut(&mut self) -> &mut Box<dyn GroupsAccumulator> {
        self.inner
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Accumulator for SingleGroup {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let rows = values.first().map_or(0, |v| v.len());
        self.inner_mut()
            .update_batch(values, &vec![0; rows], None, 1)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let state = self.peek_state()?;
        let mut copy = (self.factory)()?;
        copy.merge_batch(&state, &[0], 1)?;
        ScalarValue::try_from_array(&copy.evaluate(EmitTo::All)?, 0)
    }

    fn size(&self) -> usize {
        let inner = match self.inner.lock() {
            Ok(inner) => inner.size(),
            Err(poisoned) => poisoned.into_inner().size(),
        };
        inner + size_of::<Self>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.peek_state()?
            .iter()
            .map(|array| ScalarValue::try_from_array(array, 0))
            .collect()
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let rows = states.first().map_or(0, |s| s.len());
        if rows == 0 {
            let empty: Vec<ArrayRef> = self.state_types.iter().map(new_empty_array).collect();
            return self.inner_mut().merge_batch(&empty, &[], 1);
        }
        self.inner_mut().merge_batch(states, &vec![0; rows], 1)
    }
}
