//! The `stages` table of an import: given (`--stages FILE`, the mapping's `[stages]`), kept
//! from the previous import when it still covers every stage, or inferred from the data:
//! a stage is won or lost when closed opportunities stand in it, open stages are ordered by
//! their win probability (Salesforce's `Probability`) and then by where they fall in each
//! opportunity's history.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use crate::error::{Error, Result};
use crate::import::mapping::StageOrder;
use crate::import::table::{Row, Value};

/// One row of `stages`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// The stage's name as the data spells it.
    pub name: String,
    /// 1 = top of the funnel; `None` for lost stages.
    pub position: Option<i32>,
    /// `open`, `won` or `lost`.
    pub kind: String,
}

impl Stage {
    /// As a row of the `stages` table.
    pub fn to_row(&self) -> Row {
        Row {
            values: vec![
                Value::Text(self.name.clone()),
                self.position.map_or(Value::Null, Value::Int),
                Value::Text(self.kind.clone()),
            ],
            updated: None,
            probability: None,
        }
    }

    /// From a row of the `stages` table.
    pub fn from_row(row: &Row) -> Option<Stage> {
        Some(Stage {
            name: row.values[0].as_text()?.to_string(),
            position: match row.values[1] {
                Value::Int(p) => Some(p),
                _ => None,
            },
            kind: row.values[2].as_text().unwrap_or("open").to_string(),
        })
    }
}

/// Stages from an explicit order.
pub fn from_order(order: &StageOrder) -> Vec<Stage> {
    let is = |list: &[String], name: &str| list.iter().any(|s| s == name);
    let mut stages = Vec::new();
    let mut position = 0;
    for name in &order.order {
        if is(&order.lost, name) {
            continue;
        }
        position += 1;
        let kind = if is(&order.won, name) { "won" } else { "open" };
        stages.push(Stage {
            name: name.clone(),
            position: Some(position),
            kind: kind.into(),
        });
    }
    for name in &order.lost {
        stages.push(Stage {
            name: name.clone(),
            position: None,
            kind: "lost".into(),
        });
    }
    stages
}

/// Stages from a CSV file with columns `stage, position, kind` (the `stages` table's own).
pub fn read_file(path: &Path) -> Result<Vec<Stage>> {
    let fail = |message: String| Error::Usage(format!("--stages {}: {message}", path.display()));
    let mut reader = csv::Reader::from_path(path).map_err(|e| fail(e.to_string()))?;
    let header = reader.headers().map_err(|e| fail(e.to_string()))?.clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| {
                h.trim()
                    .trim_start_matches('\u{feff}')
                    .eq_ignore_ascii_case(name)
            })
            .ok_or_else(|| {
                fail(format!(
                    "no `{name}` column (expected stage, position, kind)"
                ))
            })
    };
    let (stage, position, kind) = (column("stage")?, column("position")?, column("kind")?);
    let mut stages = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| fail(e.to_string()))?;
        let line = index + 2;
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let kind = field(kind).to_lowercase();
        if !matches!(kind.as_str(), "open" | "won" | "lost") {
            return Err(fail(format!("line {line}: kind must be open, won or lost")));
        }
        let position = match field(position) {
            "" => None,
            text => Some(text.parse::<i32>().map_err(|_| {
                fail(format!(
                    "line {line}: position '{text}' is not a whole number"
                ))
            })?),
        };
        stages.push(Stage {
            name: field(stage).to_string(),
            position,
            kind,
        });
    }
    Ok(stages)
}

