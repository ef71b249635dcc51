//! Knowledge of package-manager commands in RUN scripts.

use crate::syntax::shell::Command;

/// Is `cmd` `apt-get SUB` / `apt SUB` (options before SUB allowed)?
pub fn is_apt(cmd: &Command, sub: &str) -> bool {
    apt_subcommand(cmd).is_some_and(|(_, i)| cmd.words[i].value.as_deref() == Some(sub))
}

/// The apt program of a command and the index of its subcommand word.
pub fn apt_subcommand(cmd: &Command) -> Option<(&str, usize)> {
    let name = cmd.name()?;
    if name != "apt-get" && name != "apt" {
        return None;
    }
    let mut i = 1;
    while i < cmd.words.len() {
        let v = cmd.words[i].value.as_deref()?;
        if let Some(opt) = v.strip_prefix('-') {
            if matches!(
                opt,
                "o" | "c"
                    | "t"
                    | "-option"
                    | "-config-file"
                    | "-target-release"
                    | "-default-release"
            ) {
                i += 1;
            }
            i += 1;
            continue;
        }
        return Some((name, i));
    }
    None
}
