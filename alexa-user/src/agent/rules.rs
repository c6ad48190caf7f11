//! `CLASS=ACTION` rules, as `--policy`, the config file and `alexa policy
//! set` take them: parsed once, where the text is read, into a [`Rule`].

use std::{fmt, str::FromStr};

use alexa_common::{
    policy::{Action, Policy},
    Class,
};
use anyhow::{anyhow, Result};

/// One `CLASS=ACTION` rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub class: Class,
    pub action: Action,
}

impl FromStr for Rule {
    type Err = String;
    /// One rule; the error names the rule and the part that is wrong.
    fn from_str(rule: &str) -> Result<Rule, String> {
        let Some((class, action)) = rule.split_once('=') else {
            return Err(format!("policy rule {rule:?} is not CLASS=ACTION"));
        };
        let (class, action) = (class.trim(), action.trim());
        Ok(Rule {
            class: class
                .parse()
                .map_err(|e| format!("policy rule {rule:?}: {class:?}: {e}"))?,
            action: action
                .parse()
                .map_err(|e| format!("policy rule {rule:?}: {action:?}: {e}"))?,
        })
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.class, self.action)
    }
}

/// Rules as given: each `CLASS=ACTION`, or several comma-separated.
pub fn parse<S: AsRef<str>>(given: &[S]) -> Result<Vec<Rule>> {
    given
        .iter()
        .flat_map(|r| r.as_ref().split(','))
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| r.parse().map_err(|e: String| anyhow!(e)))
        .collect()
}

/// `policy` with `rules` applied in order.
pub fn apply(policy: &Policy, rules: &[Rule]) -> Policy {
    let mut out = *policy;
    for r in rules {
        out[r.class as usize] = r.action;
    }
    out
}

/// The whole policy as rules, in class order.
pub fn listed(policy: &Policy) -> Vec<Rule> {
    Class::ALL
        .into_iter()
        .zip(policy)
        .map(|(class, action)| Rule {
            class,
            action: *action,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_once_and_apply() {
        let p = alexa_common::policy::default_policy();
        let given = parse(&["ack=alert, justified=drop"]).unwrap();
        let q = apply(&p, &given);
        assert_eq!(q[Class::Ack as usize], Action::Alert);
        assert_eq!(q[Class::Justified as usize], Action::Drop);
        assert_eq!(q[Class::NotJustified as usize], Action::Drop);
        assert_eq!(given[0].to_string(), "ack=alert");
        let e = parse(&["ack=alert", "voice=drop"]).unwrap_err();
        assert!(e.to_string().contains("\"voice\": unknown class"), "{e}");
        let e = parse(&["ack=maybe"]).unwrap_err();
        assert!(e.to_string().contains("\"maybe\": unknown action"), "{e}");
        assert!(parse(&["ack"]).is_err());
        assert_eq!(apply(&p, &listed(&q)), q);
    }
}
