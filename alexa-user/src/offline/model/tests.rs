//! Training, compiling and evaluating on synthetic datasets.

use std::path::PathBuf;

use alexa_common::{tree::walk_slice, Feature, FEATURE_NAMES, NUM_FEATURES};

use super::{
    compile::FloatTree,
    evaluate_file,
    file::{self, DataInfo},
    train::{row_features, train_file, train_rows, ClassWeight, TrainOptions, Trained},
};
use crate::offline::dataset::DatasetRow;

/// splitmix64: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }
}

/// Packets that look like the paper's classes, with `noise` of the rows
/// given a random class (so trees get deep and leaves impure).
fn synthetic(seed: u64, n: usize, noise: u64) -> Vec<DatasetRow> {
    let mut rng = Rng(seed);
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let mut v = [0u64; NUM_FEATURES];
        // Skewed class mix: many acks, few not_relevant.
        let class = rng.pick(&[0u8, 1, 2, 2, 2, 2, 2, 3, 4, 5, 6, 7, 7]);
        v[Feature::Dstport as usize] = 443;
        v[Feature::Proto as usize] = 6;
        v[Feature::AckFlag as usize] = 1;
        v[Feature::TcpFlags as usize] = 0x18;
        v[Feature::Microphone as usize] = 1;
        v[Feature::Srcport as usize] = 40_000 + rng.below(20_000);
        v[Feature::FlowIndex as usize] = 1 + rng.below(500);
        v[Feature::Delta as usize] = rng.below(3_000_000);
        match class {
            0 => {
                v[Feature::ContentType as usize] = rng.pick(&[20, 21, 22]);
                v[Feature::Length as usize] = 40 + rng.below(1400);
                v[Feature::FlowIndex as usize] = 2 + rng.below(8);
            }
            1 => {
                v[Feature::ContentType as usize] = 23;
                v[Feature::Length as usize] = rng.pick(&[99, 100]);
                v[Feature::Delta as usize] = rng.pick(&[30_002_000, 90_820_000]) + rng.below(5_000);
            }
            2 => {
                v[Feature::HighestLayer as usize] = 1;
                v[Feature::TcpFlags as usize] = 0x10;
            }
            3 => {
                v[Feature::HighestLayer as usize] = 1;
                v[Feature::AckFlag as usize] = 0;
                v[Feature::TcpFlags as usize] = 0x02;
                v[Feature::TcpRetrans as usize] = 1;
                v[Feature::FlowIndex as usize] = 2 + rng.below(4);
                v[Feature::Delta as usize] =
                    rng.pick(&[1_000_000, 2_000_000, 4_000_000]) + rng.below(20_000);
            }
            4 => {
                v[Feature::HighestLayer as usize] = 2;
                v[Feature::Proto as usize] = 17;
                v[Feature::AckFlag as usize] = 0;
                v[Feature::TcpFlags as usize] = 0;
                v[Feature::Dstport as usize] = rng.pick(&[53, 123, 1900]);
                v[Feature::Length as usize] = 20 + rng.below(300);
            }
            _ => {
                v[Feature::ContentType as usize] = 23;
                v[Feature::Length as usize] = 101 + rng.below(1300);
                v[Feature::Microphone as usize] = match class {
                    6 => rng.below(3).min(1), // not_justified: mostly muted... or not
                    _ => 1,
                };
                if class == 7 {
                    v[Feature::Length as usize] += 200;
                }
            }
        }
        let class = if rng.below(100) < noise {
            rng.below(8) as u8
        } else {
            class
        };
        rows.push(DatasetRow {
            values: v,
            class: Some(class),
            line: i as u64 + 2,
        });
    }
    rows
}

/// Largest value the kernel's field for `f` holds (delta_us: far beyond
/// any capture, and below what an f64 holds exactly).
fn max_value(f: Feature) -> u64 {
    f.max_value().min(1 << 40)
}

fn train(rows: &[DatasetRow], opts: &TrainOptions) -> Trained {
    train_rows(rows, opts, DataInfo::default()).unwrap()
}

/// Compiled walk == the trained float tree, row by row.
fn assert_equivalent(t: &Trained, rows: &[DatasetRow]) -> usize {
    for r in rows {
        let compiled = walk_slice(&t.model.nodes, &row_features(&r.values)).unwrap();
        let float = t.float.predict(|x| r.values[x as usize]);
        assert_eq!(
            compiled, float,
            "compiled vs float tree, values {:?}",
            r.values
        );
    }
    rows.len()
}

fn splits(t: &FloatTree, out: &mut Vec<(Feature, f64)>) {
    if let FloatTree::Split {
        feature,
        split,
        left,
        right,
        ..
    } = t
    {
        out.push((*feature, *split));
        splits(left, out);
        splits(right, out);
    }
}

