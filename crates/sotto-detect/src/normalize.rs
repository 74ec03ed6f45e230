//! Normalisation of spoken forms with a map back to original offsets.
