//! Python-facing types. Nothing below `ami_fast_core` imports PyO3.

pub mod encode;
pub mod errors;
pub mod keys;
pub mod lines;
pub mod message;
pub mod names;
pub mod pairs;
pub mod parser;
pub mod slots;
pub mod strings;
