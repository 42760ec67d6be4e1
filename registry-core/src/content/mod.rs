//! Content: projects, repositories, artifacts, tags and labels, and the views the management API
//! and the bindings hand out ([`model`]).
//!
//! - [`project`]: projects, their metadata, members and summaries;
//! - [`catalog`]: repositories, artifacts, tags and labels as Harbor's API lists them;
//! - [`accessory`]: signatures, SBOMs and other artifacts that belong to a subject;
//! - [`addition`]: Harbor's artifact additions (an image's build history; a Helm chart's
//!   README.md, values.yaml and dependencies), read from the content on demand;
//! - [`model`]: the serialisable views, with Harbor's field names.

pub mod accessory;
pub mod addition;
pub mod catalog;
pub mod model;
pub mod project;
