//! MCP in the reference proxy: the server registry and unified access groups (rows and queries),
//! and the client that talks to upstream MCP servers. Who may reach which server is decided in
//! `authz::mcp_access`; the routes live in `handlers`.

pub(crate) mod client;
pub(crate) mod model;
pub(crate) mod storage;
