//! Polyapi load bench: runs the real `polymall serve` on a fresh database filled the way
//! a shop fills it, drives it over HTTP with concurrent signed calls, and reports
//! throughput and latency percentiles next to `/healthz` measured in the same run.
//!
//! ```text
//! cargo bench --bench polyapi -- [--shape burst|steady|intake] [--orders N] [--requests R]
//!     [--concurrency C] [--postgres URL] [--only TEXT] [--no-writes]
//!     [--rendered-orders-mib MIB]
//! ```
//! - `burst` (default): N orders placed within one hour, imported at once with
//!   `polymall import`; GetOrder over windows of an hour, a day and three days, alone and
//!   while orders are posted and shipped (see `burst.rs`).
//! - `steady`: N orders one every 30 s over months (see `steady.rs`).
//! - `intake`: orders per second stored by `polymall import` and by the admin API.
//!
//! SQLite by default (a temporary file); `--postgres` uses a fresh schema in that database
//! (a superuser can also be shown the plans without statistics). `--only` runs the
//! scenarios whose name contains TEXT. `--rendered-orders-mib` sets the server's
//! `[database] rendered_orders_mib` (0: every page reads and renders all its orders). The
//! bench runs no ANALYZE or VACUUM: the database is the one polymall leaves behind.
//!
//! With `POLYMALL_BENCH_PERF_CTL` naming the control FIFO of `perf record --control`, the
//! bench enables recording for the measured scenarios only, not for seeding (see
//! `benches/profile.sh`). The load generator's threads are named `load`, so a profile can
//! leave them out.

mod burst;
mod intake;
mod load;
mod orders;
mod plans;
mod server;
mod steady;

/// What to run.
pub struct Options {
    pub shape: String,
    pub orders: u64,
    pub requests: usize,
    pub concurrency: usize,
    pub postgres: Option<String>,
    pub only: Option<String>,
    pub no_writes: bool,
    pub rendered_orders_mib: Option<u64>,
}

fn options() -> Options {
    let mut options = Options {
        shape: "burst".to_owned(),
        orders: 100_000,
        requests: 400,
        concurrency: 4,
        postgres: None,
        only: None,
        no_writes: false,
        rendered_orders_mib: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--shape" => options.shape = value(),
            "--orders" => options.orders = value().parse().expect("--orders N"),
            "--requests" => options.requests = value().parse().expect("--requests R"),
            "--concurrency" => options.concurrency = value().parse().expect("--concurrency C"),
            "--postgres" => options.postgres = Some(value()),
            "--only" => options.only = Some(value()),
            "--no-writes" => options.no_writes = true,
            "--rendered-orders-mib" => {
                options.rendered_orders_mib =
                    Some(value().parse().expect("--rendered-orders-mib MIB"))
            }
            "--bench" => {}
            other => panic!("unknown option {other}"),
        }
    }
    options
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("load")
        .enable_all()
        .build()
        .expect("runtime");
    let perf_control = std::env::var_os("POLYMALL_BENCH_PERF_CTL");
    let tell_perf = |command: &str| {
        if let Some(fifo) = &perf_control {
            std::fs::write(fifo, format!("{command}\n")).expect("perf control FIFO");
        }
    };
    runtime.block_on(async {
        match options.shape.as_str() {
            "burst" => burst::run(&options, &tell_perf).await,
            "steady" => steady::run(&options, &tell_perf).await,
            "intake" => intake::run(&options).await,
            other => panic!("unknown shape {other}: burst, steady or intake"),
        }
    });
}
