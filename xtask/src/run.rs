//! demo and test.
pub fn demo() -> crate::Result {
    Err("not yet".into())
}
pub fn test(_args: &[String]) -> crate::Result {
    Err("not yet".into())
}
