//! Evidence that the program writes files: SQLite databases, media and
//! upload folders, directories it creates, pid and log files, files opened
//! for writing. Read line by line from the sources and settings the walk
//! found; a file without any trigger word is passed over by one search.
//!
//! A line is evidence, not proof: `open(path, 'w')` in a function never
//! called still counts. Reads (`open(x)`, `open(x, 'rb')`) never count.

use std::sync::LazyLock;

use regex::Regex;

use super::{Evidence, Write, WriteKind};

/// One pattern: the capture `arg` is what is written (a path expression);
/// `mode`, when captured, must open for writing.
struct Rule {
    kind: WriteKind,
    exts: &'static [&'static str],
    re: Regex,
}

const PY: &[&str] = &["py"];
const JS: &[&str] = &["js", "ts", "mjs", "cjs"];
const ANY: &[&str] = &[];

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    use WriteKind::*;
    let arg = r"(?P<arg>[^,()]+(?:\([^()]*\))?[^,()]*)";
    let rules: Vec<(WriteKind, &[&str], String)> = vec![
        (Sqlite, ANY, r#"sqlite:///(?P<arg>[^'"\s)]+)"#.into()),
        (Sqlite, PY, format!(r"sqlite3\.connect\(\s*{arg}")),
        // Werkzeug's FileStorage.save(path), PIL's Image.save(path),
        // openpyxl's save(path): a positional path. Keyword calls such as a
        // Django form's save(commit=False) write no file.
        (
            OpenForWrite,
            PY,
            r"\.save\(\s*(?P<arg>[^,()=\s*][^,()=\s]*)\s*[,)]".into(),
        ),
        (
            Sqlite,
            JS,
            format!(r"new\s+(?:sqlite3\.)?Database\(\s*{arg}"),
        ),
        (
            Sqlite,
            &["go"],
            format!(r#"sql\.Open\(\s*"sqlite3?"\s*,\s*{arg}"#),
        ),
        (
            MediaRoot,
            PY,
            r"^\s*MEDIA_ROOT\s*=\s*(?P<arg>.+?)\s*$".into(),
        ),
        (
            StaticRoot,
            PY,
            r"^\s*STATIC_ROOT\s*=\s*(?P<arg>.+?)\s*$".into(),
        ),
        (
            Uploads,
            ANY,
            r#"(?:UPLOAD_FOLDER|UPLOAD_DIR|UPLOADS_DIR)['"]?\]?\s*=\s*(?P<arg>.+?)\s*$"#.into(),
        ),
        (
            Uploads,
            JS,
            r#"multer\(\s*\{[^}]*dest:\s*(?P<arg>['"][^'"]+['"])"#.into(),
        ),
        (Mkdir, PY, format!(r"os\.(?:makedirs|mkdir)\(\s*{arg}")),
        (
            Mkdir,
            PY,
            r"(?P<arg>Path\([^)]*\)(?:\s*/\s*\S+?)*)\.mkdir\(".into(),
        ),
        (
            Mkdir,
            JS,
            format!(
                r"(?:mkdirSync|mkdirp\.sync|mkdirp|fs\.mkdir|fsp\.mkdir|promises\.mkdir|ensureDirSync|ensureDir)\(\s*{arg}"
            ),
        ),
        (
            Mkdir,
            &["rb"],
            r"(?:FileUtils\.mkdir_p|Dir\.mkdir)\(?\s*(?P<arg>[^,)]+)".into(),
        ),
        (Mkdir, &["go"], format!(r"os\.Mkdir(?:All)?\(\s*{arg}")),
        (Mkdir, &["rs"], format!(r"create_dir(?:_all)?\(\s*{arg}")),
        (
            Mkdir,
            &["java", "kt"],
            format!(
                r"(?:Files\.createDirector(?:y|ies)\(\s*{arg}|new\s+File\((?P<arg2>[^)]+)\)\.mkdirs?\()"
            ),
        ),
        (Mkdir, &["php"], format!(r"\bmkdir\(\s*{arg}")),
        (
            Mkdir,
            &["cs"],
            format!(r"Directory\.CreateDirectory\(\s*{arg}"),
        ),
        (Mkdir, &["ex", "exs"], format!(r"File\.mkdir_p!?\(\s*{arg}")),
        (
            PidFile,
            &["py", "rb"],
            r"^\s*pidfile\s*[=(]?\s*(?P<arg>.+?)\s*$".into(),
        ),
        (
            LogFile,
            &["py", "java", "kt"],
            format!(r"\b(?:Rotating|TimedRotating|Watched)?FileHandler\(\s*{arg}"),
        ),
        (
            LogFile,
            PY,
            format!(r"basicConfig\([^)]*filename\s*=\s*{arg}"),
        ),
        (
            LogFile,
            PY,
            r#"['"]filename['"]\s*:\s*(?P<arg>[^,}]+)"#.into(),
        ),
        (
            LogFile,
            JS,
            r#"filename:\s*(?P<arg>['"][^'"]+\.log['"])"#.into(),
        ),
        (
            LogFile,
            &["rb"],
            r#"Logger\.new\(\s*(?P<arg>['"][^'"]+['"]|Rails\.root[^)]*)"#.into(),
        ),
        (
            OpenForWrite,
            PY,
            format!(r#"\bopen\(\s*{arg},\s*(?:mode\s*=\s*)?[fbr]?['"](?P<mode>[rwxabt+]+)['"]"#),
        ),
        (
            OpenForWrite,
            JS,
            format!(
                r"\b(?:writeFileSync|writeFile|appendFileSync|appendFile|createWriteStream)\(\s*{arg}"
            ),
        ),
        (
            OpenForWrite,
            &["go"],
            format!(r"(?:os\.Create|os\.WriteFile|ioutil\.WriteFile)\(\s*{arg}"),
        ),
        (
            OpenForWrite,
            &["go"],
            r"os\.OpenFile\(\s*(?P<arg>[^,]+),[^)]*O_(?:WRONLY|RDWR|CREATE|APPEND)".into(),
        ),
        (
            OpenForWrite,
            &["rs"],
            format!(r"(?:File::create|fs::write)\(\s*{arg}"),
        ),
        (
            OpenForWrite,
            &["rs"],
            r"OpenOptions::new\(\).*\.(?:write|append|create)\(true\).*\.open\(\s*(?P<arg>[^)]+)"
                .into(),
        ),
        (OpenForWrite, &["rb"], format!(r"File\.write\(\s*{arg}")),
        (
            OpenForWrite,
            &["rb", "php"],
            format!(r#"(?:File\.open|fopen)\(\s*{arg},\s*['"](?P<mode>[rwaxcbt+]+)['"]"#),
        ),
        (
            OpenForWrite,
            &["java", "kt"],
            format!(
                r"(?:new\s+(?:FileWriter|FileOutputStream)|Files\.(?:write|writeString|newBufferedWriter|newOutputStream))\(\s*{arg}"
            ),
        ),
        (
            OpenForWrite,
            &["java", "kt"],
            r"(?P<arg>[\w.]+(?:\([^()]*\))?)\.createNewFile\(".into(),
        ),
        (
            OpenForWrite,
            &["php"],
            format!(r"file_put_contents\(\s*{arg}"),
        ),
        (
            OpenForWrite,
            &["cs"],
            format!(
                r"(?:File\.(?:WriteAll\w*|AppendAll\w*|Create|OpenWrite|AppendText|CreateText)|new\s+StreamWriter)\(\s*{arg}"
            ),
        ),
        (
            OpenForWrite,
            &["ex", "exs"],
            format!(r"File\.write!?\(\s*{arg}"),
        ),
    ];
    rules
        .into_iter()
        .map(|(kind, exts, re)| Rule {
            kind,
            exts,
            re: Regex::new(&re).unwrap_or_else(|e| panic!("{re}: {e}")),
        })
        .collect()
});

/// Words at least one rule needs on the line: a file with none of them
/// is passed over in one search.
static TRIGGERS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"sqlite|\.save\(|Database\(|MEDIA_ROOT|STATIC_ROOT|UPLOAD|multer|mkdir|makedirs|MkdirAll|create_dir|[Dd]irector(?:y|ies)|pidfile|FileHandler|filename|Logger\.new|open\(|OpenFile|[wW]rite|OutputStream|append|[cC]reate|file_put_contents",
    )
    .expect("trigger pattern")
});

