//! Just enough shell to read a command line from a package.json script, a
//! Procfile, a compose `command:` or a build script: simple commands, their
//! words unquoted. Application facts need names and flags, not semantics, so
//! substitutions and redirections stay as plain words.

/// The simple commands of `script`, split at `&&`, `||`, `;`, `|`, `&` and
/// newlines (outside quotes), comments and `\`-newlines dropped.
pub fn simple_commands(script: &str) -> Vec<Vec<String>> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();
    let end_word = |word: &mut String, in_word: &mut bool, words: &mut Vec<String>| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(n) => {
                    word.push(n);
                    in_word = true;
                }
                None => {}
            },
            '\'' => {
                in_word = true;
                for n in chars.by_ref() {
                    if n == '\'' {
                        break;
                    }
                    word.push(n);
                }
            }
            '"' => {
                in_word = true;
                while let Some(n) = chars.next() {
                    match n {
                        '"' => break,
                        '\\' => {
                            if let Some(m) = chars.next() {
                                if !matches!(m, '"' | '\\' | '$' | '`') {
                                    word.push('\\');
                                }
                                word.push(m);
                            }
                        }
                        _ => word.push(n),
                    }
                }
            }
            '#' if !in_word => {
                // A comment runs to the end of the line.
                while chars.peek().is_some_and(|&n| n != '\n') {
                    chars.next();
                }
            }
            ';' | '&' | '|' | '\n' => {
                end_word(&mut word, &mut in_word, &mut words);
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
            }
            c if c.is_whitespace() => end_word(&mut word, &mut in_word, &mut words),
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    end_word(&mut word, &mut in_word, &mut words);
    if !words.is_empty() {
        commands.push(words);
    }
    commands
}

/// Words that only start the next word as the real program: `exec`, `env`,
/// `npx`, `bundle exec`, `poetry run`, init and user-switch wrappers. Returns
/// the leading `NAME=value` assignments and the program's words, its name
/// without a path (`./node_modules/.bin/next` is `next`).
pub fn unwrap(words: &[String]) -> (Vec<(String, String)>, Vec<String>) {
    let mut env = Vec::new();
    let mut rest: &[String] = words;
    while let Some(first) = rest.first() {
        if let Some((name, value)) = assignment(first) {
            env.push((name, value));
            rest = &rest[1..];
            continue;
        }
        let name = program_name(first);
        let skip = match name {
            "exec" | "env" | "npx" | "nohup" | "time" | "command" => 1,
            "tini" | "dumb-init" | "docker-init" => {
                // Their options, then `--`.
                1 + rest[1..].iter().take_while(|w| w.starts_with('-')).count()
            }
            "gosu" | "su-exec" | "chpst" => 2,
            "bundle" | "poetry" | "pipenv" | "uv" | "pdm" | "hatch"
                if rest.get(1).is_some_and(|w| w == "exec" || w == "run") =>
            {
                2
            }
            "yarn" | "pnpm" if rest.get(1).is_some_and(|w| w == "exec" || w == "dlx") => 2,
            "python" | "python3" | "python2" if rest.get(1).is_some_and(|w| w == "-m") => 2,
            _ => 0,
        };
        if skip == 0 {
            break;
        }
        rest = rest.get(skip..).unwrap_or(&[]);
        if rest.first().is_some_and(|w| w == "--") {
            rest = &rest[1..];
        }
    }
    let mut out: Vec<String> = rest.to_vec();
    if let Some(first) = out.first_mut() {
        *first = program_name(first).to_string();
    }
    (env, out)
}

/// `NAME=value` as a pair, when `word` is a shell assignment.
pub fn assignment(word: &str) -> Option<(String, String)> {
    let (name, value) = word.split_once('=')?;
    let valid = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then(|| (name.to_string(), value.to_string()))
}

/// The last path segment of a program word.
fn program_name(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn commands_split_at_operators_outside_quotes() {
        let got = simple_commands("cd /app && npm run build; echo 'a && b' # note\nnode x.js");
        assert_eq!(
            got,
            vec![
                words("cd /app"),
                words("npm run build"),
                vec!["echo".to_string(), "a && b".to_string()],
                words("node x.js"),
            ]
        );
    }

    #[test]
    fn wrappers_and_assignments_are_unwrapped() {
        let (env, w) = unwrap(&words("exec RAILS_ENV=development bundle exec rails s"));
        assert_eq!(env, vec![("RAILS_ENV".into(), "development".into())]);
        assert_eq!(w, words("rails s"));
        let (_, w) = unwrap(&words("/usr/bin/tini -- ./node_modules/.bin/next dev"));
        assert_eq!(w, words("next dev"));
        let (_, w) = unwrap(&words("python -m uvicorn app:app --reload"));
        assert_eq!(w, words("uvicorn app:app --reload"));
    }
}
