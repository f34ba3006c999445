"""Every regularizer against an independent formula, in float64, with gradients."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from sparsebook import regularizers
from sparsebook.regularizers import HYPERSPARSE_INFLECTION, build, hoyer_measure

@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def tensors(seed=0):
    g = torch.Generator().manual_seed(seed)
    shapes = [(6, 5), (6,), (4, 3, 3, 3), (3, 4)]
    return [torch.randn(s, generator=g, dtype=torch.float64, requires_grad=True) for s in shapes]


def np_(t):
    return t.detach().numpy()


def formula(name, ts):
    """Independent numpy versions of the papers' formulas."""
    if name == "l1":
        return sum(np.abs(np_(t)).sum() for t in ts)
    if name == "l2":
        return sum((np_(t) ** 2).sum() for t in ts)
    if name == "hoyer":
        return sum(np.abs(np_(t)).sum() / np.sqrt((np_(t) ** 2).sum()) for t in ts)
    if name == "hoyer_square":
        return sum(np.abs(np_(t)).sum() ** 2 / (np_(t) ** 2).sum() for t in ts)
    if name == "transformed_l1":
        return sum((2 * np.abs(np_(t)) / (1 + np.abs(np_(t)))).sum() for t in ts)
    total = 0.0
    for t in ts:
        w = np_(t)
        rows = [np.sqrt((w[i] ** 2).sum()) for i in range(w.shape[0])]
        cols = [np.sqrt((w[:, j] ** 2).sum()) for j in range(w.shape[1])]
        if name == "group_lasso":
            total += sum(rows) + sum(cols)
        else:
            total += (sum(rows) ** 2 + sum(cols) ** 2) / (w ** 2).sum()
    return total


ELEMENT = ["l1", "l2", "hoyer", "hoyer_square", "transformed_l1"]
GROUP = ["group_lasso", "group_hoyer_square"]


@pytest.mark.parametrize("name", ELEMENT + GROUP)
def test_value_matches_formula(name):
    ts = tensors()
    if name in GROUP:
        ts = [t for t in ts if t.dim() > 1]
    assert build(name).penalty(ts).item() == pytest.approx(formula(name, ts), rel=1e-12)


@pytest.mark.parametrize("name", ELEMENT + GROUP)
def test_gradcheck(name):
    ts = tensors(1)
    if name in GROUP:
        ts = [t for t in ts if t.dim() > 1]
    reg = build(name)
    assert torch.autograd.gradcheck(lambda *xs: reg.penalty(list(xs)), ts)


@pytest.mark.parametrize("name", ["hoyer", "hoyer_square", "group_hoyer_square"])
@pytest.mark.parametrize("scale", [1e-3, 0.5, 7.0])
def test_hoyer_family_is_scale_invariant(name, scale):
    ts = [t for t in tensors(2) if t.dim() > 1]
    reg = build(name)
    assert reg.penalty([t * scale for t in ts]).item() == pytest.approx(reg.penalty(ts).item(), rel=1e-12)


def test_l1_is_not_scale_invariant():
    ts = tensors(2)
    assert build("l1").penalty([t * 2 for t in ts]).item() == pytest.approx(2 * build("l1").penalty(ts).item())


def test_zero_tensors_are_skipped_without_nan():
    z = torch.zeros(4, 3, requires_grad=True)
    w = torch.randn(4, 3, requires_grad=True)
    for name in ["hoyer", "hoyer_square", "group_hoyer_square", "group_lasso"]:
        val = build(name).penalty([z, w])
        val.backward()
        assert math.isfinite(val.item())
        assert z.grad is None or torch.isfinite(z.grad).all()
        assert torch.isfinite(w.grad).all()
        z.grad = w.grad = None
    only_zero = build("hoyer").penalty([z])
    assert only_zero.item() == 0


def test_transformed_l1_parameter():
    t = torch.tensor([0.5, -2.0])
    assert build("transformed_l1", a=3.0).penalty([t]).item() == pytest.approx(4 * 0.5 / 3.5 + 4 * 2 / 5)
    with pytest.raises(ValueError, match="a must be a positive"):
        build("transformed_l1", a=0)


# -- HyperSparse -----------------------------------------------------------------------------

@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9, 0.99])
def test_hypersparse_threshold_is_the_sorted_value(sparsity):
    w = torch.randn(10_001).abs()
    k = int(math.floor(sparsity * w.numel()))
    assert regularizers.hypersparse_threshold(w, sparsity).item() == torch.sort(w).values[k].item()


