//! [`ShufflesNeverRefused`]: the memory pool behind `--memory-limit`, which counts the
//! batches DataFusion's shuffles (`RepartitionExec`) hold but never refuses them.
//!
//! When the pool refuses a shuffle a batch, DataFusion 55 writes the batch to a spill file
//! that the receiving partition reads back. With two such files open at once (two input
//! partitions refused at the same moment), the reader waits on the older one while the batch
//! it needs is in the newer, and the query stops for good with every thread idle
//! (apache/datafusion#24883, fixed after 55.2). touches_to_win at scale 50 under
//! `--memory-limit 512M` hung that way in 2 runs of 6.
//!
//! A shuffle only holds the batches in flight between two operators, so its memory is still
//! counted, and the operators that can give memory back (aggregations, sorts, joins' spills)
//! see less of the pool and give it back sooner.

use std::fmt;

use datafusion::common::Result;
use datafusion::execution::memory_pool::{
    MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};

/// The name DataFusion gives the memory consumers of a shuffle's output partitions
/// (`RepartitionExec[0]`, …).
const SHUFFLE: &str = "RepartitionExec[";

/// A pool that grants shuffles whatever they ask (counting it) and asks `inner` for the rest.
#[derive(Debug)]
pub struct ShufflesNeverRefused<I> {
    inner: I,
}

impl<I: MemoryPool> ShufflesNeverRefused<I> {
    /// `inner`, with shuffles never refused.
    pub fn new(inner: I) -> Self {
        Self { inner }
    }
}

/// Whether `consumer` holds a shuffle's batches in flight (not the batches an order-keeping
/// shuffle merges, `RepartitionExec[Merge 0]`, which it cannot spill).
fn is_shuffle(consumer: &MemoryConsumer) -> bool {
    let name = consumer.name();
    name.starts_with(SHUFFLE) && !name[SHUFFLE.len()..].starts_with("Merge")
}

impl<I: MemoryPool> fmt::Display for ShufflesNeverRefused<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (shuffles never refused)", self.inner)
    }
}

impl<I: MemoryPool> MemoryPool for ShufflesNeverRefused<I> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.inner.register(consumer);
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.inner.unregister(consumer);
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.inner.grow(reservation, additional);
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.inner.shrink(reservation, shrink);
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        if is_shuffle(reservation.consumer()) {
            self.inner.grow(reservation, additional);
            return Ok(());
        }
        self.inner.try_grow(reservation, additional)
    }

    fn reserved(&self) -> usize {
        self.inner.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        self.inner.memory_limit()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::execution::memory_pool::GreedyMemoryPool;

    use super::*;

    #[test]
    fn shuffles_are_counted_but_never_refused() {
        let pool: Arc<dyn MemoryPool> =
            Arc::new(ShufflesNeverRefused::new(GreedyMemoryPool::new(1000)));
        let shuffle = MemoryConsumer::new("RepartitionExec[1]")
            .with_can_spill(true)
            .register(&pool);
        let aggregation = MemoryConsumer::new("GroupedHashAggregateStream[0]")
            .with_can_spill(true)
            .register(&pool);

        let merge = MemoryConsumer::new("RepartitionExec[Merge 0]").register(&pool);

        aggregation.try_grow(600).unwrap();
        assert!(
            merge.try_grow(500).is_err(),
            "a shuffle's merge can be refused"
        );
        shuffle.try_grow(900).unwrap();
        assert_eq!(pool.reserved(), 1500, "the shuffle's bytes are counted");
        assert!(
            aggregation.try_grow(1).is_err(),
            "others see the pool as full"
        );
        shuffle.shrink(900);
        aggregation.try_grow(400).unwrap();
        assert!(
            aggregation.try_grow(1).is_err(),
            "the limit holds for others"
        );
        assert!(matches!(pool.memory_limit(), MemoryLimit::Finite(1000)));
    }
}