/// The write evidence of one file (`rel` relative to the context).
pub fn scan(rel: &str, text: &str, out: &mut Vec<Write>) {
    if !TRIGGERS.is_match(text) {
        return;
    }
    let ext = rel.rsplit_once('.').map_or("", |(_, e)| e);
    let rules: Vec<&Rule> = RULES
        .iter()
        .filter(|r| r.exts.is_empty() || r.exts.contains(&ext))
        .collect();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if !TRIGGERS.is_match(line) || is_comment(line) {
            continue;
        }
        if line.contains("django.db.backends.sqlite3") {
            out.push(django_sqlite(rel, &lines, i));
            continue;
        }
        for rule in &rules {
            let Some(c) = rule.re.captures(line) else {
                continue;
            };
            if let Some(mode) = c.name("mode")
                && !mode.as_str().contains(['w', 'a', 'x', 'c', '+'])
            {
                continue;
            }
            let arg = c
                .name("arg")
                .or_else(|| c.name("arg2"))
                .map_or("", |m| m.as_str())
                .trim();
            if rule.kind == WriteKind::Sqlite && arg.contains(":memory:") {
                continue;
            }
            let path = if let Some(value) = constant_value(&lines, arg) {
                // `DATABASE = 'gtfs.db'` ... `sqlite3.connect(DATABASE)`.
                literal_path(value)
            } else if rule.re.as_str().starts_with("sqlite:///") {
                // `sqlite:///db.sqlite3`: the rest of the URL is the path.
                Some(arg.to_string())
            } else {
                literal_path(arg)
            };
            out.push(Write {
                kind: rule.kind,
                path,
                code: code(line),
                evidence: Evidence::new(rel, i + 1),
            });
            break;
        }
    }
}

