"""What runs cost: a stored run's core-seconds, and a planned run's estimate from stored runs like it.

The sweep's dry run prints these before anything trains; the status page sums them per part."""
from __future__ import annotations

from .config import run_id, settings

__all__ = ["core_seconds", "like", "estimate_seconds"]


def core_seconds(result: dict) -> float:
    """What a run costs the machine, in core-seconds: its CPU time where it trained on one thread (immune to
    pauses and to other work on the machine), else its wall time times the cores it held (its threads; a run
    that recorded none held every core). The parallel runner keeps every core busy with one-thread runs, so a
    part's wall time on ``n`` cores is the sum of its runs' core-seconds over ``n``."""
    env = result["env"]
    threads = env.get("torch_threads") or env["cpu_count"]
    if threads == 1 and env.get("cpu_time_s") is not None:
        return env["cpu_time_s"]
    return env["wall_time_s"] * threads


def like(settings: dict) -> tuple:
    """The key by which runs cost about the same: kind, model, data set, training length (ART: 0) and the rules
    a run fine-tunes and its validation split (a frontier run fine-tunes one rule, and most start from a
    training another run stored, so it costs a fraction of a table's run)."""
    return (settings["kind"], settings["model"], settings["dataset"], settings.get("train_epochs", 0),
            str(settings.get("rules")), settings.get("val_size"))


def estimate_seconds(configs, results) -> dict[str, float | None]:
    """Each planned run's core-seconds (by run id): its own if stored, else the mean of the finished stored
    runs like it (:func:`like`), else None (nothing to measure by)."""
    finished = [r for r in results if r.get("status") == "finished" and "env" in r]
    own = {r["id"]: core_seconds(r) for r in finished}
    groups: dict[tuple, list[float]] = {}
    for r in finished:
        groups.setdefault(like(r["config"]), []).append(core_seconds(r))
    out = {}
    for cfg in configs:
        rid = run_id(cfg)
        key = like(settings(cfg))
        out[rid] = own.get(rid, sum(groups[key]) / len(groups[key]) if key in groups else None)
    return out
