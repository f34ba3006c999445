"""One time-boxed slice of a GPU profile's plan on a lent machine (issue: HyperSparse on CIFAR in the papers'
regime), prepared and tested here on the CPU so that no device time goes on setting up.

A lent GPU receives the repository and the paths a call carries (64 MiB in all; ``../shared`` stays behind),
reaches no registry, and returns at most 8 files of 16 MiB from ``$OUT``. So:

    python tools/gpu_slice.py prepare --data cifar10_jpeg          # here: carry/ holds the data and the store
    # on the GPU, carrying "carry":
    PYTHONPATH=lib python3 tools/gpu_slice.py run --minutes 8 --runs-per-gpu 8 --out $OUT -- --model resnet32
    python tools/gpu_slice.py unpack <folder the files came back to>   # here: into results/

``prepare`` copies the offline data archives and the profile's store (results, shared warm-ups, resumable
checkpoints) into ``carry/`` (ignored by git). ``run`` trains the plan's next runs with the sweep
(``--deadline-min``: it stops cleanly in time), then packs what is new or changed in the store into
``slice.tar.gz.NN`` parts of at most 15 MiB, with ``slice.json`` (the machine, the sweep's exit code, the
files packed). ``unpack`` joins the parts and extracts them into the results folder; a later ``prepare``
carries them back, so the next slice goes on where this one stopped.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CARRY = ROOT / "carry"
PART = 15 * 2 ** 20  # under the 16 MiB a returned file may have
MAX_PARTS = 7  # and slice.json: 8 files
LIMIT = 64 * 2 ** 20


def _store_files(results: Path, profile: str) -> list[Path]:
    """The store's files of ``profile``: its results, shared models and resumable checkpoints (no locks)."""
    out = []
    for sub in (results / profile, results / "_models" / profile, results / "_checkpoints" / profile):
        if sub.is_dir():
            out += [p for p in sorted(sub.rglob("*")) if p.is_file() and p.suffix != ".lock"]
    return out


def prepare(data_names: list[str], results: Path, profile: str, carry: Path = CARRY) -> int:
    sys.path.insert(0, str(ROOT / "lib"))
    from sparsebook import data
    if carry.exists():
        shutil.rmtree(carry)
    for name in data_names:
        if name not in data.SHIPPED or not (data.SHARED_DATA / data.SHIPPED[name]).is_file():
            print(f"gpu_slice: no offline copy of {name!r} in {data.SHARED_DATA}")
            return 2
        (carry / "data").mkdir(parents=True, exist_ok=True)
        shutil.copy(data.SHARED_DATA / data.SHIPPED[name], carry / "data" / Path(data.SHIPPED[name]).name)
    store = _store_files(results, profile)
    for f in store:
        dest = carry / "results" / f.relative_to(results)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dest)
    size = sum(p.stat().st_size for p in carry.rglob("*") if p.is_file())
    print(f"gpu_slice: carry/ holds {size / 2 ** 20:.1f} MiB ({', '.join(data_names) or 'no data'}; the {profile} "
          f"store's {len(store)} files); the call may carry {LIMIT / 2 ** 20:.0f} MiB with "
          "the repository")
    return 0 if size < LIMIT else 1


def _pack(files: list[Path], base: Path, out: Path) -> list[str]:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for f in files:
            tar.add(f, arcname=str(f.relative_to(base)))
    blob = buffer.getvalue()
    parts = [blob[i:i + PART] for i in range(0, len(blob), PART)] or [b""]
    if len(parts) > MAX_PARTS:
        raise ValueError(f"the slice's results take {len(blob) / 2 ** 20:.0f} MiB packed, more than the "
                         f"{MAX_PARTS} parts of {PART // 2 ** 20} MiB that come back")
    names = []
    for i, part in enumerate(parts):
        (out / f"slice.tar.gz.{i:02d}").write_bytes(part)
        names.append(f"slice.tar.gz.{i:02d}")
    return names


def run(minutes: float, runs_per_gpu: int, profile: str, device: str, out: Path, sweep_args: list[str],
        carry: Path = CARRY) -> int:
    results = carry / "results"
    results.mkdir(parents=True, exist_ok=True)
    before = {f: (f.stat().st_size, f.stat().st_mtime_ns) for f in _store_files(results, profile)}
    env = {**os.environ, "SPARSEBOOK_DATA": str(carry / "data"), "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "lib"), os.environ.get("PYTHONPATH")]))}
    layout = ["--runs-per-gpu", str(runs_per_gpu)] if device.startswith("cuda") else ["--workers", str(runs_per_gpu)]
    cmd = [sys.executable, "-m", "sparsebook.experiments.sweep", "hypersparse", "--profile", profile,
           "--device", device, *layout, "--deadline-min", str(minutes), "--results", str(results), *sweep_args]
    started = time.time()
    code = subprocess.call(cmd, env=env, cwd=ROOT)
    changed = [f for f in _store_files(results, profile)
               if before.get(f) != (f.stat().st_size, f.stat().st_mtime_ns)]
    out.mkdir(parents=True, exist_ok=True)
    try:
        parts = _pack(changed, results, out)
    except ValueError as err:
        print(f"gpu_slice: {err}")
        return 1
    gpu = None
    try:
        import torch
        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    (out / "slice.json").write_text(json.dumps({
        "sweep_exit_code": code, "minutes": round((time.time() - started) / 60, 2), "device": device, "gpu": gpu,
        "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "profile": profile,
        "files": [str(f.relative_to(results)) for f in changed], "parts": parts, "command": cmd[2:]}, indent=1))
    print(f"gpu_slice: {len(changed)} new or changed files packed into {len(parts)} part(s); sweep exit {code}")
    return code


def unpack(folder: Path, results: Path) -> int:
    parts = sorted(folder.glob("slice.tar.gz.[0-9][0-9]"))
    if not parts:
        print(f"gpu_slice: no slice.tar.gz.NN parts in {folder}")
        return 2
    blob = b"".join(p.read_bytes() for p in parts)
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        names = tar.getnames()
        tar.extractall(results, filter="data")
    print(f"gpu_slice: {len(names)} files into {results}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="verb", required=True)
    a = sub.add_parser("prepare", help="here: copy the data archives and the profile's store into carry/")
    a.add_argument("--data", nargs="*", default=["cifar10_jpeg"], help="offline data sets to carry")
    a.add_argument("--results", type=Path, default=ROOT / "results")
    a.add_argument("--profile", default="gpu")
    b = sub.add_parser("run", help="on the GPU: train the plan's next runs until the deadline, pack what changed")
    b.add_argument("--minutes", type=float, required=True, help="the sweep's deadline (leave time to pack)")
    b.add_argument("--runs-per-gpu", type=int, default=8)
    b.add_argument("--profile", default="gpu")
    b.add_argument("--device", default="cuda")
    b.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "slice-out")))
    b.add_argument("sweep_args", nargs="*", help="after --: the sweep's filters (--model resnet32, --seed 0, ...)")
    c = sub.add_parser("unpack", help="here: join the parts that came back and extract them into the results")
    c.add_argument("folder", type=Path)
    c.add_argument("--results", type=Path, default=ROOT / "results")
    args = p.parse_args(argv)
    if args.verb == "prepare":
        return prepare(args.data, args.results, args.profile)
    if args.verb == "run":
        return run(args.minutes, args.runs_per_gpu, args.profile, args.device, args.out, args.sweep_args)
    return unpack(args.folder, args.results)


if __name__ == "__main__":
    sys.exit(main())
