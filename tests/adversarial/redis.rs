//! Regressions of the Redis store, against a redis-server of its own.
