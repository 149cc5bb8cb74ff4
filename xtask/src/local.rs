//! `cargo xtask build --local`: rehearses the real build offline. Not written yet.