/// The value of `name` when the file assigns it once, at the start of a
/// line (`DATABASE = 'gtfs.db'`, `const DB = "data.db";`, a function's
/// `path = os.path.join('/uploads', name)`); None for anything else.
fn constant_value<'a>(lines: &[&'a str], name: &str) -> Option<&'a str> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let mut values = lines.iter().filter_map(|line| {
        let line = line.trim_start();
        let rest = ["const ", "let ", "var ", ""]
            .iter()
            .find_map(|k| line.strip_prefix(k)?.strip_prefix(name))?;
        let value = rest.trim_start().strip_prefix('=')?;
        (!value.starts_with('=')).then(|| value.trim().trim_end_matches(';').trim_end())
    });
    let first = values.next()?;
    values.next().is_none().then_some(first)
}

/// Django's `'ENGINE': 'django.db.backends.sqlite3'`: the database file is
/// the `NAME` within a few lines of it.
fn django_sqlite(rel: &str, lines: &[&str], at: usize) -> Write {
    static NAME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"['"]NAME['"]\s*:\s*(?P<arg>.+?),?\s*$"#).expect("NAME pattern")
    });
    let near = at.saturating_sub(4)..(at + 5).min(lines.len());
    let found = near
        .clone()
        .find_map(|i| NAME.captures(lines[i]).map(|c| (i, c["arg"].to_string())));
    match found {
        Some((i, arg)) => Write {
            kind: WriteKind::Sqlite,
            path: literal_path(&arg),
            code: code(lines[i]),
            evidence: Evidence::new(rel, i + 1),
        },
        None => Write {
            kind: WriteKind::Sqlite,
            path: None,
            code: code(lines[at]),
            evidence: Evidence::new(rel, at + 1),
        },
    }
}

