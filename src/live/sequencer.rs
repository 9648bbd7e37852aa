//! PostgreSQL only: the task that numbers committed messages (see
//! [`super::outbox`]). It runs when a local write committed messages, when the
//! listener hears of work, and once a second regardless (so messages left
//! unnumbered by an instance that died between its commit and its sequencing
//! are numbered by whichever instance is alive). One round at a time across all
//! instances, under an advisory lock; the hubs learn of the topics through
//! `NOTIFY` (other instances) and directly (this one).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::outbox::{self, Rounds, Signal};
use crate::db::Db;

const EVERY: Duration = Duration::from_secs(1);

/// Starts the sequencer; it ends with the runtime.
pub fn start(db: Db, wake: Arc<Notify>, rounds: Arc<Rounds>, hub: Arc<Signal>, instance: String) {
    rounds.running();
    tokio::spawn(async move {
        loop {
            let _ = tokio::time::timeout(EVERY, wake.notified()).await;
            // One round drains everything committed when it began, batch by
            // batch; writes waiting for their messages wait for a whole round.
            rounds.begin();
            loop {
                let id = instance.clone();
                match db.write(move |tx| outbox::sequence(tx.conn(), &id)).await {
                    Ok((topics, full)) => {
                        hub.mark(topics.iter().map(String::as_str));
                        if !full {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "live sequencer failed");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        break;
                    }
                }
            }
            rounds.end();
        }
    });
}
