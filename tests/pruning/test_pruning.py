"""Pruning rules, masks that hold through any optimizer, and the accounting."""
import math

import pytest
import torch
from torch import nn

from sparsebook import models
from sparsebook.fast import select
from sparsebook.pruning import accounting
from sparsebook.pruning import Mask, prune, prune_by_std_ratio, prune_by_threshold, prune_global_magnitude


def named(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"a": torch.randn(40, 30, generator=g), "b": 3 * torch.randn(20, generator=g)}


@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9, 0.995])
def test_global_magnitude_one_threshold(sparsity):
    ts = named()
    mask = prune_global_magnitude(ts, sparsity)
    flat = torch.cat([t.flatten().abs() for t in ts.values()])
    n = flat.numel()
    if sparsity == 0:
        assert mask.kept == n
        return
    t = torch.sort(flat).values[int(math.floor(sparsity * n))]
    assert mask.kept == int((flat > t).sum())  # keep |w| > t, as the HyperSparse code
    kept_min = min(ts[k][m].abs().min() for k, m in mask.keep.items() if m.any())
    pruned_max = max(ts[k][~m].abs().max() for k, m in mask.keep.items() if (~m).any())
    assert kept_min > pruned_max  # one global threshold, not per layer
    assert mask.sparsity == pytest.approx(sparsity, abs=2 / n)


def test_threshold_and_std_ratio_rules():
    ts = named(1)
    m = prune_by_threshold(ts, 0.5)
    assert all(torch.equal(m.keep[k], ts[k].abs() >= 0.5) for k in ts)
    r = prune_by_std_ratio(ts, 0.25)
    for k, t in ts.items():
        std = math.sqrt(((t - t.mean()) ** 2).mean().item())  # population std
        assert torch.equal(r.keep[k], t.abs() >= 0.25 * std)


def test_rules_leave_tensors_untouched():
    ts = named(2)
    before = {k: v.clone() for k, v in ts.items()}
    for rule, value in [("global_magnitude", 0.9), ("threshold", 0.1), ("std_ratio", 0.5)]:
        prune(rule, ts, value)
    assert all(torch.equal(before[k], ts[k]) for k in ts)


@pytest.mark.parametrize("rule, value, match", [
    ("global_magnitude", 1.0, "sparsity"), ("global_magnitude", -0.1, "sparsity"),
    ("global_magnitude", float("nan"), "sparsity"), ("threshold", -1, "threshold"),
    ("std_ratio", float("nan"), "ratio"),
    ("random", 0.5, "unknown pruning rule 'random'.*global_magnitude.*std_ratio.*threshold"),
])
def test_bad_pruning_input(rule, value, match):
    with pytest.raises(ValueError, match=match):
        prune(rule, named(), value)


@pytest.mark.parametrize("make_opt", [
    lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=1e-2),
    lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=1e-3),
    lambda p: torch.optim.AdamW(p, lr=1e-2),
])
def test_masked_training_keeps_pruned_weights_exactly_zero(make_opt):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 3))
    opt = make_opt(model.parameters())
    x, y = torch.randn(64, 10), torch.randint(0, 3, (64,))
    for _ in range(5):  # optimizer state exists before pruning: momentum / moments must not revive weights
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    mask = prune_global_magnitude(dict(model.named_parameters()), 0.8)
    mask.attach(model, opt)
    for _ in range(50):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    params = dict(model.named_parameters())
    for name, keep in mask.keep.items():
        assert torch.all(params[name][~keep] == 0), name
        assert torch.all(params[name][keep] != 0)


def test_mask_follows_the_model_to_another_dtype():
    """The mask's multipliers are cached per dtype: after the model moves, they are made anew, not reused."""
    torch.manual_seed(0)
    model = nn.Linear(6, 4)
    mask = prune_global_magnitude(dict(model.named_parameters()), 0.5)
    mask.apply(model)
    model.double()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    mask.apply(model)
    for name, p in model.named_parameters():
        assert p.dtype == torch.float64
        assert torch.all(p[~mask.keep[name]] == 0) and torch.all(p[mask.keep[name]] != 0), name


def test_mask_round_trip_and_overlap():
    m = prune_global_magnitude(named(), 0.7)
    again = Mask.from_state_dict(m.state_dict())
    assert again.kept == m.kept and m.overlap(again) == 1.0
    other = prune_global_magnitude(named(5), 0.7)
    assert 0 <= m.overlap(other) < 1


def test_mask_names_must_exist():
    model = nn.Linear(2, 2)
    with pytest.raises(KeyError, match="does not have"):
        Mask({"nope.weight": torch.ones(2, 2, dtype=torch.bool)}).apply(model)


# -- accounting ------------------------------------------------------------------------------