/// Rails' `config/database.yml`: a `database:` of an sqlite3 adapter, in
/// any environment but `test`.
pub fn rails_database(rel: &str, text: &str, out: &mut Vec<Write>) {
    if !text.contains("sqlite3") {
        return;
    }
    let mut section = "";
    for (i, line) in text.lines().enumerate() {
        if !line.starts_with([' ', '\t', '#']) && line.ends_with(':') {
            section = line.trim_end_matches(':');
            continue;
        }
        let Some(db) = line.trim().strip_prefix("database:") else {
            continue;
        };
        let db = db.trim().trim_matches(['"', '\'']);
        let sqlite_file = db.ends_with(".sqlite3") || db.ends_with(".db") || db.starts_with("db/");
        if section != "test" && sqlite_file {
            out.push(Write {
                kind: WriteKind::Sqlite,
                path: Some(db.to_string()),
                code: format!("{section}: {}", line.trim()),
                evidence: Evidence::new(rel, i + 1),
            });
        }
    }
}

fn is_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('#') || t.starts_with("//") || t.starts_with("* ") || t.starts_with("/*")
}

/// The line as shown: trimmed, at most 100 characters.
pub fn code(line: &str) -> String {
    let t = line.trim();
    match t.char_indices().nth(100) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.to_string(),
    }
}

