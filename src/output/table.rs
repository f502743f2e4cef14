//! The `table` view: results drawn as a box table that fits the terminal's width.
//!
//! Rows stream through; only the first and last rows to be shown are kept (at most two batches'
//! worth of buffers), so a query returning millions of rows costs no memory here. Long cells
//! are cut with `…`, a row never wraps, and when even the narrowest columns do not fit, trailing
//! columns are hidden (or, with `\x auto`, the view switches to one record per block). What was
//! left out is counted in the [`ResultSummary`] for the caller to report.

use std::collections::VecDeque;
use std::io::Write;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;

use crate::error::{Error, Result};
use crate::output::cells::{cell_text, display_width, formatter, is_numeric, truncate};
use crate::output::{BatchWriter, ResultSummary};

/// Expanded display (one block per record), as psql's `\x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expanded {
    /// Always a grid.
    #[default]
    Off,
    /// Always one block per record.
    On,
    /// A grid when it fits the width, else blocks.
    Auto,
}

/// How the table view is drawn.
#[derive(Debug, Clone, Copy)]
pub struct TableOptions {
    /// The most rows shown (half from the top, half from the bottom); 0 shows all.
    pub max_rows: usize,
    /// The width to fit, in terminal columns; `None` for no limit.
    pub width: Option<usize>,
    /// Expanded display.
    pub expanded: Expanded,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self {
            max_rows: 40,
            width: None,
            expanded: Expanded::Off,
        }
    }
}

/// The smallest width a column is cut to before columns are hidden.
const MIN_COLUMN_WIDTH: usize = 5;

/// Writes the table view of one result set.
pub struct TableWriter<'a> {
    out: &'a mut dyn Write,
    schema: SchemaRef,
    options: TableOptions,
    head: Vec<RecordBatch>,
    head_rows: usize,
    tail: VecDeque<RecordBatch>,
    tail_rows: usize,
    total_rows: usize,
}

impl<'a> TableWriter<'a> {
    /// A writer of `schema`'s rows to `out`.
    pub fn new(out: &'a mut dyn Write, schema: SchemaRef, options: TableOptions) -> Self {
        Self {
            out,
            schema,
            options,
            head: Vec::new(),
            head_rows: 0,
            tail: VecDeque::new(),
            tail_rows: 0,
            total_rows: 0,
        }
    }

    fn head_limit(&self) -> usize {
        match self.options.max_rows {
            0 => usize::MAX,
            n => n.div_ceil(2),
        }
    }

    fn tail_limit(&self) -> usize {
        match self.options.max_rows {
            0 => 0,
            n => n / 2,
        }
    }
}

impl BatchWriter for TableWriter<'_> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.total_rows += batch.num_rows();
        let to_head = batch
            .num_rows()
            .min(self.head_limit().saturating_sub(self.head_rows));
        if to_head > 0 {
            self.head.push(batch.slice(0, to_head));
            self.head_rows += to_head;
        }
        let rest = batch.num_rows() - to_head;
        if rest > 0 && self.tail_limit() > 0 {
            let keep = rest.min(self.tail_limit());
            self.tail
                .push_back(batch.slice(batch.num_rows() - keep, keep));
            self.tail_rows += keep;
            while let Some(front) = self.tail.front() {
                if self.tail_rows - front.num_rows() < self.tail_limit() {
                    break;
                }
                self.tail_rows -= front.num_rows();
                self.tail.pop_front();
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<ResultSummary> {
        let this = *self;
        let grid = Grid::collect(&this)?;
        let shown_rows = grid.rows.len();
        let hidden_columns = render(this.out, &grid, &this.options).map_err(|e| Error::Output {
            destination: "the table view".into(),
            message: e.to_string(),
        })?;
        Ok(ResultSummary {
            rows: this.total_rows,
            shown_rows,
            hidden_columns,
        })
    }
}

/// The text of the rows to show.
struct Grid {
    headers: Vec<String>,
    right_aligned: Vec<bool>,
    rows: Vec<Vec<String>>,
    /// Where the "rows left out" marker goes, and how many rows it stands for.
    elision: Option<(usize, usize)>,
}

impl Grid {
    fn collect(writer: &TableWriter<'_>) -> Result<Self> {
        let headers = writer
            .schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let right_aligned = writer
            .schema
            .fields()
            .iter()
            .map(|f| is_numeric(f.data_type()))
            .collect();
        let mut rows = Vec::new();
        for batch in &writer.head {
            push_rows(&mut rows, batch)?;
        }
        let tail_rows: usize = writer.tail.iter().map(RecordBatch::num_rows).sum();
        let elided = writer.total_rows - writer.head_rows - tail_rows;
        let elision = (elided > 0).then_some((rows.len(), elided));
        for batch in &writer.tail {
            push_rows(&mut rows, batch)?;
        }
        Ok(Self {
            headers,
            right_aligned,
            rows,
            elision,
        })
    }

    fn natural_widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| display_width(h)).collect();
        for row in &self.rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(display_width(cell));
            }
        }
        widths
    }
}

