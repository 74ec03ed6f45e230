//! Check-digit algorithms.
