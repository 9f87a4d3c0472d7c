//! polymall connects a self-built online shop to China's commerce back-office:
//! ERPs through the Polyapi contract, Jushuitan, and Qimen-standard warehouses,
//! all over one shop database (SQLite or PostgreSQL).

pub mod config;
pub mod db;
pub mod shop;
