//! The intent reader lives with the rest of message understanding (so
//! `explain` can use it without the relay); the relay reads it from here.

pub use crate::understand::{Intent, read_intent};
