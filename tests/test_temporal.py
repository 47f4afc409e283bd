"""Temporal model (masks everywhere), TTA views, ensemble averaging and temperature."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from app.temporal.ensemble import Ensemble, apply_temperature, pad_batch
from app.temporal.model import TemporalClassifier, TemporalConfig, lengths_to_mask
from app.temporal.tta import TTA_VIEWS, make_view, make_views


@pytest.fixture(params=[False, True], ids=["attention", "attention+mean"])
def model(request):
    torch.manual_seed(0)
    cfg = TemporalConfig(input_dim=32, num_classes=3, hidden_dim=16, lstm_layers=2, heads=2, mean_pool=request.param)
    return TemporalClassifier(cfg).eval()


def batch(lengths, d=32, t=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = t or max(lengths)
    x = torch.randn(len(lengths), t, d, generator=g)
    lengths = torch.tensor(lengths)
    return x * lengths_to_mask(lengths, t).unsqueeze(-1), lengths


def test_output_shapes_and_pooling_weights(model):
    x, lengths = batch([7, 3, 1])
    logits, weights = model(x, lengths)
    assert logits.shape == (3, 3) and weights.shape == (3, 7)
    torch.testing.assert_close(weights.sum(1), torch.ones(3))
    assert (weights[1, 3:] == 0).all() and (weights[2, 1:] == 0).all()  # padding gets no weight


def test_padding_content_and_amount_change_nothing(model):
    x, lengths = batch([9, 4])
    with torch.no_grad():
        ref, w_ref = model(x, lengths)
        noisy = x.clone()
        noisy[1, 4:] = 100.0  # garbage where the padding is
        got, w = model(noisy, lengths)
        longer = torch.cat([x, torch.full((2, 6, 32), -7.0)], dim=1)  # more padding
        got2, w2 = model(longer, lengths)
        alone, _ = model(x[1:2, :4], lengths[1:2])  # no padding at all
    torch.testing.assert_close(got, ref)
    torch.testing.assert_close(got2, ref)
    torch.testing.assert_close(w2[:, :9], w_ref)
    torch.testing.assert_close(alone[0], ref[1], atol=1e-5, rtol=1e-5)


def test_without_masks_the_padding_would_matter(model):
    # Guard for the test above: the model does look at frame content.
    x, lengths = batch([9, 9])
    with torch.no_grad():
        a, _ = model(x, lengths)
        x2 = x.clone()
        x2[1, 4:] = 100.0
        b, _ = model(x2, lengths)
    assert not torch.allclose(a[1], b[1])


def test_mean_path_adds_the_masked_mean_of_the_projected_frames():
    torch.manual_seed(0)
    plain = TemporalClassifier(TemporalConfig(input_dim=32, num_classes=3, hidden_dim=16, heads=2)).eval()
    with_mean = TemporalClassifier(TemporalConfig(input_dim=32, num_classes=3, hidden_dim=16, heads=2,
                                                  mean_pool=True)).eval()
    with_mean.load_state_dict(plain.state_dict())  # same weights: the mean path has none of its own
    x, lengths = batch([7, 3])
    captured = {}
    plain.head.register_forward_hook(lambda m, inp, out: captured.__setitem__("plain", inp[0]))
    with_mean.head.register_forward_hook(lambda m, inp, out: captured.__setitem__("mean", inp[0]))
    with torch.no_grad():
        plain(x, lengths)
        with_mean(x, lengths)
        frames = plain.proj(x)
    expected = torch.stack([frames[0, :7].mean(0), frames[1, :3].mean(0)])
    torch.testing.assert_close(captured["mean"] - captured["plain"], expected)


def test_config_validation_and_round_trip():
    cfg = TemporalConfig(hidden_dim=48, heads=4)
    assert TemporalConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="divisible by heads"):
        TemporalConfig(hidden_dim=50, heads=4)
    with pytest.raises(ValueError, match="unknown temporal model settings \\['depth'\\]"):
        TemporalConfig.from_dict({**cfg.to_dict(), "depth": 3})


def test_tta_views_per_sequence():
    L = torch.tensor([5, 2])
    x = torch.arange(2 * 5, dtype=torch.float32).view(2, 5, 1)  # values = positions
    x[1, 2:] = 0
    rev, lr = make_view(x, L, "reverse")
    assert lr.tolist() == [5, 2]
    assert rev[0, :, 0].tolist() == [4, 3, 2, 1, 0] and rev[1, :2, 0].tolist() == [6, 5]
    fast, lf = make_view(x, L, "speed_up")
    assert lf.tolist() == [3, 1] and fast[0, :3, 0].tolist() == [0, 2, 4] and fast[1, 0, 0] == 5
    slow, ls = make_view(x, L, "slow_down")
    assert ls.tolist() == [8, 3]
    torch.testing.assert_close(slow[0, :8, 0], torch.linspace(0, 4, 8))  # linear interpolation
    torch.testing.assert_close(slow[1, :3, 0], torch.tensor([5.0, 5.5, 6.0]))
    assert (slow[1, 3:] == 0).all()
    with pytest.raises(ValueError, match="unknown TTA view 'zoom'"):
        make_view(x, L, "zoom")
    xs, ls = make_views(x, L)
    assert xs.shape == (8, 8, 1) and ls.tolist() == [5, 2, 5, 2, 3, 1, 8, 3]


def test_batched_tta_equals_one_view_at_a_time(model):
    x, lengths = batch([11, 6, 2])
    ens = Ensemble([model])
    out = ens.predict(x, lengths, tta=True)
    with torch.no_grad():
        per_view = []
        for v in TTA_VIEWS:
            xv, lv = make_view(x, lengths, v)
            per_view.append(torch.stack([model(xv[i:i + 1, :lv[i]], lv[i:i + 1])[0][0].softmax(-1)
                                         for i in range(3)]))
    torch.testing.assert_close(out.probs, torch.stack(per_view).mean(0), atol=1e-5, rtol=1e-5)


def test_ensemble_weighted_average(model):
    torch.manual_seed(1)
    other = TemporalClassifier(model.cfg).eval()
    x, lengths = batch([5, 3])
    ens = Ensemble([model, other], weights=[3, 1])
    out = ens.predict(x, lengths)
    with torch.no_grad():
        p1 = model(x, lengths)[0].softmax(-1)
        p2 = other(x, lengths)[0].softmax(-1)
    torch.testing.assert_close(out.probs, 0.75 * p1 + 0.25 * p2)
    torch.testing.assert_close(out.member_probs, torch.stack([p1, p2]))
    assert out.attention.shape == (2, 5)
    with pytest.raises(ValueError, match="member weights"):
        Ensemble([model, other], weights=[1, -1])


def test_temperature():
    p = np.array([[0.7, 0.2, 0.1]])
    assert np.allclose(apply_temperature(p, 1.0), p)
    soft, sharp = apply_temperature(p, 2.0), apply_temperature(p, 0.5)
    assert soft[0, 0] < 0.7 < sharp[0, 0]
    assert np.allclose(soft.sum(), 1) and np.argmax(soft) == 0
    torch.testing.assert_close(apply_temperature(torch.tensor(p), 2.0), torch.tensor(soft))


def test_pad_batch():
    x, lengths = pad_batch([np.ones((3, 4)), np.ones((5, 4))])
    assert x.shape == (2, 5, 4) and lengths.tolist() == [3, 5] and x[0, 3:].sum() == 0