@pytest.mark.parametrize("sparsity", [0.5, 0.9, 0.98])
def test_hypersparse_gradient_matches_paper_formula(sparsity):
    ts = tensors(3)
    reg = build("hypersparse", sparsity=sparsity)
    value = reg.penalty(ts)
    assert abs(value.item()) < 1e-12  # the loss is ~0: it exists for its gradient
    grads = torch.autograd.grad(value, ts)
    w = torch.cat([t.detach().flatten() for t in ts])
    t = torch.sort(w.abs()).values[int(math.floor(sparsity * w.numel()))]
    s = HYPERSPARSE_INFLECTION / t
    a, big_t = w.abs().sum(), torch.tanh(s * w.abs()).sum()
    expected = torch.sign(w) * s / torch.cosh(s * w.abs()) ** 2 * a / big_t
    assert torch.allclose(torch.cat([g.flatten() for g in grads]), expected, rtol=1e-10, atol=1e-14)


def test_hypersparse_gradient_matches_finite_differences():
    """The stop-gradient trick makes the value constant, so check against A*T/T0 - A with T0 frozen."""
    ts = tensors(4)
    reg = build("hypersparse", sparsity=0.8)
    w0 = torch.cat([t.detach().flatten() for t in ts])
    s = reg.scale(w0.abs())
    t0 = torch.tanh(s * w0.abs()).sum()

    def surrogate(w):
        return w.abs().sum() * torch.tanh(s * w.abs()).sum() / t0 - w.abs().sum()

    grads = torch.cat([g.flatten() for g in torch.autograd.grad(reg.penalty(ts, s=s), ts)])
    eps = 1e-6
    numeric = torch.stack([(surrogate(w0 + eps * e) - surrogate(w0 - eps * e)) / (2 * eps)
                           for e in torch.eye(w0.numel())])
    assert torch.allclose(grads, numeric, rtol=1e-6, atol=1e-9)


def test_hypersparse_gradient_is_l1_like_below_and_vanishing_above_threshold():
    w = torch.cat([torch.linspace(-1, 1, 900), torch.linspace(10, 20, 100)]).requires_grad_()
    reg = build("hypersparse", sparsity=0.85)
    (g,) = torch.autograd.grad(reg.penalty([w]), [w])
    t = regularizers.hypersparse_threshold(w.detach().abs(), 0.85)
    small, large = w.detach().abs() < t / 10, w.detach().abs() > 8 * t
    assert g[small].abs().min() > 0.85 * g[small].abs().max()   # flat like L1 near zero
    assert g[large].abs().max() < 1e-3 * g[small].abs().max()  # ~0 far above the threshold


def test_hypersparse_all_zero_weights_give_zero_and_finite_gradient():
    ts = [torch.zeros(3, 4, requires_grad=True), torch.zeros(5, requires_grad=True)]
    value = build("hypersparse", sparsity=0.5).penalty(ts)
    grads = torch.autograd.grad(value, ts)
    assert value.item() == 0 and all(torch.equal(g, torch.zeros_like(g)) for g in grads)


def test_hypersparse_math_is_fp32_for_half_weights():
    w = torch.randn(200, dtype=torch.float64)
    half = w.to(torch.bfloat16).requires_grad_()
    ref = w.to(torch.bfloat16).float().requires_grad_()
    reg = build("hypersparse", sparsity=0.9)
    (g_half,) = torch.autograd.grad(reg.penalty([half]), [half])
    (g_ref,) = torch.autograd.grad(reg.penalty([ref]), [ref])
    assert g_half.dtype == torch.bfloat16
    assert torch.allclose(g_half.float(), g_ref, rtol=1e-2, atol=1e-6)


@pytest.mark.parametrize("bad", [-0.1, 1.0, float("nan"), "0.9"])
def test_hypersparse_bad_sparsity(bad):
    with pytest.raises(ValueError, match="sparsity must be in \\[0, 1\\)"):
        build("hypersparse", sparsity=bad)


def test_hypersparse_needs_sparsity():
    with pytest.raises(ValueError, match="needs a target sparsity"):
        build("hypersparse")


# -- parameter sets --------------------------------------------------------------------------

