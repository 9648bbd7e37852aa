//! Building and running the HTTP server: `Application::build(settings)` connects
//! the database, applies migrations, binds the listener (port 0 picks a free
//! port, which tests use) and wires every feature's routes and the shared
//! middleware.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::auth::tokens::{self, TokenKeys};
use crate::checkin::tickets::TicketKeys;
use crate::config::Settings;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::auth::sealed::Sealer;
use crate::db::{Backend, Db, migrations};
use crate::error::ApiError;
use crate::events::{Contracts, Seats};
use crate::http::client::CallerScope;
use crate::http::{etag, extract, idempotency, locale, metrics};
use crate::jobs::runner::Handlers;
use crate::live::outbox::SqlOutbox;
use crate::live::topics::Policies;
use crate::live::{self, hub::Command, hub::GOING_AWAY, hub::HubHandle};
use crate::privacy::Registry;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot reach the database: {0}")]
    Database(String),
    #[error("migrations failed: {0}")]
    Migrations(String),
    #[error("cannot build the webhook client: {0}")]
    Http(String),
    #[error("{0}")]
    Sealing(#[from] crate::auth::sealed::SealError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        source: std::io::Error,
    },
}

/// How long an idle HTTP connection is kept open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(75);

pub struct Application {
    port: u16,
    server: Server,
    db: Db,
    hub: HubHandle,
    stop_listener: Arc<AtomicBool>,
}

/// What `prepare` sets up: the database with its outbox attached, and the keys.
pub struct Prepared {
    pub db: Db,
    pub outbox: Arc<SqlOutbox>,
    pub keys: TokenKeys,
    pub tickets: TicketKeys,
    /// Seals key material stored in the database.
    pub sealer: Arc<Sealer>,
}

/// Connects, migrates, attaches the live outbox to every write, and loads the
/// access-token and ticket keys.
pub async fn prepare(settings: &Settings) -> Result<Prepared, StartError> {
    let for_setup = settings.clone();
    let db = tokio::task::spawn_blocking(move || {
        let db = Db::connect(&for_setup).map_err(|e| StartError::Database(e.to_string()))?;
        let mut conn = db.get().map_err(|e| StartError::Database(e.to_string()))?;
        let applied = migrations::run_pending(&mut conn)
            .map_err(|e| StartError::Migrations(e.to_string()))?;
        if !applied.is_empty() {
            tracing::info!(?applied, "migrations applied");
        }
        Ok::<_, StartError>(db)
    })
    .await
    .map_err(|e| StartError::Database(format!("start-up task: {e}")))??;
    if settings.test_clock {
        tracing::warn!(
            "MULIN_TEST_CLOCK is on: POST /api/v1/test/clock moves this process's clock; never use it in production"
        );
        db.run(|conn| Ok(crate::db::clock::enable_test_clock(conn)?))
            .await
            .map_err(|e| StartError::Database(e.to_string()))?;
    }
    let outbox = Arc::new(SqlOutbox::new(db.backend() == "postgres"));
    db.attach_outbox(outbox.clone());
    db.attach_followers(followers());
    let database = |e: ApiError| StartError::Database(e.to_string());
    let sealer = Arc::new(Sealer::from_settings(settings)?);
    let secret = match &settings.jwt_secret {
        Some(secret) => {
            // A secret generated before the setting was given is key material
            // nobody uses any more: it goes.
            if db
                .write(tokens::forget_shared_secret)
                .await
                .map_err(database)?
            {
                tracing::info!("MULIN_JWT_SECRET is set: the generated token secret was deleted");
            }
            secret.expose().to_owned()
        }
        None => {
            let sealer = sealer.clone();
            db.write(move |tx| tokens::shared_secret(tx, &sealer))
                .await
                .map_err(database)?
        }
    };
    let keys = TokenKeys::new(secret.as_bytes(), settings.access_token_ttl_secs);
    let for_keys = sealer.clone();
    db.write(move |tx| crate::checkin::tickets::ensure_key(tx, &for_keys))
        .await
        .map_err(database)?;
    let for_webhooks = sealer.clone();
    db.write(move |tx| crate::webhooks::seal_stored(tx, &for_webhooks))
        .await
        .map_err(database)?;
    let for_tickets = sealer.clone();
    let tickets = db
        .run(move |c| TicketKeys::load(c, for_tickets))
        .await
        .map_err(database)?;
    Ok(Prepared {
        db,
        outbox,
        keys,
        tickets,
        sealer,
    })
}

