//! The `qrlink` binary's library: command line, server and the glue between them. Thin front
//! ends over `qrlink-core`.

pub mod cli;
pub mod config;
pub mod instance;
pub mod link_cmd;
pub mod links_file_cmd;
pub mod qr_cmd;
pub mod server;
pub mod token_cmd;
pub mod transfer_cmd;
pub mod user_cmd;

use qrlink_core::clock::Clock;
use qrlink_core::store::Store;

use crate::cli::{Cli, Command};
use crate::instance::Instance;

/// Runs one command line to completion.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let instance = Instance::from_args(&cli.instance)?;
    let clock = Clock::system();
    match cli.command {
        Command::Qr(args) => qr_cmd::run(&args),
        Command::Backup { file } => {
            let store = instance::open_store(&cli.instance).await?;
            let outcome = store.backup(&file).await;
            store.close().await;
            let links = outcome?;
            println!(
                "backup written to {}: {links} links, integrity check passed",
                file.display()
            );
            Ok(())
        }
        Command::Restore { file, replace } => {
            if cli.instance.database_url.is_some() {
                anyhow::bail!(
                    "qrlink restore puts SQLite backups in place; restore PostgreSQL with pg_restore (see the README)"
                );
            }
            let links =
                qrlink_core::store::restore_sqlite(&file, &cli.instance.data_dir, replace).await?;
            println!(
                "restored {links} links into {}",
                cli.instance.data_dir.display()
            );
            Ok(())
        }
        Command::Serve(args) => {
            init_logging(&args.log_format);
            let settings = server::PublicSettings::from_args(&args, instance.clone())?;
            let store = Store::connect_lazy(instance::store_location(&cli.instance)?)?;
            // A schema newer than this binary is fatal; an unreachable database is not: the
            // server starts unready and keeps trying (R-FWD-10).
            match store.migrate().await {
                Err(error @ qrlink_core::Error::SchemaTooNew { .. }) => return Err(error.into()),
                Err(error) => {
                    tracing::warn!(%error, "database not reachable at start; will keep trying")
                }
                Ok(()) => server::announce_setup(&store, &instance, clock.now()).await?,
            }
            let intervals = server::Intervals {
                flush: std::time::Duration::from_millis(args.flush_interval_ms.max(10)),
                poll: std::time::Duration::from_millis(args.poll_interval_ms.max(10)),
                fold: server::Intervals::FOLD,
                idle: server::Intervals::IDLE,
            };
            let mut server =
                server::Server::bind(args.listen, store, clock, settings, intervals).await?;
            if let Some(addr) = args.metrics_listen {
                server = server.with_metrics_listener(addr).await?;
            }
            tracing::info!(
                addr = %server.local_addr(),
                metrics_addr = server.metrics_addr().map(tracing::field::display),
                base_url = %instance.base(),
                "qrlink listening"
            );
            server.run(server::shutdown_signal()).await
        }
        Command::Export { format, output } => {
            let store = instance::open_store(&cli.instance).await?;
            let outcome = transfer_cmd::export(&store, format, output.as_deref()).await;
            store.close().await;
            outcome
        }
        Command::Import { file } => {
            let store = instance::open_store(&cli.instance).await?;
            let outcome = transfer_cmd::import(&store, &instance, &file, &clock).await;
            store.close().await;
            outcome
        }
        Command::ExportStatic { format, out } => {
            let store = instance::open_store(&cli.instance).await?;
            let outcome = transfer_cmd::export_static(&store, format, &out, &clock).await;
            store.close().await;
            outcome
        }
        Command::Plan { file, json } => {
            let store = instance::open_store(&cli.instance).await?;
            let outcome = links_file_cmd::plan(&store, &instance, &file, json, &clock).await;
            store.close().await;
            outcome
        }
        Command::Apply {
            file,
            confirm_locked,
        } => {
            let store = instance::open_store(&cli.instance).await?;
            let outcome =
                links_file_cmd::apply(&store, &instance, &file, confirm_locked, &clock).await;
            store.close().await;
            outcome
        }
        Command::User(command) => {
            let store = instance::open_store(&cli.instance).await?;
            let outcome = user_cmd::run(command, &store, &instance, &clock).await;
            store.close().await;
            outcome
        }
        Command::Token(command) => {
            let store = instance::open_store(&cli.instance).await?;
            let outcome = token_cmd::run(command, &store, &clock).await;
            store.close().await;
            outcome
        }
        Command::Link(command) => {
            let store = instance::open_store(&cli.instance).await?;
            let outcome = link_cmd::run(command, &instance, &store, &clock).await;
            store.close().await;
            outcome
        }
    }
}

/// An exit status other than 1 that a command chose (`plan` exits 2 when changes are pending).
/// `main` exits with it and prints nothing more.
#[derive(Debug)]
pub struct ExitWith(pub u8);

impl std::fmt::Display for ExitWith {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit status {}", self.0)
    }
}

impl std::error::Error for ExitWith {}

/// Parses the process's arguments and runs them.
pub async fn main() -> anyhow::Result<()> {
    run(config::load(std::env::args_os().collect())?).await
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("QRLINK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // Colours only on a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
