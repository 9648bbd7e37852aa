//! Settings: built-in defaults, then an optional `mulin.toml` (or the file named by
//! `MULIN_CONFIG`), then `MULIN_*` environment variables. Passed explicitly; no
//! globals. Secrets are never printed by `Debug`.

use std::fmt;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Every setting of the service. README.md documents each one.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `MULIN_LISTEN`: the address to bind (`127.0.0.1:8080`; port 0 picks one).
    pub listen: String,
    /// `MULIN_DATABASE_URL`: a SQLite path (`mulin.db`, `sqlite://path`) or a
    /// `postgres://` URL.
    pub database_url: String,
    /// `MULIN_JWT_SECRET`: HMAC key for access tokens, at least 32 bytes. When
    /// absent one is generated and kept in the database, shared by all instances.
    pub jwt_secret: Option<Secret>,
    /// `MULIN_ACCESS_TOKEN_TTL_SECS`: access token lifetime (900 = 15 minutes).
    pub access_token_ttl_secs: u64,
    /// `MULIN_REFRESH_TOKEN_TTL_SECS`: refresh token lifetime (30 days).
    pub refresh_token_ttl_secs: u64,
    /// `MULIN_AUTH_RATE_LIMIT`: auth requests a minute per client address; 0 = off.
    pub auth_rate_limit: u32,
    /// `MULIN_BEHIND_PROXY`: take the client address from `X-Forwarded-For` /
    /// `Forwarded` (only behind a proxy you run; otherwise clients can spoof it).
    pub behind_proxy: bool,
    /// `MULIN_POOL_SIZE`: database connections per instance (default 8 on SQLite,
    /// 16 on PostgreSQL).
    pub pool_size: Option<u32>,
    /// `MULIN_POOL_TIMEOUT_SECS`: how long a request waits for a connection
    /// before it gets `503`.
    pub pool_timeout_secs: u64,
    /// `MULIN_SQLITE_SYNCHRONOUS`: `full` (default) or `normal`.
    pub sqlite_synchronous: Synchronous,
    /// `MULIN_SQLITE_BUSY_TIMEOUT_MS`: how long a SQLite writer waits for the lock.
    pub sqlite_busy_timeout_ms: u64,
    /// `MULIN_WORKERS`: HTTP worker threads (default: one per core).
    pub workers: Option<usize>,
    /// `MULIN_IDEMPOTENCY_WAIT_MS`: how long a request waits for a concurrent
    /// request with the same `Idempotency-Key` before answering `409`.
    pub idempotency_wait_ms: u64,
    /// `MULIN_LOG_FORMAT`: `pretty` (default) or `json`.
    pub log_format: LogFormat,
    /// `MULIN_LIVE_MAX_CONNECTIONS_PER_USER`: open WebSockets one signed-in
    /// user may hold on one instance.
    pub live_max_connections_per_user: usize,
    /// `MULIN_LIVE_QUEUE_FRAMES`: frames one WebSocket may have waiting before
    /// it is closed as a slow consumer (4008); at least 16.
    pub live_queue_frames: usize,
    /// `MULIN_TEST_CLOCK`: `true` lets `POST /api/v1/test/clock` move the
    /// service's clock forward, for tests only; never in production.
    pub test_clock: bool,
    /// `MULIN_PUSH_WEBHOOK_URL`: the app's push gateway; each notification is
    /// also delivered there as a signed webhook (optional).
    pub push_webhook_url: Option<String>,
    /// `MULIN_PUSH_WEBHOOK_SECRET`: its signing secret (`whsec_` + base64).
    pub push_webhook_secret: Option<Secret>,
    /// `MULIN_WEBHOOK_ALLOW_PRIVATE`: `true` lets webhooks target private,
    /// loopback and link-local addresses (tests, closed networks); off by default.
    pub webhook_allow_private: bool,
    /// `MULIN_WEBHOOK_TIMEOUT_SECS`: how long a webhook receiver may take (15).
    pub webhook_timeout_secs: u64,
    /// `MULIN_SECRET_KEY`: the key stored key material is sealed under (at
    /// least 32 bytes). Required on PostgreSQL; on SQLite a key file beside
    /// the database is made when unset.
    pub secret_key: Option<Secret>,
    /// `MULIN_TRUSTED_PROXIES`: comma-separated CIDR ranges of the proxies in
    /// front of the service (with `MULIN_BEHIND_PROXY`).
    pub trusted_proxies: Option<String>,
    /// `MULIN_RETENTION_DAYS`: days after an activity ends before its
    /// walk-ins' names and phones, and the rosters of sensitive activities,
    /// are erased (180; at least 1).
    pub retention_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            database_url: "mulin.db".into(),
            jwt_secret: None,
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            auth_rate_limit: 60,
            behind_proxy: false,
            pool_size: None,
            pool_timeout_secs: 5,
            sqlite_synchronous: Synchronous::Full,
            sqlite_busy_timeout_ms: 10_000,
            workers: None,
            idempotency_wait_ms: 5_000,
            log_format: LogFormat::Pretty,
            live_max_connections_per_user: 10,
            live_queue_frames: 2_000,
            test_clock: false,
            push_webhook_url: None,
            push_webhook_secret: None,
            webhook_allow_private: false,
            webhook_timeout_secs: 15,
            retention_days: 180,
            trusted_proxies: None,
            secret_key: None,
        }
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    Full,
    Normal,
}

