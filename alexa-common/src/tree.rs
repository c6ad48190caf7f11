//! The compiled decision tree the kernel walks.
//!
//! A tree is a flat array of [`Node`]s (the kernel's `TREE` array map, the
//! `nodes` of a model file): node 0 is the root, children always come after
//! their parent (so a walk only moves forward and cannot cycle), and a split
//! sends a packet left when `features.get(feature) <= threshold`, an integer
//! comparison. The user-space compiler turns the float splits of the trained
//! tree into these thresholds so that both decide the same for every integer
//! input (docs/model.md).

use crate::{
    contract::{Class, IPPROTO_UDP},
    features::Features,
};

/// `Node::feature` of a leaf.
pub const LEAF: u8 = 0xff;

/// Most nodes a compiled tree may have (the size of the kernel's tree map).
pub const TREE_CAPACITY: u32 = 4096;

/// Most splits on any root-to-leaf path. A walk visits at most
/// `TREE_MAX_DEPTH + 1` nodes, so its loop has a constant bound the eBPF
/// verifier accepts.
pub const TREE_MAX_DEPTH: u32 = 32;

/// One node of a compiled tree: 24 bytes, every byte spelled out.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Node {
    /// Split: go left when the feature's value is `<= threshold`.
    /// Units are the feature's own (delta in microseconds). 0 in a leaf.
    pub threshold: u64,
    /// Index of the left child (> this node's index); 0 in a leaf.
    pub left: u32,
    /// Index of the right child (> this node's index); 0 in a leaf.
    pub right: u32,
    /// Feature id (`contract::Feature`) compared by a split, [`LEAF`] in a leaf.
    pub feature: u8,
    /// [`Class`] number of a leaf; 0 in a split.
    pub class: u8,
    pub _pad: [u8; 6],
}

impl Node {
    pub const fn leaf(class: u8) -> Node {
        Node {
            threshold: 0,
            left: 0,
            right: 0,
            feature: LEAF,
            class,
            _pad: [0; 6],
        }
    }

    pub const fn split(feature: u8, threshold: u64, left: u32, right: u32) -> Node {
        Node {
            threshold,
            left,
            right,
            feature,
            class: 0,
            _pad: [0; 6],
        }
    }

    pub const fn is_leaf(&self) -> bool {
        self.feature == LEAF
    }
}

/// Classifies `features` with the tree whose node `i` is `nodes(i)`.
///
/// `None` when a node is missing (`nodes` returned `None`) or the path is
/// longer than [`TREE_MAX_DEPTH`] splits: a tree the loader would have
/// refused. No recursion, a constant loop bound: what the verifier needs.
#[inline(always)]
pub fn walk(nodes: impl Fn(u32) -> Option<Node>, features: &Features) -> Option<u8> {
    let leaf = walk_to_leaf(nodes, features);
    if leaf > 0xff {
        None
    } else {
        Some(leaf as u8)
    }
}

/// What a failed walk gives instead of a class.
const NO_LEAF: u16 = 0x100;

/// [`walk`] as one defined number on every path: the leaf's class, or
/// [`NO_LEAF`]. An `Option<u8>` leaves its payload register unset on the
/// `None` paths, and LLVM may still read it where the result is combined
/// with a later branch (`classify`'s UDP rule): the verifier refuses to read
/// an unset register ("R3 !read_ok").
#[inline(always)]
fn walk_to_leaf(nodes: impl Fn(u32) -> Option<Node>, features: &Features) -> u16 {
    // One indexed read per split instead of `Features::get`'s 15-way match
    // (a chain of compares in BPF, once per split).
    let table = features.table();
    let mut i = 0u32;
    let mut step = 0u32;
    while step <= TREE_MAX_DEPTH {
        let Some(node) = nodes(i) else {
            return NO_LEAF;
        };
        if node.feature == LEAF {
            return node.class as u16;
        }
        let value = if node.feature < 16 {
            table[(node.feature & 15) as usize]
        } else {
            0
        };
        i = if value <= node.threshold {
            node.left
        } else {
            node.right
        };
        step += 1;
    }
    NO_LEAF
}

/// [`walk`] over a slice (user space, tests).
pub fn walk_slice(nodes: &[Node], features: &Features) -> Option<u8> {
    walk(|i| nodes.get(i as usize).copied(), features)
}

/// The class of a packet: UDP is `not_relevant` by the contract's rule,
/// without the model; anything else is the tree's (kernel and user space).
///
/// The tree is walked for UDP too, and its answer replaced afterwards: a
/// branch before the walk made the kernel's verifier check the walk once
/// more for each side of it, past its 1M-instruction budget.
#[inline(always)]
pub fn classify(nodes: impl Fn(u32) -> Option<Node>, features: &Features) -> Option<u8> {
    let walked = walk_to_leaf(nodes, features);
    if features.proto == IPPROTO_UDP {
        Some(Class::NotRelevant as u8)
    } else if walked > 0xff {
        None
    } else {
        Some(walked as u8)
    }
}

/// [`classify`] over a slice (user space, tests).
pub fn classify_slice(nodes: &[Node], features: &Features) -> Option<u8> {
    classify(|i| nodes.get(i as usize).copied(), features)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_has_no_hidden_padding() {
        assert_eq!(core::mem::size_of::<Node>(), 24);
        assert_eq!(core::mem::align_of::<Node>(), 8);
    }

    fn features(length: u32, dstport: u16) -> Features {
        Features {
            length,
            dstport,
            ..Features::default()
        }
    }

    #[test]
    fn walk_goes_left_on_less_or_equal() {
        // length <= 99 ? (dstport <= 443 ? 1 : 2) : 3
        let tree = [
            Node::split(0, 99, 1, 4),
            Node::split(1, 443, 2, 3),
            Node::leaf(1),
            Node::leaf(2),
            Node::leaf(3),
        ];
        assert_eq!(walk_slice(&tree, &features(99, 443)), Some(1));
        assert_eq!(walk_slice(&tree, &features(99, 444)), Some(2));
        assert_eq!(walk_slice(&tree, &features(100, 0)), Some(3));
        assert_eq!(walk_slice(&tree, &features(0, 0)), Some(1));
    }

    #[test]
    fn walk_stops_on_missing_nodes_and_cycles() {
        let dangling = [Node::split(0, 10, 1, 7), Node::leaf(4)];
        assert_eq!(walk_slice(&dangling, &features(11, 0)), None);
        assert_eq!(walk_slice(&dangling, &features(10, 0)), Some(4));
        // A cycle (which the loader refuses) still ends.
        let cycle = [Node::split(0, 10, 0, 0)];
        assert_eq!(walk_slice(&cycle, &features(1, 0)), None);
        assert_eq!(walk_slice(&[], &features(1, 0)), None);
    }

    #[test]
    fn walk_follows_a_path_of_max_depth_only() {
        // A chain: node i splits and its right child is i+1; leaf at the end.
        let chain = |depth: usize| {
            let mut v = [Node::leaf(0); 40];
            for (i, n) in v.iter_mut().enumerate().take(depth) {
                *n = Node::split(0, 0, 39, i as u32 + 1);
            }
            v[depth] = Node::leaf(5);
            v
        };
        let deep = chain(TREE_MAX_DEPTH as usize);
        assert_eq!(walk_slice(&deep, &features(1, 0)), Some(5));
        let too_deep = chain(TREE_MAX_DEPTH as usize + 1);
        assert_eq!(walk_slice(&too_deep, &features(1, 0)), None);
    }
}
