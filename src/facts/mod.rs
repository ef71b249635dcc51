//! What the transforms know besides the file: facts about base images, about
//! package-manager commands, and about the build context. Shared here so that
//! no transform imports another.

pub mod app;
pub mod capabilities;
pub mod context;
pub mod dotnet_tags;
pub mod git;
pub mod image;
pub mod packages;
pub mod recommends;
