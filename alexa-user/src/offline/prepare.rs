//! `alexa prepare`: the paper's section 5 steps on a dataset CSV. The
//! content type's NaN (an empty cell, `nan`) becomes 0; `date`, `dstip` and
//! the constant `synchronized` are dropped; a seeded random share of the
//! `ack` rows is kept (5% in the paper), every other row is kept, in order.

use std::{collections::BTreeMap, path::Path};

use alexa_common::{class_id, CLASS_NAMES};
use anyhow::{bail, Context as _, Result};
use rand::{seq::index::sample, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{offline::csv::Records, util::atomic_file::AtomicFile, util::text::one_line};

/// Columns `prepare` drops.
pub const DROPPED: [&str; 3] = ["date", "dstip", "synchronized"];

#[derive(Clone, Copy, Debug)]
pub struct PrepareOptions {
    /// Share of `ack` rows kept, in [0, 1].
    pub ack_keep: f64,
    pub seed: u64,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            ack_keep: 0.05,
            seed: 1,
        }
    }
}

/// Rows per class name before and after (empty class as `""`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prepared {
    pub before: BTreeMap<String, u64>,
    pub after: BTreeMap<String, u64>,
    pub rows_in: u64,
    pub rows_out: u64,
    /// Content-type cells that were NaN (empty or `nan`) and became 0.
    pub nan_fixed: u64,
}

impl Prepared {
    /// The class table, paper's class order, before and after.
    pub fn table(&self) -> String {
        let mut s = format!("{:<14} {:>8} {:>8}\n", "class", "before", "after");
        let mut names: Vec<&str> = CLASS_NAMES.to_vec();
        for k in self.before.keys() {
            if !names.contains(&k.as_str()) {
                names.push(k);
            }
        }
        for n in names {
            let b = self.before.get(n).copied().unwrap_or(0);
            let a = self.after.get(n).copied().unwrap_or(0);
            let shown = if n.is_empty() { "(none)" } else { n };
            s += &format!("{shown:<14} {b:>8} {a:>8}\n");
        }
        s += &format!("{:<14} {:>8} {:>8}\n", "total", self.rows_in, self.rows_out);
        s
    }
}

fn is_nan(cell: &str) -> bool {
    let c = cell.trim();
    c.is_empty() || c.eq_ignore_ascii_case("nan")
}

/// Which of `acks` ack rows (in file order) the paper's down-sampling
/// keeps: a seeded random `ack_keep` share, rounded.
pub fn ack_keep_mask(acks: usize, opts: &PrepareOptions) -> Vec<bool> {
    let keep_n = ((acks as f64) * opts.ack_keep).round() as usize;
    let mut keep = vec![false; acks];
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    for i in sample(&mut rng, acks, keep_n.min(acks)).into_iter() {
        keep[i] = true;
    }
    keep
}

