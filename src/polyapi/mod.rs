//! The Polyapi (菠萝派) contract: the document shapes the ERP reads and the storefront
//! writes, named as the wire names them.

pub mod wire;
