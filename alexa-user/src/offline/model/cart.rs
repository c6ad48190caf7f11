//! CART (Breiman et al., 1984): a binary decision tree grown greedily by the
//! weighted Gini impurity, on integer features.
//!
//! Written here rather than taken from linfa-trees 0.8.1, which the project
//! used before: its split search compares each candidate with the next value
//! in the *whole* training set's sort order, not the next one in the node,
//! so at any node that does not hold the globally last sample of a run of
//! equal values it never evaluates the split after that run (the bug
//! scikit-learn fixed in 2011, PR #386). On the published dataset it never
//! split on `microphone` below the root: a muted device's uploads went
//! through. Its f32 weight sums also drifted until it panicked on an empty
//! side. No other maintained Rust crate grows weighted classification trees
//! (smartcore has no sample weights), and the algorithm is small.
//!
//! Deterministic: features are tried in the given order and thresholds in
//! increasing order, and a candidate replaces the best only when strictly
//! better; a leaf predicts the class of largest weight, the lowest class id
//! on a tie.

use alexa_common::{Feature, NUM_CLASSES};

use super::compile::FloatTree;

/// How far a tree may grow.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    /// Most splits on a root-to-leaf path.
    pub max_depth: u32,
    /// Least weight on each side of a split.
    pub min_weight_leaf: f64,
}

/// One training sample: its features' values (indexed as the `features`
/// given to [`fit`]), its class and weight.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub values: Vec<u64>,
    pub class: u8,
    pub weight: f64,
}

/// Grows a tree on `samples`; `features[j]` names `values[j]`.
pub fn fit(samples: &[Sample], features: &[Feature], params: &Params) -> FloatTree {
    let mut idx: Vec<u32> = (0..samples.len() as u32).collect();
    grow(samples, features, params, &mut idx, 0)
}

type Weights = [f64; NUM_CLASSES];

fn class_weights(samples: &[Sample], idx: &[u32]) -> Weights {
    let mut w = [0.0; NUM_CLASSES];
    for &i in idx {
        let s = &samples[i as usize];
        w[s.class as usize] += s.weight;
    }
    w
}

/// Gini impurity × weight: Σ w_c (1 − w_c / W).
fn weighted_gini(w: &Weights) -> f64 {
    let total: f64 = w.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    w.iter().map(|c| c * (1.0 - c / total)).sum()
}

fn majority(w: &Weights) -> u8 {
    let mut best = 0;
    for c in 1..NUM_CLASSES {
        if w[c] > w[best] {
            best = c;
        }
    }
    best as u8
}

/// The best split of a node: (feature index, split value, weighted impurity
/// of the two sides).
struct Best {
    feature: usize,
    split: f64,
    impurity: f64,
}

fn grow(
    samples: &[Sample],
    features: &[Feature],
    params: &Params,
    idx: &mut [u32],
    depth: u32,
) -> FloatTree {
    let node = class_weights(samples, idx);
    let total: f64 = node.iter().sum();
    let leaf = FloatTree::Leaf {
        class: majority(&node),
    };
    let parent = weighted_gini(&node);
    if depth >= params.max_depth || parent <= 0.0 || total < 2.0 * params.min_weight_leaf {
        return leaf;
    }
    let Some(best) = best_split(samples, params, idx, &node, parent) else {
        return leaf;
    };
    let j = best.feature;
    // Stable partition: left keeps `value < split`, both in index order.
    let (mut left, mut right): (Vec<u32>, Vec<u32>) = idx
        .iter()
        .partition(|&&i| (samples[i as usize].values[j] as f64) < best.split);
    FloatTree::Split {
        feature: features[j],
        split: best.split,
        impurity_decrease: (parent - best.impurity) / total,
        left: Box::new(grow(samples, features, params, &mut left, depth + 1)),
        right: Box::new(grow(samples, features, params, &mut right, depth + 1)),
    }
}