#[test]
fn compiled_tree_equals_trained_tree_on_every_row_and_at_every_threshold() {
    let mut checked = 0;
    for (seed, noise, features, cw, depth, leaf) in [
        (1, 0, Feature::ALL.to_vec(), ClassWeight::Balanced, 20, 1),
        (2, 5, Feature::ALL.to_vec(), ClassWeight::None, 12, 1),
        (
            3,
            10,
            Feature::ALL[..7].to_vec(),
            ClassWeight::Balanced,
            20,
            1,
        ),
        (4, 20, Feature::ALL[..7].to_vec(), ClassWeight::None, 8, 5),
    ] {
        let opts = TrainOptions {
            max_depth: depth,
            min_samples_leaf: leaf,
            features: features.clone(),
            class_weight: cw,
        };
        let rows = synthetic(seed, 1500, noise);
        let t = train(&rows, &opts);
        assert!(
            t.model.nodes.len() > 3,
            "seed {seed}: a trivial tree tests nothing"
        );
        checked += assert_equivalent(&t, &rows);
        // Held-out rows from another seed.
        checked += assert_equivalent(&t, &synthetic(seed + 100, 1000, noise));

        // Random inputs pushed onto and around every split value.
        let mut s = Vec::new();
        splits(&t.float, &mut s);
        let mut rng = Rng(seed * 7919);
        let base = synthetic(seed + 200, 300, 50);
        let mut probes = Vec::new();
        for (k, (f, split)) in s.iter().enumerate() {
            for delta in [-2i64, -1, 0, 1, 2] {
                for around in [split.floor() as i64, split.ceil() as i64] {
                    let mut r = base[(k * 5 + probes.len()) % base.len()].clone();
                    r.values[*f as usize] = ((around + delta).max(0) as u64).min(max_value(*f));
                    // And a random other feature anywhere in its range.
                    let g = rng.pick(&features);
                    r.values[g as usize] = rng.below(max_value(g) + 1);
                    probes.push(r);
                }
            }
        }
        for _ in 0..2000 {
            let mut r = base[rng.below(base.len() as u64) as usize].clone();
            for f in &features {
                if rng.below(2) == 0 {
                    r.values[*f as usize] = rng.below(max_value(*f) + 1);
                }
            }
            probes.push(r);
        }
        checked += assert_equivalent(&t, &probes);
    }
    eprintln!("compile equivalence: {checked} rows checked");
    assert!(checked > 10_000);
}

#[test]
fn unused_features_stay_unused_and_limits_hold() {
    let rows = synthetic(5, 800, 3);
    let paper = TrainOptions {
        features: Feature::ALL[..7].to_vec(),
        ..TrainOptions::default()
    };
    let t = train(&rows, &paper);
    assert!(t
        .model
        .nodes
        .iter()
        .all(|n| n.is_leaf() || (n.feature as usize) < 7));
    assert_eq!(t.file().features.len(), 7);
    let deep = TrainOptions {
        max_depth: 33,
        ..TrainOptions::default()
    };
    let e = train_rows(&rows, &deep, DataInfo::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("TREE_MAX_DEPTH"), "{e}");
    let shallow = TrainOptions {
        max_depth: 2,
        ..TrainOptions::default()
    };
    assert!(train(&rows, &shallow).file().tree.depth <= 2);
}

#[test]
fn balanced_weights_lift_a_rare_class() {
    // justified (5): 1000 rows, 200 of them muted; not_justified (6): 60
    // rows, 40 muted. Unweighted, the muted side is still mostly justified;
    // balanced (w5 = 0.53, w6 = 8.83) it is not_justified: recall 40/60.
    let row = |class: u8, mic: u64| {
        let mut values = [0u64; NUM_FEATURES];
        values[Feature::Microphone as usize] = mic;
        values[Feature::Length as usize] = 500;
        DatasetRow {
            values,
            class: Some(class),
            line: 0,
        }
    };
    let mut rows = Vec::new();
    rows.extend((0..1000).map(|i| row(5, (i >= 200) as u64)));
    rows.extend((0..60).map(|i| row(6, (i >= 40) as u64)));
    let base = TrainOptions {
        max_depth: 1,
        ..TrainOptions::default()
    };
    let metrics = |cw| {
        let t = train(
            &rows,
            &TrainOptions {
                class_weight: cw,
                ..base.clone()
            },
        );
        t.file()
            .training
            .metrics
            .per_class
            .get("not_justified")
            .copied()
            .unwrap()
    };
    let (bal, none) = (metrics(ClassWeight::Balanced), metrics(ClassWeight::None));
    assert_eq!(none.recall, 0.0);
    assert!((bal.recall - 40.0 / 60.0).abs() < 1e-6, "{bal:?}");
    assert!((bal.precision - 40.0 / 240.0).abs() < 1e-6, "{bal:?}");
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("alexa-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_csv(path: &std::path::Path, rows: &[DatasetRow]) {
    let mut s = FEATURE_NAMES.join(",") + ",class\n";
    for r in rows {
        for v in r.values.iter() {
            s += &v.to_string();
            s.push(',');
        }
        s += alexa_common::CLASS_NAMES[r.class.unwrap() as usize];
        s.push('\n');
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn train_save_load_and_evaluate_through_files() {
    let dir = temp_dir("train");
    let (train_csv, test_csv) = (dir.join("train.csv"), dir.join("test.csv"));
    write_csv(&train_csv, &synthetic(7, 1500, 2));
    write_csv(&test_csv, &synthetic(8, 800, 2));
    let t = train_file(&train_csv, &TrainOptions::default()).unwrap();
    let info = &t.file().training.data;
    assert_eq!(info.sha256.len(), 64);
    assert_eq!(info.rows, 1500);
    assert_eq!(info.class_counts.values().sum::<u64>(), 1500);
    let model_path = dir.join("model.json");
    file::save(t.file(), &model_path).unwrap();
    let m = file::load(&model_path).unwrap();
    assert_eq!(m.nodes, t.model.nodes);
    // Training metrics recomputed from the file agree with the stored ones.
    let c = evaluate_file(&m, &train_csv).unwrap();
    assert_eq!(c.total(), 1500);
    assert!((c.accuracy() - m.file.training.metrics.accuracy).abs() < 1e-6);
    let held = evaluate_file(&m, &test_csv).unwrap();
    assert_eq!(held.total(), 800);
    assert!(held.macro_f1() > 0.5, "{}", held.report());
    // A dataset without a column the model needs is refused by name.
    std::fs::write(dir.join("bad.csv"), "length,class\n1,ack\n").unwrap();
    let e = evaluate_file(&m, &dir.join("bad.csv"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.csv: line 1: no `dstport` column"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
