//! qrlink's domain: slugs, targets, links with history and schedules, counts, and the store.
//! No HTTP and no command line here; the `qrlink` binary is a thin front end over this crate.

pub mod accounts;
pub mod base_url;
pub mod bots;
pub mod clock;
pub mod counts;
pub mod error;
pub mod link;
pub mod links_file;
pub mod passwords;
pub mod schedule;
pub mod slug;
pub mod store;
pub mod table;
pub mod target;
pub mod transfer;

pub use error::{Error, Invalid, Rejection, Result};

#[cfg(feature = "testing")]
pub mod testing;