def test_parameter_sets_follow_the_papers():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2, 2))
    n_weights = 2 * 9 + 4
    assert build("l1")(model).item() == pytest.approx(sum(p.abs().sum().item() for p in
                                                           (model[0].weight, model[3].weight)))
    assert len(build("l1").select(model)) == 2 and len(build("hypersparse", sparsity=0.5).select(model)) == 2
    assert sum(t.numel() for t in build("group_lasso").select(model)) == n_weights
    assert len(build("hoyer").select(model)) == len(list(model.parameters()))  # biases (and BN) included
    assert len(build("l1", params="all").select(model)) == len(list(model.parameters()))
    custom = build("l2", params=lambda m: [m[3].weight])
    assert custom(model).item() == pytest.approx(model[3].weight.pow(2).sum().item())


def test_unknown_names():
    with pytest.raises(ValueError, match="unknown regularizer 'l3'.*group_hoyer_square.*hypersparse"):
        build("l3")
    with pytest.raises(ValueError, match="unknown parameter set"):
        build("l1", params="biases")
    with pytest.raises(ValueError, match="bad parameters"):
        build("hoyer", sparsity=0.9)


def test_hoyer_measure():
    assert hoyer_measure(torch.ones(100)) == pytest.approx(0.0)
    assert hoyer_measure(torch.eye(10)[0]) == pytest.approx(1.0)
    assert 0 < hoyer_measure(torch.randn(100)) < 1


def test_hypersparse_backward_after_another_forward_uses_its_own_values():
    """The reused buffer holds the latest forward's tanh; an earlier graph's backward must not read it."""
    ts = tensors(3)
    reg = build("hypersparse", sparsity=0.9)
    first = reg.penalty(ts)
    expected = torch.autograd.grad(reg.penalty(ts), ts, retain_graph=True)
    reg.penalty([torch.randn_like(t) for t in ts])  # refills the buffer with other weights
    got = torch.autograd.grad(first, ts)
    assert all(torch.allclose(g, e, rtol=1e-12, atol=1e-15) for g, e in zip(got, expected))


@pytest.mark.parametrize("flat", [False, True])
def test_hypersparse_second_backward_of_one_graph_gives_the_same_gradient(flat):
    """The kept tanh survives a backward pass: a second one over the same graph reads it again."""
    ts = tensors(3)
    reg = build("hypersparse", sparsity=0.9, flat=flat)
    value = reg.penalty(ts)
    first = torch.autograd.grad(value, ts, retain_graph=True)
    second = torch.autograd.grad(value, ts)
    assert all(torch.allclose(a, b, rtol=1e-12, atol=1e-15) for a, b in zip(first, second))


def test_hypersparse_flat_path_gives_the_same_value_and_gradient():
    """The GPU's path (one flat vector, few kernels), forced on the CPU, against the per-tensor one."""
    ts = tensors(3)
    per_tensor, flat = build("hypersparse", sparsity=0.9), build("hypersparse", sparsity=0.9, flat=True)
    v_ref, v_flat = per_tensor.penalty(ts), flat.penalty(ts)
    assert v_flat.item() == pytest.approx(v_ref.item(), abs=1e-12)
    g_ref, g_flat = torch.autograd.grad(v_ref, ts), torch.autograd.grad(v_flat, ts, retain_graph=True)
    assert all(a.shape == b.shape and torch.allclose(a, b, rtol=1e-12, atol=1e-15) for a, b in zip(g_ref, g_flat))
    flat.penalty([torch.randn_like(t) for t in ts])  # a later forward: the earlier backward recomputes
    assert all(torch.allclose(a, b, rtol=1e-12, atol=1e-15) for a, b in zip(g_ref, torch.autograd.grad(v_flat, ts)))


@pytest.mark.parametrize("sparsity", [0.5, 0.9, 0.98])
def test_fast_hypersparse_equals_the_readable_reference(sparsity):
    """The closed-form loss with its reused buffers against the paper's formula through autograd: same value,
    same gradient, on layers of different shapes and scales."""
    g = torch.Generator().manual_seed(1)
    shapes, scales = [(20, 1, 5, 5), (50, 20, 5, 5), (500, 800), (10, 500)], [0.3, 0.05, 0.01, 0.1]
    ts = [(torch.randn(sh, generator=g, dtype=torch.float64) * sc).requires_grad_() for sh, sc in zip(shapes, scales)]
    reg = regularizers.build("hypersparse", sparsity=sparsity)
    fast, ref = reg.penalty(ts), regularizers.hypersparse_reference(ts, sparsity)
    torch.testing.assert_close(fast, ref, atol=1e-9, rtol=0)
    for got, want in zip(torch.autograd.grad(fast, ts), torch.autograd.grad(ref, ts)):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


