"""The `paper` profile's training step on a GPU, measured: run where a GPU is (``python bench/gpu.py``).

For ResNet-32 (paper width) on CIFAR-10-sized inputs and VGG-19 on CIFAR-100-sized ones, at the paper's
batch of 64: the step time without a regularizer and with each of ART's, in fp32 (the `paper` profile)
and with bf16 autocast + channels_last; HyperSparse's threshold on the device (ours, a full sort there) against
``torch.kthvalue``; and one ART run end to end on synthetic data with amp and
channels_last (the data set resident on the GPU, batched augmentation there). Timings are medians of
rounds of CUDA-event-timed steps, the configurations of a model interleaved round by round. The result
goes to ``results/bench/gpu.json``, which the benchmark page shows beside its estimate. No test asserts
any of it; ``tests/`` runs the CPU suite only.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from sparsebook import experiments, models, regularizers  # noqa: E402
from sparsebook.experiments import profiles  # noqa: E402
from sparsebook.experiments.store import atomic_write_json, environment  # noqa: E402
from sparsebook.fast.select import kth_smallest  # noqa: E402
from sparsebook.pruning import accounting  # noqa: E402

MODELS = (("resnet32", 10), ("vgg19", 100))
REGULARIZERS = (None, "hypersparse", "hypersparse per tensor", "l1", "l2")


def _timed(fn, steps: int) -> float:
    """Seconds per call of ``fn`` over ``steps`` calls, by CUDA events."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(steps):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1e3 / steps


def bench_steps(device, steps: int, rounds: int) -> list[dict]:
    rows = []
    for name, classes in MODELS:
        cpu_model = models.build(name, num_classes=classes)
        macs = accounting.dense_macs(cpu_model, (3, 32, 32))
        for amp in (False, True):
            model = cpu_model.to(device)
            if amp:
                model = model.to(memory_format=torch.channels_last)
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
            x = torch.randn(64, 3, 32, 32, device=device)
            if amp:
                x = x.contiguous(memory_format=torch.channels_last)
            y = torch.randint(0, classes, (64,), device=device)
            regs = {r: None if r is None else regularizers.build(r.split()[0], **(
                {"sparsity": 0.98} if r.startswith("hypersparse") else {})) for r in REGULARIZERS}
            # before: the CPU's per-tensor kernels
            regs["hypersparse per tensor"] = regularizers.build("hypersparse", sparsity=0.98, flat=False)

            def step(reg):
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                    loss = F.cross_entropy(model(x), y)
                if reg is not None:
                    loss = loss + 1e-6 * reg(model)  # fp32, outside autocast, as the trainer does
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            times = {r: [] for r in REGULARIZERS}
            for r in REGULARIZERS:  # warm-up: cuDNN's algorithm search, the allocator's pools
                for _ in range(5):
                    step(regs[r])
            torch.cuda.synchronize()
            for _ in range(rounds):
                for r in REGULARIZERS:
                    times[r].append(_timed(lambda: step(regs[r]), steps))
            base = statistics.median(times[None])
            mode = "bf16 autocast, channels_last" if amp else "fp32"
            for r in REGULARIZERS:
                t = statistics.median(times[r])
                rows.append({"benchmark": "gpu step", "case": f"{name}, {mode}" + (f" + {r}" if r else ""),
                             "step_ms": 1e3 * t, "images_per_s": 64 / t, "tflops": 6 * macs * 64 / t / 1e12,
                             **({"overhead_pct": 100 * (t / base - 1)} if r else {})})
        weights = torch.cat([w.detach().reshape(-1) for w in models.conv_linear_weights(model).values()]).abs()
        k = int(0.98 * weights.numel())
        t = {how: statistics.median(_timed(fn, steps) for _ in range(rounds)) for how, fn in (
            ("ours", lambda: kth_smallest(weights, k)), ("kthvalue", lambda: weights.kthvalue(k + 1)))}
        rows.append({"benchmark": "gpu threshold", "case": f"{name} ({weights.numel():,} weights)",
                     "step_ms": 1e3 * t["ours"], "kthvalue_ms": 1e3 * t["kthvalue"],
                     "ratio": t["kthvalue"] / t["ours"]})
    return rows


def art_end_to_end(device) -> dict:
    """One ART run of the smoke profile on the GPU, amp and channels_last on: does the path train?"""
    cfg = profiles.make_config("art", "smoke", model="resnet32", dataset="synthetic_cifar10", normalize=True,
                               regularizer="hypersparse", sparsity=0.9, amp=True, channels_last=True)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.time()
        r = experiments.run(cfg, profile="smoke", results_dir=tmp, device=device, progress=False)
    return {"config": r["config"], "status": r["status"], "epochs": len(r["history"]),
            "wall_time_s": time.time() - t0, "final": r.get("final"), "device": r["env"].get("device")}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(ROOT / "results" / "bench" / "gpu.json"))
    p.add_argument("--steps", type=int, default=20, help="steps per timed round")
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        p.error("no CUDA device: this benchmark measures the GPU path (bench/run.py measures the CPU)")
    device = torch.device("cuda")
    t0 = time.time()
    rows = bench_steps(device, args.steps, args.rounds)
    art = art_end_to_end(device)
    env = {**environment(device), "gpu": torch.cuda.get_device_name(device), "wall_time_s": time.time() - t0,
           "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
           "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32}
    atomic_write_json(Path(args.out), {"env": env, "rows": rows, "art_end_to_end": art})
    for r in rows:
        print(r)
    print(art)
    return 0


if __name__ == "__main__":
    sys.exit(main())
