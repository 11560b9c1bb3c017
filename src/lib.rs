//! circle-relay: one address for a professional peer circle.
//!
//! The pipeline, one folder a stage:
//! inbox → understand → matching → relay → outbox, with store (the database),
//! directory (member CSV), digest (weekly mail) and config around it.
// No unsafe code, but for the one call into glibc in `memory` (allowed there).
#![deny(unsafe_code)]

pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod daemon;
pub mod digest;
pub mod directory;
pub mod domain;
pub mod inbox;
pub mod matching;
pub mod memory;
pub mod oauth2;
pub mod observe;
pub mod outbox;
pub mod pipeline;
pub mod relay;
pub mod shutdown;
pub mod store;
pub mod telemetry;
pub mod understand;
pub mod web;
