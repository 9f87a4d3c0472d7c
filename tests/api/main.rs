//! Integration tests: the real server over HTTP, on SQLite always and on PostgreSQL
//! when `POLYMALL_TEST_POSTGRES_URL` is set.

// The full-order fixture is one large `json!` literal.
#![recursion_limit = "256"]

mod admin;
mod config_file;
mod crash;
mod fake_jst;
mod fake_wms;
mod helpers;
mod hostile;
mod import;
mod jushuitan;
mod migrations;
mod polyapi_catalogue;
mod polyapi_client;
mod polyapi_fulfilment;
mod polyapi_orders;
mod polyapi_paging;
mod polyapi_protocol;
mod qimen_callback;
mod qimen_outbound;
mod shutdown;
mod soak;
