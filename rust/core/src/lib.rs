//! The PyO3-free core of ami-fast.
//!
//! Everything here works on bytes and spans only, so it is tested, benchmarked and fuzzed
//! without Python. The binding crate (`rust/py/`) turns its output into Python objects.
//!
//! The behaviour is specified by `docs/parser-contract.md`.

pub mod classify;
pub mod encode;
pub mod error;
pub mod fields;
pub mod follows;
pub mod framer;
pub mod keys;
pub mod limits;
pub mod message;
pub mod scan;

pub use classify::Kind;
pub use encode::{encode_action, ActionEncoder, EncodeError, EncodeErrorKind};
pub use error::{ErrorKind, ProtocolError};
pub use framer::{CollectSink, Framer, Sink};
pub use limits::Limits;
pub use message::{Field, Line, MessageView, OwnedMessage, Span, NO_COLON};
