//! Stopping a run early (Ctrl-C): scenarios that have not started are not started, running ones stop
//! between requests and still clean up.

use std::sync::Arc;

use tokio::sync::watch;

/// Why a scenario or step ended early when the run was cancelled.
pub(crate) const INTERRUPTED: &str = "the run was interrupted";

/// A cloneable signal: once cancelled, it stays cancelled. A child token is cancelled with its
/// parent, or on its own without touching the parent.
#[derive(Clone, Debug)]
pub struct CancelToken {
    sender: Arc<watch::Sender<bool>>,
    parent: Option<Arc<watch::Sender<bool>>>,
}

impl Default for CancelToken {
    fn default() -> Self {
        CancelToken { sender: Arc::new(watch::Sender::new(false)), parent: None }
    }
}

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// A token cancelled when this one is, which can also be cancelled alone (a scenario stops its
    /// background steps without cancelling the run). A child of a child follows only its direct
    /// parent's own signal, which is all the runner needs.
    pub(crate) fn child(&self) -> CancelToken {
        CancelToken { sender: Arc::new(watch::Sender::new(false)), parent: Some(Arc::clone(&self.sender)) }
    }

    pub fn cancel(&self) {
        self.sender.send_replace(true);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.sender.borrow() || self.parent.as_ref().is_some_and(|p| *p.borrow())
    }

    /// Completes once `cancel` has been called on this token or its parent (at once if it already was).
    pub async fn cancelled(&self) {
        let mut own = self.sender.subscribe();
        // The senders live in `self`, so `wait_for` cannot fail for a closed channel.
        match &self.parent {
            None => {
                let _ = own.wait_for(|cancelled| *cancelled).await;
            }
            Some(parent) => {
                let mut parent = parent.subscribe();
                tokio::select! {
                    _ = own.wait_for(|cancelled| *cancelled) => {}
                    _ = parent.wait_for(|cancelled| *cancelled) => {}
                }
            }
        }
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

    #[tokio::test]
    async fn a_child_follows_its_parent_and_stops_alone() {
        let parent = CancelToken::new();
        let alone = parent.child();
        alone.cancel();
        assert!(alone.is_cancelled() && !parent.is_cancelled(), "a child's cancel stays in the child");
        tokio::time::timeout(Duration::from_secs(1), alone.cancelled()).await.expect("the child is cancelled");

        let follower = parent.child();
        let waiter = tokio::spawn({
            let follower = follower.clone();
            async move { follower.cancelled().await }
        });
        assert!(!follower.is_cancelled());
        parent.cancel();
        tokio::time::timeout(Duration::from_secs(1), waiter).await.expect("the child wakes").expect("no panic");
        assert!(follower.is_cancelled());
    }
}
