//! Replication between registries: registry endpoints (the remote registries, their adapters and
//! sealed credentials) and the client that talks to them ([`upstream`]). Proxy-cache projects
//! ([`crate::proxy`]) pull through the same endpoints and client.

pub mod endpoint;
pub mod execution;
pub mod policy;
pub(crate) mod upstream;

pub use endpoint::{
    AdapterInfo, FilterStyle, RegistryCredential, RegistryEndpoint, RegistryInfo, RegistryPing,
    RegistryReq, RegistryUpdate,
};
pub use policy::{
    ReplicationFilter, ReplicationPolicy, ReplicationPolicyReq, ReplicationTrigger, dest_name,
};
