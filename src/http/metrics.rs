//! Prometheus metrics: requests by route pattern and status, and their latency,
//! plus the live updates' gauges read through [`Gauges`]. Served as text at
//! `GET /metrics`.

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

/// The live updates' counters at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct LiveGauges {
    pub connections: u64,
    pub subscriptions: u64,
    pub sent: u64,
    pub slow_closes: u64,
}

/// Where `/metrics` reads the live updates' counters: implemented by `live`,
/// registered as `web::Data<dyn Gauges>` in `app`.
pub trait Gauges: Send + Sync {
    fn live(&self) -> LiveGauges;
}

/// Shared metric handles; cloning shares the same counters.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    live_connections: Gauge,
    live_subscriptions: Gauge,
    live_sent: Gauge,
    live_slow_closes: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("mulin");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            latency.clone(),
        );
        let live_connections = Gauge::default();
        let live_subscriptions = Gauge::default();
        let live_sent = Gauge::default();
        let live_slow_closes = Gauge::default();
        registry.register(
            "live_connections",
            "Open WebSocket connections",
            live_connections.clone(),
        );
        registry.register(
            "live_subscriptions",
            "Topic subscriptions",
            live_subscriptions.clone(),
        );
        registry.register(
            "live_messages_sent",
            "Live messages queued to clients since start",
            live_sent.clone(),
        );
        registry.register(
            "live_slow_consumer_closes",
            "Connections closed as slow consumers since start",
            live_slow_closes.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            requests,
            latency,
            live_connections,
            live_subscriptions,
            live_sent,
            live_slow_closes,
        }
    }

    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// Middleware: counts and times every request by its route pattern (never the
/// raw path, which holds ids).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let method = req.method().to_string();
    let started = Instant::now();
    let res = next.call(req).await?;
    if let Some(metrics) = metrics {
        let route = super::route::pattern(res.request()).unwrap_or_else(|| "unmatched".to_owned());
        metrics
            .latency
            .get_or_create(&RouteLabels {
                method: method.clone(),
                route: route.clone(),
            })
            .observe(started.elapsed().as_secs_f64());
        metrics
            .requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status: res.status().as_u16(),
            })
            .inc();
    }
    Ok(res)
}

/// Counters and gauges for the operator's scraper (OpenMetrics text).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "OpenMetrics text", body = String,
        content_type = "application/openmetrics-text")))]
pub async fn serve(
    metrics: web::Data<Metrics>,
    gauges: Option<web::Data<dyn Gauges>>,
) -> HttpResponse {
    if let Some(gauges) = gauges {
        let live = gauges.live();
        let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        metrics.live_connections.set(as_i64(live.connections));
        metrics.live_subscriptions.set(as_i64(live.subscriptions));
        metrics.live_sent.set(as_i64(live.sent));
        metrics.live_slow_closes.set(as_i64(live.slow_closes));
    }
    match metrics.render() {
        Ok(text) => HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(text),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}
