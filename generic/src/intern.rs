//! Names learned at run time, as the `&'static str`s the runtime takes.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// A `&'static str` for a path or name learned at run time: the runtime's
/// clients take them, so each distinct one is kept for the process's life
/// (once per method, not per call).
pub(crate) fn intern(s: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashMap<String, &'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(s) = names.get(s) {
        return s;
    }
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    names.insert(s.to_string(), leaked);
    leaked
}
