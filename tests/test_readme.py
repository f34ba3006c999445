"""The README's library example runs as printed (its one training call stubbed: it asks for a GPU)."""
import re
from pathlib import Path

from sparsebook import experiments

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_library_example_runs(monkeypatch):
    text = README.read_text()
    block = re.search(r"## Using the library\n\n```python\n(.*?)```", text, re.S).group(1)
    calls = []

    def run(cfg, **kw):  # the settings are checked as a real run checks them, before any work
        experiments.validate(cfg)
        calls.append((cfg, kw))
        return {"status": "finished"}
    monkeypatch.setattr(experiments, "run", run)
    scope = {}
    exec(compile(block, "README.md", "exec"), scope)
    assert calls and calls[0][1] == {"profile": "paper", "device": "cuda"}
    assert scope["mask"].numel > 0 and scope["reg"].sparsity == 0.98
