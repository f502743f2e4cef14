//! How the columns of the Parquet files that salesql writes under a data root (`generate`,
//! `import`) are encoded.
//!
//! Sales tables are full of 64-bit integers that take many values: timestamps, and the ids of
//! activities, opportunities and accounts. Parquet writers give every column a dictionary by
//! default; for such a column the dictionary page fills up within a row group and the rest is
//! written plain, eight bytes a value. Readers then decode a dictionary of a hundred thousand
//! entries and the plain pages after it. Delta encoding (`DELTA_BINARY_PACKED`) stores each
//! value as its difference from the previous one, bit-packed: a few bits for time-sorted
//! columns, and for ids about as many bits as a dictionary index would take, with no
//! dictionary to build or read. Columns of few values lose little to it (rep ids at scale 10:
//! 12% larger, scanned as fast), so the rule is by type alone and needs no knowledge of the
//! data.

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::parquet::basic::Encoding;
use datafusion::parquet::file::properties::WriterPropertiesBuilder;
use datafusion::parquet::schema::types::ColumnPath;

/// This layout's version. Caches of generated data (the benchmarks') include it in their folder
/// names, so that files written under an older layout are never measured as current ones;
/// `benches/compare/compare.py` keeps the same value.
pub const LAYOUT_VERSION: &str = "v2";

/// `builder` with delta encoding, and no dictionary, for each column of `schema` stored as a
/// 64-bit integer: 64-bit integers, timestamps and decimals of 10 to 18 digits.
pub fn with_column_encodings(
    mut builder: WriterPropertiesBuilder,
    schema: &Schema,
) -> WriterPropertiesBuilder {
    for field in schema.fields() {
        if delta_encoded(field.data_type()) {
            let column = ColumnPath::from(field.name().as_str());
            builder = builder
                .set_column_dictionary_enabled(column.clone(), false)
                .set_column_encoding(column, Encoding::DELTA_BINARY_PACKED);
        }
    }
    builder
}

/// True for the types that are delta-encoded: those Parquet stores as 64-bit integers, that is
/// 64-bit integers, timestamps, and decimals of 10 to 18 digits (amounts).
fn delta_encoded(data_type: &DataType) -> bool {
    match data_type {
        DataType::Int64 | DataType::Timestamp(_, _) => true,
        DataType::Decimal128(precision, _) => (10..=18).contains(precision),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::datatypes::{Field, TimeUnit};
    use datafusion::parquet::file::properties::WriterProperties;

    use super::*;

    #[test]
    fn only_64_bit_columns_lose_their_dictionary() {
        let schema = Schema::new(vec![
            Field::new("opportunity_id", DataType::Int64, false),
            Field::new("stage", DataType::Utf8, false),
            Field::new(
                "entered_at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            Field::new("duration_s", DataType::Int32, true),
            Field::new("amount", DataType::Decimal128(18, 2), false),
            Field::new("rate", DataType::Decimal128(9, 4), false),
        ]);
        let properties = with_column_encodings(WriterProperties::builder(), &schema).build();
        for (name, delta) in [
            ("opportunity_id", true),
            ("stage", false),
            ("entered_at", true),
            ("duration_s", false),
            ("amount", true),
            ("rate", false),
        ] {
            let column = ColumnPath::from(name);
            assert_eq!(properties.dictionary_enabled(&column), !delta, "{name}");
            let expected = delta.then_some(Encoding::DELTA_BINARY_PACKED);
            assert_eq!(properties.encoding(&column), expected, "{name}");
        }
    }
}
