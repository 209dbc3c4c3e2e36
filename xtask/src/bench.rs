//! `cargo xtask bench` (filled in below).
pub fn bench() -> crate::Result {
    Err("not yet".into())
}
