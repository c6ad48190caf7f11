//! `CLASS=ACTION` rules, as `--policy` and `alexa policy set` take them.

use alexa_common::{action, class_id, CLASS_NAMES, NUM_CLASSES};
use anyhow::{bail, Result};

/// Applies `rules` (each `CLASS=ACTION`, or several comma-separated) to
/// `policy`; on any error `policy` is unchanged.
pub fn apply(policy: &[u8; NUM_CLASSES], rules: &[String]) -> Result<[u8; NUM_CLASSES]> {
    let mut out = *policy;
    for rule in rules.iter().flat_map(|r| r.split(',')) {
        let rule = rule.trim();
        if rule.is_empty() {
            continue;
        }
        let Some((class, act)) = rule.split_once('=') else {
            bail!("policy rule {rule:?} is not CLASS=ACTION");
        };
        let Some(id) = class_id(class.trim()) else {
            bail!(
                "policy rule {rule:?}: unknown class {:?} (classes: {})",
                class.trim(),
                CLASS_NAMES.join(", ")
            );
        };
        let Some(a) = action::NAMES.iter().position(|n| *n == act.trim()) else {
            bail!(
                "policy rule {rule:?}: unknown action {:?} (actions: pass, alert, drop)",
                act.trim()
            );
        };
        out[id as usize] = a as u8;
    }
    Ok(out)
}

pub fn action_name(a: u8) -> &'static str {
    action::NAMES.get(a as usize).copied().unwrap_or("pass")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_apply_and_errors_change_nothing() {
        let p = alexa_common::policy::default_policy();
        let q = apply(&p, &["ack=alert, justified=drop".into()]).unwrap();
        assert_eq!(q[class_id("ack").unwrap() as usize], action::ALERT);
        assert_eq!(q[class_id("justified").unwrap() as usize], action::DROP);
        let e = apply(&p, &["ack=alert".into(), "voice=drop".into()]).unwrap_err();
        assert!(e.to_string().contains("unknown class \"voice\""), "{e}");
        assert!(apply(&p, &["ack=maybe".into()]).is_err());
        assert!(apply(&p, &["ack".into()]).is_err());
    }
}
