//! Read-only summaries for the people who run polymall: what the console pages and the
//! `/metrics` gauges show. Plain functions over a connection, reading only what a page
//! needs, each over an index.

pub mod orders;
pub mod outbox;
pub mod products;
