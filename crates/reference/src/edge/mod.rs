//! The proxy's edge: how connections are served and the layers in front of every handler.

mod frames;
mod layers;
mod serve;
mod wire;

pub(crate) use layers::with_layers;
pub(crate) use serve::serve;

#[cfg(test)]
mod tests;
