"""The one union-find of the project: words joined into lines, links chained into rows."""

from __future__ import annotations


class UnionFind:
    """Disjoint sets over 0..n-1. `union(a, b)` puts b's set under a's root, so the root
    of a set is the first member that joined it from the left."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]  # path halving
            i = parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(b)] = self.find(a)

    def groups(self) -> list[list[int]]:
        """Members of each set, sets in the order of their first member."""
        out: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            out.setdefault(self.find(i), []).append(i)
        return list(out.values())
