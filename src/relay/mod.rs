//! The relay: forwards, reply tracking, introductions, waves.

pub mod templates;
pub mod token;
