//! Ports below 1024 the program listens on: a non-root user cannot bind
//! them without `CAP_NET_BIND_SERVICE`. From sources (`app.listen(80)`,
//! `ListenAndServe(":80")`), Spring and Puma settings, command-line flags
//! (`--port 80`, `-b 0.0.0.0:80`, `runserver 0.0.0.0:80`) and environment
//! variables (`PORT=80`, `ASPNETCORE_URLS=http://+:80`). EXPOSE is the
//! caller's to read.

use std::sync::LazyLock;

use regex::Regex;

use super::{Evidence, LowPort};

/// Source and settings patterns; the capture `port` is the number.
static SOURCE: LazyLock<Vec<(&'static [&'static str], Regex)>> = LazyLock::new(|| {
    let rules: Vec<(&'static [&'static str], &str)> = vec![
        (&["js", "ts", "mjs", "cjs"], r"\.listen\(\s*(?P<port>\d+)"),
        (
            &["js", "ts", "mjs", "cjs"],
            r"PORT\s*(?:\|\||\?\?)\s*(?P<port>\d+)",
        ),
        (
            &["py"],
            r"(?:\.run|run_app|serve)\([^)]*\bport\s*=\s*(?P<port>\d+)",
        ),
        (
            &["py"],
            r#"^\s*bind\s*=\s*\[?\s*['"][^'"]*:(?P<port>\d+)['"]"#,
        ),
        (
            &["go"],
            r#"(?:ListenAndServe(?:TLS)?|Listen|\.Run|\.Start)\(\s*(?:"tcp",\s*)?"[^"]*:(?P<port>\d+)""#,
        ),
        (
            &["rb"],
            r"^\s*port\s+(?:ENV\.fetch\([^)]*\)\s*\{\s*)?(?P<port>\d+)",
        ),
        // actix-web/axum/tokio/std: `.bind("0.0.0.0:80")`, `TcpListener::bind("[::]:443")`,
        // `SocketAddr::from(([0, 0, 0, 0], 80))`.
        (&["rs"], r#"\bbind\(\s*"[^"]*:(?P<port>\d+)""#),
        (
            &["rs"],
            r"SocketAddr::from\(\(\s*\[[^\]]*\]\s*,\s*(?P<port>\d+)\s*\)\)",
        ),
        (&["cs"], r#"UseUrls\(\s*"[^"]*:(?P<port>\d+)"#),
        (&["cs"], r"Listen(?:Any|Local)IP\(\s*(?P<port>\d+)"),
        (&["ex", "exs"], r"port:\s*(?P<port>\d+)"),
        (&["properties"], r"^\s*server\.port\s*[=:]\s*(?P<port>\d+)"),
        (&["yml", "yaml"], r"^\s+port:\s*(?P<port>\d+)\s*$"),
    ];
    rules
        .into_iter()
        .map(|(exts, re)| (exts, Regex::new(re).expect("port pattern")))
        .collect()
});

/// Flags of a command line naming the port it listens on.
static FLAGS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:--port[= ]|--http-port[= ]|(?:^|\s)-p\s+|(?:-b|--bind|--listen|--urls|runserver)[= ]\S*:)(?P<port>\d+)\b|runserver\s+(?P<bare>\d+)\b",
    )
    .expect("flag pattern")
});

/// Low ports a source or settings file names.
pub fn scan(rel: &str, text: &str, out: &mut Vec<LowPort>) {
    if !text.contains("port")
        && !text.contains("PORT")
        && !text.contains("isten")
        && !text.contains("bind")
        && !text.contains("SocketAddr")
    {
        return;
    }
    let ext = rel.rsplit_once('.').map_or("", |(_, e)| e);
    let rules: Vec<&Regex> = SOURCE
        .iter()
        .filter(|(exts, _)| exts.contains(&ext))
        .map(|(_, re)| re)
        .collect();
    if rules.is_empty() {
        return;
    }
    for (i, line) in text.lines().enumerate() {
        for re in &rules {
            if let Some(port) = re.captures(line).and_then(|c| low(&c["port"])) {
                out.push(LowPort {
                    port,
                    code: super::writes::code(line),
                    evidence: Evidence::new(rel, i + 1),
                });
                break;
            }
        }
    }
}

/// A low port a command line's flags name.
pub fn in_command(text: &str) -> Option<u16> {
    let c = FLAGS.captures(text)?;
    low(c.name("port").or_else(|| c.name("bare"))?.as_str())
}

/// A low port an environment variable sets: `PORT`, `*_PORT`, `*_PORTS`
/// (a number), `ASPNETCORE_URLS` (`http://+:80`).
pub fn in_env(name: &str, value: &str) -> Option<u16> {
    if name == "ASPNETCORE_URLS" || name.ends_with("_URLS") {
        return value
            .split(';')
            .filter_map(|u| low(u.rsplit(':').next()?.trim_end_matches('/')))
            .next();
    }
    let portish = name == "PORT" || name.ends_with("_PORT") || name.ends_with("_PORTS");
    if portish {
        return low(value.split([',', ';']).next()?.trim());
    }
    None
}

fn low(s: &str) -> Option<u16> {
    s.parse::<u16>().ok().filter(|p| (1..1024).contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_env() {
        assert_eq!(in_command("gunicorn -b 0.0.0.0:80 app:app"), Some(80));
        assert_eq!(in_command("uvicorn main:app --port 443"), Some(443));
        assert_eq!(
            in_command("python manage.py runserver 0.0.0.0:80"),
            Some(80)
        );
        assert_eq!(in_command("uvicorn main:app --port 8000"), None);
        assert_eq!(in_env("PORT", "80"), Some(80));
        assert_eq!(in_env("ASPNETCORE_URLS", "http://+:80"), Some(80));
        assert_eq!(in_env("PORT", "8080"), None);
        assert_eq!(in_env("NAME", "80"), None);
    }

    #[test]
    fn sources() {
        let mut out = Vec::new();
        scan(
            "server.js",
            "app.listen(80, () => {})\napp.listen(3000)\n",
            &mut out,
        );
        scan("main.go", "http.ListenAndServe(\":443\", nil)\n", &mut out);
        // An actix-web server (found on a real repository: bind, no "port" word).
        scan(
            "src/main.rs",
            "    })\n    .bind(\"0.0.0.0:80\")?\n",
            &mut out,
        );
        scan(
            "src/bin.rs",
            "let addr = SocketAddr::from(([0, 0, 0, 0], 443));\nlet a = SocketAddr::from(([127, 0, 0, 1], 8080));\n",
            &mut out,
        );
        scan(
            "app.py",
            "web.run_app(app, host='0.0.0.0', port=80)\n",
            &mut out,
        );
        let got: Vec<(u16, String)> = out
            .iter()
            .map(|p| (p.port, p.evidence.to_string()))
            .collect();
        assert_eq!(
            got,
            vec![
                (80, "server.js:1".into()),
                (443, "main.go:1".into()),
                (80, "src/main.rs:2".into()),
                (443, "src/bin.rs:1".into()),
                (80, "app.py:1".into()),
            ]
        );
    }
}
