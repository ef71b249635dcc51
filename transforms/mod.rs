//! The transforms, one a file, in the order they apply. A transform that is
//! not finished is not listed here.

use std::sync::OnceLock;

use crate::transform::Transform;

mod apt_layer;
mod copy_order;
mod dockerignore;
mod exec_form;
mod multi_stage_distroless;
mod non_root_user;
mod secret_mounts;
mod syntax_header;
mod tini_init;

/// Every registered transform, in application order.
pub fn all() -> &'static [Box<dyn Transform>] {
    static ALL: OnceLock<Vec<Box<dyn Transform>>> = OnceLock::new();
    ALL.get_or_init(|| {
        vec![
            Box::new(dockerignore::DockerIgnore),
            Box::new(secret_mounts::SecretMounts),
            Box::new(apt_layer::AptLayer),
            Box::new(copy_order::CopyOrder),
            Box::new(exec_form::ExecForm),
            Box::new(multi_stage_distroless::MultiStageDistroless),
            Box::new(non_root_user::NonRootUser),
            Box::new(tini_init::TiniInit),
            Box::new(syntax_header::SyntaxHeader),
        ]
    })
}

/// The transform with this id.
pub fn by_id(id: &str) -> Option<&'static dyn Transform> {
    all().iter().find(|t| t.meta().id == id).map(|t| t.as_ref())
}
