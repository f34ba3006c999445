"""sparsebook's benchmarks: each measured against its baseline in the same process.

    python bench/run.py                       # the full suite, results/bench/cpu.json
    python bench/run.py --size smoke --out /tmp/b.json   # seconds; what the tests run

Each benchmark reports the median over repeats of ours and of the baseline, the
ratio (baseline time / our time: above 1 means ours is faster) and the machine.
Benchmarks assert nothing: speed goals are read off the book's benchmark page.
"""
from __future__ import annotations

import argparse
import dataclasses
import copy
import gc
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from sparsebook import data, models, regularizers
from sparsebook.fast import select
from sparsebook.fast.hypersparse import Workspace
from sparsebook.fast.inference import inference_copy
from sparsebook.pruning import accounting
from sparsebook.train import loop
from sparsebook.train.loop import Session, evaluate, evaluate_masked
from sparsebook.fast.select import kth_smallest
from sparsebook.pruning import Mask, prune_global_magnitude
from sparsebook.experiments.store import atomic_write_json, environment

SIZES = {  # batches per timed repeat (per model), repeats, images for the data pipeline, CIFAR-10 source
    "smoke": dict(batches={"lenet_300_100": 2, "lenet5": 2}, repeats=2, images=256,
                  models=("lenet_300_100", "lenet5"), big=("resnet32",), width=8, reg_width=8,
                  dataset="synthetic_cifar10", compile=(), eval_images=500,
                  sweep=dict(profile="smoke", runs=2, train_epochs=1)),
    "full": dict(batches={"lenet_300_100": 200, "lenet5": 40, "resnet32": 8, "vgg19": 3}, repeats=5, images=50_000,
                 models=("lenet_300_100", "lenet5", "resnet32", "vgg19"), big=("resnet32", "vgg19"), width=16,
                 reg_width=None, dataset="cifar10_jpeg", compile=("lenet5", "resnet32"), eval_images=5000,
                 sweep=dict(profile="cpu", runs=4, train_epochs=4)),
}


def paired(ours, baseline, repeats: int) -> tuple[float, float]:
    """Medians of ``ours`` and ``baseline`` timed alternately, which one goes first swapping from pair to
    pair (AB BA AB ...), after one warm-up of each: drifts of the machine (clock, caches, a neighbour's
    load) hit both alike, and so does whatever favours the first or the second of a pair."""
    return paired_spread(ours, baseline, repeats)[:2]


def paired_spread(ours, baseline, repeats: int) -> tuple[float, float, float, float]:
    """:func:`paired`, plus the quartiles of the per-pair ratios baseline/ours: how far one
    measurement of the ratio wanders on this machine."""
    ours(), baseline()
    t = {0: [], 1: []}
    for i in range(repeats):
        for k, fn in ((0, ours), (1, baseline))[::1 if i % 2 == 0 else -1]:
            t[k] += _times(fn, 1)
    ratios = [b / a for a, b in zip(t[0], t[1])]
    q = statistics.quantiles(ratios, n=4, method="inclusive") if len(ratios) > 1 else ratios * 3
    return statistics.median(t[0]), statistics.median(t[1]), q[0], q[2]


