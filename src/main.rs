//! The `polymall` command line. Everything it does lives in the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use polymall::cli;
use polymall::config::Config;
use polymall::intake::DocumentKind;

/// Connects a self-built shop to ERPs (Polyapi), Jushuitan and Qimen warehouses.
#[derive(Debug, Parser)]
#[command(name = "polymall", version, about)]
struct Args {
    /// Config file (default: $POLYMALL_CONFIG, else ./polymall.toml, else built-in defaults).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (applies pending migrations first).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Store products, orders or refunds from a file (a JSON array or JSON lines), all or nothing.
    Import {
        /// Code of the shop to import into.
        #[arg(long)]
        shop: String,
        /// What the file holds.
        kind: DocumentKind,
        /// The file; `-` reads standard input.
        file: PathBuf,
    },
    /// Shop commands.
    Shop {
        #[command(subcommand)]
        command: ShopCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ShopCommand {
    /// List the shops in the database.
    List,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match Config::load(args.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("polymall: {error}");
            return ExitCode::from(2);
        }
    };
    polymall::telemetry::init(config.server.log_format);
    let result = match args.command {
        Command::Serve => cli::serve(config),
        Command::Migrate => cli::migrate(&config),
        Command::Import { shop, kind, file } => cli::import(&config, &shop, kind, &file),
        Command::Shop {
            command: ShopCommand::List,
        } => cli::shop_list(&config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("polymall: {error:#}");
            ExitCode::FAILURE
        }
    }
}
