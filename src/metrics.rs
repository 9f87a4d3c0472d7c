//! Prometheus metrics through the `metrics` facade, rendered in the Prometheus text
//! format by `metrics-exporter-prometheus` (see `http::metrics` for `/metrics`).
//!
//! Every series is named and described here, and recorded through the functions below,
//! so README's list of series has one source. Label values come from bounded sets
//! (route patterns, known methods, configured shops, status codes), never from raw
//! input, so a hostile caller cannot grow the number of series.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// HTTP requests by route pattern, method and status.
pub const HTTP_REQUESTS: &str = "polymall_http_requests_total";
/// HTTP request latency by route pattern and method.
pub const HTTP_DURATION: &str = "polymall_http_request_duration_seconds";
/// Polyapi calls by shop, method and outcome code.
pub const POLYAPI_CALLS: &str = "polymall_polyapi_calls_total";
/// Outbox rows by shop, target and state (pending, held, dead), at scrape time.
pub const OUTBOX_ROWS: &str = "polymall_outbox_rows";
/// Age of the oldest pending outbox row by shop and target, at scrape time.
pub const OUTBOX_OLDEST_PENDING: &str = "polymall_outbox_oldest_pending_age_seconds";
/// Pooled database connections by state (in_use, idle), at scrape time.
pub const DB_POOL_CONNECTIONS: &str = "polymall_db_pool_connections";
/// The pool's largest size.
pub const DB_POOL_MAX: &str = "polymall_db_pool_max_connections";
/// How long taking a connection from the pool waited.
pub const DB_POOL_WAIT: &str = "polymall_db_pool_wait_seconds";
/// Waits for a pooled connection that timed out.
pub const DB_POOL_TIMEOUTS: &str = "polymall_db_pool_timeouts_total";
/// New orders stored through the admin API, by shop.
pub const ORDERS_TAKEN: &str = "polymall_orders_taken_total";
/// Console sign-in attempts by outcome.
pub const SIGN_INS: &str = "polymall_console_sign_ins_total";
/// Periodic job runs by job, shop and outcome.
pub const JOB_RUNS: &str = "polymall_job_runs_total";
/// When a job last succeeded, by job and shop (Unix seconds).
pub const JOB_LAST_SUCCESS: &str = "polymall_job_last_success_timestamp_seconds";
/// Always 1, labelled with the running version.
pub const BUILD_INFO: &str = "polymall_build_info";

/// Latency buckets in seconds: from a cached page (sub-millisecond) to the Polyapi
/// deadline.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder as the process's metrics recorder (once; later calls
/// answer the same handle). `None` when another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            if let Err(error) = ::metrics::set_global_recorder(recorder) {
                tracing::warn!(%error, "metrics are not recorded: another recorder is installed");
                return None;
            }
            describe();
            ::metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(HTTP_REQUESTS, "HTTP requests by route, method and status");
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "HTTP request latency by route and method"
    );
    describe_counter!(
        POLYAPI_CALLS,
        "Polyapi calls by shop, method and outcome (10000 or the GSE sub-code)"
    );
    describe_gauge!(
        OUTBOX_ROWS,
        "Outbox rows by shop, target and state (pending, held, dead)"
    );
    describe_gauge!(
        OUTBOX_OLDEST_PENDING,
        Unit::Seconds,
        "Seconds since the oldest pending outbox row was queued or last tried"
    );
    describe_gauge!(
        DB_POOL_CONNECTIONS,
        "Pooled database connections by state (in_use, idle)"
    );
    describe_gauge!(DB_POOL_MAX, "Largest size of the database pool");
    describe_histogram!(
        DB_POOL_WAIT,
        Unit::Seconds,
        "Time spent waiting for a pooled database connection"
    );
    describe_counter!(
        DB_POOL_TIMEOUTS,
        "Waits for a pooled database connection that timed out"
    );
    describe_counter!(
        ORDERS_TAKEN,
        "New orders stored through the admin API, by shop"
    );
    describe_counter!(SIGN_INS, "Console sign-in attempts by outcome");
    describe_counter!(JOB_RUNS, "Periodic job runs by job, shop and outcome");
    describe_gauge!(
        JOB_LAST_SUCCESS,
        Unit::Seconds,
        "Unix time of the last successful run of a job, by job and shop"
    );
    describe_gauge!(BUILD_INFO, "Always 1; the label names the running version");
}

