-- Periodic jobs, one row per shop and job (shop 0: the database's own housekeeping).
-- A process runs a job only after claiming its lease with a conditional UPDATE, so
-- with several processes on one database each job runs once per interval; a killed
-- process's lease runs out and another takes the job over. The next due time is kept
-- here, so a restart does not run a daily job early.
CREATE TABLE scheduled_jobs (
    shop_id BIGINT NOT NULL,
    job TEXT NOT NULL,
    interval_secs BIGINT NOT NULL CHECK (interval_secs > 0),
    next_due_at TIMESTAMP NOT NULL,
    lease_owner TEXT,
    lease_until TIMESTAMP,
    last_started_at TIMESTAMP,
    last_finished_at TIMESTAMP,
    last_outcome TEXT CHECK (last_outcome IN ('ok', 'failed')),
    last_summary TEXT,
    last_success_at TIMESTAMP,
    runs BIGINT NOT NULL DEFAULT 0 CHECK (runs >= 0),
    PRIMARY KEY (shop_id, job)
);
