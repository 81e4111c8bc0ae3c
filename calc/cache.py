"""A small LRU lookup over an OrderedDict: the core caches models, plans and weight tables with it."""

from __future__ import annotations

from collections import OrderedDict


def lru(cache: OrderedDict, key, make, size: int, cost=None, budget: int = 0):
    """cache[key], made by make() on a miss.  The least recently used entries go while there are
    more than `size`, or, given cost(value) and a budget, while their costs add up past it (the
    newest entry always stays)."""
    value = cache.get(key)
    if value is not None:
        cache.move_to_end(key)
        return value
    value = cache[key] = make()
    while len(cache) > size or (cost and len(cache) > 1 and sum(map(cost, cache.values())) > budget):
        cache.popitem(last=False)
    return value
