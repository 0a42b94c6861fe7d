//! The one integration-test binary of `qrlink`: the real server on an ephemeral loopback port,
//! and the real CLI binary, on SQLite and PostgreSQL.

mod admin;
mod api;
mod browser;
mod cli;
mod crash;
mod fallback;
mod limits;
mod links_file;
mod ops;
mod proxy;
mod public;
mod replicas;
mod shutdown;
mod support;
mod transfer;
