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
    /// Store products, orders or refunds from a file (a JSON array or JSON lines): every
    /// document is checked first, then batches of 1,000 are stored, each in one transaction.
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
    /// Run one integration job once, now.
    Sync {
        #[command(subcommand)]
        target: SyncTarget,
    },
    /// Inspect and re-arm the outbox of outbound changes.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Check the configuration and that the database answers, without starting.
    Check,
    /// Copy the SQLite database to a new FILE, consistently, while it is in use.
    Backup {
        /// The copy to write (must not exist).
        file: PathBuf,
    },
    /// Console operator accounts.
    Operator {
        #[command(subcommand)]
        command: OperatorCommand,
    },
}

#[derive(Debug, Subcommand)]
enum OperatorCommand {
    /// Create an operator; the password is asked for (or read from standard input).
    Add {
        /// The name they sign in with.
        name: String,
        /// What they may do.
        #[arg(long, value_parser = ["viewer", "operator", "admin"])]
        role: String,
    },
    /// Replace an operator's password (asked for, or read from standard input).
    Password {
        /// The operator.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum SyncTarget {
    /// Warehouse (Qimen) jobs.
    Wms {
        /// The job.
        job: cli::WmsJob,
        /// Code of the shop.
        #[arg(long)]
        shop: String,
    },
    /// 聚水潭 jobs.
    Jushuitan {
        /// The job.
        job: cli::JushuitanJob,
        /// Code of the shop.
        #[arg(long)]
        shop: String,
    },
    /// 金蝶云星空 (Kingdee) jobs.
    Kingdee {
        /// The job.
        job: cli::KingdeeJob,
        /// Code of the shop.
        #[arg(long)]
        shop: String,
    },
}

#[derive(Debug, Subcommand)]
enum OutboxCommand {
    /// List rows (newest state of each subject), by id.
    List {
        /// Only this shop.
        #[arg(long)]
        shop: Option<String>,
        /// Only rows in this state: pending, held, dead, done.
        #[arg(long)]
        state: Option<String>,
        /// At most this many rows.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Re-arm dead or held rows for an immediate attempt.
    Retry {
        /// Row ids (from `outbox list`).
        #[arg(long = "id")]
        ids: Vec<i64>,
        /// Every dead row (of `--shop` when given).
        #[arg(long)]
        all_dead: bool,
        /// Only this shop (with --all-dead).
        #[arg(long)]
        shop: Option<String>,
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
    if matches!(args.command, Command::Serve) {
        if let Err(error) = config.check_for_serving() {
            eprintln!("polymall: {error}");
            return ExitCode::from(2);
        }
    }
    // The operator's carrier codes, from the directory of the configuration file.
    if let Some(file) = Config::file(args.config.as_deref()) {
        let dir = match file.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if let Err(error) = polymall::shop::carriers::extend_from_dir(&dir) {
            eprintln!("polymall: {error}");
            return ExitCode::from(2);
        }
    }
    polymall::telemetry::init(config.server.log_format);
    let result = match args.command {
        Command::Serve => cli::serve(config),
        Command::Migrate => cli::migrate(&config),
        Command::Import { shop, kind, file } => cli::import(&config, &shop, kind, &file),
        Command::Shop {
            command: ShopCommand::List,
        } => cli::shop_list(&config),
        Command::Sync {
            target: SyncTarget::Jushuitan { job, shop },
        } => cli::sync(&config, &shop, &cli::job_name("jushuitan", job)),
        Command::Sync {
            target: SyncTarget::Wms { job, shop },
        } => cli::sync(&config, &shop, &cli::job_name("wms", job)),
        Command::Sync {
            target: SyncTarget::Kingdee { job, shop },
        } => cli::sync(&config, &shop, &cli::job_name("kingdee", job)),
        Command::Outbox {
            command: OutboxCommand::List { shop, state, limit },
        } => cli::outbox_list(&config, shop.as_deref(), state, limit),
        Command::Outbox {
            command:
                OutboxCommand::Retry {
                    ids,
                    all_dead,
                    shop,
                },
        } => cli::outbox_retry(&config, ids, all_dead, shop.as_deref()),
        Command::Check => cli::check(&config),
        Command::Backup { file } => cli::backup(&config, &file),
        Command::Operator {
            command: OperatorCommand::Add { name, role },
        } => cli::operator_add(&config, &name, &role),
        Command::Operator {
            command: OperatorCommand::Password { name },
        } => cli::operator_password(&config, &name),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("polymall: {error:#}");
            ExitCode::FAILURE
        }
    }
}
