//! From the trained float tree to the kernel's integer form
//! (`alexa_common::tree`): thresholds that decide exactly as the float splits
//! do for every integer input, unreachable branches dropped, the limits
//! checked.

use alexa_common::{
    tree::{Node, TREE_CAPACITY, TREE_MAX_DEPTH},
    Feature,
};
use anyhow::{bail, Result};

/// The trained tree, as the crate decided it: a split sends `x` left when
/// `(x as f64) < split` (the trainer's rule, `cart`).
#[derive(Clone, Debug, PartialEq)]
pub enum FloatTree {
    Split {
        feature: Feature,
        split: f64,
        /// Impurity decrease of this split (as the crate reports it).
        impurity_decrease: f64,
        left: Box<FloatTree>,
        right: Box<FloatTree>,
    },
    Leaf {
        class: u8,
    },
}

impl FloatTree {
    /// The float decision, for checking the compiled one against.
    pub fn predict(&self, value: impl Fn(Feature) -> u64) -> u8 {
        let mut node = self;
        loop {
            match node {
                FloatTree::Leaf { class } => return *class,
                FloatTree::Split {
                    feature,
                    split,
                    left,
                    right,
                    ..
                } => {
                    node = if (value(*feature) as f64) < *split {
                        left
                    } else {
                        right
                    }
                }
            }
        }
    }

    pub fn depth(&self) -> u32 {
        match self {
            FloatTree::Leaf { .. } => 0,
            FloatTree::Split { left, right, .. } => 1 + left.depth().max(right.depth()),
        }
    }
}

/// Where the integers go at a float split `x < split`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntSplit {
    /// No non-negative integer is `< split` (split ≤ 0): all go right.
    AllRight,
    /// Exactly the integers `<= t` are `< split`.
    LeftIfLe(u64),
}

/// The integer threshold for the float split `x < split`: for an integer x,
/// `x < s` ⟺ `x <= ceil(s) - 1`. Exact for every x below 2^53 (where
/// `x as f64` is exact); the features are far below that.
pub fn int_split(split: f64) -> Result<IntSplit> {
    if split.is_nan() {
        bail!("split value is NaN");
    }
    if split <= 0.0 {
        return Ok(IntSplit::AllRight);
    }
    // 2^64 as f64: every u64 is below anything at or above it... except that
    // ceil(2^64) - 1 = u64::MAX, which is what we return for those.
    if split >= 18_446_744_073_709_551_616.0 {
        return Ok(IntSplit::LeftIfLe(u64::MAX));
    }
    let c = split.ceil();
    Ok(IntSplit::LeftIfLe(c as u64 - 1))
}

/// The integer tree before it is laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
enum IntTree {
    Split {
        feature: Feature,
        threshold: u64,
        /// The float split it came from, kept for the model file.
        left: Box<IntTree>,
        right: Box<IntTree>,
        split_bits: u64,
    },
    Leaf {
        class: u8,
    },
}

impl IntTree {
    fn depth(&self) -> u32 {
        match self {
            IntTree::Leaf { .. } => 0,
            IntTree::Split { left, right, .. } => 1 + left.depth().max(right.depth()),
        }
    }

    fn count(&self) -> usize {
        match self {
            IntTree::Leaf { .. } => 1,
            IntTree::Split { left, right, .. } => 1 + left.count() + right.count(),
        }
    }
}

fn lower(t: &FloatTree) -> Result<IntTree> {
    Ok(match t {
        FloatTree::Leaf { class } => IntTree::Leaf { class: *class },
        FloatTree::Split {
            feature,
            split,
            left,
            right,
            ..
        } => match int_split(*split)? {
            IntSplit::AllRight => lower(right)?,
            IntSplit::LeftIfLe(u64::MAX) => lower(left)?,
            IntSplit::LeftIfLe(threshold) => {
                let (l, r) = (lower(left)?, lower(right)?);
                match (&l, &r) {
                    // Both sides decide the same: the split decides nothing.
                    (IntTree::Leaf { class: a }, IntTree::Leaf { class: b }) if a == b => l,
                    _ => IntTree::Split {
                        feature: *feature,
                        threshold,
                        left: Box::new(l),
                        right: Box::new(r),
                        split_bits: split.to_bits(),
                    },
                }
            }
        },
    })
}

/// A compiled tree: the kernel's nodes, plus for each split node the float
/// split it came from (for the model file's audit trail).
#[derive(Clone, Debug, PartialEq)]
pub struct Compiled {
    pub nodes: Vec<Node>,
    /// `Some(split)` for split nodes.
    pub splits: Vec<Option<f64>>,
    pub depth: u32,
}