/// Folders or files a path expression names below the program's folder
/// (or absolutely): `'db.sqlite3'`, `BASE_DIR / 'media'`,
/// `os.path.join(BASE_DIR, 'a', 'b')`, `path.join(__dirname, 'uploads')`.
/// None for anything else (a variable, an environment lookup).
pub fn literal_path(arg: &str) -> Option<String> {
    const ANCHORS: &[&str] = &[
        "BASE_DIR",
        "PROJECT_ROOT",
        "ROOT_DIR",
        "BASE_PATH",
        "APP_ROOT",
        "__dirname",
        "process.cwd()",
        "os.getcwd()",
        "Rails.root",
        "app.root_path",
        "Path(__file__)",
        "os.path.dirname(__file__)",
    ];
    let arg = arg.trim();
    // `str(BASE_DIR / 'db.sqlite3')`, `os.fspath(...)`: the path inside.
    let arg = ["str(", "os.fspath("]
        .iter()
        .find_map(|w| arg.strip_prefix(w)?.strip_suffix(')'))
        .unwrap_or(arg)
        .trim();
    let anchored = ANCHORS.iter().any(|a| {
        arg.strip_prefix("os.path.join(")
            .or_else(|| arg.strip_prefix("path.join("))
            .or_else(|| arg.strip_prefix("path.resolve("))
            .or_else(|| arg.strip_prefix("Path.Combine("))
            .unwrap_or(arg)
            .trim_start()
            .starts_with(a)
    });
    let starts_quoted = arg.starts_with(['\'', '"', '`']);
    let join_args = ["os.path.join(", "path.join(", "path.resolve("]
        .iter()
        .find_map(|w| arg.strip_prefix(w)?.strip_suffix(')'));
    // `os.path.join('/uploads', name)`: an absolute folder first.
    let absolute_join = join_args.is_some_and(|a| {
        let a = a.trim_start();
        a.starts_with(['\'', '"', '`']) && a[1..].starts_with('/')
    });
    if !anchored && !starts_quoted && !absolute_join {
        return None;
    }
    // The last argument a name the program makes (`name`, `f.filename`):
    // the literal part is the folder it writes into, marked by a final `/`.
    let into_folder = join_args.is_some_and(|a| {
        a.rsplit(',')
            .next()
            .is_some_and(|last| !last.trim().starts_with(['\'', '"', '`']))
            && a.contains(',')
    });
    let mut parts = Vec::new();
    let mut chars = arg.char_indices();
    while let Some((i, c)) = chars.next() {
        if matches!(c, '\'' | '"' | '`') {
            let rest = &arg[i + 1..];
            let end = rest.find(c)?;
            let lit = &rest[..end];
            if lit.contains("${") || lit.contains('{') {
                return None;
            }
            parts.push(lit.trim_start_matches("./").trim_end_matches('/'));
            for _ in 0..=end {
                chars.next();
            }
            if starts_quoted {
                break;
            }
        }
    }
    let joined = parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/");
    (!joined.is_empty()).then(|| {
        if into_folder {
            format!("{joined}/")
        } else {
            joined
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(rel: &str, text: &str) -> Vec<(WriteKind, Option<String>, usize)> {
        let mut out = Vec::new();
        scan(rel, text, &mut out);
        out.into_iter()
            .map(|w| (w.kind, w.path, w.evidence.line))
            .collect()
    }

    #[test]
    fn reads_are_not_writes() {
        assert!(
            found(
                "a.py",
                "data = open('x.json').read()\nf = open('y', 'rb')\n"
            )
            .is_empty()
        );
        assert_eq!(
            found(
                "a.py",
                "with open(os.path.join(BASE_DIR, 'out.txt'), 'w') as f:\n"
            ),
            vec![(WriteKind::OpenForWrite, Some("out.txt".into()), 1)]
        );
        assert_eq!(
            found("a.py", "f = open(path, mode='a')\n"),
            vec![(WriteKind::OpenForWrite, None, 1)]
        );
    }

    #[test]
    fn a_positional_save_writes_a_keyword_save_does_not() {
        // An upload saved with werkzeug's FileStorage.save (a real repository).
        assert_eq!(
            found("app.py", "        file.save(file_path)\n"),
            vec![(WriteKind::OpenForWrite, None, 1)]
        );
        assert_eq!(
            found("app.py", "img.save('thumb.png')\n"),
            vec![(WriteKind::OpenForWrite, Some("thumb.png".into()), 1)]
        );
        assert!(found("views.py", "obj = form.save(commit=False)\nobj.save()\n").is_empty());
        // A model's save passing its arguments on (a real repository).
        assert!(found("models.py", "        super().save(*args, **kwargs)\n").is_empty());
    }

    #[test]
    fn django_sqlite_names_its_file() {
        let text = "DATABASES = {\n    'default': {\n        'ENGINE': 'django.db.backends.sqlite3',\n        'NAME': BASE_DIR / 'db.sqlite3',\n    }\n}\n";
        assert_eq!(
            found("settings.py", text),
            vec![(WriteKind::Sqlite, Some("db.sqlite3".into()), 4)]
        );
    }

    #[test]
    fn a_module_constant_names_the_path() {
        let text = "import sqlite3\nDATABASE = 'gtfs.db'\n\ndef get():\n    return sqlite3.connect(DATABASE)\n";
        assert_eq!(
            found("app.py", text),
            vec![(WriteKind::Sqlite, Some("gtfs.db".to_string()), 5)]
        );
        // Assigned twice: which value holds is not known.
        let twice = format!("{text}DATABASE = 'other.db'\n");
        assert_eq!(found("app.py", &twice), vec![(WriteKind::Sqlite, None, 5)]);
    }

    #[test]
    fn a_variable_assigned_once_in_a_function_names_the_folder() {
        let text = "def upload(file, name):\n    file_path = os.path.join('/uploads', name)\n    file.save(file_path)\n";
        let found = found("app.py", text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1.as_deref(), Some("/uploads/"));
    }

    #[test]
    fn literal_paths() {
        assert_eq!(
            literal_path("os.path.join('/uploads', filename)").as_deref(),
            Some("/uploads/")
        );
        assert_eq!(
            literal_path("os.path.join(BASE_DIR, 'db.sqlite3')").as_deref(),
            Some("db.sqlite3")
        );
        assert_eq!(literal_path("os.path.join(folder, 'x')"), None);
        assert_eq!(
            literal_path("str(BASE_DIR / 'db.sqlite3')").as_deref(),
            Some("db.sqlite3")
        );
        assert_eq!(literal_path("'uploads/'").as_deref(), Some("uploads"));
        assert_eq!(
            literal_path("path.join(__dirname, 'public', 'uploads')").as_deref(),
            Some("public/uploads")
        );
        assert_eq!(literal_path("os.environ.get('DIR', '/data')"), None);
        assert_eq!(
            literal_path("\"/var/log/app.log\"").as_deref(),
            Some("/var/log/app.log")
        );
    }
}
