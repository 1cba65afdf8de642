//! Stopping on a signal. Ctrl-C (SIGINT) and SIGTERM, which `docker stop`, Kubernetes and a cancelled
//! CI job send, stop a command the same way: nothing new starts, what runs stops between requests,
//! what was created is torn down and Postgres is removed. Only the exit code tells them apart, as a
//! shell would (128 + the signal's number). A second signal of either kind exits at once.

use std::sync::{Arc, OnceLock};

use tokio::signal::unix::{SignalKind, signal};

use super::Exit;
use crate::runner::CancelToken;

/// The signal that stopped a command early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGINT, Ctrl-C.
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl StopSignal {
    pub fn exit(self) -> Exit {
        match self {
            StopSignal::Interrupt => Exit::Interrupted,
            StopSignal::Terminate => Exit::Terminated,
        }
    }

    fn name(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "interrupted",
            StopSignal::Terminate => "terminated",
        }
    }
}

/// Which signal, if any, has stopped the command.
#[derive(Clone, Debug, Default)]
pub(super) struct Signals {
    first: Arc<OnceLock<StopSignal>>,
}

impl Signals {
    /// Starts watching both signals: the first cancels `cancel`, a second exits the process.
    ///
    /// Must be called from within the runtime. When a signal cannot be watched, that signal keeps its
    /// default action (the process ends), which is the only safe answer.
    pub fn watch(cancel: CancelToken) -> Signals {
        let signals = Signals::default();
        for (kind, stop) in
            [(SignalKind::interrupt(), StopSignal::Interrupt), (SignalKind::terminate(), StopSignal::Terminate)]
        {
            let Ok(mut stream) = signal(kind) else { continue };
            let signals = signals.clone();
            let cancel = cancel.clone();
            tokio::spawn(async move {
                while stream.recv().await.is_some() {
                    signals.received(stop, &cancel);
                }
            });
        }
        signals
    }

    fn received(&self, stop: StopSignal, cancel: &CancelToken) {
        if let Some(first) = self.first.get() {
            eprintln!("{} again: exiting without cleaning up", stop.name());
            std::process::exit(i32::from(first.exit().code()));
        }
        let _ = self.first.set(stop);
        eprintln!("{}: stopping and cleaning up (once more to exit at once)", stop.name());
        cancel.cancel();
    }

    /// The signal that stopped the command, if one did.
    pub fn stopped_by(&self) -> Option<StopSignal> {
        self.first.get().copied()
    }
}
