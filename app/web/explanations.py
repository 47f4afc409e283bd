"""Why the model answered: reading the fields of an explanation request.

Serves ``POST /explain`` (API) and the upload page's "Why?" (``POST /upload/explain``). An
explanation is a backward pass per explained frame on top of a classification, so it runs on the
inference pool like classification does (``app.tasks.run_task`` with ``explain`` options), and
only when asked: the plain classify path never computes one.
"""
from __future__ import annotations

from app.tasks import DEFAULT_K, ExplainOptions, TaskOptions
from app.web.uploads import given, options_checked, parse_int, parse_tta

__all__ = ["DEFAULT_K", "parse_options"]


def parse_options(form, classes: list[str]) -> TaskOptions:
    """The ``tta``, ``k``, ``method`` and ``class`` fields (blank: the default) as task options.
    Raises BadField naming the valid values."""
    tta = parse_tta(form.get("tta"))
    k = parse_int(form.get("k"))
    method, target = given(form.get("method")), given(form.get("class"))
    given_fields = {"k": k, "method": method, "target": target}
    with options_checked():
        explain = ExplainOptions(**{key: v for key, v in given_fields.items() if v is not None})
        return TaskOptions(tta=tta, explain=explain).check_classes(classes)
