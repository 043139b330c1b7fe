"""How training batches are made (finetune/train.py `_batches`): every example once per epoch,
one system kind per batch, similar lengths together, and the same order for the same seed."""

from __future__ import annotations

import random

from perfagent.finetune.train import Encoded, _batches


def _examples(rng: random.Random, n: int) -> list[Encoded]:
    return [
        Encoded(
            system=rng.choice(["agent", "phrase"]),
            prefix=[1, 2, 3],
            ids=[0] * (length := rng.randint(60, 220)),
            labels=[-100] * length,
        )
        for _ in range(n)
    ]


def _padded(encoded: list[Encoded], batches: list[list[int]]) -> int:
    return sum(max(len(encoded[i].ids) for i in b) * len(b) for b in batches)


def test_each_example_once_and_one_system_per_batch() -> None:
    encoded = _examples(random.Random(1), 517)
    batches = _batches(encoded, 8, random.Random(0))
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(encoded)))
    assert all(len({encoded[i].system for i in b}) == 1 for b in batches)
    assert all(1 <= len(b) <= 8 for b in batches)


def test_batches_pad_far_less_than_random_ones() -> None:
    encoded = _examples(random.Random(2), 800)
    real = sum(len(e.ids) for e in encoded)
    batches = _batches(encoded, 8, random.Random(0))
    # random batches of these lengths pad by about a third; sorted windows by a few percent
    by_system: dict[str, list[int]] = {}
    for i, e in enumerate(encoded):
        by_system.setdefault(e.system, []).append(i)
    shuffled = [ix[k : k + 8] for ix in by_system.values() for k in range(0, len(ix), 8)]
    assert _padded(encoded, batches) < 1.08 * real < _padded(encoded, shuffled)


def test_the_same_seed_gives_the_same_batches_and_orders_vary() -> None:
    encoded = _examples(random.Random(3), 300)
    first = _batches(encoded, 8, random.Random(5))
    assert first == _batches(encoded, 8, random.Random(5))
    assert first != _batches(encoded, 8, random.Random(6))
    # not simply sorted by length overall: batch lengths come in shuffled order
    tops = [max(len(encoded[i].ids) for i in b) for b in first]
    assert tops != sorted(tops) and tops != sorted(tops, reverse=True)
