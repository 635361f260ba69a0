//! What several test files share.

pub mod redis_server;
pub mod waits;
