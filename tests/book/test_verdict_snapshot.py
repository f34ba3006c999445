"""The committed verdicts, pinned: the headline's primary rows and the exploratory ledger, rebuilt from the
committed results/, must equal the snapshot beside this file; a few rows recomputed from the result files with
scipy alone. Regenerate the snapshot on purpose (SPARSEBOOK_REGENERATE_SNAPSHOT=1), with the reason in the
commit, when runs or rules change."""
import glob
import json
import os
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from sparsebook.book import ledger

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results"
SNAPSHOT = Path(__file__).with_name("verdicts_snapshot.csv")
COLUMNS = ["paper", "claim", "setting", "at", "verdict"]


def current() -> pd.DataFrame:
    top = ledger.headline(RESULTS)  # the public API (profile cpu by default)
    top = top.assign(kind="primary", detail=[f"{e:+.4f} p={p:.4g}" if pd.notna(e) and pd.notna(p) else "–"
                                             for e, p in zip(top.effect, top.p)])
    rest = ledger.ledger(RESULTS, "cpu").assign(kind="exploratory")
    rest = rest.assign(detail=rest["effect ± spread"])
    return pd.concat([top[["kind", *COLUMNS, "detail"]], rest[["kind", *COLUMNS, "detail"]]], ignore_index=True)


@pytest.fixture(scope="module")
def verdicts():
    return current()


def test_the_committed_verdicts_equal_the_snapshot(verdicts):
    if os.environ.get("SPARSEBOOK_REGENERATE_SNAPSHOT"):
        verdicts.to_csv(SNAPSHOT, index=False)
    pinned = pd.read_csv(SNAPSHOT, dtype=str, keep_default_na=False)
    now = verdicts.astype(str)
    assert list(now.columns) == list(pinned.columns) and len(now) == len(pinned)
    diff = now.ne(pinned).any(axis=1)
    assert not diff.any(), f"verdicts changed (regenerate on purpose): {now[diff].to_dict('records')[:3]}"


def _art(model: str, regularizer: str, sparsity: float, key: str = "test_acc_final") -> dict:
    out = {}
    for path in glob.glob(str(RESULTS / "cpu" / "art-*.json")):
        r = json.loads(Path(path).read_text())
        c = r["config"]
        if (c["model"], c["regularizer"], c["sparsity"], r["status"]) == (model, regularizer, sparsity, "finished"):
            out[c["seed"]] = r["final"][key]
    return out


@pytest.mark.parametrize("model, key, base, sparsity, claim", [
    ("vgg11", "test_acc_final", "l2", 0.995, "HyperSparse more accurate than L2"),
    ("resnet20", "art_epochs", "l1", 0.98, "HyperSparse needs fewer ART epochs than L1"),
])
def test_primary_rows_recomputed_from_the_files_with_scipy(verdicts, model, key, base, sparsity, claim):
    hs, other = _art(model, "hypersparse", sparsity, key), _art(model, base, sparsity, key)
    seeds = sorted(set(hs) & set(other))
    assert len(seeds) >= 3
    sign = 1 if key == "test_acc_final" else -1
    res = stats.ttest_rel([sign * hs[s] for s in seeds], [sign * other[s] for s in seeds])
    effect = sum(sign * (hs[s] - other[s]) for s in seeds) / len(seeds)
    setting = "VGG-11" if model == "vgg11" else "ResNet-20"
    row = verdicts[(verdicts.kind == "primary") & (verdicts.claim == claim) & verdicts.setting.str.startswith(setting)
                   & (verdicts["at"] == f"sparsity {100 * sparsity:g} %")]
    assert len(row) == 1 and row.detail.iloc[0] == f"{effect:+.4f} p={res.pvalue:.4g}"