impl Synchronous {
    pub fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// A secret string: usable, never shown.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("MULIN_SECRET_KEY must be at least 32 bytes (it has {0})")]
    ShortSecretKey(usize),
    #[error(
        "MULIN_SECRET_KEY is required on PostgreSQL: key material is stored sealed under it, never in the database"
    )]
    NoSecretKey,
    #[error("MULIN_TRUSTED_PROXIES: {0:?} is not an address or a CIDR range")]
    BadProxyRange(String),
    #[error("MULIN_LIVE_QUEUE_FRAMES must be at least 16")]
    ShortLiveQueue,
    #[error("MULIN_RETENTION_DAYS must be at least 1")]
    NoRetention,
    #[error("MULIN_JWT_SECRET must be at least 32 bytes (it has {0})")]
    ShortSecret(usize),
}

impl Settings {
    /// Defaults → `mulin.toml` (or `$MULIN_CONFIG`) → `MULIN_*` variables.
    pub fn load() -> Result<Settings, ConfigError> {
        let file = std::env::var_os("MULIN_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("mulin.toml"));
        let settings: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("MULIN_").filter(|key| is_setting(key.as_str())))
            .extract()
            .map_err(Box::new)?;
        settings.validate()
    }

    /// Refuses settings the service must not start with.
    pub fn validate(self) -> Result<Settings, ConfigError> {
        if let Some(secret) = &self.jwt_secret {
            if secret.expose().len() < 32 {
                return Err(ConfigError::ShortSecret(secret.expose().len()));
            }
        }
        match &self.secret_key {
            Some(key) if key.expose().len() < 32 => {
                return Err(ConfigError::ShortSecretKey(key.expose().len()));
            }
            None if is_postgres(&self.database_url) => return Err(ConfigError::NoSecretKey),
            _ => {}
        }
        if self.live_queue_frames < 16 {
            return Err(ConfigError::ShortLiveQueue);
        }
        if self.retention_days == 0 {
            return Err(ConfigError::NoRetention);
        }
        for range in self.trusted_proxy_list() {
            if range.parse::<ipnet::IpNet>().is_err() && range.parse::<std::net::IpAddr>().is_err()
            {
                return Err(ConfigError::BadProxyRange(range.to_owned()));
            }
        }
        Ok(self)
    }

    fn trusted_proxy_list(&self) -> impl Iterator<Item = &str> {
        self.trusted_proxies
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
    }

    /// `MULIN_TRUSTED_PROXIES` as ranges (a bare address is a range of one).
    pub fn trusted_proxy_ranges(&self) -> Vec<ipnet::IpNet> {
        self.trusted_proxy_list()
            .filter_map(|r| {
                r.parse::<ipnet::IpNet>()
                    .ok()
                    .or_else(|| r.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
            })
            .collect()
    }

    /// The size of the database pool for the chosen database.
    pub fn pool_size(&self) -> u32 {
        self.pool_size
            .unwrap_or(if is_postgres(&self.database_url) {
                16
            } else {
                8
            })
    }
}

/// Whether the database URL names PostgreSQL (the same prefixes `db` reads);
/// anything else is a SQLite path.
fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `MULIN_*` variables that are not settings: the config file's path, and
/// those read by tests, benchmarks and CI.
fn is_setting(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key == "test_clock"
        || !(key == "config"
            || key == "commit"
            || ["test_", "bench_", "ci_"]
                .iter()
                .any(|p| key.starts_with(p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_jwt_secret_is_refused() {
        let settings = Settings {
            jwt_secret: Some(Secret::new("too short")),
            ..Settings::default()
        };
        assert!(matches!(
            settings.validate(),
            Err(ConfigError::ShortSecret(9))
        ));
    }

    #[test]
    fn postgresql_needs_a_secret_key_and_proxy_ranges_must_parse() {
        let postgres = Settings {
            database_url: "postgres://u@h/db".into(),
            ..Settings::default()
        };
        assert!(matches!(
            postgres.clone().validate(),
            Err(ConfigError::NoSecretKey)
        ));
        let keyed = Settings {
            secret_key: Some(Secret::new("k".repeat(32))),
            ..postgres
        };
        assert!(keyed.clone().validate().is_ok());
        let short = Settings {
            secret_key: Some(Secret::new("short")),
            ..keyed.clone()
        };
        assert!(matches!(
            short.validate(),
            Err(ConfigError::ShortSecretKey(5))
        ));
        let proxies = Settings {
            trusted_proxies: Some("10.0.0.0/8, 192.168.1.5".into()),
            ..keyed.clone()
        };
        assert_eq!(
            proxies
                .clone()
                .validate()
                .unwrap()
                .trusted_proxy_ranges()
                .len(),
            2
        );
        let bad = Settings {
            trusted_proxies: Some("10.0.0.0/8,not-a-range".into()),
            ..keyed
        };
        assert!(matches!(bad.validate(), Err(ConfigError::BadProxyRange(_))));
        assert!(
            Settings::default().validate().is_ok(),
            "SQLite keeps a key file instead"
        );
    }

    #[test]
    fn test_and_benchmark_variables_are_not_settings() {
        assert!(is_setting("database_url"));
        assert!(!is_setting("test_database_url"));
        assert!(is_setting("test_clock"));
        assert!(!is_setting("bench_scale"));
        assert!(!is_setting("config"));
    }

    #[test]
    fn the_default_pool_is_larger_for_postgres() {
        let with = |url: &str| Settings {
            database_url: url.into(),
            ..Settings::default()
        };
        assert_eq!(with("postgres://u@h/db").pool_size(), 16);
        assert_eq!(with("postgresql://u@h/db").pool_size(), 16);
        assert_eq!(with("sqlite://mulin.db").pool_size(), 8);
        assert_eq!(with("mulin.db").pool_size(), 8);
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let settings = Settings {
            jwt_secret: Some(Secret::new("x".repeat(40))),
            ..Settings::default()
        };
        assert!(!format!("{settings:?}").contains("xxxx"));
    }
}
