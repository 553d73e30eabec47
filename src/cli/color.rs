//! `--color auto|always|never` (global) and `NO_COLOR`: whether log lines and
//! terminal output carry ANSI escape codes. Colour is for a person at a
//! terminal; a pipe, a file or journald gets plain text (no-color.org).

use clap::ValueEnum;
use std::io::IsTerminal;

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    /// Only on a terminal, and not when NO_COLOR is set to a non-empty value.
    #[default]
    Auto,
    /// Always, even into a pipe (e.g. `| less -R`).
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether a stream that `is_terminal` (or not) gets colour, given the
    /// value of `NO_COLOR` (no-color.org: set and non-empty disables colour).
    pub fn decide(self, is_terminal: bool, no_color: Option<&str>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && no_color.is_none_or(str::is_empty),
        }
    }

    /// Whether stderr gets colour (the logs).
    pub fn for_stderr(self) -> bool {
        self.decide(std::io::stderr().is_terminal(), no_color().as_deref())
    }

    /// Whether stdout gets colour (check results).
    pub fn for_stdout(self) -> bool {
        self.decide(std::io::stdout().is_terminal(), no_color().as_deref())
    }
}

fn no_color() -> Option<String> {
    std::env::var_os("NO_COLOR").map(|v| v.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::ColorChoice::{self, *};

    #[test]
    fn colour_follows_the_choice_the_terminal_and_no_color() {
        let table: [(ColorChoice, bool, Option<&str>, bool); 8] = [
            (Auto, true, None, true),
            (Auto, false, None, false),
            (Auto, true, Some("1"), false),
            // An empty NO_COLOR does not count (no-color.org).
            (Auto, true, Some(""), true),
            (Always, false, None, true),
            (Always, false, Some("1"), true),
            (Never, true, None, false),
            (Never, false, None, false),
        ];
        for (choice, terminal, no_color, want) in table {
            assert_eq!(
                choice.decide(terminal, no_color),
                want,
                "{choice:?} terminal={terminal} NO_COLOR={no_color:?}"
            );
        }
    }
}
