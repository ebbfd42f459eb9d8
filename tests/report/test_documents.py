"""Every kind of document drawn in one list (report/documents.py): each batch finishes with its
own results, and one failing document stops neither its kind's other documents nor other kinds."""
from __future__ import annotations

import pytest

from pipelines.lib.report.documents import Batch, Failed, draw_batch, draw_batches, drawn


def double(n: int) -> int:
    if n == 13:
        raise ValueError("document 13 cannot be drawn")
    return 2 * n


def test_batches_drawn_together_each_finishes_with_its_results(monkeypatch):
    monkeypatch.setenv("DESTINATIONS_DOCUMENT_WORKERS", "2")
    seen = {}
    batches = [Batch("a", double, [1], lambda rs: seen.setdefault("a", rs)),
               Batch("b", double, list(range(20, 40)), lambda rs: seen.setdefault("b", rs)),
               Batch("none", double, [], lambda rs: "nothing to draw")]
    out = draw_batches(batches)
    assert out == {"a": [2], "b": [2 * n for n in range(20, 40)], "none": "nothing to draw"}
    assert seen["b"] == out["b"]


def test_a_failing_document_stops_neither_its_kind_nor_the_others(monkeypatch):
    monkeypatch.setenv("DESTINATIONS_DOCUMENT_WORKERS", "2")
    recorded = {}

    def finish(kind):
        def f(rs):
            recorded[kind] = [r for r in rs if drawn(r)]
            return kind
        return f
    out = draw_batches([Batch("bad", double, list(range(10, 20)), finish("bad")),
                        Batch("good", double, list(range(5)), finish("good"))])
    assert isinstance(out["bad"], ValueError) and "13" in str(out["bad"])
    assert recorded["bad"] == [2 * n for n in range(10, 20) if n != 13]     # the others are recorded
    assert out["good"] == "good" and recorded["good"] == [0, 2, 4, 6, 8]
    with pytest.raises(ValueError, match="document 13"):
        draw_batch(Batch("bad", double, [12, 13], lambda rs: rs))
    assert isinstance(draw_batches([Batch("x", double, [13], lambda rs: rs)])["x"], ValueError)
    assert isinstance(Failed(ValueError("x")).error, ValueError)
