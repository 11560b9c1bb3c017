//! Ranking members for a request: bilingual, fair, explained, and able to abstain.
