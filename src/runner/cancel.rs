//! Stopping a run early (Ctrl-C): scenarios that have not started are not started, running ones stop
//! between requests and still clean up.

use std::sync::Arc;

use tokio::sync::watch;

/// Why a scenario or step ended early when the run was cancelled.
pub(crate) const INTERRUPTED: &str = "the run was interrupted";

/// A cloneable signal: once cancelled, it stays cancelled.
#[derive(Clone, Debug)]
pub struct CancelToken {
    sender: Arc<watch::Sender<bool>>,
}

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken { sender: Arc::new(watch::Sender::new(false)) }
    }
}

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    pub fn cancel(&self) {
        self.sender.send_replace(true);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.sender.borrow()
    }

    /// Completes once `cancel` has been called (at once if it already was).
    pub async fn cancelled(&self) {
        let mut receiver = self.sender.subscribe();
        // The sender lives in `self`, so `wait_for` cannot fail for a closed channel.
        let _ = receiver.wait_for(|cancelled| *cancelled).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn cancelled_completes_for_waiters_before_and_after_cancel() {
        let token = CancelToken::new();
        let waiter = tokio::spawn({
            let token = token.clone();
            async move { token.cancelled().await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!token.is_cancelled());
        token.cancel();
        tokio::time::timeout(Duration::from_secs(1), waiter).await.expect("waiter wakes").expect("no panic");
        tokio::time::timeout(Duration::from_secs(1), token.cancelled()).await.expect("already cancelled");
        assert!(token.is_cancelled());
    }
}
