//! Confusion matrix, per-class metrics, and their text tables.

use std::{collections::BTreeMap, fmt::Write as _};

use alexa_common::{CLASS_NAMES, NUM_CLASSES};

use super::file::{ClassMetrics, Metrics};

/// `m[true][predicted]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Confusion {
    pub m: [[u64; NUM_CLASSES]; NUM_CLASSES],
}

impl Confusion {
    pub fn add(&mut self, truth: u8, predicted: u8) {
        self.m[truth as usize][predicted as usize] += 1;
    }

    pub fn total(&self) -> u64 {
        self.m.iter().flatten().sum()
    }

    pub fn correct(&self) -> u64 {
        (0..NUM_CLASSES).map(|i| self.m[i][i]).sum()
    }

    pub fn support(&self, c: usize) -> u64 {
        self.m[c].iter().sum()
    }

    pub fn predicted(&self, c: usize) -> u64 {
        self.m.iter().map(|r| r[c]).sum()
    }

    pub fn accuracy(&self) -> f64 {
        ratio(self.correct(), self.total())
    }

    pub fn class(&self, c: usize) -> ClassMetrics {
        let tp = self.m[c][c];
        let precision = ratio(tp, self.predicted(c));
        let recall = ratio(tp, self.support(c));
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        ClassMetrics {
            precision,
            recall,
            f1,
            support: self.support(c),
        }
    }

    /// Classes that occur in the truth or the predictions.
    pub fn present(&self) -> impl Iterator<Item = usize> + '_ {
        (0..NUM_CLASSES).filter(|&c| self.support(c) > 0 || self.predicted(c) > 0)
    }

    /// Mean F1 over the classes present in the truth or the predictions.
    pub fn macro_f1(&self) -> f64 {
        let f1: Vec<f64> = self.present().map(|c| self.class(c).f1).collect();
        if f1.is_empty() {
            0.0
        } else {
            f1.iter().sum::<f64>() / f1.len() as f64
        }
    }

    pub fn metrics(&self) -> Metrics {
        Metrics {
            accuracy: round6(self.accuracy()),
            macro_f1: round6(self.macro_f1()),
            per_class: self
                .present()
                .map(|c| {
                    let m = self.class(c);
                    (
                        CLASS_NAMES[c].to_owned(),
                        ClassMetrics {
                            precision: round6(m.precision),
                            recall: round6(m.recall),
                            f1: round6(m.f1),
                            support: m.support,
                        },
                    )
                })
                .collect::<BTreeMap<_, _>>(),
        }
    }

    /// The report `alexa evaluate` prints; its last line is the macro-F1.
    pub fn report(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "accuracy: {:.4} ({} of {} rows)\n",
            self.accuracy(),
            self.correct(),
            self.total()
        );
        s += &self.tables();
        let _ = write!(s, "\nmacro-F1: {:.4}", self.macro_f1());
        s
    }

    /// Per-class precision, recall, F1 and support, then the confusion
    /// matrix (rows: true class), each line ending in a newline.
    pub fn tables(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<14} {:>9} {:>9} {:>9} {:>9}",
            "class", "precision", "recall", "f1", "support"
        );
        for (c, name) in CLASS_NAMES.iter().enumerate() {
            let m = self.class(c);
            if self.support(c) == 0 && self.predicted(c) == 0 {
                let _ = writeln!(s, "{:<14} {:>9} {:>9} {:>9} {:>9}", name, "-", "-", "-", 0);
            } else {
                let _ = writeln!(
                    s,
                    "{:<14} {:>9.4} {:>9.4} {:>9.4} {:>9}",
                    name, m.precision, m.recall, m.f1, m.support
                );
            }
        }
        let _ = writeln!(
            s,
            "\nconfusion matrix (rows: true class, columns: predicted)"
        );
        let w = 13;
        let _ = write!(s, "{:<14}", "true\\pred");
        for name in CLASS_NAMES {
            let _ = write!(s, " {:>w$}", name);
        }
        let _ = writeln!(s);
        for (t, row) in self.m.iter().enumerate() {
            let _ = write!(s, "{:<14}", CLASS_NAMES[t]);
            for v in row {
                let _ = write!(s, " {v:>w$}");
            }
            let _ = writeln!(s);
        }
        s
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_by_hand() {
        let mut c = Confusion::default();
        // class 0: 3 right, 1 predicted as 1; class 1: 2 right; class 6: 1 predicted as 1.
        for _ in 0..3 {
            c.add(0, 0);
        }
        c.add(0, 1);
        c.add(1, 1);
        c.add(1, 1);
        c.add(6, 1);
        assert_eq!(c.total(), 7);
        assert!((c.accuracy() - 5.0 / 7.0).abs() < 1e-12);
        let m1 = c.class(1);
        assert!((m1.precision - 0.5).abs() < 1e-12);
        assert!((m1.recall - 1.0).abs() < 1e-12);
        let m0 = c.class(0);
        assert!((m0.f1 - 2.0 * 0.75 / 1.75).abs() < 1e-12);
        assert_eq!(c.class(6).f1, 0.0);
        let want = (m0.f1 + m1.f1 + 0.0) / 3.0;
        assert!((c.macro_f1() - want).abs() < 1e-12);
        let r = c.report();
        assert!(r.lines().last().unwrap().starts_with("macro-F1: "));
        assert!(r.contains("not_justified"));
    }
}
