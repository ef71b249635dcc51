// Parsing and analysing many small scripts allocates many short-lived trees,
// strings and vectors; mimalloc serves them faster than the system allocator.
// Built without transparent huge pages (`no_thp` in Cargo.toml): zeroing 2 MB
// pages doubled the memory and the start-up time of a one-file run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // SAFETY: called once, first thing, before any thread starts and before
    // any tree-sitter parser or tree exists; the four functions are one
    // allocator's, so memory is freed by the allocator that gave it.
    unsafe {
        tree_sitter::set_allocator(
            Some(libmimalloc_sys::mi_malloc),
            Some(zeroed_array),
            Some(libmimalloc_sys::mi_realloc),
            Some(libmimalloc_sys::mi_free),
        );
    }
    dockwright::main()
}

/// `calloc` for tree-sitter: mimalloc's own is only in its extended API.
unsafe extern "C" fn zeroed_array(count: usize, size: usize) -> *mut std::ffi::c_void {
    match count.checked_mul(size) {
        // SAFETY: mi_zalloc takes any size and returns null on failure.
        Some(total) => unsafe { libmimalloc_sys::mi_zalloc(total) },
        None => std::ptr::null_mut(),
    }
}
