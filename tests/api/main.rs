//! Integration tests: the real server over HTTP, on SQLite always and on PostgreSQL
//! when `POLYMALL_TEST_POSTGRES_URL` is set.

// The full-order fixture is one large `json!` literal.
#![recursion_limit = "256"]

mod admin;
mod browser;
mod config_file;
mod connections;
mod console;
mod console_client;
mod crash;
mod deadline;
mod fake_jst;
mod fake_kingdee;
mod fake_server;
mod fake_wms;
mod helpers;
mod hostile;
mod import;
mod instances;
mod jushuitan;
mod kingdee;
mod metrics;
mod migrations;
mod polyapi_catalogue;
mod polyapi_client;
mod polyapi_fulfilment;
mod polyapi_orders;
mod polyapi_paging;
mod polyapi_protocol;
mod qimen_callback;
mod qimen_callback_auth;
mod qimen_outbound;
mod refusals;
mod shop_jobs;
mod shops;
mod shutdown;
mod soak;
mod tools;
mod trust_boundary;
mod upkeep;
