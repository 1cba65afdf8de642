//! Events the runner emits while it works, so reporters can show progress as it happens.

use std::path::PathBuf;

use tokio::sync::mpsc::UnboundedSender;

use super::outcome::{ScenarioOutcome, StepOutcome};

/// Something that happened during a run. `index` is the scenario's position in the list given to the
/// runner (file order), so a reporter can restore that order.
#[derive(Clone, Debug)]
pub enum Event {
    ScenarioStarted {
        index: usize,
        id: String,
        file: PathBuf,
    },
    StepFinished {
        index: usize,
        scenario_id: String,
        step: StepOutcome,
    },
    ScenarioFinished {
        index: usize,
        outcome: ScenarioOutcome,
    },
    /// What the run needs is gone (the reference proxy's Postgres): scenarios not yet started do not
    /// start, and end as errored with this reason.
    RunHalted {
        reason: String,
    },
}

/// Where events go. The runner never prints; it only emits.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: Event);
}

/// Discards every event.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _event: Event) {}
}

impl EventSink for UnboundedSender<Event> {
    fn emit(&self, event: Event) {
        // A closed receiver means nobody is listening any more; the run itself goes on.
        let _ = self.send(event);
    }
}
