//! `${VAR}` in string values: replaced by the environment variable's value at
//! load, so secrets live outside the file. `$${` writes a literal `${`. The
//! expanded [`Text`] remembers what was written, so error messages can name
//! the variable instead of echoing its (possibly secret) value.

/// A string value after expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text {
    /// The value to use.
    pub value: String,
    /// The value as written in the file.
    pub raw: String,
    /// Variables that were substituted, in order.
    pub vars: Vec<String>,
}

impl Text {
    /// The value for an error message: as written when it came from the
    /// environment ("the value of ${TOKEN}" when it is nothing else).
    pub fn shown(&self) -> String {
        match self.vars.as_slice() {
            [] => format!("{:?}", self.value),
            [var] if self.raw == format!("${{{var}}}") => format!("the value of ${{{var}}}"),
            _ => format!("{:?}", self.raw),
        }
    }

    /// " (the value of ${URL})" when the value came from the environment, else
    /// nothing: for values that may hold credentials even when written in the
    /// file (URLs with tokens), the error's position is the only pointer.
    pub fn source_note(&self) -> String {
        if self.uses_env() {
            format!(" ({})", self.shown())
        } else {
            String::new()
        }
    }

    /// True when some of the value came from the environment.
    pub fn uses_env(&self) -> bool {
        !self.vars.is_empty()
    }
}

/// Why a string could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EnvError {
    /// The variable is not set.
    #[error("environment variable ${{{0}}} is not set")]
    Undefined(String),
    /// `${` without its `}`.
    #[error("unterminated ${{ (write $${{ for a literal ${{)")]
    Unterminated,
    /// `${…}` holding something that cannot be a variable name.
    #[error("invalid variable name ${{{0}}} (letters, digits and _, not starting with a digit)")]
    BadName(String),
}

/// Expand every `${VAR}`; report every variable that is missing.
pub(crate) fn expand(
    raw: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Text, Vec<EnvError>> {
    let mut value = String::with_capacity(raw.len());
    let mut vars = Vec::new();
    let mut errors = Vec::new();
    let mut rest = raw;
    while let Some(i) = rest.find('$') {
        value.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("$${") {
            value.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let Some(end) = after.find('}') else {
                errors.push(EnvError::Unterminated);
                break;
            };
            let name = &after[..end];
            if !is_var_name(name) {
                errors.push(EnvError::BadName(name.to_string()));
            } else {
                match env(name) {
                    Some(v) => value.push_str(&v),
                    None => errors.push(EnvError::Undefined(name.to_string())),
                }
                vars.push(name.to_string());
            }
            rest = &after[end + 1..];
        } else {
            value.push('$');
            rest = &tail[1..];
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    value.push_str(rest);
    Ok(Text {
        value,
        raw: raw.to_string(),
        vars,
    })
}

fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn variables_are_replaced_and_escapes_kept_literal() {
        let cases = [
            ("plain", "plain"),
            ("Bearer ${TOKEN}", "Bearer s3cret"),
            ("${TOKEN}${TOKEN}", "s3crets3cret"),
            ("[${EMPTY}]", "[]"),
            ("cost: $5, $$, $", "cost: $5, $$, $"),
            ("literal $${TOKEN}", "literal ${TOKEN}"),
            // Scanned left to right: a lone "$" first, then the escape.
            ("$$${TOKEN}", "$${TOKEN}"),
        ];
        for (raw, expected) in cases {
            assert_eq!(expand(raw, &env).unwrap().value, expected, "{raw}");
        }
    }

    #[test]
    fn every_problem_in_a_value_is_reported() {
        let cases = [
            (
                "${MISSING} and ${ALSO}",
                vec![
                    EnvError::Undefined("MISSING".into()),
                    EnvError::Undefined("ALSO".into()),
                ],
            ),
            ("${TOKEN", vec![EnvError::Unterminated]),
            ("${1X}", vec![EnvError::BadName("1X".into())]),
            ("${}", vec![EnvError::BadName(String::new())]),
        ];
        for (raw, errors) in cases {
            assert_eq!(expand(raw, &env).unwrap_err(), errors, "{raw}");
        }
    }

    #[test]
    fn shown_values_never_contain_what_the_environment_supplied() {
        let cases = [
            ("${TOKEN}", "the value of ${TOKEN}"),
            ("Bearer ${TOKEN}", "\"Bearer ${TOKEN}\""),
            ("plain", "\"plain\""),
        ];
        for (raw, shown) in cases {
            let text = expand(raw, &env).unwrap();
            assert_eq!(text.shown(), shown);
            assert!(!text.shown().contains("s3cret"));
        }
    }

    #[test]
    fn error_messages_name_the_variable() {
        assert_eq!(
            EnvError::Undefined("SMTP_PASSWORD".into()).to_string(),
            "environment variable ${SMTP_PASSWORD} is not set"
        );
        assert_eq!(
            EnvError::Unterminated.to_string(),
            "unterminated ${ (write $${ for a literal ${)"
        );
    }
}
