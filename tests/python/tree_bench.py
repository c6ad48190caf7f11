"""Batch prediction of the shipped tree in scikit-learn, on rows prepared by the bench.

tree_bench.py MODEL.json ROWS.f32 PREDICTIONS.u8 RUNS
ROWS.f32: little-endian float32, one row after the other, the model's
features in the model file's order. Writes one byte (class id) per row and
prints JSON: rows, best predict time, scikit-learn's version, node count.
"""

import json
import sys
import time

import numpy as np
import sklearn

import echo_tree


def main():
    model, rows_path, out_path, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    clf, features, _ = echo_tree.load(model)
    rows = np.fromfile(rows_path, dtype="<f4").reshape(-1, len(features))
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        predicted = clf.predict(rows)
        best = min(best, time.perf_counter() - start)
    predicted.astype(np.uint8).tofile(out_path)
    print(
        json.dumps(
            {
                "rows": int(rows.shape[0]),
                "predict_s": best,
                "version": sklearn.__version__,
                "nodes": int(clf.tree_.node_count),
                "depth": int(clf.tree_.max_depth),
            }
        )
    )


if __name__ == "__main__":
    main()
