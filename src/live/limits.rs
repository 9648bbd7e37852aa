//! What one caller may hold of the live service on this instance: connection
//! seats per signed-in user, and subscribes a minute per anonymous client
//! address (shared by the address's sockets, so reconnecting resets nothing).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Entries kept before windows that ended are swept out.
const MEMORY: usize = 10_000;

/// Both budgets; cloned into every socket with the hub's handle.
#[derive(Clone, Default)]
pub struct Budgets {
    per_user: Arc<Mutex<HashMap<String, usize>>>,
    /// Anonymous subscribes per client address: (minute started, count).
    subscribes: Arc<Mutex<HashMap<String, (Instant, u32)>>>,
}

/// One signed-in user's open connection, counted until dropped.
pub struct Seat {
    user: String,
    per_user: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for Seat {
    fn drop(&mut self) {
        if let Ok(mut counts) = self.per_user.lock()
            && let Some(n) = counts.get_mut(&self.user)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.user);
            }
        }
    }
}

impl Budgets {
    /// Counts one subscribe against `who`'s budget of `per_minute` (anonymous
    /// callers, by client address, across their sockets); false past it.
    pub fn take_subscribe(&self, who: &str, per_minute: u32) -> bool {
        let Ok(mut budgets) = self.subscribes.lock() else {
            return true;
        };
        let now = Instant::now();
        let minute = Duration::from_secs(60);
        if budgets.len() > MEMORY {
            budgets.retain(|_, (start, _)| now.duration_since(*start) < minute);
        }
        let (start, n) = budgets.entry(who.to_owned()).or_insert((now, 0));
        if now.duration_since(*start) >= minute {
            (*start, *n) = (now, 0);
        }
        *n += 1;
        *n <= per_minute
    }

    /// Takes one of the user's `max` connection seats, if one is free.
    pub fn take_seat(&self, user: &str, max: usize) -> Option<Seat> {
        let mut counts = self.per_user.lock().ok()?;
        let n = counts.entry(user.to_owned()).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Seat {
            user: user.to_owned(),
            per_user: self.per_user.clone(),
        })
    }
}