/// Infers the stages of `opportunities` and `stage_history` rows (standard column order).
pub fn infer(opportunities: &[&Row], history: &[&Row]) -> Vec<Stage> {
    let mut outcome: BTreeMap<String, (u64, u64)> = BTreeMap::new(); // (won, lost) counts
    let mut probability: HashMap<String, (f64, u64)> = HashMap::new();
    let mut names = BTreeSet::new();
    for row in opportunities {
        let Some(stage) = row.values[6].as_text() else {
            continue;
        };
        names.insert(stage.to_string());
        let entry = outcome.entry(stage.to_string()).or_default();
        match row.values[5].as_text() {
            Some("won") => entry.0 += 1,
            Some("lost") => entry.1 += 1,
            _ => {}
        }
        note_probability(&mut probability, stage, row.probability);
    }
    // Sequence index of each stage within each opportunity's history, in time order.
    let mut by_opportunity: HashMap<&str, Vec<Entry>> = HashMap::new();
    for row in history {
        let (Some(id), Some(stage), Some(at)) = (
            row.values[0].as_text(),
            row.values[1].as_text(),
            row.values[2].as_time(),
        ) else {
            continue;
        };
        names.insert(stage.to_string());
        by_opportunity
            .entry(id)
            .or_default()
            .push((at, stage, row.probability));
    }
    let mut sequence: HashMap<String, (f64, u64)> = HashMap::new();
    for entries in by_opportunity.values_mut() {
        entries.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
        for (index, (_, stage, p)) in entries.iter().enumerate() {
            let entry = sequence.entry((*stage).to_string()).or_default();
            entry.0 += index as f64;
            entry.1 += 1;
            note_probability(&mut probability, stage, *p);
        }
    }
    let mean = |map: &HashMap<String, (f64, u64)>, name: &str| {
        map.get(name)
            .filter(|(_, n)| *n > 0)
            .map(|(sum, n)| sum / *n as f64)
    };
    let kind_of = |name: &str| match outcome.get(name) {
        Some((won, lost)) if *won > 0 && won >= lost => "won",
        Some((_, lost)) if *lost > 0 => "lost",
        _ => "open",
    };
    let mut open: Vec<&String> = names.iter().filter(|n| kind_of(n) == "open").collect();
    let all_have_probability = open.iter().all(|n| mean(&probability, n).is_some());
    open.sort_by(|a, b| {
        let by_probability = if all_have_probability {
            mean(&probability, a).partial_cmp(&mean(&probability, b))
        } else {
            None
        };
        let by_sequence = mean(&sequence, a)
            .unwrap_or(f64::MAX)
            .partial_cmp(&mean(&sequence, b).unwrap_or(f64::MAX));
        by_probability
            .filter(|o| o.is_ne())
            .or(by_sequence)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.cmp(b))
    });
    let mut stages = Vec::new();
    for name in open
        .into_iter()
        .chain(names.iter().filter(|n| kind_of(n) == "won"))
    {
        stages.push(Stage {
            name: name.clone(),
            position: Some(stages.len() as i32 + 1),
            kind: kind_of(name).into(),
        });
    }
    for name in names.iter().filter(|n| kind_of(n) == "lost") {
        stages.push(Stage {
            name: name.clone(),
            position: None,
            kind: "lost".into(),
        });
    }
    stages
}

/// A stage entry of one opportunity: when, which stage, its probability.
type Entry<'a> = (i64, &'a str, Option<f64>);

fn note_probability(map: &mut HashMap<String, (f64, u64)>, stage: &str, p: Option<f64>) {
    if let Some(p) = p {
        let entry = map.entry(stage.to_string()).or_default();
        entry.0 += p;
        entry.1 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opportunity(stage: &str, status: &str, probability: Option<f64>) -> Row {
        let mut values = vec![Value::Null; 10];
        values[5] = Value::Text(status.into());
        values[6] = Value::Text(stage.into());
        Row {
            values,
            updated: None,
            probability,
        }
    }

    fn entered(id: &str, stage: &str, at: i64) -> Row {
        Row {
            values: vec![
                Value::Text(id.into()),
                Value::Text(stage.into()),
                Value::Time(at),
                Value::Null,
            ],
            updated: None,
            probability: None,
        }
    }

    #[test]
    fn probability_orders_open_stages_and_closed_opportunities_give_kinds() {
        let opportunities = [
            opportunity("Negotiation", "open", Some(90.0)),
            opportunity("Prospecting", "open", Some(10.0)),
            opportunity("Closed Won", "won", Some(100.0)),
            opportunity("Closed Lost", "lost", Some(0.0)),
            opportunity("Proposal", "open", Some(75.0)),
        ];
        let refs: Vec<&Row> = opportunities.iter().collect();
        let stages = infer(&refs, &[]);
        let names: Vec<(&str, Option<i32>, &str)> = stages
            .iter()
            .map(|s| (s.name.as_str(), s.position, s.kind.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("Prospecting", Some(1), "open"),
                ("Proposal", Some(2), "open"),
                ("Negotiation", Some(3), "open"),
                ("Closed Won", Some(4), "won"),
                ("Closed Lost", None, "lost"),
            ]
        );
    }

    #[test]
    fn without_probability_history_order_decides() {
        let history = [
            entered("a", "Demo", 2),
            entered("a", "Intro", 1),
            entered("b", "Intro", 5),
            entered("b", "Demo", 6),
            entered("b", "Contract", 7),
        ];
        let refs: Vec<&Row> = history.iter().collect();
        let names: Vec<String> = infer(&[], &refs).into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["Intro", "Demo", "Contract"]);
    }
}