/// Who reacts, inside each write, to the messages it recorded.
fn followers() -> Vec<Arc<dyn crate::db::Follower>> {
    vec![
        Arc::new(crate::notifications::follow::Notices),
        Arc::new(crate::webhooks::follow::Deliveries),
    ]
}

/// Who does each kind of queued job.
fn job_handlers(settings: &Settings, sealer: &Arc<Sealer>) -> Result<Handlers, StartError> {
    use crate::notifications::{FEEDBACK_JOB, NOTIFY_JOB, deliver};
    use crate::webhooks::follow::{DELIVERY_JOB, FANOUT_JOB, Fanout};
    use crate::webhooks::send;
    let client = |e: reqwest::Error| StartError::Http(e.to_string());
    let mut handlers = Handlers::default()
        .with(
            NOTIFY_JOB,
            deliver::Deliver {
                push: settings.push_webhook_url.is_some(),
            },
        )
        .with(FEEDBACK_JOB, deliver::FeedbackRequests)
        .with(
            crate::registrations::retention::SWEEP_JOB,
            crate::registrations::retention::Sweep {
                days: settings.retention_days.into(),
                registry: personal_data(),
            },
        )
        .with(FANOUT_JOB, Fanout)
        .with(
            DELIVERY_JOB,
            send::Deliver(
                send::Sender::for_endpoints(settings).map_err(client)?,
                sealer.clone(),
            ),
        );
    if let (Some(url), Some(secret)) = (&settings.push_webhook_url, &settings.push_webhook_secret) {
        handlers = handlers.with(
            deliver::PUSH_JOB,
            send::Push {
                sender: send::Sender::for_gateway(settings).map_err(client)?,
                url: url.clone(),
                secret: secret.expose().to_owned(),
            },
        );
    }
    Ok(handlers)
}

/// Every feature's share of a person's data, for `GET /me/export` and
/// `DELETE /me`: erased in this order (upcoming registrations are cancelled
/// before the sessions end, the account row goes last).
pub fn personal_data() -> Registry {
    Registry::default()
        .with(crate::organizations::personal::MembershipData)
        .with(crate::registrations::personal::RegistrationData)
        .with(crate::registrations::personal::ConsentData)
        .with(crate::checkin::personal::CheckinData)
        .with(crate::feedback::personal::FeedbackData)
        .with(crate::volunteers::personal::VolunteerData)
        .with(crate::notifications::personal::NotificationData)
        .with(crate::centres::personal::CentreManagerData)
        .with(crate::projects::personal::BuyerRoleData)
        .with(crate::organizations::personal::RosterReadData)
        .with(crate::live::personal::LiveMessageData)
        .with(crate::accounts::personal::SessionData)
        .with(crate::accounts::personal::AccountData)
}

