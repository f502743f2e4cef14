//! The progress line: for a statement running longer than a second, stderr shows the elapsed
//! time and the rows and bytes the plan's scans have read so far (from its live metrics).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use datafusion::physical_plan::ExecutionPlan;
use tokio::task::JoinHandle;

/// The plan being run, once planned.
pub type PlanSlot = Arc<Mutex<Option<Arc<dyn ExecutionPlan>>>>;

/// A running progress line; dropping it without `finish` leaves a line behind.
pub struct Progress {
    task: JoinHandle<()>,
    line: Arc<Mutex<LineState>>,
}

/// Whether the line is on screen, and whether it may still be drawn.
#[derive(Debug, Default)]
struct LineState {
    drawn: bool,
    stopped: bool,
}

/// Stops a progress line from another thread (the output, when it starts writing).
#[derive(Debug, Clone)]
pub struct ProgressStop(Arc<Mutex<LineState>>);

impl ProgressStop {
    /// Erases the line and keeps it from coming back.
    pub fn stop(&self) {
        if let Ok(mut line) = self.0.lock() {
            if line.drawn {
                eprint!("\r\x1b[2K");
                line.drawn = false;
            }
            line.stopped = true;
        }
    }
}

impl Progress {
    /// Starts showing progress for the plan that will appear in `plan`.
    pub fn start(plan: PlanSlot, started: Instant) -> Self {
        let line_state = Arc::new(Mutex::new(LineState::default()));
        let shown = Arc::clone(&line_state);
        let task = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
            let mut tick = 0;
            loop {
                let (rows, bytes) = plan
                    .lock()
                    .ok()
                    .and_then(|p| p.as_ref().map(|p| scanned(p.as_ref())))
                    .unwrap_or((0, 0));
                let line = format!(
                    "{} {:.1} s · {} rows · {} read · Ctrl-C cancels",
                    spinner[tick % spinner.len()],
                    started.elapsed().as_secs_f64(),
                    human(rows as f64, ""),
                    human(bytes as f64, "B"),
                );
                if let Ok(mut state) = shown.lock() {
                    if state.stopped {
                        return;
                    }
                    eprint!("\r\x1b[2K{line}");
                    state.drawn = true;
                }
                tick += 1;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
        Self {
            task,
            line: line_state,
        }
    }

    /// A handle that stops the line from elsewhere.
    pub fn stopper(&self) -> ProgressStop {
        ProgressStop(Arc::clone(&self.line))
    }

    /// Stops and erases the line.
    pub fn finish(self) {
        self.stopper().stop();
        self.task.abort();
    }
}

/// Rows and bytes read so far by the plan's leaves (its scans).
fn scanned(plan: &dyn ExecutionPlan) -> (usize, usize) {
    let children = plan.children();
    if children.is_empty() {
        let metrics = plan.metrics();
        let rows = metrics.as_ref().and_then(|m| m.output_rows()).unwrap_or(0);
        let bytes = metrics
            .as_ref()
            .and_then(|m| m.sum_by_name("bytes_scanned"))
            .map_or(0, |v| v.as_usize());
        return (rows, bytes);
    }
    children
        .iter()
        .map(|c| scanned(c.as_ref()))
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

/// 1234567 → "1.2M".
fn human(value: f64, unit: &str) -> String {
    let (scaled, suffix) = if value >= 1e9 {
        (value / 1e9, "G")
    } else if value >= 1e6 {
        (value / 1e6, "M")
    } else if value >= 1e3 {
        (value / 1e3, "k")
    } else {
        return format!("{value:.0}{}", if unit.is_empty() { "" } else { " B" });
    };
    format!("{scaled:.1}{suffix}{unit}")
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn numbers_are_short() {
        assert_eq!(human(1_234_567.0, ""), "1.2M");
        assert_eq!(human(999.0, "B"), "999 B");
        assert_eq!(human(2_500.0, "B"), "2.5kB");
    }
}
