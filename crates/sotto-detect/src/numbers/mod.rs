//! Spoken-number grammars for da, sv, nb, fi, et, de, en.
