//! The Polyapi (菠萝派) contract: one endpoint, polysign, the envelope, the eight
//! methods, and the document shapes the ERP reads and the storefront writes.

pub mod biz;
pub mod credentials;
pub mod endpoint;
pub mod envelope;
pub mod methods;
pub mod params;
pub mod rendered;
pub mod sign;
pub mod wire;