/// Lowers, checks the limits and lays the tree out depth-first (a node's
/// children always after it, left subtree first).
pub fn compile(tree: &FloatTree) -> Result<Compiled> {
    let int = lower(tree)?;
    let depth = int.depth();
    if depth > TREE_MAX_DEPTH {
        bail!(
            "the tree is {depth} splits deep, over the kernel's TREE_MAX_DEPTH ({TREE_MAX_DEPTH}); train with --max-depth {TREE_MAX_DEPTH} or less"
        );
    }
    let count = int.count();
    if count > TREE_CAPACITY as usize {
        bail!(
            "the tree has {count} nodes, over the kernel's TREE_CAPACITY ({TREE_CAPACITY}); train with a smaller --max-depth or a larger --min-samples-leaf"
        );
    }
    let mut out = Compiled {
        nodes: Vec::with_capacity(count),
        splits: Vec::with_capacity(count),
        depth,
    };
    // Explicit stack: (subtree, index of the parent and whether it is its right child).
    let mut stack: Vec<(&IntTree, Option<(usize, bool)>)> = vec![(&int, None)];
    while let Some((t, parent)) = stack.pop() {
        let here = out.nodes.len();
        if let Some((p, is_right)) = parent {
            if is_right {
                out.nodes[p].right = here as u32;
            } else {
                out.nodes[p].left = here as u32;
            }
        }
        match t {
            IntTree::Leaf { class } => {
                out.nodes.push(Node::leaf(*class));
                out.splits.push(None);
            }
            IntTree::Split {
                feature,
                threshold,
                left,
                right,
                split_bits,
            } => {
                out.nodes
                    .push(Node::split(*feature as u8, *threshold, 0, 0));
                out.splits.push(Some(f64::from_bits(*split_bits)));
                stack.push((right, Some((here, true))));
                stack.push((left, Some((here, false))));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alexa_common::{tree::walk_slice, Features};

    #[test]
    fn int_split_matches_strict_less_than() {
        for split in [
            0.5,
            1.0,
            1.5,
            2.0,
            99.5,
            100.0,
            1e-9,
            30_002_000.5,
            7.999_999,
        ] {
            let IntSplit::LeftIfLe(t) = int_split(split).unwrap() else {
                panic!("{split} sends everything right?")
            };
            for x in t.saturating_sub(3)..t + 4 {
                assert_eq!(x <= t, (x as f64) < split, "x={x} split={split}");
            }
        }
        assert_eq!(int_split(0.0).unwrap(), IntSplit::AllRight);
        assert_eq!(int_split(-3.5).unwrap(), IntSplit::AllRight);
        assert_eq!(int_split(1e30).unwrap(), IntSplit::LeftIfLe(u64::MAX));
        assert!(int_split(f64::NAN).is_err());
    }

    fn split(feature: Feature, s: f64, l: FloatTree, r: FloatTree) -> FloatTree {
        FloatTree::Split {
            feature,
            split: s,
            impurity_decrease: 0.1,
            left: Box::new(l),
            right: Box::new(r),
        }
    }
    fn leaf(class: u8) -> FloatTree {
        FloatTree::Leaf { class }
    }

    #[test]
    fn negative_and_useless_splits_are_dropped() {
        // length < -0.5 never holds: only the right side survives.
        let t = split(
            Feature::Length,
            -0.5,
            leaf(1),
            split(Feature::Dstport, 443.5, leaf(2), leaf(2)),
        );
        let c = compile(&t).unwrap();
        assert_eq!(c.nodes, vec![Node::leaf(2)]);
        assert_eq!(c.depth, 0);
    }

    #[test]
    fn layout_is_forward_and_decides_like_the_float_tree() {
        let t = split(
            Feature::Length,
            99.5,
            split(Feature::Delta, 1_000_000.0, leaf(1), leaf(2)),
            split(Feature::AckFlag, 0.5, leaf(3), leaf(4)),
        );
        let c = compile(&t).unwrap();
        assert_eq!(c.nodes.len(), 7);
        for (i, n) in c.nodes.iter().enumerate() {
            if !n.is_leaf() {
                assert!(n.left as usize > i && n.right as usize > i);
            }
        }
        for length in [0u32, 99, 100, 101] {
            for delta in [0u64, 999_999, 1_000_000, 1_000_001] {
                for ack in [0u8, 1] {
                    let f = Features {
                        length,
                        delta_us: delta,
                        ack_flag: ack,
                        ..Features::default()
                    };
                    assert_eq!(
                        walk_slice(&c.nodes, &f),
                        Some(t.predict(|x| f.get(x as u8)))
                    );
                }
            }
        }
    }

    #[test]
    fn limits_are_refused_by_name() {
        let mut t = leaf(0);
        for i in 0..=TREE_MAX_DEPTH {
            t = split(Feature::Length, i as f64 + 0.5, leaf(1 + (i % 2) as u8), t);
        }
        let e = compile(&t).unwrap_err().to_string();
        assert!(e.contains("TREE_MAX_DEPTH"), "{e}");

        // A balanced tree of depth 12 has 8191 nodes > 4096.
        fn full(d: u32, lo: f64, hi: f64, class: u8) -> FloatTree {
            if d == 0 {
                return leaf(class);
            }
            let mid = ((lo + hi) / 2.0).floor() + 0.5;
            split(
                Feature::Length,
                mid,
                full(d - 1, lo, mid, 0),
                full(d - 1, mid, hi, 1),
            )
        }
        let e = compile(&full(12, 0.0, 100_000.0, 0))
            .unwrap_err()
            .to_string();
        assert!(e.contains("TREE_CAPACITY"), "{e}");
    }
}
