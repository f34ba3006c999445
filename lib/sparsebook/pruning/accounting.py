"""Counting what pruning left: per layer and in total.

:func:`layer_stats` returns one row per Conv2d / Linear layer: parameters,
nonzeros, pruning ratio, compression rate, the Hoyer measure of the weights,
theoretical multiply-accumulates per example (dense vs sparse), nonzero rows
(neurons / filters) and columns (input neurons / input channels), and, for
plain feed-forward chains (the LeNets), dead units and the weights left after
removing them. DeepHoyer's code stops at nonzero rows and columns; removing
dead units is our addition: a unit is removable when its incoming row in layer
l or its outgoing column group in layer l+1 is all zero, and removing it also
removes the other side's weights.
"""
from __future__ import annotations

import torch
from torch import nn

from ..models import prunable_layers
from ..regularizers.base import hoyer_measure

__all__ = ["layer_stats", "totals", "dense_macs", "model_counts"]


def _macs_per_weight(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, int]:
    """Output positions per layer (H*W for a conv, 1 for a linear), from one dummy forward pass."""
    positions, hooks = {}, []
    for name, m in prunable_layers(model):
        def hook(mod, inp, out, name=name):
            positions[name] = out[0, 0].numel() if isinstance(mod, nn.Conv2d) else 1
        hooks.append(m.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            p = next(model.parameters())
            model(torch.zeros((1, *input_shape), device=p.device, dtype=p.dtype))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return positions


def _is_chain(model: nn.Module, layers) -> bool:
    """A plain feed-forward chain: no BatchNorm, each layer's inputs are the previous layer's outputs."""
    if any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
        return False
    for (_, a), (_, b) in zip(layers, layers[1:]):
        fan_in = b.weight.shape[1]
        if fan_in % a.weight.shape[0]:
            return False
    return True


@torch.no_grad()
def layer_stats(model: nn.Module, input_shape: tuple[int, ...]) -> list[dict]:
    """One dict per prunable layer (see the module docstring); ``input_shape`` is (C, H, W)."""
    layers = prunable_layers(model)
    positions = _macs_per_weight(model, input_shape)
    rows = []
    for name, m in layers:
        w = m.weight.detach()
        params = w.numel() + (m.bias.numel() if m.bias is not None else 0)
        nonzero = int((w != 0).sum()) + (int((m.bias != 0).sum()) if m.bias is not None else 0)
        alive_rows = w.flatten(1).ne(0).any(dim=1)
        alive_cols = w.transpose(0, 1).flatten(1).ne(0).any(dim=1)
        rows.append({
            "layer": name, "kind": type(m).__name__, "shape": list(w.shape),
            "params": params, "nonzero": nonzero,
            "weights": w.numel(), "nonzero_weights": int((w != 0).sum()),
            "pruning_ratio": 1 - nonzero / params, "compression": params / max(nonzero, 1),
            "hoyer": hoyer_measure(w),
            "macs_dense": w.numel() * positions[name], "macs_sparse": int((w != 0).sum()) * positions[name],
            "units_out": w.shape[0], "units_out_nonzero": int(alive_rows.sum()),
            "units_in": w.shape[1], "units_in_nonzero": int(alive_cols.sum()),
            "_alive_rows": alive_rows, "_alive_cols": alive_cols,
        })
    if _is_chain(model, layers):
        _remove_dead_units(layers, rows)
    for r in rows:
        del r["_alive_rows"], r["_alive_cols"]
    return rows


def _remove_dead_units(layers, rows) -> None:
    """Propagate dead units through a chain and count the weights that remain."""
    n = len(layers)
    out_alive = [r["_alive_rows"].clone() for r in rows]
    in_alive = [r["_alive_cols"].clone() for r in rows]
    for _ in range(n):  # iterate to a fixed point: removing a unit can kill its neighbours
        changed = False
        for i in range(n - 1):
            group = layers[i + 1][1].weight.shape[1] // layers[i][1].weight.shape[0]
            nxt = in_alive[i + 1].view(-1, group).any(dim=1)
            both = out_alive[i] & nxt
            if not torch.equal(both, out_alive[i]) or not torch.equal(both.repeat_interleave(group), in_alive[i + 1]):
                changed = True
            out_alive[i] = both
            in_alive[i + 1] = both.repeat_interleave(group)
        if not changed:
            break
    for i, ((_, m), r) in enumerate(zip(layers, rows)):
        w = m.weight.detach()
        sub = w[out_alive[i]][:, in_alive[i]]
        bias = int((m.bias.detach()[out_alive[i]] != 0).sum()) if m.bias is not None else 0
        r["units_out_alive"] = int(out_alive[i].sum())
        r["units_in_alive"] = int(in_alive[i].sum())
        r["dead_units_out"] = r["units_out"] - r["units_out_alive"]
        r["params_after_removal"] = int((sub != 0).sum()) + bias


def totals(rows: list[dict]) -> dict:
    """Sum a :func:`layer_stats` table into whole-model figures."""
    keys = ["params", "nonzero", "weights", "nonzero_weights", "macs_dense", "macs_sparse"]
    out = {k: sum(r[k] for r in rows) for k in keys}
    out["pruning_ratio"] = 1 - out["nonzero"] / out["params"]
    out["compression"] = out["params"] / max(out["nonzero"], 1)
    out["weight_sparsity"] = 1 - out["nonzero_weights"] / out["weights"]
    if rows and "params_after_removal" in rows[0]:
        out["params_after_removal"] = sum(r["params_after_removal"] for r in rows)
    return out


def dense_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one dense forward pass, per image of ``input_shape``."""
    return totals(layer_stats(model, input_shape))["macs_dense"]


@torch.no_grad()
def model_counts(model: nn.Module) -> dict:
    """All parameters of the model (BN included) and their nonzeros: DeepHoyer's counting."""
    total = sum(p.numel() for p in model.parameters())
    nonzero = sum(int((p != 0).sum()) for p in model.parameters())
    return {"params": total, "nonzero": nonzero, "pruning_ratio": 1 - nonzero / total,
            "compression": total / max(nonzero, 1)}
