//! polymall connects a self-built online shop to China's commerce back-office:
//! ERPs through the Polyapi contract, Jushuitan, Qimen-standard warehouses and the
//! Kingdee books, all over one shop database (SQLite or PostgreSQL).
//!
//! Data flows one way: HTTP or CLI → protocol layer (parse, validate) → `shop` domain
//! functions (one transaction each) → rows.

pub mod cli;
pub mod config;
pub mod console;
pub mod db;
pub mod directory;
pub mod http;
pub mod intake;
pub mod integrations;
pub mod jushuitan;
pub mod kingdee;
pub mod metrics;
pub mod operators;
pub mod outbox;
pub mod polling;
pub mod polyapi;
pub mod qimen;
pub mod reports;
pub mod schedule;
pub mod shop;
pub mod startup;
pub mod telemetry;
pub mod time;
pub mod xml_text;

pub use startup::{Application, StartupError};
