//! Reliability tests: see main.rs.
