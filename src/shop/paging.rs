//! Page requests and answers shared by every listing.

/// A 1-based page of `size` records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Page number, from 1.
    pub index: i64,
    /// Records per page, at least 1.
    pub size: i64,
}

impl Page {
    /// Rows to skip before this page.
    pub fn offset(self) -> i64 {
        (self.index.max(1) - 1).saturating_mul(self.size)
    }
}

/// One page of records plus the count across all pages.
#[derive(Debug, Clone, PartialEq)]
pub struct PageOf<T> {
    /// Matching records across all pages.
    pub total: i64,
    /// This page's records.
    pub items: Vec<T>,
}
