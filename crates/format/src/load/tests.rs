//! Tests of the loader: every validation rule in its accepted and rejected form, error positions,
//! and the model a full-featured file turns into, in a file per part of the format as the loader
//! itself is split; `support` holds what they share.

mod awaits;
mod discover;
mod expect;
mod include;
mod mocks;
mod model;
mod positions;
mod probes;
mod request;
mod scenario;
mod step;
mod support;
mod text;
mod yaml;