/// Who owns each kind of live topic (the socket imports no feature).
fn policies() -> Policies {
    Policies::default()
        .topic("event", crate::events::live::EventTopic)
        .topic("org", crate::organizations::live::OrgTopic)
        .topic("centre", crate::centres::live::CentreTopic)
        .topic("project", crate::projects::live::ProjectTopic)
        .displays(crate::displays::access::Gate)
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Application, StartError> {
        let Prepared {
            db,
            outbox,
            keys,
            tickets,
            sealer,
        } = prepare(&settings).await?;
        let listener =
            TcpListener::bind(&settings.listen).map_err(|source| StartError::Listen {
                address: settings.listen.clone(),
                source,
            })?;
        let address = listener.local_addr().map_err(|source| StartError::Listen {
            address: settings.listen.clone(),
            source,
        })?;
        let workers = settings.workers;
        // The hub and the sequencer read and number on connections of their
        // own: live delivery must not wait behind a queue of requests.
        let lane = |db: &Db| db.lane(1).map_err(|e| StartError::Database(e.to_string()));
        let hub = live::hub::start(lane(&db)?, outbox.hub.clone(), settings.live_queue_frames);
        // Jobs run up to 64 at once: a few connections of their own, so a
        // burst of reminders neither starves requests nor queues on one.
        let job_lane = db
            .lane(4)
            .map_err(|e| StartError::Database(e.to_string()))?;
        // The retention sweep is one recurring job for the whole deployment;
        // an instance starting beside another may lose the race to add it.
        if let Err(e) = db
            .write(crate::registrations::retention::ensure_scheduled)
            .await
        {
            tracing::warn!(error = %e, "could not schedule the retention sweep (another instance may have)");
        }
        crate::jobs::runner::start(job_lane, job_handlers(&settings, &sealer)?);
        let stop_listener = Arc::new(AtomicBool::new(false));
        if let Backend::Postgres(url) = Backend::from_url(&settings.database_url) {
            let instance = uuid::Uuid::new_v4().simple().to_string();
            live::sequencer::start(
                lane(&db)?,
                outbox.sequencer.clone(),
                outbox.rounds.clone(),
                outbox.hub.clone(),
                instance.clone(),
            );
            live::listener::start(url, &outbox.hub, stop_listener.clone(), instance);
        }
        let policies = web::Data::new(policies());
        let personal = web::Data::new(personal_data());
        let sealer = web::Data::from(sealer);
        let limiter = web::Data::new(crate::auth::ratelimit::Limiter::default());
        let seats: web::Data<dyn Seats> =
            web::Data::from(Arc::new(crate::registrations::seats::Keeper) as Arc<dyn Seats>);
        let contracts: web::Data<dyn Contracts> =
            web::Data::from(Arc::new(crate::projects::contracts::Keeper) as Arc<dyn Contracts>);
        let hub_data = web::Data::new(hub.clone());
        let gauges: web::Data<dyn metrics::Gauges> =
            web::Data::from(hub.stats.clone() as Arc<dyn metrics::Gauges>);
        let db_data = web::Data::new(db.clone());
        let keys = web::Data::new(keys);
        let caller_scope: web::Data<dyn CallerScope> =
            web::Data::from(keys.clone().into_inner() as Arc<dyn CallerScope>);
        let tickets = web::Data::new(tickets);
        let settings = web::Data::new(settings);
        let profile = web::Data::new(
            crate::accounts::Profile::new()
                .with(crate::organizations::profile::Memberships)
                .with(crate::volunteers::profile::VolunteerProfile)
                .with(crate::projects::profile::ProjectRoles),
        );
        let metrics = web::Data::new(metrics::Metrics::new());
        // One for all workers: a page made by one is served by the other.
        let pages = web::Data::new(crate::events::page_cache::PageCache::default());
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(db_data.clone())
                .app_data(keys.clone())
                .app_data(caller_scope.clone())
                .app_data(tickets.clone())
                .app_data(settings.clone())
                .app_data(profile.clone())
                .app_data(metrics.clone())
                .app_data(pages.clone())
                .app_data(hub_data.clone())
                .app_data(policies.clone())
                .app_data(personal.clone())
                .app_data(sealer.clone())
                .app_data(limiter.clone())
                .app_data(seats.clone())
                .app_data(contracts.clone())
                .app_data(gauges.clone())
                .app_data(extract::json_config())
                .app_data(extract::query_config())
                .app_data(extract::path_config())
                .app_data(extract::payload_config())
                .app_data(extract::AllowedMethods(crate::openapi::allowed_methods))
                .wrap(from_fn(extract::problems_everywhere))
                .wrap(from_fn(etag::etag))
                .wrap(from_fn(idempotency::idempotency))
                .wrap(from_fn(extract::reject_oversized))
                .wrap(from_fn(crate::auth::extractors::authenticate_request))
                .wrap(from_fn(crate::displays::display_scope))
                .wrap(Compress::default())
                .wrap(from_fn(metrics::record))
                .wrap(from_fn(locale::negotiate))
                .wrap(TracingLogger::<crate::http::route::Spans>::new())
                .configure(routes)
                .default_service(web::to(crate::openapi::no_route))
        })
        .shutdown_timeout(10)
        // Phones on a bad connection keep their connection (and its TLS
        // session, behind the proxy) between taps; 75 s like nginx. Clients
        // must drop idle connections sooner than this, or a request sent as
        // the server closes one is lost (hyper's `IncompleteMessage`).
        .keep_alive(KEEP_ALIVE)
        .disable_signals();
        if let Some(workers) = workers {
            server = server.workers(workers.max(1));
        }
        let server = server
            .listen(listener)
            .map_err(|source| StartError::Listen {
                address: address.to_string(),
                source,
            })?
            .run();
        tracing::info!(%address, backend = db.backend(), "listening");
        Ok(Application {
            port: address.port(),
            server,
            db,
            hub,
            stop_listener,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Serves until stopped, pruning expired idempotency keys, refresh tokens
    /// and rate-limit windows in the background.
    /// On SIGINT or SIGTERM, WebSockets are closed with 1001 (so clients
    /// reconnect elsewhere) before the server stops.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let pruner = tokio::spawn(prune_forever(self.db.clone()));
        let clock = tokio::spawn(crate::displays::clock::run(self.db.clone()));
        // On a connection of its own: the watcher never waits behind requests.
        let projects = match self.db.lane(1) {
            Ok(lane) => tokio::spawn(crate::projects::live::run(lane)),
            Err(e) => {
                tracing::warn!(error = %e, "project watcher not started");
                tokio::spawn(async {})
            }
        };
        let handle = self.server.handle();
        let hub = self.hub.clone();
        let signals = tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: closing live connections");
            let _ = hub
                .commands
                .send(Command::CloseAll { code: GOING_AWAY })
                .await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            handle.stop(true).await;
        });
        let result = self.server.await;
        pruner.abort();
        clock.abort();
        projects.abort();
        signals.abort();
        self.stop_listener.store(true, Ordering::Relaxed);
        result
    }
}

