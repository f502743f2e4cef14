//! `lower`: DataFusion's own function, made fast for string views.
//!
//! For a `Utf8View` column DataFusion first checks that every row is ASCII (a pass over the
//! strings), then lowercases the rows byte by byte, or else every row with
//! `str::to_lowercase`; that was a fifth of `GROUP BY lower(status)`. Here one pass decides
//! row by row: a short ASCII row is lowercased inside its 16-byte view
//! ([`lowercase_inline_ascii`]), a longer ASCII row byte by byte into a new buffer, and any
//! other row with `str::to_lowercase`, as DataFusion does. The results are the same strings.
//! Every other input (other string types, dictionaries, constants) goes to DataFusion's
//! implementation, as do the signature, return type and documentation.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, AsArray, StringViewArray, make_view};
use datafusion::arrow::buffer::{Buffer, ScalarBuffer};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
};

use crate::text_views::{is_inline_ascii, lowercase_inline_ascii};

/// DataFusion's `lower`, with string views lowercased by [`lowercase_views`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Lower {
    builtin: Arc<ScalarUDF>,
}

/// The `lower(text)` salesql registers in place of DataFusion's.
pub fn lower() -> Arc<ScalarUDF> {
    static UDF: LazyLock<Arc<ScalarUDF>> = LazyLock::new(|| {
        Arc::new(ScalarUDF::from(Lower {
            builtin: datafusion::functions::string::lower(),
        }))
    });
    Arc::clone(&UDF)
}

impl ScalarUDFImpl for Lower {
    fn name(&self) -> &str {
        self.builtin.name()
    }

    fn aliases(&self) -> &[String] {
        self.builtin.aliases()
    }

    fn signature(&self) -> &Signature {
        self.builtin.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.builtin.return_type(arg_types)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        match args.args.as_slice() {
            [ColumnarValue::Array(text)] if *text.data_type() == DataType::Utf8View => Ok(
                ColumnarValue::Array(Arc::new(lowercase_views(text.as_string_view())?)),
            ),
            _ => self.builtin.invoke_with_args(args),
        }
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.builtin.documentation()
    }
}

/// Rows lowercased out of line are written into buffers of at most this many bytes (view
/// offsets are 32-bit).
const BUFFER_LIMIT: usize = i32::MAX as usize;

/// Every row of `text` lowercased as `str::to_lowercase` does; NULL rows stay NULL.
pub fn lowercase_views(text: &StringViewArray) -> Result<StringViewArray> {
    let mut views = Vec::with_capacity(text.len());
    let mut buffers: Vec<Buffer> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut lowered_row = String::new();
    for (row, &view) in text.views().iter().enumerate() {
        if is_inline_ascii(view) {
            views.push(lowercase_inline_ascii(view));
            continue;
        }
        if text.is_null(row) {
            views.push(0);
            continue;
        }
        let value = text.value(row);
        let lowered = if value.is_ascii() {
            lowered_row.clear();
            lowered_row.push_str(value);
            lowered_row.make_ascii_lowercase();
            lowered_row.as_bytes()
        } else {
            lowered_row = value.to_lowercase();
            lowered_row.as_bytes()
        };
        if current.len() + lowered.len() > BUFFER_LIMIT {
            buffers.push(Buffer::from_vec(std::mem::take(&mut current)));
        }
        views.push(make_view(
            lowered,
            buffers.len() as u32,
            current.len() as u32,
        ));
        if lowered.len() > 12 {
            current.extend_from_slice(lowered);
        }
    }
    if !current.is_empty() {
        buffers.push(Buffer::from_vec(current));
    }
    let (views, nulls) = (ScalarBuffer::from(views), text.nulls().cloned());
    if cfg!(debug_assertions) {
        return Ok(StringViewArray::try_new(views, buffers, nulls)?);
    }
    // SAFETY: each view is valid UTF-8 of its length within its buffer. It is an input view
    // of an inline ASCII string with letters lowercased (still ASCII, its length and zero
    // padding unchanged), 0 (the empty string, for a NULL row), or `make_view` of the bytes of
    // a `str` that were just written at that place in `buffers` (or inline, when 12 bytes or
    // fewer). Debug builds (the tests) check this with `try_new` above; validating in release
    // builds read every string again, and cost more than lowercasing them.
    Ok(unsafe { StringViewArray::new_unchecked(views, buffers, nulls) })
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::ArrayRef;
    use datafusion::arrow::datatypes::Field;
    use datafusion::config::ConfigOptions;
    use proptest::prelude::*;

    use super::*;

    /// Short and long rows, ASCII and not (with letters whose lowercase form changes length,
    /// and the final sigma that depends on its neighbours), and NULLs.
    fn row() -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            "[a-zA-Z0-9 @\\[`{_-]{0,16}".prop_map(Some),
            "[a-zA-ZİẞΣσ ]{0,14}".prop_map(Some),
            "\\PC{0,20}".prop_map(Some),
            Just(None),
        ]
    }

    fn lowered_by(udf: &ScalarUDF, text: &StringViewArray) -> ArrayRef {
        let args = ScalarFunctionArgs {
            number_rows: text.len(),
            args: vec![ColumnarValue::Array(Arc::new(text.clone()))],
            arg_fields: vec![Arc::new(Field::new("text", DataType::Utf8View, true))],
            return_field: Arc::new(Field::new("lower", DataType::Utf8View, true)),
            config_options: Arc::new(ConfigOptions::default()),
        };
        match udf.invoke_with_args(args) {
            Ok(ColumnarValue::Array(array)) => array,
            other => panic!("lower gave {other:?}"),
        }
    }

    proptest! {
        /// Every row, of any slice of the column, lowercases to what DataFusion's `lower`
        /// gives, NULLs included.
        #[test]
        fn lowercases_as_datafusion(
            rows in proptest::collection::vec(row(), 0..40),
            skip in 0usize..5,
        ) {
            let whole = StringViewArray::from(rows.clone());
            let skip = skip.min(rows.len());
            let text = whole.slice(skip, rows.len() - skip);
            let ours = lowered_by(&lower(), &text);
            let theirs = lowered_by(&datafusion::functions::string::lower(), &text);
            prop_assert_eq!(ours.as_string_view(), theirs.as_string_view());
        }
    }
}
