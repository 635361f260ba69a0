//! Regressions of key encoding and namespaces: no collisions between caches, key types and the explicit API.
