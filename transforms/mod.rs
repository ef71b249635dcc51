//! The transforms, one a file, in the order they apply. A transform that is
//! not finished is not listed here.

use std::sync::OnceLock;

use crate::transform::Transform;

mod apt_layer;
mod syntax_header;

/// Every registered transform, in application order.
pub fn all() -> &'static [Box<dyn Transform>] {
    static ALL: OnceLock<Vec<Box<dyn Transform>>> = OnceLock::new();
    ALL.get_or_init(|| {
        vec![
            Box::new(apt_layer::AptLayer),
            Box::new(syntax_header::SyntaxHeader),
        ]
    })
}

/// The transform with this id.
pub fn by_id(id: &str) -> Option<&'static dyn Transform> {
    all().iter().find(|t| t.meta().id == id).map(|t| t.as_ref())
}
