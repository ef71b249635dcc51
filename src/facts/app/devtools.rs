//! Is a command a development server or a build tool? And what does it
//! write where it runs, whatever the answer (a Rails server writes its pid
//! file in production too)?
//!
//! Decisions: `vite preview` serves a finished build but Vite documents it
//! as not a production server, so it is `Preview`, not `DevServer`; `nest
//! start` compiles to `dist/` before running (`BuildsAtStart`), with
//! `--watch` it is a `DevServer`; `flask run` is Werkzeug's development
//! server whatever the debug setting (Flask's documentation), `--debug` or
//! `FLASK_DEBUG` only adds the reloader; `rails server` is a development
//! server when `RAILS_ENV` (or `-e`) is development or unset.

use super::WriteKind;

/// How a command is not a production server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DevKind {
    /// A development server (reloads, watches, serves unoptimised code).
    DevServer,
    /// Compiles or builds when the container starts (`cargo run`, `nest start`).
    BuildsAtStart,
    /// Serves a build for preview, documented as not for production.
    Preview,
}

impl std::fmt::Display for DevKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DevKind::DevServer => "development server",
            DevKind::BuildsAtStart => "builds at start",
            DevKind::Preview => "preview server",
        })
    }
}

/// What a recognised program is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    /// `next dev`, `rails server`...
    pub name: &'static str,
    pub kind: Option<DevKind>,
    /// Paths it writes below its working directory.
    pub writes: Vec<(WriteKind, &'static str)>,
    /// A qualifier worth showing (`debug`, `RAILS_ENV=development`).
    pub detail: Option<String>,
}

fn tool(name: &'static str, kind: Option<DevKind>, writes: &[(WriteKind, &'static str)]) -> Tool {
    Tool {
        name,
        kind,
        writes: writes.to_vec(),
        detail: None,
    }
}

use DevKind::{BuildsAtStart, DevServer, Preview};
use WriteKind::{Cache, LogFile, PidFile};

