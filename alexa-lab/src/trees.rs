//! Random valid compiled trees, for testing the kernel walk and hot swap
//! independently of any trained model.

use alexa_common::{Feature, Node, NUM_CLASSES, NUM_FEATURES};

use crate::synth::Rng;

/// A threshold in a range where the feature's real values live.
fn threshold(rng: &mut Rng, feature: u8) -> u64 {
    match Feature::ALL[feature as usize] {
        Feature::Length => rng.below(1500),
        Feature::Dstport | Feature::Srcport => rng.below(65536),
        Feature::Delta => rng.below(3_000_000),
        Feature::TcpFlags => rng.below(256),
        Feature::ContentType => 19 + rng.below(6),
        Feature::HighestLayer => rng.below(4),
        Feature::Proto => 6 + rng.below(12),
        Feature::FlowIndex => rng.below(50),
        _ => rng.below(2),
    }
}

/// A random tree with at most `max_nodes` nodes and `max_depth` splits on a
/// path; children always after parents, as compiled trees are.
pub fn random_tree(seed: u64, max_nodes: usize, max_depth: usize) -> Vec<Node> {
    let mut rng = Rng::new(seed);
    let mut nodes = vec![Node::leaf(0)];
    let mut queue = std::collections::VecDeque::from([(0usize, 0usize)]);
    while let Some((i, depth)) = queue.pop_front() {
        if depth < max_depth && nodes.len() + 2 <= max_nodes && (depth < 3 || rng.chance(80)) {
            let feature = rng.below(NUM_FEATURES as u64) as u8;
            let left = nodes.len() as u32;
            nodes.push(Node::leaf(0));
            nodes.push(Node::leaf(0));
            nodes[i] = Node::split(feature, threshold(&mut rng, feature), left, left + 1);
            queue.push_back((left as usize, depth + 1));
            queue.push_back((left as usize + 1, depth + 1));
        } else {
            nodes[i] = Node::leaf(rng.below(NUM_CLASSES as u64) as u8);
        }
    }
    nodes
}

/// A tree of exactly `depth` splits on its longest path: the split at index
/// s has a leaf at s + 1 and the rest of the spine at s + 2, in random
/// left/right order.
pub fn spine_tree(seed: u64, depth: usize) -> Vec<Node> {
    let mut rng = Rng::new(seed);
    let mut nodes = Vec::with_capacity(2 * depth + 1);
    for _ in 0..depth {
        let s = nodes.len() as u32;
        let feature = rng.below(NUM_FEATURES as u64) as u8;
        let t = threshold(&mut rng, feature);
        let (left, right) = if rng.chance(50) {
            (s + 1, s + 2)
        } else {
            (s + 2, s + 1)
        };
        nodes.push(Node::split(feature, t, left, right));
        nodes.push(Node::leaf(rng.below(NUM_CLASSES as u64) as u8));
    }
    nodes.push(Node::leaf(rng.below(NUM_CLASSES as u64) as u8));
    nodes
}
