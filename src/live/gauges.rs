//! The hub's counters as `/metrics` reads them, through `http::metrics::Gauges`.

use std::sync::atomic::Ordering::Relaxed;

use super::hub::Stats;
use crate::http::metrics::{Gauges, LiveGauges};

impl Gauges for Stats {
    fn live(&self) -> LiveGauges {
        LiveGauges {
            connections: self.connections.load(Relaxed),
            subscriptions: self.subscriptions.load(Relaxed),
            sent: self.sent.load(Relaxed),
            slow_closes: self.slow_closes.load(Relaxed),
        }
    }
}
