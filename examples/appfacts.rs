//! The application-facts pass on one Dockerfile, timed in the process
//! (no start-up, no printing): `appfacts DOCKERFILE` prints the
//! milliseconds and what the walk covered. Run by benches/appfacts.sh.

use std::path::Path;
use std::time::Instant;

use dockwright::facts::app::{self, Runtime};

fn main() {
    let path = std::env::args().nth(1).expect("usage: appfacts DOCKERFILE");
    let path = Path::new(&path);
    let text = std::fs::read_to_string(path).expect("readable Dockerfile");
    let file = dockwright::syntax::parse(&text).expect("a Dockerfile BuildKit accepts");
    let runtime = Runtime::of(&file);
    let started = Instant::now();
    let facts = app::gather(path, None, path.parent(), &runtime);
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let c = &facts.coverage;
    println!(
        "{ms:.2} ms  ({} entries seen, {} sources read, {} writes, {} dev tools, stopped by {:?})",
        c.entries_seen,
        c.sources_read,
        facts.writes.len(),
        facts.dev_tools.len(),
        c.stopped_by
    );
}