/// Records one answered HTTP request.
pub fn http_request(route: &str, method: &str, status: u16, elapsed: Duration) {
    let (route, method) = (route.to_owned(), method.to_owned());
    ::metrics::counter!(HTTP_REQUESTS, "route" => route.clone(), "method" => method.clone(), "status" => status.to_string())
        .increment(1);
    ::metrics::histogram!(HTTP_DURATION, "route" => route, "method" => method)
        .record(elapsed.as_secs_f64());
}

/// Records one Polyapi call; `shop` is empty when the call was refused before its shop
/// was known.
pub fn polyapi_call(shop: &str, method: &str, outcome: &str) {
    ::metrics::counter!(POLYAPI_CALLS, "shop" => shop.to_owned(), "method" => method.to_owned(), "outcome" => outcome.to_owned())
        .increment(1);
}

/// Records new orders of a shop stored through the admin API.
pub fn orders_taken(shop: &str, count: usize) {
    ::metrics::counter!(ORDERS_TAKEN, "shop" => shop.to_owned()).increment(count as u64);
}

/// Records a console sign-in attempt: `signed_in`, `refused` or `rate_limited`.
pub fn sign_in(outcome: &'static str) {
    ::metrics::counter!(SIGN_INS, "outcome" => outcome).increment(1);
}

/// How a periodic job run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// It did its work.
    Success,
    /// It failed; the next run retries.
    Failure,
}

/// Records one run of a periodic job, for the scheduler to call after each run: a
/// success also sets the job's last-success time.
pub fn job_finished(job: &str, shop: &str, outcome: JobOutcome) {
    let code = match outcome {
        JobOutcome::Success => "success",
        JobOutcome::Failure => "failure",
    };
    ::metrics::counter!(JOB_RUNS, "job" => job.to_owned(), "shop" => shop.to_owned(), "outcome" => code)
        .increment(1);
    if outcome == JobOutcome::Success {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        ::metrics::gauge!(JOB_LAST_SUCCESS, "job" => job.to_owned(), "shop" => shop.to_owned())
            .set(now.as_secs_f64());
    }
}

/// Sets the outbox gauges of one shop and target.
pub fn outbox_rows(shop: &str, target: &str, state: &str, rows: i64) {
    ::metrics::gauge!(OUTBOX_ROWS, "shop" => shop.to_owned(), "target" => target.to_owned(), "state" => state.to_owned())
        .set(rows as f64);
}

/// Sets the age of the oldest pending row of one shop and target (0 when none).
pub fn outbox_oldest_pending(shop: &str, target: &str, age: Duration) {
    ::metrics::gauge!(OUTBOX_OLDEST_PENDING, "shop" => shop.to_owned(), "target" => target.to_owned())
        .set(age.as_secs_f64());
}

/// Sets the pool gauges: connections open, idle, and the largest size.
pub fn db_pool(open: u32, idle: u32, max: u32) {
    ::metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "in_use")
        .set(f64::from(open.saturating_sub(idle)));
    ::metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(f64::from(idle));
    ::metrics::gauge!(DB_POOL_MAX).set(f64::from(max));
}

/// r2d2's pool events as metrics: each checkout's wait, and waits that timed out.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolEvents;

impl r2d2::HandleEvent for PoolEvents {
    fn handle_checkout(&self, event: r2d2::event::CheckoutEvent) {
        ::metrics::histogram!(DB_POOL_WAIT).record(event.duration().as_secs_f64());
    }

    fn handle_timeout(&self, _event: r2d2::event::TimeoutEvent) {
        ::metrics::counter!(DB_POOL_TIMEOUTS).increment(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_runs_are_rendered_with_their_last_success() {
        let handle = install().expect("recorder");
        job_finished("unit-test-job", "unit", JobOutcome::Failure);
        job_finished("unit-test-job", "unit", JobOutcome::Success);
        let text = handle.render();
        assert!(
            text.contains(
                "polymall_job_runs_total{job=\"unit-test-job\",shop=\"unit\",outcome=\"success\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "polymall_job_runs_total{job=\"unit-test-job\",shop=\"unit\",outcome=\"failure\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "polymall_job_last_success_timestamp_seconds{job=\"unit-test-job\",shop=\"unit\"}"
            ),
            "{text}"
        );
    }
}