/// The tool a simple command runs (words already unwrapped, see
/// `shell::unwrap`), given the environment it runs with.
pub fn classify(words: &[String], env: &dyn Fn(&str) -> Option<String>) -> Option<Tool> {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let has = |flag: &str| {
        w.iter()
            .any(|a| *a == flag || a.starts_with(&format!("{flag}=")))
    };
    let sub = w.get(1).copied().unwrap_or("");
    let t = match (w.first().copied()?, sub) {
        ("react-scripts" | "craco", "start") => tool(
            "react-scripts start",
            Some(DevServer),
            &[(Cache, "node_modules/.cache")],
        ),
        ("react-scripts" | "craco", "build") => tool(
            "react-scripts build",
            Some(BuildsAtStart),
            &[(Cache, "node_modules/.cache")],
        ),
        ("next", "dev") => tool("next dev", Some(DevServer), &[(Cache, ".next")]),
        // `next` without a command (or with only options) is `next dev`.
        ("next", s) if s.is_empty() || s.starts_with('-') => {
            tool("next dev", Some(DevServer), &[(Cache, ".next")])
        }
        ("next", "build") => tool("next build", Some(BuildsAtStart), &[(Cache, ".next")]),
        ("nuxt" | "nuxi", "dev") => tool("nuxt dev", Some(DevServer), &[(Cache, ".nuxt")]),
        ("vite", "build") => tool("vite build", Some(BuildsAtStart), &[]),
        ("vite", "preview") => tool("vite preview", Some(Preview), &[]),
        ("vite", _) => tool("vite", Some(DevServer), &[(Cache, "node_modules/.vite")]),
        ("nodemon", _) => tool("nodemon", Some(DevServer), &[]),
        // pm2 restarting on file changes, like nodemon.
        ("pm2" | "pm2-runtime" | "pm2-dev", _)
            if w[0] == "pm2-dev" || has("--watch") || has("-w") =>
        {
            tool("pm2 --watch", Some(DevServer), &[])
        }
        ("ts-node-dev" | "tsnd", _) => tool("ts-node-dev", Some(DevServer), &[]),
        ("tsx", "watch") => tool("tsx watch", Some(DevServer), &[]),
        ("ts-node", _) => tool("ts-node", Some(BuildsAtStart), &[]),
        ("nest", "start") if has("--watch") || has("-w") || has("--debug") => {
            tool("nest start --watch", Some(DevServer), &[(Cache, "dist")])
        }
        ("nest", "start") => tool("nest start", Some(BuildsAtStart), &[(Cache, "dist")]),
        ("ng", "serve") => tool("ng serve", Some(DevServer), &[(Cache, ".angular/cache")]),
        ("ng", "build") => tool(
            "ng build",
            Some(BuildsAtStart),
            &[(Cache, ".angular/cache")],
        ),
        ("webpack" | "webpack-cli", "serve") | ("webpack-dev-server", _) => tool(
            "webpack serve",
            Some(DevServer),
            &[(Cache, "node_modules/.cache")],
        ),
        ("webpack" | "webpack-cli", _) if has("--watch") || has("-w") => tool(
            "webpack --watch",
            Some(DevServer),
            &[(Cache, "node_modules/.cache")],
        ),
        ("webpack" | "webpack-cli", _) => tool("webpack", Some(BuildsAtStart), &[]),
        ("vue-cli-service", "serve") => tool(
            "vue-cli-service serve",
            Some(DevServer),
            &[(Cache, "node_modules/.cache")],
        ),
        ("gatsby", "develop") => tool("gatsby develop", Some(DevServer), &[(Cache, ".cache")]),
        ("rails", "s" | "server") => rails_server(&w, env),
        ("flask", "run") => {
            let debug = has("--debug")
                || has("--reload")
                || env("FLASK_DEBUG").is_some_and(|v| v == "1" || v == "true")
                || env("FLASK_ENV").is_some_and(|v| v == "development");
            let mut t = tool("flask run", Some(DevServer), &[]);
            t.detail = debug.then(|| "debug".to_string());
            t
        }
        ("manage.py", "runserver") | ("django-admin", "runserver") => {
            tool("manage.py runserver", Some(DevServer), &[])
        }
        (p, "manage.py") if p.starts_with("python") && w.get(2) == Some(&"runserver") => {
            tool("manage.py runserver", Some(DevServer), &[])
        }
        ("uvicorn" | "hypercorn", _) if has("--reload") => {
            tool("uvicorn --reload", Some(DevServer), &[])
        }
        ("gunicorn", _) if has("--reload") => tool("gunicorn --reload", Some(DevServer), &[]),
        ("cargo", "run") => tool("cargo run", Some(BuildsAtStart), &[(Cache, "target")]),
        ("cargo", "watch") => tool("cargo watch", Some(DevServer), &[(Cache, "target")]),
        ("go", "run") => tool("go run", Some(BuildsAtStart), &[]),
        ("air", _) => tool("air", Some(DevServer), &[(Cache, "tmp")]),
        ("mix", "phx.server") | ("iex", "-S") if w.contains(&"phx.server") => {
            let env_name = env("MIX_ENV");
            let dev = env_name.as_deref().is_none_or(|e| e == "dev");
            let kind = if dev { DevServer } else { BuildsAtStart };
            tool("mix phx.server", Some(kind), &[(Cache, "_build")])
        }
        ("mvn" | "mvnw", _) if w.contains(&"spring-boot:run") => tool(
            "mvn spring-boot:run",
            Some(BuildsAtStart),
            &[(Cache, "target")],
        ),
        ("gradle" | "gradlew", _) if w.contains(&"bootRun") => tool(
            "gradle bootRun",
            Some(BuildsAtStart),
            &[(Cache, "build"), (Cache, ".gradle")],
        ),
        ("dotnet", "run") => tool(
            "dotnet run",
            Some(BuildsAtStart),
            &[(Cache, "bin"), (Cache, "obj")],
        ),
        // `dotnet test` restores and compiles the test project first.
        ("dotnet", "test" | "build") => tool(
            "dotnet test",
            Some(BuildsAtStart),
            &[(Cache, "bin"), (Cache, "obj")],
        ),
        ("dotnet", "watch") => tool(
            "dotnet watch",
            Some(DevServer),
            &[(Cache, "bin"), (Cache, "obj")],
        ),
        ("php", "artisan") if w.get(2) == Some(&"serve") => {
            tool("php artisan serve", Some(DevServer), &[])
        }
        ("php", "-S") => tool("php -S", Some(DevServer), &[]),
        ("http.server", _) => tool("python -m http.server", Some(DevServer), &[]),
        ("jekyll", "serve" | "s") => tool("jekyll serve", Some(DevServer), &[]),
        ("hugo", "server" | "serve") => tool("hugo server", Some(DevServer), &[]),
        _ => return None,
    };
    Some(t)
}

