"""Union-find over candidate pairs: connected components of the duplicate graph.

The components are computed by scipy's ``connected_components`` (a C
implementation of exactly what a union-find with path compression yields) over
the nodes that occur in at least one pair; every other document is its own
cluster. Labels are the smallest node id of each component, so they do not depend
on the order of the pairs.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def components(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nodes, root) for every node in some pair: ``root`` is the smallest node of its component."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if a.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    nodes, inverse = np.unique(np.concatenate([a, b]), return_inverse=True)
    n = len(nodes)
    ia, ib = inverse[: a.size], inverse[a.size :]
    graph = coo_matrix((np.ones(a.size, dtype=np.int8), (ia, ib)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    smallest = np.full(labels.max() + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(smallest, labels, nodes)
    return nodes, smallest[labels]
