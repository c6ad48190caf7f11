"""Whether the Python side of the comparisons can run: exits non-zero unless
scikit-learn, pandas and numpy import; prints `MODULE VERSION` per line.

  stack.py
"""
import numpy
import pandas
import sklearn

for m in (sklearn, pandas, numpy):
    print(m.__name__, m.__version__)