/// `rails server`: a development server unless the environment says
/// otherwise; it writes its pid file (`tmp/pids/server.pid`) and cache in
/// every environment, and logs to `log/` in development.
fn rails_server(w: &[&str], env: &dyn Fn(&str) -> Option<String>) -> Tool {
    let flag_env = w.iter().enumerate().find_map(|(i, a)| {
        a.strip_prefix("--environment=")
            .or_else(|| a.strip_prefix("-e="))
            .map(str::to_string)
            .or_else(|| {
                (*a == "-e" || *a == "--environment")
                    .then(|| w.get(i + 1).map(|v| v.to_string()))
                    .flatten()
            })
    });
    let rails_env = flag_env
        .or_else(|| env("RAILS_ENV"))
        .or_else(|| env("RACK_ENV"));
    let dev = rails_env.as_deref().is_none_or(|e| e == "development");
    let mut writes = vec![(PidFile, "tmp/pids"), (Cache, "tmp/cache")];
    if dev {
        writes.push((LogFile, "log"));
    }
    Tool {
        name: "rails server",
        kind: dev.then_some(DevServer),
        writes,
        detail: Some(match rails_env {
            Some(e) => format!("RAILS_ENV={e}"),
            None => "RAILS_ENV unset".to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(cmd: &str, env: &[(&str, &str)]) -> Option<DevKind> {
        let words: Vec<String> = cmd.split_whitespace().map(str::to_string).collect();
        let lookup = |k: &str| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        };
        classify(&words, &lookup).and_then(|t| t.kind)
    }

    #[test]
    fn development_servers_and_their_production_twins() {
        assert_eq!(kind("vite", &[]), Some(DevServer));
        assert_eq!(kind("vite build", &[]), Some(BuildsAtStart));
        assert_eq!(kind("vite preview", &[]), Some(Preview));
        assert_eq!(kind("next dev", &[]), Some(DevServer));
        assert_eq!(kind("next start", &[]), None);
        // Next's default command is `dev` (found on a real repository).
        assert_eq!(kind("next", &[]), Some(DevServer));
        assert_eq!(kind("next -p 3000", &[]), Some(DevServer));
        assert_eq!(kind("pm2 start run.js --watch .", &[]), Some(DevServer));
        assert_eq!(kind("pm2-runtime start ecosystem.config.js", &[]), None);
        assert_eq!(kind("nest start", &[]), Some(BuildsAtStart));
        // A test image whose entrypoint compiles (found on a real repository).
        assert_eq!(kind("dotnet test Tests", &[]), Some(BuildsAtStart));
        assert_eq!(kind("nest start --watch", &[]), Some(DevServer));
        assert_eq!(kind("uvicorn app:app", &[]), None);
        assert_eq!(kind("uvicorn app:app --reload", &[]), Some(DevServer));
        assert_eq!(
            kind("python manage.py runserver 0.0.0.0:8000", &[]),
            Some(DevServer)
        );
        assert_eq!(kind("rails s -b 0.0.0.0", &[]), Some(DevServer));
        assert_eq!(kind("rails s", &[("RAILS_ENV", "production")]), None);
        assert_eq!(
            kind("rails s -e production", &[("RAILS_ENV", "development")]),
            None
        );
        assert_eq!(
            kind("mix phx.server", &[("MIX_ENV", "prod")]),
            Some(BuildsAtStart)
        );
        assert_eq!(kind("mvnw spring-boot:run", &[]), Some(BuildsAtStart));
        assert_eq!(kind("node server.js", &[]), None);
    }
}
