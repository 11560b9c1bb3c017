//! The relay: forwards, reply tracking, introductions, waves.
