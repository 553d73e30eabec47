//! What a broken config reports: every problem found, each with the
//! file:line:column of the offending value, one per line.

use std::path::PathBuf;

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ConfigError {
    /// The config file.
    pub file: PathBuf,
    /// 1-based line of the offending value; 0 when the problem is the whole
    /// file (e.g. it cannot be read).
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong and what was expected. Never contains a secret.
    pub message: String,
}

impl ConfigError {
    fn render(&self) -> String {
        if self.line == 0 {
            format!("{}: {}", self.file.display(), self.message)
        } else {
            format!(
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

/// Every problem found in a config file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(line: usize, message: &str) -> ConfigError {
        ConfigError {
            file: PathBuf::from("monitors.yaml"),
            line,
            column: 7,
            message: message.into(),
        }
    }

    #[test]
    fn errors_render_one_per_line_with_file_line_and_column() {
        let all = ConfigErrors(vec![error(3, "first"), error(9, "second")]);
        assert_eq!(
            all.to_string(),
            "monitors.yaml:3:7: first\nmonitors.yaml:9:7: second"
        );
    }

    #[test]
    fn a_whole_file_error_has_no_position() {
        assert_eq!(
            error(0, "cannot read").to_string(),
            "monitors.yaml: cannot read"
        );
    }
}
