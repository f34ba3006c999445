"""Files that survive a kill: atomic writes, checked checkpoints, a lock per run.

Every file is written to a temporary sibling, flushed, fsynced and renamed
into place, so a process killed at any moment (SIGKILL included) leaves either
the old file or the new one, never a torn one. A checkpoint that fails to load
(truncated, foreign, written by something else) is reported, moved aside and
not trusted.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import torch

__all__ = ["atomic_write_json", "atomic_torch_save", "load_checkpoint", "state_digest", "read_result", "run_lock",
           "is_locked", "RunBusy", "environment"]

CHECKPOINT_FORMAT = "sparsebook-checkpoint-1"


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | os.PathLike, obj) -> None:
    data = json.dumps(obj, indent=1, sort_keys=False, allow_nan=True).encode()
    _atomic_write(Path(path), lambda f: f.write(data))


def atomic_torch_save(obj: dict, path: str | os.PathLike) -> None:
    obj = {"format": CHECKPOINT_FORMAT, **obj}
    _atomic_write(Path(path), lambda f: torch.save(obj, f))


def _set_aside(path: Path, why: str) -> None:
    aside = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
    os.replace(path, aside)
    warnings.warn(f"{path} is not a usable {why} and was moved to {aside.name}", stacklevel=3)


def state_digest(state: dict) -> str:
    """A fingerprint of a model's weights (a ``state_dict``): SHA-256 over every tensor's name, dtype, shape and
    bytes in name order, 16 hex digits. Two runs that record the same digest started from the same weights bit
    for bit; a state retrained on another CPU kind (floats differ in the last bits, then chaotically) does not."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def load_checkpoint(path: str | os.PathLike) -> dict | None:
    """The checkpoint at ``path``, or None when there is none or it is unusable (then it is set aside)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated, corrupt, or holding objects weights_only refuses
        _set_aside(path, f"checkpoint ({type(err).__name__}: {str(err)[:120]})")
        return None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        _set_aside(path, "sparsebook checkpoint (foreign format)")
        return None
    return state


def read_result(path: str | os.PathLike, set_aside: bool = True) -> dict | None:
    """A stored run result, or None when absent; an unreadable one is set aside (unless ``set_aside`` is
    false: a read-only look, such as a dry run's, changes nothing)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        result = json.loads(path.read_text())
        if not isinstance(result, dict) or "status" not in result or "config" not in result:
            raise ValueError("missing status or config")
    except (ValueError, UnicodeDecodeError) as err:
        if set_aside:
            _set_aside(path, f"result ({err})")
        return None
    return result


class RunBusy(RuntimeError):
    """Another live process holds this run's lock (raised by ``run_lock(..., wait=False)``)."""


@contextmanager
def run_lock(path: str | os.PathLike, wait: bool = True):
    """An exclusive lock: a second process running the same settings waits here, then reuses the result;
    with ``wait=False`` it raises :class:`RunBusy` at once instead. The lock dies with its process (flock),
    so a run whose worker was killed is free for the next one, which resumes its checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise RunBusy(f"{path.stem} is being trained by another process") from err
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def is_locked(path: str | os.PathLike) -> bool:
    """Whether a live process holds the lock at ``path`` (probed without blocking, creating nothing: no lock
    file means no process holds it)."""
    path = Path(path)
    try:
        f = open(path)
    except FileNotFoundError:
        return False
    with f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _cpu_model() -> str | None:
    """The CPU's model name (Linux: /proc/cpuinfo; None elsewhere): timings from two machines differ by it,
    and a cloud machine's CPU may change from one session to the next."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
    except OSError:
        return None


def environment(device: str | torch.device) -> dict:
    """Package versions, machine and device of this process, for the results store."""
    import numpy
    import torchvision
    device = torch.device(device)
    env = {
        "python": sys.version.split()[0], "torch": torch.__version__, "torchvision": torchvision.__version__,
        "numpy": numpy.__version__, "platform": platform.platform(), "machine": platform.machine(),
        "processor": platform.processor() or None, "cpu_model": _cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(), "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(), "device": str(device), "git_commit": _git_commit(),
    }
    if device.type == "cuda":
        env["device_name"] = torch.cuda.get_device_name(device)
    return env
