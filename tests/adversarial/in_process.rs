//! Regressions of the in-process caches: reads after a change, re-entry, failing bodies.
