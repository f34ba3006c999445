"""Exact selection of the k-th smallest value, fast on the CPU.

Used by every magnitude threshold (ART's global pruning, HyperSparse's scale). The readable
form is ``torch.sort(values).values[k]``; the tests check this against it.
"""
from __future__ import annotations

import functools
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

__all__ = ["kth_smallest", "selection_parts", "SELECT_PART_MIN"]

#: Selection on the CPU splits a vector into parts of at least this many values, one thread each.
SELECT_PART_MIN = 1 << 20

_SELECT_CHUNK = 4096  # a part is every P-th run of this many values: every layer has its share in every part


def kth_smallest(values: torch.Tensor, k: int, scratch: torch.Tensor | None = None,
                 part_min: int = SELECT_PART_MIN) -> torch.Tensor:
    """``values`` sorted ascending at index ``k`` (0-based), exactly.

    On the CPU by NumPy's introselect (``np.partition``, O(N)), faster than ``torch.kthvalue`` on every CPU
    measured, by 1.2x to 7x (the benchmark page has the last machine's figure); for long vectors and high
    ranks (the thresholds of both papers) on as many parts as torch has threads (:func:`_select_in_parts`). On a
    GPU by a full sort, the original's way: there ``torch.kthvalue`` over one long vector is about a
    hundred times slower than sorting it (measured on an H100: ``bench/gpu.py``). ``scratch``, a CPU
    tensor shaped and typed like the flattened ``values``, is reordered in place instead of a fresh copy
    (large fresh allocations cost page faults). ``part_min`` is the fewest values a part may hold (a tuning
    knob; larger than the vector means one part).
    """
    flat = values.detach().reshape(-1)
    if flat.device.type == "cpu" and flat.dtype in (torch.float32, torch.float64):
        work = scratch if scratch is not None else torch.empty_like(flat)
        parts = selection_parts(flat.numel(), part_min)
        if parts >= 2 and 2 * k >= flat.numel():
            found = _select_in_parts(flat, k, work, parts)
            if found is not None:
                return torch.tensor(found, dtype=flat.dtype)
        else:
            work.copy_(flat)
        whole = work.numpy()  # a copy of values, reordered or not: select in the whole
        whole.partition(k)
        return torch.tensor(whole[k], dtype=flat.dtype)
    if flat.device.type == "cpu":
        return flat.kthvalue(k + 1).values
    return torch.sort(flat).values[k]


def selection_parts(n: int, part_min: int = SELECT_PART_MIN) -> int:
    """How many parts (threads) :func:`kth_smallest` selects in on the CPU among ``n`` values."""
    return max(1, min(torch.get_num_threads(), n // part_min))


def _threads(count: int) -> ThreadPoolExecutor:
    return _pool(count, os.getpid())  # a forked child has none of its parent's threads: a pool of its own


@functools.lru_cache(maxsize=None)
def _pool(count: int, pid: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(count, thread_name_prefix="sparsebook-select")


def _select_in_parts(flat: torch.Tensor, k: int, work: torch.Tensor, parts: int):
    """The value at rank k >= N/2 of ``flat``, found in ``parts`` threads; None if the guess below missed.

    ``flat`` is copied into ``work`` as ``parts`` interleaved parts (runs of _SELECT_CHUNK values dealt
    round-robin), so every part holds about 1/parts of the top N - k values. Each part is partitioned, in
    its own thread (NumPy releases the GIL), so that its last ``keep`` values (that share plus a margin)
    are its largest; the candidates are those tails and the leftover values. The value at rank
    k - (values left out) among the candidates is the answer if no value left out exceeds it: each part's
    values left out are at most its tail's smallest, so it suffices that the candidate is at least every
    tail's smallest. Written by hand because neither NumPy nor torch selects in parallel on the CPU (the
    benchmark page's before/after row has what it buys: the copy into the parts stays)."""
    n = flat.numel()
    run = parts * _SELECT_CHUNK
    dealt = n // run * run
    work[:dealt].view(parts, -1, _SELECT_CHUNK).copy_(flat[:dealt].reshape(-1, parts, _SELECT_CHUNK).transpose(0, 1))
    work[dealt:].copy_(flat[dealt:])
    size = dealt // parts
    keep = min(size, math.ceil((n - k) / parts * 1.05) + 1024)
    head = size - keep  # values of each part left out
    split = [work.numpy()[p * size:(p + 1) * size] for p in range(parts)]
    if head > 0:
        list(_threads(parts).map(lambda part: part.partition(head), split))
    candidates = np.concatenate([part[head:] for part in split] + [work.numpy()[dealt:]])
    rank = k - parts * head
    if rank < 0:
        return None
    candidates.partition(rank)
    found = candidates[rank]
    return found if head == 0 or found >= max(part[head] for part in split) else None