def test_layer_stats_lenet300_dead_units_and_removal():
    model = models.build("lenet_300_100")
    with torch.no_grad():
        model.fc1.weight[:150] = 0     # 150 hidden units get no input: removable
        model.fc2.weight[:, 150:200] = 0  # and 50 more feed nothing forward
        model.fc2.weight[:, :150] = 0
        model.fc1.weight[:, :84] = 0   # 84 input pixels are unused
    rows = accounting.layer_stats(model, (1, 28, 28))
    fc1, fc2, fc3 = rows
    assert fc1["units_out_nonzero"] == 150 and fc1["units_in_nonzero"] == 784 - 84
    assert fc2["units_in_nonzero"] == 100
    assert fc1["units_out_alive"] == 100 and fc1["dead_units_out"] == 200
    assert fc2["units_in_alive"] == 100
    # weights left: the 100 alive rows of fc1 over 700 inputs, all of fc2's alive block, all of fc3
    assert fc1["params_after_removal"] == 100 * 700 + 100
    assert fc2["params_after_removal"] == 100 * 100 + 100
    assert fc1["macs_dense"] == 784 * 300
    assert fc1["macs_sparse"] == int((model.fc1.weight != 0).sum())
    tot = accounting.totals(rows)
    assert tot["params"] == 266_610
    assert tot["params_after_removal"] == 100 * 700 + 100 + 100 * 100 + 100 + 100 * 10 + 10


def test_layer_stats_lenet5_conv_to_linear_groups():
    model = models.build("lenet5")
    with torch.no_grad():
        model.conv2.weight[:10] = 0       # 10 filters of conv2 are zero
        model.conv2.bias[:10] = 0
    rows = accounting.layer_stats(model, (1, 28, 28))
    conv1, conv2, fc1, _ = rows
    assert conv1["macs_dense"] == 20 * 25 * 24 * 24
    assert conv2["units_out_nonzero"] == 40 and conv2["units_out_alive"] == 40
    assert fc1["units_in_alive"] == 40 * 16   # each conv2 channel feeds 16 fc1 columns
    assert fc1["params_after_removal"] == 500 * 640 + 500


def test_resnet_has_no_dead_unit_analysis_but_counts():
    rows = accounting.layer_stats(models.build("resnet32", width=8), (3, 32, 32))
    assert "params_after_removal" not in rows[0]
    assert all(0 <= r["hoyer"] <= 1 for r in rows)
    assert accounting.totals(rows)["weights"] == sum(r["weights"] for r in rows)


def test_model_counts_match_deephoyer_counting():
    model = models.build("lenet5")
    c = accounting.model_counts(model)
    assert c["params"] == 431_080 and c["nonzero"] <= c["params"]
    with torch.no_grad():
        model.fc1.weight.zero_()
    c = accounting.model_counts(model)
    assert c["pruning_ratio"] == pytest.approx(400_000 / 431_080, abs=1e-4)
    assert c["compression"] == pytest.approx(431_080 / c["nonzero"])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_kth_smallest_is_the_sorted_value(dtype):
    from sparsebook.fast.select import kth_smallest
    values = torch.cat([torch.randn(5000), torch.zeros(300), torch.full((50,), 0.5)]).abs().to(dtype)
    ordered = torch.sort(values).values
    for k in (0, 299, 300, 2500, len(values) - 1):
        got = kth_smallest(values.view(50, 107), k)
        assert got.item() == ordered[k].item() and got.dtype == dtype


@pytest.mark.parametrize("parts", [2, 3])
def test_kth_smallest_in_parallel_parts_is_the_sorted_value(monkeypatch, parts):
    """Selection in parts (threads) is exact: ties, layers of different scales, a scratch buffer, ranks
    below N/2 (one part), and values dealt so unevenly that the parts' guess misses (the whole is used)."""
    monkeypatch.setattr(torch, "get_num_threads", lambda: parts)
    answered = []  # by the parts, not by the whole-vector fallback
    in_parts = select._select_in_parts
    monkeypatch.setattr(select, "_select_in_parts", lambda *a: answered.append(in_parts(*a)) or answered[-1])
    g = torch.Generator().manual_seed(0)
    layers = torch.cat([torch.randn(30_011, generator=g) * 3, torch.randn(60_000, generator=g).round(decimals=1),
                        torch.zeros(5000)]).abs()
    uneven = torch.ones(parts * 4096 * 8)
    uneven.view(-1, parts, 4096)[:, 0] = 2.0  # every large value lands in the first part
    for values in (layers, layers.double(), uneven, layers[::2]):  # a strided view too
        ordered = torch.sort(values).values
        scratch = torch.empty_like(values)
        for k in (0, len(values) // 3, len(values) // 2, int(0.9 * len(values)), int(0.98 * len(values)),
                  len(values) - 1):
            got = select.kth_smallest(values, k, scratch if k % 2 else None, part_min=1000)
            assert got.item() == ordered[k].item() and got.dtype == values.dtype, (k, len(values))
    assert any(a is not None for a in answered) and any(a is None for a in answered)


