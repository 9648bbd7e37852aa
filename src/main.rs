//! The `mulin` command: `serve [--demo]`, `migrate`, `openapi`, `admin grant`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mulin::accounts::{Phone, queries as users};
use mulin::app::{self, Application};
use mulin::config::{LogFormat, Settings};
use mulin::db::{Db, migrations};
use tracing_subscriber::EnvFilter;

/// Mulin (睦邻): resident engagement backend for neighbourhood centres.
#[derive(Parser)]
#[command(version, about, after_help = SETTINGS_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const SETTINGS_HELP: &str = "\
Settings: built-in defaults, then mulin.toml in the working directory (or the
file named by MULIN_CONFIG), then MULIN_* environment variables; a key of
mulin.toml is the variable's name without MULIN_, in lower case. The main ones:
  MULIN_LISTEN          address to serve on (default 127.0.0.1:8080)
  MULIN_DATABASE_URL    a file path for SQLite (default mulin.db) or postgres://...
  MULIN_SECRET_KEY      seals key material at rest (required on PostgreSQL;
                        on SQLite a <database>.key file is made when unset)
  MULIN_JWT_SECRET      token signing key (generated and kept sealed when unset)
  MULIN_BEHIND_PROXY, MULIN_TRUSTED_PROXIES   client addresses behind a proxy
  MULIN_LOG_FORMAT      pretty or json; the level comes from RUST_LOG (info)
README.md lists every setting.";

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations and serve the API (on MULIN_LISTEN, default
    /// 127.0.0.1:8080).
    Serve {
        /// Fill an empty database with sample centres, organizations and logins.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Ticket signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Platform administration.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Start signing tickets with a new key. Tickets signed with the old one
    /// stay valid until they expire; every instance verifies the new key at
    /// once and signs with it from its next key refresh, with no restart.
    Rotate,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Make the account with this phone number a platform admin (the account
    /// must exist: register it first).
    Grant {
        /// The account's mobile number, e.g. 13812345678.
        phone: String,
    },
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only on a terminal: a log file or journal gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        return match mulin::openapi::to_json() {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(settings.log_format);
    match run(cli.command, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    match command {
        Command::Serve { demo } => {
            if demo {
                let db = app::prepare(&settings).await?.db;
                seed_demo(db).await?;
            }
            Application::build(settings)
                .await?
                .run_until_stopped()
                .await?;
        }
        Command::Migrate => {
            tokio::task::spawn_blocking(
                move || -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
                    let db = Db::connect(&settings)?;
                    let applied = migrations::run_pending(&mut *db.get()?)?;
                    println!("{} migration(s) applied", applied.len());
                    Ok(())
                },
            )
            .await?
            .map_err(|e| e.to_string())?;
        }
        Command::Admin {
            command: AdminCommand::Grant { phone },
        } => {
            let phone = Phone::parse(&phone)
                .map_err(|_| format!("{phone} is not a mainland mobile number"))?;
            let db = app::prepare(&settings).await?.db;
            let shown = phone.to_string();
            let granted = db.write(move |tx| users::grant_admin(tx, &phone)).await?;
            if !granted {
                return Err(format!("no account uses {shown}; register it first").into());
            }
            println!("{shown} is now a platform admin");
        }
        Command::Keys {
            command: KeysCommand::Rotate,
        } => {
            let prepared = app::prepare(&settings).await?;
            let sealer = prepared.sealer.clone();
            let kid = prepared
                .db
                .write(move |tx| mulin::checkin::tickets::rotate(tx, &sealer))
                .await?;
            println!("tickets are now signed with key {kid}");
        }
        Command::Openapi => {}
    }
    Ok(())
}

async fn seed_demo(db: Db) -> Result<(), Box<dyn std::error::Error>> {
    match db.write(mulin::demo::seed).await? {
        None => println!("demo: the database already has accounts; nothing added"),
        Some(logins) => {
            println!(
                "demo data added. Every demo login uses the password {}",
                mulin::demo::PASSWORD
            );
            for login in logins {
                println!("  {:<16} {}", login.phone, login.who);
            }
        }
    }
    Ok(())
}