/// Every route, under `/api/v1` except the probes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(crate::displays::page::configure)
        .route("/healthz", web::get().to(crate::health::healthz))
        .route("/readyz", web::get().to(crate::health::readyz))
        .route("/metrics", web::get().to(metrics::serve))
        .service(
            // Each request's route is found by trying the patterns in this
            // order (a regular expression each, for most): the routes a
            // crowd calls — browse, sign up, check in — come first. No two
            // routes share a path, so the order changes nothing else.
            web::scope("/api/v1")
                .configure(crate::events::routes::configure)
                .configure(crate::registrations::routes::configure)
                .configure(crate::checkin::routes::configure)
                .configure(crate::checkin::qr::configure)
                .configure(crate::checkin::door::configure)
                .configure(crate::checkin::sync::configure)
                .configure(crate::accounts::auth_routes::configure)
                .configure(crate::accounts::routes::configure)
                .configure(crate::accounts::personal::configure)
                .configure(crate::registrations::consent::configure)
                .configure(crate::organizations::access_log::configure)
                .configure(crate::checkin::audit::configure)
                .configure(crate::organizations::routes::configure)
                .configure(crate::centres::routes::configure)
                .configure(crate::volunteers::routes::configure)
                .configure(crate::notifications::routes::configure)
                .configure(crate::webhooks::routes::configure)
                .configure(crate::projects::routes::configure)
                .configure(crate::feedback::routes::configure)
                .configure(crate::catalogue::routes::configure)
                .configure(crate::live::socket::configure)
                .configure(crate::displays::routes::configure)
                .configure(crate::displays::board::configure)
                .configure(crate::displays::announcements::configure)
                .route("/openapi.json", web::get().to(crate::openapi::serve))
                .route("/test/clock", web::post().to(crate::health::advance_clock)),
        );
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn prune_forever(db: Db) {
    let mut every = tokio::time::interval(Duration::from_secs(600));
    loop {
        every.tick().await;
        let result = db
            .write(|c| {
                let keys = idempotency::prune(c)?;
                let tokens = crate::auth::sessions::prune(c)?;
                let windows = crate::auth::ratelimit::prune(c)?;
                let messages = crate::live::outbox::prune(c)? + crate::displays::clock::prune(c)?;
                Ok((keys, tokens, windows + messages))
            })
            .await;
        match result {
            Ok((keys, tokens, windows)) => tracing::debug!(keys, tokens, windows, "pruned"),
            Err(e) => tracing::warn!(error = %e, "pruning failed"),
        }
    }
}