/// Prepares `input` into `out`.
pub fn prepare(input: &Path, out: &Path, opts: &PrepareOptions) -> Result<Prepared> {
    if !(0.0..=1.0).contains(&opts.ack_keep) {
        bail!("--ack-keep must be between 0 and 1, not {}", opts.ack_keep);
    }
    // Pass 1: check the header, count the classes and the ack rows.
    let mut r = Records::open(input)?;
    let header = r.header().clone();
    let class_col = r
        .column("class")
        .with_context(|| format!("{}: line 1: no `class` column", input.display()))?;
    let ct_col = r.column("content_type");
    let keep_cols: Vec<usize> = (0..header.len())
        .filter(|i| !DROPPED.contains(&&header[*i]))
        .collect();
    let mut res = Prepared::default();
    let mut acks = 0usize;
    while let Some((line, rec)) = r.next_record()? {
        let class = rec.get(class_col).unwrap_or("").trim();
        if !class.is_empty() && class_id(class).is_none() {
            bail!(
                "{}: line {line}: unknown class `{}`",
                input.display(),
                one_line(class)
            );
        }
        if let Some(i) = ct_col {
            let cell = rec.get(i).unwrap_or("");
            if !is_nan(cell) && cell.trim().parse::<f64>().is_err() {
                bail!(
                    "{}: line {line}: content_type `{}` is not a number",
                    input.display(),
                    one_line(cell)
                );
            }
        }
        *res.before.entry(class.to_owned()).or_default() += 1;
        res.rows_in += 1;
        acks += (class == "ack") as usize;
    }
    if res.rows_in == 0 {
        bail!("{}: line 2: no data rows after the header", input.display());
    }
    let keep = ack_keep_mask(acks, opts);

    // Pass 2: write.
    let mut r = Records::open(input)?;
    let mut file = AtomicFile::create(out)?;
    {
        let mut w = csv::Writer::from_writer(file.writer());
        let out_header: Vec<&str> = keep_cols.iter().map(|i| &header[*i]).collect();
        w.write_record(&out_header)
            .with_context(|| format!("{}: cannot write", out.display()))?;
        let mut ack_i = 0usize;
        let mut cells: Vec<String> = Vec::with_capacity(keep_cols.len());
        while let Some((_, rec)) = r.next_record()? {
            let class = rec.get(class_col).unwrap_or("").trim();
            if class == "ack" {
                ack_i += 1;
                if !keep[ack_i - 1] {
                    continue;
                }
            }
            cells.clear();
            for &i in &keep_cols {
                let cell = rec.get(i).unwrap_or("");
                if Some(i) == ct_col && is_nan(cell) {
                    res.nan_fixed += 1;
                    cells.push("0".to_owned());
                } else {
                    cells.push(cell.to_owned());
                }
            }
            w.write_record(&cells)
                .with_context(|| format!("{}: cannot write", out.display()))?;
            *res.after.entry(class.to_owned()).or_default() += 1;
            res.rows_out += 1;
        }
        w.flush()
            .with_context(|| format!("{}: cannot write", out.display()))?;
    }
    file.commit()?;
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str, opts: PrepareOptions) -> Result<(String, Prepared)> {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("alexa-prepare-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let (i, o) = (dir.join("in.csv"), dir.join("out.csv"));
        std::fs::write(&i, input)?;
        let p = prepare(&i, &o, &opts);
        let text = std::fs::read_to_string(&o).unwrap_or_default();
        std::fs::remove_dir_all(&dir)?;
        Ok((text, p?))
    }

    const INPUT: &str = "date,length,dstip,dstport,highest_layer,delta,ack_flag,microphone,content_type,synchronized,class,srcport\n\
2021-03-01 09:00:00.000000,0,203.0.113.1,443,1,0.000000,1,1,,1,ack,40000\n\
2021-03-01 09:00:00.100000,100,203.0.113.1,443,0,30.002000,1,1,23,1,syn,40000\n\
2021-03-01 09:00:00.200000,0,203.0.113.1,443,1,0.100000,1,1,NaN,1,ack,40000\n\
2021-03-01 09:00:00.300000,48,192.0.2.123,123,2,0.000000,0,1,nan,1,not_relevant,40001\n\
2021-03-01 09:00:00.400000,0,203.0.113.1,443,1,0.200000,1,0,0,1,ack,40000\n";

    #[test]
    fn keeps_everything_with_keep_one_and_fixes_nan() {
        let (text, p) = run(
            INPUT,
            PrepareOptions {
                ack_keep: 1.0,
                seed: 3,
            },
        )
        .unwrap();
        assert_eq!(
            text,
            "length,dstport,highest_layer,delta,ack_flag,microphone,content_type,class,srcport\n\
0,443,1,0.000000,1,1,0,ack,40000\n\
100,443,0,30.002000,1,1,23,syn,40000\n\
0,443,1,0.100000,1,1,0,ack,40000\n\
48,123,2,0.000000,0,1,0,not_relevant,40001\n\
0,443,1,0.200000,1,0,0,ack,40000\n"
        );
        assert_eq!(p.nan_fixed, 3);
        assert_eq!((p.rows_in, p.rows_out), (5, 5));
        assert_eq!(p.before.get("ack"), Some(&3));
    }

    #[test]
    fn drops_acks_by_the_share_and_keeps_the_rest_in_order() {
        let (text, p) = run(
            INPUT,
            PrepareOptions {
                ack_keep: 0.0,
                seed: 3,
            },
        )
        .unwrap();
        assert_eq!(
            text,
            "length,dstport,highest_layer,delta,ack_flag,microphone,content_type,class,srcport\n\
100,443,0,30.002000,1,1,23,syn,40000\n\
48,123,2,0.000000,0,1,0,not_relevant,40001\n"
        );
        assert_eq!(p.after.get("ack"), None);
        assert_eq!(p.rows_out, 2);
        // A third of three ack rows: exactly one kept, same one for the same seed.
        let (a, p) = run(
            INPUT,
            PrepareOptions {
                ack_keep: 1.0 / 3.0,
                seed: 9,
            },
        )
        .unwrap();
        let (b, _) = run(
            INPUT,
            PrepareOptions {
                ack_keep: 1.0 / 3.0,
                seed: 9,
            },
        )
        .unwrap();
        assert_eq!(p.after.get("ack"), Some(&1));
        assert_eq!(a, b);
        assert!(p.table().contains("ack"));
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let bad = INPUT.replace("not_relevant", "bogus");
        let e = run(&bad, PrepareOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("in.csv: line 5: unknown class `bogus`"), "{e}");
        let e = run("length,dstport\n1,2\n", PrepareOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1: no `class` column"), "{e}");
        let e = run(
            INPUT,
            PrepareOptions {
                ack_keep: 2.0,
                seed: 1,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("--ack-keep"), "{e}");
    }
}
