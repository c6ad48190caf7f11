"""The shipped model (models/echo.json) as a scikit-learn DecisionTreeClassifier.

The tree_ is written node by node from the model file, not trained: same
splits, same integer thresholds, same leaves, so both sides walk the same
tree. alexa's rule is "left when value <= threshold" on integers; scikit-learn
goes left when X[:, f] <= threshold, with X cast to float32. Every feature of
contract version 2 is an integer below 2**24 (delta in ms up to 4.6 hours), so
float32 holds it exactly and both comparisons agree.
"""

import json

import numpy as np
from sklearn.tree import DecisionTreeClassifier
from sklearn.tree._tree import NODE_DTYPE, Tree

# scikit-learn's markers for a leaf (sklearn.tree._tree.TREE_LEAF, TREE_UNDEFINED).
LEAF = -1
UNDEFINED = -2


def load(path):
    """(classifier, feature names in column order, class names) from MODEL.json."""
    with open(path, encoding="utf-8") as f:
        model = json.load(f)
    features = [spec["name"] for spec in model["features"]]
    classes = model["classes"]
    column = {name: i for i, name in enumerate(features)}
    specs = model["tree"]["nodes"]
    n = len(specs)
    nodes = np.zeros(n, dtype=NODE_DTYPE)
    values = np.zeros((n, 1, len(classes)), dtype=np.float64)
    for spec in specs:
        i = spec["id"]
        node = nodes[i]
        node["n_node_samples"] = spec.get("samples", 0)
        node["weighted_n_node_samples"] = spec.get("samples", 0)
        if "class" in spec:
            node["left_child"] = LEAF
            node["right_child"] = LEAF
            node["feature"] = UNDEFINED
            node["threshold"] = UNDEFINED
            values[i, 0, classes.index(spec["class"])] = 1.0
        else:
            node["left_child"] = spec["left"]
            node["right_child"] = spec["right"]
            node["feature"] = column[spec["feature"]]
            node["threshold"] = float(spec["threshold"])
    # Newer scikit-learn versions add fields (missing_go_to_left): zero is
    # their "no missing values seen" default, which np.zeros already holds.
    tree = Tree(len(features), np.array([len(classes)], dtype=np.intp), 1)
    tree.__setstate__(
        {"max_depth": model["tree"]["depth"], "node_count": n, "nodes": nodes, "values": values}
    )
    clf = DecisionTreeClassifier()
    clf.tree_ = tree
    clf.n_outputs_ = 1
    clf.n_classes_ = len(classes)
    clf.classes_ = np.arange(len(classes))
    clf.n_features_in_ = len(features)
    clf.max_features_ = len(features)
    return clf, features, classes
