"""A small LRU lookup over an OrderedDict: the core caches models, plans and weight tables with it."""

from __future__ import annotations

from collections import OrderedDict


def lru(cache: OrderedDict, key, make, size: int):
    """cache[key], made by make() on a miss; the least recently used entry goes past `size`."""
    value = cache.get(key)
    if value is None:
        value = cache[key] = make()
        if len(cache) > size:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return value
