//! Property test of `salesql::logical::LowercaseComparison` (as local sessions run it, first): comparisons of `lower(text)` with
//! constants, rewritten into `lower_in`, answer as DataFusion's `lower` then comparison do, on
//! random text (ASCII in any case, other scripts, NULLs), under the same column names.

use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, StringViewArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::SessionContext;
use proptest::prelude::*;

use super::common::sorted_rows;

const QUERIES: &[&str] = &[
    "SELECT x, lower(x) = 'won', 'lost' = lower(x), lower(x) <> 'ß', \
     lower(x) IN ('won', 'lost', 'i̇'), lower(x) NOT IN ('won') FROM t",
    "SELECT count(*) FILTER (WHERE lower(x) = 'won') AS won, count(*) AS decided FROM t \
     WHERE lower(x) IN ('won', 'lost', 'σ')",
    "SELECT lower(x) = 'won', count(*) FROM t GROUP BY lower(x) = 'won'",
    "SELECT lower(x) = 'won' AS w, lower(x) IN ('lost') AS l, count(*) FROM t \
     GROUP BY ROLLUP (lower(x) = 'won', lower(x) IN ('lost'))",
    "SELECT lower(NULL) = 'won', lower('WON') IN ('won'), lower(arrow_cast(x, 'Dictionary(Int32, Utf8)')) = 'won', \
     lower(arrow_cast(x, 'LargeUtf8')) = 'lost' FROM t",
    "SELECT count(*) FILTER (WHERE lower(x) = 'won'), count(*) FILTER (WHERE lower(x) = 'lost'), \
     count(*) FILTER (WHERE lower(x) IN ('won', 'ß')) FROM t",
];

fn text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        6 => "[WwOoNnLlSsTt]{0,5}".prop_map(Some),
        2 => prop::sample::select(vec!["İ", "WON", "Lost", "ẞ", "Σ", "ß", "I\u{307}"])
            .prop_map(|t| Some(t.to_string())),
    ]
}

fn session(rows: &[Option<String>], rewritten: bool) -> SessionContext {
    let mut builder = SessionStateBuilder::new().with_default_features();
    if rewritten {
        builder = builder.with_optimizer_rules(salesql::logical::optimizer_rules());
    }
    let context = SessionContext::new_with_state(builder.build());
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Utf8View, true)]));
    let column = StringViewArray::from_iter(rows.iter().map(|r| r.as_deref()));
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(column)]).unwrap();
    let table = MemTable::try_new(schema, vec![vec![batch]]).unwrap();
    context.register_table("t", Arc::new(table)).unwrap();
    context
}

/// The column names, then the rows as sorted text.
async fn answer(context: &SessionContext, sql: &str) -> (Vec<String>, Vec<String>) {
    let frame = context.sql(sql).await.unwrap();
    let names = frame
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let rows = sorted_rows(&frame.collect().await.unwrap());
    (names, rows)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn lowercase_comparisons_answer_as_lower_then_compare(
        rows in prop::collection::vec(text(), 0..30),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let rewritten = session(&rows, true);
            let plain = session(&rows, false);
            for sql in QUERIES {
                prop_assert_eq!(answer(&rewritten, sql).await, answer(&plain, sql).await, "{}", sql);
            }
            Ok(())
        })?;
    }
}

/// The rewritten plan filters with `lower_in`, and no longer lowercases the rows first.
#[tokio::test]
async fn comparisons_of_lower_become_lower_in() {
    let rows = [Some("Won".to_string())];
    for rewritten in [true, false] {
        let (_, plan) = answer(
            &session(&rows, rewritten),
            &format!("EXPLAIN {}", QUERIES[1]),
        )
        .await;
        let plan = plan.join("\n");
        let filters_with_lower_in = plan.contains("FilterExec: lower_in(x@0, won, lost, σ)")
            && plan.contains("FILTER (WHERE lower_in(t.x, Utf8View(\"won\")))");
        assert_eq!(filters_with_lower_in, rewritten, "{plan}");
        assert_eq!(
            plan.contains("FilterExec: lower(x@0)"),
            !rewritten,
            "{plan}"
        );
    }
}

/// An empty IN list (possible through the DataFrame API) is false, and NOT IN true, even for
/// NULL rows, as DataFusion simplifies it: it is left to DataFusion.
#[tokio::test]
async fn empty_in_lists_are_left_alone() {
    use datafusion::functions::expr_fn::lower;
    use datafusion::prelude::{col, in_list};

    let rows = [Some("Won".to_string()), None];
    for negated in [false, true] {
        let mut answers = Vec::new();
        for rewritten in [true, false] {
            let frame = session(&rows, rewritten)
                .table("t")
                .await
                .unwrap()
                .filter(in_list(lower(col("x")), vec![], negated))
                .unwrap();
            answers.push(frame.count().await.unwrap());
        }
        assert_eq!(answers, [if negated { 2 } else { 0 }; 2]);
    }
}
