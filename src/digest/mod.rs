//! The weekly digest and the "did it work out?" follow-up.
