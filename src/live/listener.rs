//! PostgreSQL only: one connection per instance that `LISTEN`s on the live
//! channel, so messages sequenced by another instance wake this hub. The
//! connection is polled without blocking (libpq reads what has arrived) every
//! few milliseconds on its own thread, and re-opened if it breaks. The thread
//! ends when the server stops or when nothing else holds the hub's signal.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use super::outbox::{CHANNEL, Signal, notified_topics};

const POLL: Duration = Duration::from_millis(5);

/// Starts the listener thread; it stops when `stop` is set. Notifications sent
/// by `instance` itself are skipped (its sequencer told its hub directly).
pub fn start(url: String, signal: &Arc<Signal>, stop: Arc<AtomicBool>, instance: String) {
    let signal = Arc::downgrade(signal);
    let spawned = std::thread::Builder::new()
        .name("mulin-live-listen".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) && signal.strong_count() > 0 {
                match PgConnection::establish(&url) {
                    Ok(mut conn) => {
                        if let Err(e) = conn.batch_execute(&format!("LISTEN {CHANNEL}")) {
                            tracing::warn!(error = %e, "LISTEN failed");
                        } else {
                            // What other instances sequenced while this one
                            // was not listening was never heard: every
                            // followed topic is read again from where its
                            // subscribers are.
                            if let Some(signal) = signal.upgrade() {
                                signal.mark_everything();
                            }
                            listen(&mut conn, &signal, &stop, &instance);
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "live listener cannot connect"),
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the live listener");
    }
}

fn listen(conn: &mut PgConnection, signal: &Weak<Signal>, stop: &AtomicBool, instance: &str) {
    while !stop.load(Ordering::Relaxed) {
        let Some(signal) = signal.upgrade() else {
            return;
        };
        let mut payloads = Vec::new();
        for notification in conn.notifications_iter() {
            match notification {
                Ok(n) => payloads.push(n.payload),
                Err(e) => {
                    tracing::warn!(error = %e, "live listener lost its connection");
                    return;
                }
            }
        }
        signal.mark(payloads.iter().flat_map(|p| notified_topics(p, instance)));
        std::thread::sleep(POLL);
    }
}
