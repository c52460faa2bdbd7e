//! `maplink-api`: the HTTP surface of maplink (upload, sessions, download, health),
//! and in embedded mode the whole service in one process.

pub mod access;
pub mod cors;
pub mod error;
pub mod layers;
pub mod limits;
pub mod routes;
pub mod server;
pub mod service;
pub mod startup;
pub mod state;

pub use startup::Application;
