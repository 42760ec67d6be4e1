//! Content: projects, repositories, artifacts, tags and labels, and the views the management API
//! and the bindings hand out ([`model`]).
//!
//! - [`project`]: projects, their metadata, members and summaries;
//! - [`catalog`]: repositories, artifacts, tags and labels as Harbor's API lists them;
//! - [`model`]: the serialisable views, with Harbor's field names.
//!
//! Accessories (signatures, SBOMs) and additions will land here.

pub mod catalog;
pub mod model;
pub mod project;