/// Every threshold between two distinct values of every feature in the
/// node; `None` when no split lowers the impurity.
fn best_split(
    samples: &[Sample],
    params: &Params,
    idx: &[u32],
    node: &Weights,
    parent: f64,
) -> Option<Best> {
    let total: f64 = node.iter().sum();
    let nf = samples[idx[0] as usize].values.len();
    let mut best: Option<Best> = None;
    // Below this, an improvement is rounding noise.
    let eps = 1e-9 * total.max(1.0);
    let mut order: Vec<(u64, u32)> = Vec::with_capacity(idx.len());
    for j in 0..nf {
        order.clear();
        order.extend(idx.iter().map(|&i| (samples[i as usize].values[j], i)));
        order.sort_unstable();
        let mut left = [0.0; NUM_CLASSES];
        let mut wl = 0.0;
        for k in 0..order.len() - 1 {
            let s = &samples[order[k].1 as usize];
            left[s.class as usize] += s.weight;
            wl += s.weight;
            let (v, next) = (order[k].0, order[k + 1].0);
            if v == next {
                continue;
            }
            let wr = total - wl;
            if wl < params.min_weight_leaf || wr < params.min_weight_leaf {
                continue;
            }
            let mut right = *node;
            for (r, l) in right.iter_mut().zip(&left) {
                *r = (*r - l).max(0.0);
            }
            let impurity = weighted_gini(&left) + weighted_gini(&right);
            if impurity < parent - eps && best.as_ref().is_none_or(|b| impurity < b.impurity) {
                best = Some(Best {
                    feature: j,
                    // Midway: the compiled integer threshold is `v`.
                    split: (v as f64 + next as f64) / 2.0,
                    impurity,
                });
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(values: &[u64], class: u8) -> Sample {
        Sample {
            values: values.to_vec(),
            class,
            weight: 1.0,
        }
    }

    const P: Params = Params {
        max_depth: 8,
        min_weight_leaf: 1.0,
    };

    fn accuracy(t: &FloatTree, samples: &[Sample], features: &[Feature]) -> f64 {
        let ok = samples
            .iter()
            .filter(|s| {
                t.predict(|f| s.values[features.iter().position(|g| *g == f).unwrap()]) == s.class
            })
            .count();
        ok as f64 / samples.len() as f64
    }

    #[test]
    fn one_threshold_splits_midway() {
        let s: Vec<_> = [(10, 1), (20, 1), (30, 2), (40, 2)]
            .iter()
            .map(|&(v, c)| sample(&[v], c))
            .collect();
        let t = fit(&s, &[Feature::Length], &P);
        match &t {
            FloatTree::Split {
                feature,
                split,
                left,
                right,
                ..
            } => {
                assert_eq!((*feature, *split), (Feature::Length, 25.0));
                assert_eq!(**left, FloatTree::Leaf { class: 1 });
                assert_eq!(**right, FloatTree::Leaf { class: 2 });
            }
            leaf => panic!("no split: {leaf:?}"),
        }
    }

    /// The case linfa-trees 0.8.1 gets wrong: below the root, a binary
    /// feature must split a node that does not hold the training set's last
    /// sample with value 0. Here `length` separates the two halves first;
    /// in the left half the microphone decides, and the last sample with
    /// microphone 0 (in the whole set's order) lies in the right half.
    #[test]
    fn a_binary_feature_splits_below_the_root() {
        let mut s = Vec::new();
        for i in 0..20 {
            // Left half (length < 100): microphone 1 → class 7, 0 → class 6.
            s.push(sample(&[50 + i, 1], 7));
            s.push(sample(&[50 + i, 0], 6));
        }
        for i in 0..30 {
            // Right half: class 2 whatever the microphone.
            s.push(sample(&[500 + i, i % 2], 2));
        }
        let f = [Feature::Length, Feature::Microphone];
        let t = fit(&s, &f, &P);
        assert_eq!(accuracy(&t, &s, &f), 1.0, "{t:?}");
        assert_eq!(t.depth(), 2, "{t:?}");
    }

    #[test]
    fn weights_decide_a_leaf_and_ties_take_the_lowest_class() {
        let mut s = vec![sample(&[1], 3), sample(&[1], 3), sample(&[1], 5)];
        let t = fit(&s, &[Feature::Length], &P);
        assert_eq!(t, FloatTree::Leaf { class: 3 });
        s[2].weight = 2.0;
        assert_eq!(
            fit(&s, &[Feature::Length], &P),
            FloatTree::Leaf { class: 3 },
            "a tie goes to the lower class id"
        );
        s[2].weight = 2.5;
        assert_eq!(
            fit(&s, &[Feature::Length], &P),
            FloatTree::Leaf { class: 5 }
        );
    }

    #[test]
    fn depth_and_leaf_weight_limits_hold() {
        let s: Vec<_> = (0..64u64).map(|v| sample(&[v], (v % 8) as u8)).collect();
        for depth in 1..6 {
            let t = fit(
                &s,
                &[Feature::Length],
                &Params {
                    max_depth: depth,
                    min_weight_leaf: 1.0,
                },
            );
            assert!(t.depth() <= depth);
        }
        // No leaf may hold less than 16 of the 64 unit weights: at most 4 leaves.
        let t = fit(
            &s,
            &[Feature::Length],
            &Params {
                max_depth: 10,
                min_weight_leaf: 16.0,
            },
        );
        fn leaves(t: &FloatTree) -> usize {
            match t {
                FloatTree::Leaf { .. } => 1,
                FloatTree::Split { left, right, .. } => leaves(left) + leaves(right),
            }
        }
        assert!(leaves(&t) <= 4, "{t:?}");
    }

    /// At depth 1 the chosen split is the best of every (feature,
    /// threshold), found by brute force, on random weighted data.
    #[test]
    fn the_root_split_is_the_brute_force_best() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..50 {
            let s: Vec<Sample> = (0..60)
                .map(|_| Sample {
                    values: vec![next() % 7, next() % 3, next() % 50],
                    class: (next() % 4) as u8,
                    weight: 0.5 + (next() % 4) as f64,
                })
                .collect();
            let f = [Feature::Length, Feature::AckFlag, Feature::Dstport];
            let p = Params {
                max_depth: 1,
                min_weight_leaf: 1.0,
            };
            let gini = |pred: &dyn Fn(&Sample) -> bool| {
                let mut l = [0.0; NUM_CLASSES];
                let mut r = [0.0; NUM_CLASSES];
                for s in &s {
                    if pred(s) {
                        l[s.class as usize] += s.weight;
                    } else {
                        r[s.class as usize] += s.weight;
                    }
                }
                let (wl, wr): (f64, f64) = (l.iter().sum(), r.iter().sum());
                (wl >= 1.0 && wr >= 1.0).then(|| weighted_gini(&l) + weighted_gini(&r))
            };
            let mut best = f64::INFINITY;
            for j in 0..3 {
                for t in 0..50 {
                    if let Some(g) = gini(&|s: &Sample| s.values[j] <= t) {
                        best = best.min(g);
                    }
                }
            }
            match fit(&s, &f, &p) {
                FloatTree::Split { feature, split, .. } => {
                    let j = f.iter().position(|g| *g == feature).unwrap();
                    let got = gini(&|s: &Sample| (s.values[j] as f64) < split).unwrap();
                    assert!((got - best).abs() < 1e-9, "{got} vs best {best}");
                }
                FloatTree::Leaf { .. } => {
                    let all =
                        weighted_gini(&class_weights(&s, &(0..s.len() as u32).collect::<Vec<_>>()));
                    assert!(best >= all - 1e-9, "a split was better: {best} < {all}");
                }
            }
        }
    }
}