def test_the_errors_name_every_valid_choice():
    with pytest.raises(ValueError) as err:
        build("l1", params="biases")
    assert str(err.value) == "unknown parameter set 'biases'; valid: all, conv_linear_weights"
    with pytest.raises(ValueError) as err:
        build("group_lasso", grouping="rows")
    assert str(err.value) == "group_lasso grouping must be one of channel_filter, kernel_position, got 'rows'"


@pytest.mark.parametrize("name,extra", [("hypersparse", {"sparsity": 0.9}), ("transformed_l1", {}),
                                        ("group_lasso", {}), ("l1", {})])
def test_every_regularizer_covers_the_parameter_set_it_is_given(name, extra):
    default = build(name, **extra).params_name
    other = "conv_linear_weights" if default == "all" else "all"  # not its default: the choice must reach it
    reg = build(name, params=other, **extra)
    assert reg.params_name == other and repr(reg) == f"{type(reg).__name__}(params='{other}')"
    assert len(reg.select(nn.Linear(3, 2))) == (2 if other == "all" else 1)  # weight and bias, or the weight


def test_hoyer_measure_edges():
    assert hoyer_measure(torch.tensor([3.0, 0.0])) == pytest.approx(1.0)  # two entries: defined
    assert hoyer_measure(torch.tensor([1.0, 1.0])) == pytest.approx(0.0)
    assert math.isnan(hoyer_measure(torch.tensor([2.0])))  # one entry: (sqrt(1) - 1) / 0
    assert math.isnan(hoyer_measure(torch.zeros(5)))  # all zero: 0 / 0
    assert math.isnan(hoyer_measure(torch.zeros(1)))


def test_hypersparse_takes_sparsity_zero_and_an_explicit_scale():
    reg = build("hypersparse", sparsity=0.0)
    assert reg.sparsity == 0.0
    w = [torch.tensor([0.1, -0.5, 2.0], requires_grad=True)]
    (g_own,) = torch.autograd.grad(build("hypersparse", sparsity=0.5).penalty(w), w)
    (g_s,) = torch.autograd.grad(build("hypersparse", sparsity=0.5).penalty(w, s=torch.tensor(10.0)), w)
    a, t = w[0].abs().sum(), torch.tanh(10.0 * w[0].abs()).sum()
    expected = torch.sign(w[0]) * 10.0 / torch.cosh(10.0 * w[0].abs()) ** 2 * a / t
    assert torch.allclose(g_s, expected.detach(), rtol=1e-5) and not torch.allclose(g_s, g_own)


def test_group_lasso_by_kernel_position_is_the_mnist_cnn_scripts():
    """``sum(sqrt(sum(W**2, 0))) + sum(sqrt(sum(W**2, 1)))`` on a conv weight (mnist/CNN/structure.py, line 103):
    one group per input channel and kernel position, one per filter and kernel position."""
    w = torch.randn(4, 3, 2, 2, generator=torch.Generator().manual_seed(0))
    expected = w.pow(2).sum(0).sqrt().sum() + w.pow(2).sum(1).sqrt().sum()
    assert build("group_lasso", grouping="kernel_position").penalty([w]).item() == pytest.approx(expected.item())
    by_channel = w.flatten(1).norm(dim=1).sum() + w.transpose(0, 1).flatten(1).norm(dim=1).sum()
    assert build("group_lasso").penalty([w]).item() == pytest.approx(by_channel.item())
    assert build("group_lasso", grouping="kernel_position").grouping == "kernel_position"
    lin = torch.randn(5, 3, generator=torch.Generator().manual_seed(1))  # on a Linear weight the two agree
    assert build("group_lasso", grouping="kernel_position").penalty([lin]).item() == pytest.approx(
        build("group_lasso").penalty([lin]).item())


def test_a_callable_parameter_set_is_named_after_itself():
    def biases(model):
        return [p for n, p in model.named_parameters() if n.endswith("bias")]
    reg = build("l1", params=biases)
    assert reg.params_name == "biases" and reg.select is biases
    import functools
    assert build("l1", params=functools.partial(biases)).params_name == "custom"  # no name of its own
    with pytest.raises(ValueError) as err:
        build("l1", params=3)
    assert str(err.value) == "bad parameters for regularizer 'l1': params must be a name or a callable, got 3"