fn push_rows(rows: &mut Vec<Vec<String>>, batch: &RecordBatch) -> Result<()> {
    let formatters = batch
        .columns()
        .iter()
        .map(|c| formatter(c.as_ref()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(datafusion::error::DataFusionError::from)?;
    for row in 0..batch.num_rows() {
        rows.push(formatters.iter().map(|f| cell_text(f, row)).collect());
    }
    Ok(())
}

/// The width of a grid line with these column widths.
fn line_width(widths: &[usize]) -> usize {
    widths.iter().sum::<usize>() + 3 * widths.len() + 1
}

/// Draws the grid (or expanded blocks) and returns how many columns were hidden.
fn render(out: &mut dyn Write, grid: &Grid, options: &TableOptions) -> std::io::Result<usize> {
    let natural = grid.natural_widths();
    let limit = options.width.unwrap_or(usize::MAX);
    let expanded = match options.expanded {
        Expanded::On => true,
        Expanded::Auto => line_width(&natural) > limit && !grid.headers.is_empty(),
        Expanded::Off => false,
    };
    if expanded {
        render_expanded(out, grid, limit)?;
        return Ok(0);
    }
    let (widths, visible) = fit(&natural, limit);
    let hidden = natural.len() - visible;
    let mut widths = widths[..visible].to_vec();
    if hidden > 0 {
        widths.push(1);
    }
    let cell = |text: &str, column: usize| -> String {
        if column >= visible {
            return "…".to_string();
        }
        let text = truncate(text, widths[column]);
        let pad = widths[column] - display_width(&text);
        if grid.right_aligned[column] {
            format!("{}{text}", " ".repeat(pad))
        } else {
            format!("{text}{}", " ".repeat(pad))
        }
    };
    let draw_row = |out: &mut dyn Write, cells: &[String]| -> std::io::Result<()> {
        let mut line = String::from("│");
        for (column, _) in widths.iter().enumerate() {
            let text = cells.get(column).map(String::as_str).unwrap_or("");
            line.push(' ');
            line.push_str(&cell(text, column));
            line.push_str(" │");
        }
        writeln!(out, "{line}")
    };
    let rule = |left: &str, middle: &str, right: &str| -> String {
        let parts: Vec<String> = widths.iter().map(|w| "─".repeat(w + 2)).collect();
        format!("{left}{}{right}", parts.join(middle))
    };

    writeln!(out, "{}", rule("┌", "┬", "┐"))?;
    let headers: Vec<String> = grid.headers.clone();
    let header_line: Vec<String> = (0..widths.len())
        .map(|c| {
            if c >= visible {
                return "…".to_string();
            }
            let text = truncate(&headers[c], widths[c]);
            let pad = widths[c] - display_width(&text);
            format!("{text}{}", " ".repeat(pad))
        })
        .collect();
    writeln!(out, "│ {} │", header_line.join(" │ "))?;
    writeln!(out, "{}", rule("├", "┼", "┤"))?;
    for (index, row) in grid.rows.iter().enumerate() {
        if let Some((at, _)) = grid.elision
            && at == index
        {
            let marker: Vec<String> = vec!["…".to_string(); visible];
            draw_row(out, &marker)?;
        }
        draw_row(out, row)?;
    }
    if let Some((at, _)) = grid.elision
        && at == grid.rows.len()
    {
        draw_row(out, &vec!["…".to_string(); visible])?;
    }
    writeln!(out, "{}", rule("└", "┴", "┘"))?;
    Ok(hidden)
}

/// Column widths that fit `limit`: the widest columns are cut first, down to
/// [`MIN_COLUMN_WIDTH`]; if that is not enough, trailing columns are hidden (leaving room for a
/// one-character `…` column). Returns the widths and the number of visible columns.
fn fit(natural: &[usize], limit: usize) -> (Vec<usize>, usize) {
    let mut widths = natural.to_vec();
    let minimum = |w: usize| w.min(MIN_COLUMN_WIDTH);
    let mut visible = widths.len();
    loop {
        let mut shown = widths[..visible].to_vec();
        if visible < widths.len() {
            shown.push(1);
        }
        let excess = line_width(&shown).saturating_sub(limit);
        if excess == 0 {
            return (widths, visible);
        }
        let slack: usize = widths[..visible].iter().map(|w| w - minimum(*w)).sum();
        if slack >= excess {
            // Cut the widest columns, one column at a time, until the excess is gone.
            let mut remaining = excess;
            while remaining > 0 {
                let (widest, _) = widths[..visible]
                    .iter()
                    .enumerate()
                    .max_by_key(|(i, w)| (**w, usize::MAX - i))
                    .expect("there is a visible column");
                widths[widest] -= 1;
                remaining -= 1;
            }
            return (widths, visible);
        }
        if visible <= 1 {
            for w in &mut widths[..visible] {
                *w = minimum(*w);
            }
            return (widths, visible);
        }
        visible -= 1;
        widths = natural.to_vec();
    }
}

/// One block per record: `name │ value` lines under a `─[ RECORD n ]─` rule.
fn render_expanded(out: &mut dyn Write, grid: &Grid, limit: usize) -> std::io::Result<()> {
    let name_width = grid
        .headers
        .iter()
        .map(|h| display_width(h))
        .max()
        .unwrap_or(0);
    let value_width = limit.saturating_sub(name_width + 3).max(1);
    let mut record = 0;
    for (index, row) in grid.rows.iter().enumerate() {
        if let Some((at, elided)) = grid.elision
            && at == index
        {
            writeln!(out, "… {elided} records not shown …")?;
            record += elided;
        }
        record += 1;
        let title = truncate(&format!("─[ RECORD {record} ]"), limit);
        let rule_width = (name_width + 3 + 10).min(limit).max(display_width(&title));
        writeln!(
            out,
            "{title}{}",
            "─".repeat(rule_width - display_width(&title))
        )?;
        for (name, value) in grid.headers.iter().zip(row) {
            let pad = name_width - display_width(name);
            writeln!(
                out,
                "{name}{} │ {}",
                " ".repeat(pad),
                truncate(value, value_width)
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch(range: std::ops::Range<i64>) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("label", DataType::Utf8, true),
        ]));
        let labels: Vec<String> = range.clone().map(|i| format!("row number {i}")).collect();
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(range)),
                Arc::new(StringArray::from(labels)),
            ],
        )
        .unwrap()
    }

    fn draw(batches: &[RecordBatch], options: TableOptions) -> (String, ResultSummary) {
        let mut out = Vec::new();
        let mut writer = Box::new(TableWriter::new(&mut out, batches[0].schema(), options));
        for b in batches {
            writer.write(b).unwrap();
        }
        let summary = writer.finish().unwrap();
        (String::from_utf8(out).unwrap(), summary)
    }

    #[test]
    fn small_results_are_drawn_whole_with_numbers_right_aligned() {
        let (text, summary) = draw(&[batch(8..11)], TableOptions::default());
        assert_eq!(
            text,
            "┌────┬───────────────┐\n\
             │ n  │ label         │\n\
             ├────┼───────────────┤\n\
             │  8 │ row number 8  │\n\
             │  9 │ row number 9  │\n\
             │ 10 │ row number 10 │\n\
             └────┴───────────────┘\n"
        );
        assert_eq!(
            (summary.rows, summary.shown_rows, summary.hidden_columns),
            (3, 3, 0)
        );
    }

    #[test]
    fn long_results_keep_the_first_and_last_rows_across_batches() {
        let batches: Vec<_> = (0..10).map(|i| batch(i * 100..(i + 1) * 100)).collect();
        let options = TableOptions {
            max_rows: 4,
            ..TableOptions::default()
        };
        let (text, summary) = draw(&batches, options);
        assert_eq!((summary.rows, summary.shown_rows), (1000, 4));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[3].contains("row number 0 "), "{text}");
        assert!(lines[4].contains("row number 1 "), "{text}");
        assert!(lines[5].contains('…'), "{text}");
        assert!(lines[6].contains("row number 998"), "{text}");
        assert!(lines[7].contains("row number 999"), "{text}");
    }

    #[test]
    fn wide_tables_fit_the_width_by_cutting_cells_then_hiding_columns() {
        let options = TableOptions {
            width: Some(18),
            ..TableOptions::default()
        };
        let (text, summary) = draw(&[batch(0..3)], options);
        assert!(text.lines().all(|l| display_width(l) <= 18), "{text}");
        assert!(text.contains("│ row numbe… │"), "{text}");
        assert_eq!(summary.hidden_columns, 0);

        let options = TableOptions {
            width: Some(12),
            ..TableOptions::default()
        };
        let (text, summary) = draw(&[batch(0..3)], options);
        assert!(text.lines().all(|l| display_width(l) <= 12), "{text}");
        assert_eq!(summary.hidden_columns, 1);
    }

    #[test]
    fn expanded_auto_switches_to_records_when_columns_do_not_fit() {
        let options = TableOptions {
            width: Some(12),
            expanded: Expanded::Auto,
            max_rows: 40,
        };
        let (text, _) = draw(&[batch(0..2)], options);
        assert!(text.starts_with("─[ RECORD 1"), "{text}");
        assert!(text.contains("label │ row…"), "{text}");
        assert!(text.lines().all(|l| display_width(l) <= 12), "{text}");
    }
}
