"""The uncertain rule: low calibrated confidence or members disagreeing, one rule everywhere."""
from __future__ import annotations

import numpy as np

from app.temporal.uncertainty import UncertainRule, choose_min_confidence, coverage
from app.training.source_cv import held_out_units, make_folds


def test_the_rule_fires_on_low_confidence_or_disagreement():
    rule = UncertainRule(min_confidence=0.6, min_agreement=0.5)
    sure = np.array([0.9, 0.05, 0.05])
    assert rule.reasons(sure, np.array([[0.8, 0.1, 0.1], [0.7, 0.2, 0.1]])) == []
    assert "below 0.60" in rule.reasons(np.array([0.5, 0.3, 0.2]))[0]
    split = np.array([[0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.9, 0.05, 0.05]])  # 1 of 3 members agree
    assert rule.reasons(sure, split) == ["only 33% of the members agree"]
    probs = np.stack([sure, np.array([0.5, 0.3, 0.2])])
    members = np.stack([np.stack([sure, sure]), np.stack([sure, sure])])  # (M, N, C)
    assert rule.flags(probs, members).tolist() == [False, True]
    assert UncertainRule.from_dict(rule.to_dict()) == rule
    assert UncertainRule.from_dict(None).min_confidence is None  # old bundles: disagreement only


def test_min_confidence_is_the_lowest_that_reaches_the_target():
    labels = np.array([0, 0, 0, 0, 1])
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.45, 0.55], [0.52, 0.48]])  # last two wrong
    # All kept below 0.55: 3 of 5 right; at 0.55: 3 of 4 (0.75); at 0.6: the 3 right ones.
    assert choose_min_confidence(probs, labels, target_accuracy=0.9) == 0.6
    assert choose_min_confidence(probs, labels, target_accuracy=0.7) == 0.55  # 3 of the 4 kept
    cov = coverage(np.array([False, False, False, True, True]), probs.argmax(1) == labels)
    assert cov == {"uncertain_rate": 0.4, "accuracy_when_certain": 1.0, "accuracy_when_uncertain": 0.0}


def test_folds_keep_every_source_together_and_spread_classes():
    units = ["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"] * 4 + ["e"] * 4 + ["f"] * 1
    labels = [0] * 10 + [1] * 9
    folds = make_folds(units, labels, 2)
    for u in set(units):
        assert len({f for f, v in zip(folds, units) if v == u}) == 1
    for c in (0, 1):
        per_fold = [sum(1 for f, y in zip(folds, labels) if y == c and f == k) for k in (0, 1)]
        assert min(per_fold) > 0


def test_a_collection_spread_over_splits_is_held_out_per_work(tmp_path):
    from app.data.manifest import Item

    def item(split, name, source):
        return Item(None, split, tmp_path / f"{name}.mp4", f"{name}.mp4", "x", source=source)

    train = [item("train", "pong__game__seg00", "atari"), item("train", "pong__game__seg01", "atari"),
             item("train", "tetris__game__seg00", "atari"), item("train", "film__a__seg00", "film")]
    everything = train + [item("test", "breakout__game__seg00", "atari")]
    assert held_out_units(train, everything) == ["atari/pong__game", "atari/pong__game", "atari/tetris__game", "film"]