def _times(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def peak_gflops() -> dict:
    """The machine's nominal fp32 peak: cores x clock (/proc/cpuinfo) x FLOPs per cycle (two FMA ports:
    32 with AVX2, 64 with AVX-512); ``gflops`` is that of the widest vector unit present, which oneDNN
    uses. Nominal: turbo and AVX-512 down-clocking are not accounted for."""
    try:
        info = Path("/proc/cpuinfo").read_text()
        mhz = float(next(line.split(":")[1] for line in info.splitlines() if line.startswith("cpu MHz")))
        flags = set(next(line.split(":")[1] for line in info.splitlines() if line.startswith("flags")).split())
    except (OSError, StopIteration, ValueError):
        return {}
    cores = torch.get_num_threads()
    out = {"cores": cores, "mhz": mhz}
    if "avx2" in flags and "fma" in flags:
        out["avx2_gflops"] = cores * mhz * 1e-3 * 32
    if "avx512f" in flags:
        out["avx512_gflops"] = cores * mhz * 1e-3 * 64
    widest = out.get("avx512_gflops", out.get("avx2_gflops"))
    if widest:
        out["gflops"] = widest
    return out


def _cpu_times() -> list[int] | None:
    try:
        return [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return None


def steal_pct(before, after) -> float | None:
    """Share of CPU time the hypervisor gave to other machines between two /proc/stat readings: on a
    shared VM it slows everything measured here alike (the ratios hold better than the absolute times)."""
    if not before or not after or len(before) < 8:
        return None
    d = [a - b for a, b in zip(after, before)]
    return 100.0 * d[7] / max(sum(d[:8]), 1)


def train_flops_per_image(model, input_shape) -> float:
    """FLOPs of one training step per image: forward 2 x MACs, backward 4 x MACs (counted per layer)."""
    return 6.0 * accounting.dense_macs(model, input_shape)


def _inputs(name, n, width=None):
    kw = {"width": width} if name.startswith("resnet") else {}
    model = models.build(name, **kw)
    c, s = (1, 28) if name.startswith("lenet") else (3, 32)
    g = torch.Generator().manual_seed(0)
    return model, torch.randn(n, c, s, s, generator=g), torch.randint(0, 10, (n,), generator=g)


def _abs_weights(model) -> torch.Tensor:
    """|w| of every Conv2d and Linear weight, in one new vector: what a pruning threshold is taken over."""
    return torch.cat([p.detach().reshape(-1) for p in models.conv_linear_weights(model).values()]).abs()


def bench_train_step(cfg) -> list[dict]:
    """Our Session.train_epoch against a minimal hand-written loop, same model, batch, optimizer, data;
    then what this CPU allows: channels_last and torch.compile (with its compile time), and the achieved
    GFLOP/s against the nominal peak."""
    out, peak = [], peak_gflops()
    for name in cfg["models"]:
        batch = 100 if name.startswith("lenet") else 64
        n = batch * cfg["batches"][name]
        model, x, y = _inputs(name, n, cfg["width"] if name.startswith("resnet") else None)
        flops = train_flops_per_image(model, tuple(x.shape[1:])) * n
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def session(m, **kw):
            d = data.InMemoryData(data.DATASETS["synthetic_cifar10"], x, y, x[:batch], y[:batch], None)
            return Session(m, d, seed=0, batch_size=batch, test_batch_size=batch, device="cpu", augment=None,
                           checkpoint=lambda s: None, progress=False, **kw)

        def plain(m=model, o=opt):
            m.train()
            perm = torch.randperm(len(y))
            for i in range(0, len(y), batch):
                idx = perm[i:i + batch]
                loss = F.cross_entropy(m(x[idx]), y[idx])
                o.zero_grad(set_to_none=True)
                loss.backward()
                o.step()

        def row(case, ours, base, baseline="minimal hand-written loop", **extra):
            gf = flops / ours / 1e9
            return {"benchmark": "train step", "case": case, "ours_s": ours, "baseline_s": base,
                    "baseline": baseline, "ratio": base / ours, "images_per_s": n / ours, "gflops": gf,
                    **({"peak_pct": 100 * gf / peak["gflops"]} if "gflops" in peak else {}), **extra}
        s = session(model)
        # the goal is a ratio of 1.0: twice the repeats, for a median and quartiles that hold still
        ours, base, q1, q3 = paired_spread(lambda: s.train_epoch(opt), plain, 2 * cfg["repeats"] + 1)
        # the control: the bare loop against itself, how far a ratio of two equal loops wanders here
        aa_q1, aa_q3 = paired_spread(plain, plain, 2 * cfg["repeats"] + 1)[2:]
        out.append(row(name, ours, base, ratio_q1=q1, ratio_q3=q3, control_q1=aa_q1, control_q3=aa_q3))
        if any(isinstance(m, torch.nn.Conv2d) for m in model.modules()):  # convolutions: NHWC kernels
            cl = session(copy.deepcopy(model), channels_last=True)
            cl_opt = torch.optim.SGD(cl.model.parameters(), lr=0.01, momentum=0.9)
            ours, base = paired(lambda: cl.train_epoch(cl_opt), plain, cfg["repeats"])
            out.append(row(f"{name}, channels_last", ours, base))
        if name in cfg["compile"]:  # pays off only if the compile time is won back over a run
            compiled = copy.deepcopy(model)
            c_opt = torch.optim.SGD(compiled.parameters(), lr=0.01, momentum=0.9)
            fast = torch.compile(compiled)
            t0 = time.perf_counter()
            plain(fast, c_opt)  # the first call compiles
            compile_s = time.perf_counter() - t0
            ours, base = paired(lambda: plain(fast, c_opt), plain, cfg["repeats"])
            saved = base / len(y) - ours / len(y)
            out.append(row(f"{name}, torch.compile", ours, base, compile_s=compile_s,
                           break_even_images=compile_s / saved if saved > 0 else None))
    return out


def bench_regularizers(cfg) -> list[dict]:
    """Step time with each regularizer against none; HyperSparse's selection against a full sort."""
    out = []
    for name in cfg["big"]:
        model, x, y = _inputs(name, 64, cfg["reg_width"])  # ResNet-32 at the paper's width in the full suite
        opt = torch.optim.SGD(model.parameters(), lr=0.01)

        def step(reg):
            loss = F.cross_entropy(model(x), y)
            if reg is not None:
                loss = loss + 1e-6 * reg(model)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        # the goals are overheads of 5-10 %: twice the repeats and a control, as for the train step
        aa_q1, aa_q3 = paired_spread(lambda: step(None), lambda: step(None), 2 * cfg["repeats"] + 1)[2:]
        for reg_name in ("hypersparse", "l1", "l2"):
            reg = regularizers.build(reg_name, **({"sparsity": 0.98} if reg_name == "hypersparse" else {}))
            t, base, q1, q3 = paired_spread(lambda: step(reg), lambda: step(None), 2 * cfg["repeats"] + 1)
            out.append({"benchmark": "regularizer cost", "case": f"{name} + {reg_name}", "ours_s": t,
                        "baseline_s": base, "baseline": "unregularized step", "ratio": base / t,
                        "overhead_pct": 100 * (t / base - 1), "ratio_q1": q1, "ratio_q3": q3,
                        "control_q1": aa_q1, "control_q3": aa_q3})
        weights = list(models.conv_linear_weights(model).values())
        work = Workspace()  # HyperSparse's buffers

        def original_threshold():  # the original: sort every weight on every mini-batch
            w = torch.cat([p.detach().flatten() for p in weights]).abs()
            return torch.sort(w).values[int(0.98 * w.numel())]
        def our_threshold():  # what HyperSparse.penalty does: |w| into a reused buffer, selection from a copy
            buf = work.fill(weights, torch.float32)
            return work.kth_smallest(int(0.98 * buf.numel()))
        ours, base = paired(our_threshold, original_threshold, cfg["repeats"])
        out.append({"benchmark": "hypersparse threshold", "case": f"{name} ({sum(p.numel() for p in weights):,} "
                    "weights)", "ours_s": ours, "baseline_s": base, "baseline": "full sort per batch (original)",
                    "ratio": base / ours})
    return out


def bench_data(cfg) -> list[dict]:
    """One epoch of augmented CIFAR-10 batches: ours (in-memory tensors) vs DataLoader + PIL transforms."""
    import torchvision.transforms as T
    d = data.load(cfg["dataset"])
    n = min(cfg["images"], len(d.train_y))
    x, y = d.train_x[:n], d.train_y[:n]
    aug = data.augmentation_for(cfg["dataset"])
    g = torch.Generator().manual_seed(0)

    def ours():
        for xb, yb in data.batches(x, y, 64, shuffle=True, generator=g):
            aug(xb, g)
    spec = d.spec
    raw = ((x * torch.tensor(spec.std).view(1, 3, 1, 1) + torch.tensor(spec.mean).view(1, 3, 1, 1)) * 255) \
        .round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    tf = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                    T.Normalize(spec.mean, spec.std)])

    class PILSet(torch.utils.data.Dataset):
        def __len__(self):
            return n

        def __getitem__(self, i):
            from PIL import Image
            return tf(Image.fromarray(raw[i])), int(y[i])
    loader = torch.utils.data.DataLoader(PILSet(), batch_size=64, shuffle=True, num_workers=2)

    def baseline():
        for _ in loader:
            pass
    t_ours, t_base = paired(ours, baseline, max(1, cfg["repeats"] // 2))
    return [{"benchmark": "data pipeline", "case": f"{n} images, crop+flip+normalize", "ours_s": t_ours,
             "baseline_s": t_base, "baseline": "DataLoader, PIL transforms, 2 workers", "ratio": t_base / t_ours,
             "images_per_s": n / t_ours}]


def bench_pruned_eval(cfg) -> list[dict]:
    """ART's per-epoch pruned evaluation on the training data, at 98 %. Ours, as the trainer runs it
    (:func:`~sparsebook.train.loop.evaluate_masked`): weights masked in place and copied into an inference copy,
    BatchNorm folded, channels_last where the model's class prefers it on the CPU (LeNet-5, the ResNets),
    CSR products for Linear layers that keep few weights, inference_mode in chunks of 256. Baselines: what
    the original does (a deep copy, pruned, evaluated under no_grad at the training batch size, 64) and, to
    show where the time goes, a deep copy evaluated our way but dense and unfolded. Each row also gives
    the dense-equivalent GFLOP/s (2 x the dense MACs per image): past the machine's peak only sparse
    kernels can go."""
    out, peak = [], peak_gflops()["gflops"]
    for name in cfg["models"][:2] + cfg["big"][:1]:
        n = cfg["eval_images"] // (5 if name.startswith("resnet") else 1)  # ResNet: ~1 ms an image here
        model, x, y = _inputs(name, n, cfg["width"] if name.startswith("resnet") else None)
        flops = 2.0 * len(y) * accounting.dense_macs(model, tuple(x.shape[1:]))

        def copy_and_prune():
            pruned = copy.deepcopy(model)
            prune_global_magnitude(models.conv_linear_weights(pruned), 0.98).apply(pruned)
            return pruned

        @torch.no_grad()
        def original():
            pruned = copy_and_prune().eval()
            correct = 0
            for i in range(0, len(y), 64):
                correct += int((pruned(x[i:i + 64]).argmax(1) == y[i:i + 64]).sum())
            return correct

        cl = name.startswith("resnet")  # as the `cpu` profile trains them
        ours_model = copy.deepcopy(model).to(memory_format=torch.channels_last) if cl else model
        ours_weights = models.conv_linear_weights(ours_model)

        def ours():
            return evaluate_masked(ours_model, prune_global_magnitude(ours_weights, 0.98), x, y, 1000,
                                   channels_last=cl)
        for baseline, fn in (("deep copy + prune + no_grad eval, batch 64 (original)", original),
                             ("deep copy + prune + our evaluate, dense, unfolded",
                              lambda: evaluate(copy_and_prune(), x, y, 1000))):
            t_ours, t_base = paired(ours, fn, cfg["repeats"])
            out.append({"benchmark": "pruned evaluation", "case": f"{name} at 98 %, {len(y)} images",
                        "ours_s": t_ours, "baseline_s": t_base, "baseline": baseline, "ratio": t_base / t_ours,
                        "gflops": flops / t_ours / 1e9, "peak_pct": 100 * flops / t_ours / 1e9 / peak,
                        "baseline_peak_pct": 100 * flops / t_base / 1e9 / peak})
    return out


def bench_sparse_inference(cfg) -> list[dict]:
    """Pruned LeNet-300-100 (and LeNet-5's fc layers): dense vs CSR matmuls, batch 1 and 256."""
    out = []
    for name in ("lenet_300_100", "lenet5"):
        model = models.build(name)
        layers = [m for _, m in models.prunable_layers(model) if isinstance(m, torch.nn.Linear)]
        for sparsity in (0.9, 0.98, 0.995):
            mask = prune_global_magnitude({str(i): m.weight for i, m in enumerate(layers)}, sparsity)
            with torch.no_grad():
                for m, keep in zip(layers, mask.keep.values()):
                    m.weight.mul_(keep)
            dense_w = [m.weight.detach().clone() for m in layers]
            with warnings.catch_warnings():  # "sparse CSR support is in beta": known, and the point of measuring
                warnings.simplefilter("ignore", UserWarning)
                csr_w = [w.to_sparse_csr() for w in dense_w]
            for batch in (1, 256):
                h = torch.randn(batch, dense_w[0].shape[1])

                def run(ws):
                    z = h
                    for w in ws:
                        z = torch.relu((w @ z.T).T if w.layout != torch.strided else z @ w.T)
                    return z
                t_csr, t_dense = paired(lambda: run(csr_w), lambda: run(dense_w), cfg["repeats"] * 5)
                mem = {k: sum(_bytes(w) for w in ws) for k, ws in (("dense", dense_w), ("csr", csr_w))}
                out.append({"benchmark": "sparse inference", "case": f"{name} fc layers, {100 * sparsity:g} %, "
                            f"batch {batch}", "ours_s": t_csr, "baseline_s": t_dense, "baseline": "dense matmul",
                            "ratio": t_dense / t_csr, "memory_dense_kb": mem["dense"] / 1024,
                            "memory_csr_kb": mem["csr"] / 1024})
    return out


def _bytes(w: torch.Tensor) -> int:
    if w.layout == torch.sparse_csr:
        return sum(t.numel() * t.element_size() for t in (w.crow_indices(), w.col_indices(), w.values()))
    return w.numel() * w.element_size()


def bench_before_after(cfg) -> list[dict]:
    """Each optimization made for speed against the code it replaced, in the same process."""
    out = []
    name = cfg["big"][-1]  # the HyperSparse step on the most weights: VGG-19 in the full suite
    model, x, y = _inputs(name, 64, cfg["reg_width"])
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    ours_hs = regularizers.build("hypersparse", sparsity=0.98)

    def autograd_hs(m):  # before: the readable form, autograd through the concatenated |w|
        return regularizers.hypersparse_reference(list(models.conv_linear_weights(m).values()), 0.98)

    def step(reg):
        loss = F.cross_entropy(model(x), y) + 1e-6 * reg(model)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    ours, base = paired(lambda: step(ours_hs), lambda: step(autograd_hs), cfg["repeats"])
    out.append({"benchmark": "before/after", "case": f"HyperSparse step, {name}: closed-form gradient, reused buffers, "
                "tanh kept for the backward pass",
                "ours_s": ours, "baseline_s": base, "baseline": "autograd through the concatenation (before)",
                "ratio": base / ours})
    weights = _abs_weights(model)
    k, scratch = int(0.98 * weights.numel()), torch.empty_like(weights)
    ours, base = paired(lambda: kth_smallest(weights, k, scratch),
                        lambda: kth_smallest(weights, k, scratch, part_min=weights.numel() + 1), cfg["repeats"] * 4)
    parts = select.selection_parts(weights.numel())
    out.append({"benchmark": "before/after", "case": f"HyperSparse threshold, {name} ({weights.numel():,} weights): "
                f"selection in {parts} parts, one thread each", "ours_s": ours, "baseline_s": base,
                "baseline": "one part (before)", "ratio": base / ours})
    name = cfg["big"][0]
    model = _inputs(name, 1, cfg["reg_width"])[0]
    flat = _abs_weights(model)
    k = int(0.98 * flat.numel())
    ours, base = paired(lambda: kth_smallest(flat, k), lambda: flat.kthvalue(k + 1), cfg["repeats"] * 4)
    out.append({"benchmark": "before/after", "case": f"HyperSparse threshold, {name} ({flat.numel():,} weights): "
                "NumPy introselect", "ours_s": ours, "baseline_s": base, "baseline": "torch.kthvalue (before)",
                "ratio": base / ours})
    ev_model, ev_x, ev_y = _inputs(name, 2000, cfg["width"])
    chunk = loop.CPU_EVAL_CHUNK
    ours, base = paired(lambda: evaluate(ev_model, ev_x, ev_y, 1000),
                        lambda: evaluate(ev_model, ev_x, ev_y, 1000, cpu_chunk=1000), cfg["repeats"])
    out.append({"benchmark": "before/after", "case": f"evaluation, {name}, {len(ev_y)} images: chunks of {chunk}",
                "ours_s": ours, "baseline_s": base, "baseline": "chunks of 1000 (before)", "ratio": base / ours})
    return out + bench_inference_copy(cfg) + bench_masked_step(cfg) + bench_denormals(cfg)


def bench_inference_copy(cfg) -> list[dict]:
    """The pruned evaluation's inference copy (built each time, as each ART epoch does): LeNet-5 in
    channels_last against NCHW, LeNet-300-100's sparse Linear layers as CSR against dense."""
    out = []
    for name, case, before, fast, slow in (
            ("lenet5", "channels_last copy", "NCHW copy (before)", dict(channels_last=True, csr=True),
             dict(channels_last=False, csr=True)),
            ("lenet_300_100", "CSR for Linear layers keeping <= 5 %", "dense (before)", dict(csr=True),
             dict(csr=False))):
        model, x, y = _inputs(name, cfg["eval_images"])
        prune_global_magnitude(models.conv_linear_weights(model), 0.98).apply(model)

        def evaluate_copy(kw):  # no copy where nothing would change: the masked model itself, dense
            return evaluate(inference_copy(model, **kw) or model, x, y, 1000, kw.get("channels_last", False))
        ours, base = paired(lambda: evaluate_copy(fast), lambda: evaluate_copy(slow), cfg["repeats"])
        out.append({"benchmark": "before/after", "case": f"pruned evaluation, {name} at 98 %, {len(y)} images: "
                    f"{case}", "ours_s": ours, "baseline_s": base, "baseline": before, "ratio": base / ours})
    return out


class _BooleanMask(Mask):
    """The masking before: each product converts the boolean keep-mask to the tensor's dtype anew."""

    def _multiply(self, pairs):
        for name, t in pairs:
            t.mul_(self.keep[name].to(t.device, t.dtype))


def bench_masked_step(cfg) -> list[dict]:
    """Masked fine-tuning steps (Adam, LeNet-300-100, 90 % pruned, as DeepHoyer's fine-tunings run): the
    masks converted to multipliers once and applied in one fused product (ours) against converting the
    boolean masks at each of the step's four products (before)."""
    model, x, y = _inputs("lenet_300_100", 100)
    keep = prune_global_magnitude(dict(model.named_parameters()), 0.9).keep

    def stepper(mask_class):
        m = copy.deepcopy(model)
        opt = torch.optim.Adam(m.parameters(), lr=1e-4)
        mask_class(dict(keep)).attach(m, opt)

        def steps():
            for _ in range(cfg["batches"]["lenet_300_100"]):
                loss = F.cross_entropy(m(x), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        return steps
    ours, base = paired(stepper(Mask), stepper(_BooleanMask), cfg["repeats"] * 2)
    return [{"benchmark": "before/after", "case": "masked fine-tuning step, lenet_300_100 at 90 %: multipliers "
             "cached, one fused product", "ours_s": ours, "baseline_s": base,
             "baseline": "boolean masks converted at each product (before)", "ratio": base / ours}]


def bench_denormals(cfg) -> list[dict]:
    """A Group-HS training step on LeNet-300-100 whose small weights are float32 denormals (what long
    regularized training produces), with denormals flushed to zero (ours, set by runs) vs not."""
    torch.set_flush_denormal(False)  # or the denormals below would be born as zeros
    model, x, y = _inputs("lenet_300_100", 100)
    with torch.no_grad():
        for w in models.conv_linear_weights(model).values():
            small = torch.rand(w.shape, generator=torch.Generator().manual_seed(0)) < 0.9
            w[small] = 1e-39
    reg = regularizers.build("group_hoyer_square")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    state = copy.deepcopy(model.state_dict())

    def step():
        model.load_state_dict(state)
        loss = F.cross_entropy(model(x), y) + 1e-4 * reg(model)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    times = {}
    for flush in (False, True):  # in blocks, not alternating: the flag is per-thread state of the CPU
        torch.set_flush_denormal(flush)
        step()
        times[flush] = statistics.median(_times(step, cfg["repeats"] * 3))
    torch.set_flush_denormal(True)  # as for the rest of the suite
    return [{"benchmark": "before/after", "case": "Group-HS step, lenet_300_100, 90 % denormal weights: flushed",
             "ours_s": times[True], "baseline_s": times[False], "baseline": "denormals kept (before)",
             "ratio": times[False] / times[True]}]


def bench_sweep(cfg) -> list[dict]:
    """A slice of the DeepHoyer sweep (LeNet-300-100 on MNIST, the cpu profile's runs with a shortened
    schedule) trained twice into fresh stores: as the one-process sweep did (runs one after another, torch's
    2 threads) and through the parallel runner (one worker per core, one thread each). Same runs; each
    layout timed once, the one-process sweep first."""
    import tempfile

    from sparsebook import experiments
    from sparsebook.experiments import executor
    sw = cfg["sweep"]
    regs = ["l1", "hoyer", "hoyer_square", "transformed_l1"][:sw["runs"]]
    plan = [dataclasses.replace(c, train_epochs=sw["train_epochs"], threshold_finetune_epochs=1,
                                std_finetune_epochs=1, record_epochs=())
            for _, c in experiments.deephoyer_runs("lenet_300_100", "mnist", sw["profile"], seeds=[0],
                                                   regularizers=regs)]
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as many:
        t0 = time.perf_counter()
        for c in plan:
            experiments.run(c, profile=sw["profile"], results_dir=one, progress=False, threads=torch.get_num_threads())
        sequential = time.perf_counter() - t0
        workers = executor.default_workers(None)
        t0 = time.perf_counter()
        executor.run_local(plan, profile=sw["profile"], results_dir=many, workers=workers, progress=False)
        parallel = time.perf_counter() - t0
    return [{"benchmark": "parallel sweep", "case": f"{len(plan)} DeepHoyer LeNet-300-100 runs "
             f"({sw['profile']} profile, {sw['train_epochs']} training epochs), {workers} workers x 1 thread",
             "ours_s": parallel, "baseline_s": sequential, "baseline": "one process, runs in turn, "
             f"{torch.get_num_threads()} threads", "ratio": sequential / parallel}]


BENCHMARKS = {"train_step": bench_train_step, "regularizers": bench_regularizers, "data": bench_data,
              "pruned_eval": bench_pruned_eval, "sparse_inference": bench_sparse_inference,
              "before_after": bench_before_after, "sweep": bench_sweep}


SUITE_OF = {"train step": "train_step", "regularizer cost": "regularizers", "hypersparse threshold": "regularizers",
            "data pipeline": "data", "pruned evaluation": "pruned_eval", "sparse inference": "sparse_inference",
            "before/after": "before_after", "parallel sweep": "sweep"}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", choices=sorted(SIZES), default="full")
    p.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), default=None,
                   help="run these benchmarks only and replace their rows in --out (the others are kept)")
    p.add_argument("--out", default="results/bench/cpu.json")
    args = p.parse_args(argv)
    cfg, out = SIZES[args.size], Path(args.out)
    suites = args.only or list(BENCHMARKS)
    rows, t0, stat0 = [], time.time(), _cpu_times()
    torch.set_flush_denormal(True)  # as every run on the CPU does (experiments.runner): pruned, random networks
    for key in suites:              # otherwise compute in denormals, and time that instead of the code
        print(f"bench {key} ...", flush=True)
        rows += [{**r, "suite": key} for r in BENCHMARKS[key](cfg)]
    run = {"suites": suites, "env": {**environment("cpu"), "wall_time_s": time.time() - t0,
                                     "cpu_steal_pct": steal_pct(stat0, _cpu_times())}, "peak": peak_gflops()}
    kept, runs = [], []
    if args.only and out.exists():  # keep the other benchmarks' rows, and the record of the runs behind them
        old = json.loads(out.read_text())
        if old.get("size") != args.size:
            p.error(f"{out} holds size {old.get('size')!r} results; rerun all benchmarks or pass another --out")
        kept = [r for r in old["rows"] if r.get("suite", SUITE_OF.get(r["benchmark"])) not in suites]
        runs = old.get("runs") or [{"suites": sorted({SUITE_OF.get(r["benchmark"]) for r in old["rows"]}),
                                    "env": old["env"], "peak": old.get("peak", {})}]
        for r in runs:
            r["suites"] = [x for x in r["suites"] if x not in suites]
        runs = [r for r in runs if r["suites"]]
    result = {"size": args.size, "env": run["env"], "peak": run["peak"], "runs": runs + [run], "rows": kept + rows}
    atomic_write_json(out, result)
    for r in rows:
        print(f"{r['benchmark']:>22} | {r['case']:<45} | ours {r['ours_s'] * 1e3:9.2f} ms | "
              f"{r['baseline']:<38} {r['baseline_s'] * 1e3:9.2f} ms | x{r['ratio']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