@pytest.mark.parametrize("name", ["resnet20", "vgg19", "lenet5", "lenet_300_100"])
def test_evaluate_masked_is_the_pruned_deep_copy_and_leaves_the_model_alone(name):
    """BatchNorm folded or not, channels_last or not, CSR layers or not (LeNet-300-100 at 98 %): the
    numbers of a pruned deep copy, and the model keeps its weights, buffers and mode."""
    import copy

    from sparsebook.train.loop import evaluate, evaluate_masked
    torch.manual_seed(0)
    model = models.build(name, **({"width": 4} if name.startswith("resnet") else {}))
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.3)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
    shape = (1, 28, 28) if name.startswith("lenet") else (3, 32, 32)
    x, y = torch.randn(64, *shape), torch.randint(0, 10, (64,))
    mask = prune_global_magnitude(models.conv_linear_weights(model), 0.98 if name == "lenet_300_100" else 0.9)
    reference = evaluate(mask.apply(copy.deepcopy(model)), x, y)
    before = copy.deepcopy(model.state_dict())
    for channels_last in ((False, True) if not name.startswith("lenet") else (False,)):
        got = evaluate_masked(model, mask, x, y, channels_last=channels_last)
        assert got["acc"] == reference["acc"]
        assert got["loss"] == pytest.approx(reference["loss"], rel=1e-4)
    assert model.training and all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_inference_copy_stores_sparse_linear_layers_as_csr_and_computes_the_same():
    from sparsebook.fast.inference import CSRLinear, inference_copy
    torch.manual_seed(0)
    model = models.build("lenet_300_100")
    assert inference_copy(model, csr=True) is None  # dense: nothing would be faster
    prune_global_magnitude(models.conv_linear_weights(model), 0.98).apply(model)
    fast = inference_copy(model, csr=True)
    assert isinstance(fast.fc1, CSRLinear) and fast.fc1.weight.layout == torch.sparse_csr
    assert type(fast.fc3) is torch.nn.Linear  # 1,000 weights: below CSR_MIN_WEIGHTS, kept dense
    assert type(model.fc1) is torch.nn.Linear and model.training  # the model is left alone
    x = torch.randn(300, 1, 28, 28)
    torch.testing.assert_close(fast(x), model.eval()(x), rtol=1e-5, atol=1e-5)


def test_kth_smallest_sorts_off_the_cpu(monkeypatch):
    """On a GPU torch.kthvalue over one long vector is ~100x slower than a sort (bench/gpu.py): off the CPU
    the threshold comes from a sort. Checked here on the meta device, which has no data but does dispatch."""
    from sparsebook.fast.select import kth_smallest

    def no_kthvalue(*args, **kwargs):
        raise AssertionError("torch.kthvalue used off the CPU")
    monkeypatch.setattr(torch.Tensor, "kthvalue", no_kthvalue)
    got = kth_smallest(torch.empty(50, 7, device="meta"), 300)
    assert got.device.type == "meta" and got.shape == ()


def test_the_rules_name_every_valid_rule_and_accept_zero():
    with pytest.raises(ValueError) as err:
        prune("random", named(), 0.5)
    assert str(err.value) == "unknown pruning rule 'random'; valid rules: global_magnitude, std_ratio, threshold"
    # a threshold or std ratio of 0 prunes nothing, and is a valid setting (only negative ones are refused)
    assert prune("threshold", named(), 0.0).kept == sum(w.numel() for w in named().values())
    assert prune("std_ratio", named(), 0).kept == sum(w.numel() for w in named().values())


def test_overlap_of_a_mask_that_keeps_one_weight():
    one = Mask({"w": torch.tensor([True, False, False])})
    assert one.overlap(one) == 1.0 and one.overlap(Mask({"w": torch.tensor([False, True, True])})) == 0.0
    assert Mask({"w": torch.zeros(3, dtype=torch.bool)}).overlap(one) == 0.0  # nothing kept: no division by 0


def test_an_attached_mask_zeroes_the_gradients_it_prunes_before_the_step():
    """What the step saw is what the gradient holds afterwards: zero at every pruned entry (a gradient
    read after the step, as the snapshots do, shows no pull on weights that cannot move)."""
    torch.manual_seed(0)
    model = nn.Linear(6, 4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    mask = prune_global_magnitude(dict(model.named_parameters()), 0.5)
    mask.attach(model, opt)
    model(torch.randn(8, 6)).pow(2).sum().backward()
    opt.step()
    for name, p in model.named_parameters():
        assert p.grad[~mask.keep[name]].abs().max() == 0 and p.grad[mask.keep[name]].abs().max() > 0


def test_fractions_and_mask_names_are_checked_with_one_clear_error():
    with pytest.raises(ValueError, match="sparsity"):
        prune("global_magnitude", named(), "0.5")  # not a number: the same error as an out-of-range one
    mask = Mask({f"w{i}": torch.ones(2, dtype=torch.bool) for i in range(7)})
    with pytest.raises(KeyError) as err:
        mask.apply(nn.Linear(2, 2))
    assert "['w0', 'w1', 'w2', 'w3', 'w4']" in str(err.value) and "w5" not in str(err.value)  # the first five
