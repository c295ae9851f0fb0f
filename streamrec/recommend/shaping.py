"""The list-shaping stages of a request, in order, from its shaping settings.

After the filters every list has (exclusion, the ranked cut, availability,
category) come, each only when configured:

1. ``filter`` rules (the settings' rules, then the request's);
2. ``boost`` and ``bury`` rules;
3. the per-category cap, then MMR;
4. the reserved slots (:mod:`streamrec.recommend.slots`);
5. ``pin`` rules.

Each is a :class:`~streamrec.recommend.stages.ListStage`, so a trace of the stages
(which rows each one kept) tells which stage dropped an item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from streamrec.config import deep_merge
from streamrec.errors import InvalidInput, Problem
from streamrec.recommend.diversity import CategoryCap, MaximalMarginalRelevance
from streamrec.recommend.rule_stages import RuleStage, compile_rules
from streamrec.recommend.rules_lang import RuleSpec
from streamrec.recommend.shaping_settings import ShapingSettings
from streamrec.recommend.slots import ReservedSlots, slots_in_use
from streamrec.recommend.stages import ListStage


def shaping_stages(settings: ShapingSettings, request_rules: Sequence[str]) -> list[ListStage]:
    """The shaping stages of a list (see the module docstring for their order).

    Raises
    ------
    InvalidInput
        If a rule of the request is malformed.
    """
    rules: list[RuleSpec] = [*compile_rules(settings.rules), *compile_rules(request_rules)]
    stages: list[ListStage] = [RuleStage(r) for r in rules if r.action == "filter"]
    stages += [RuleStage(r) for r in rules if r.action in ("boost", "bury")]
    diversity = settings.diversity
    if diversity.category_cap is not None:
        stages.append(CategoryCap(diversity.category_cap))
    if diversity.mmr_lambda is not None:
        stages.append(MaximalMarginalRelevance(diversity.mmr_lambda))
    if slots_in_use(settings.slots):
        stages.append(ReservedSlots(settings.slots))
    stages += [RuleStage(r) for r in rules if r.action == "pin"]
    return stages


def overlaid(settings: ShapingSettings, overlay: Mapping[str, Any] | None) -> ShapingSettings:
    """``settings`` with ``overlay`` deep-merged over it.

    Raises
    ------
    InvalidInput
        Naming every value of the overlay that does not fit.
    """
    if not overlay:
        return settings
    try:
        return ShapingSettings.model_validate(deep_merge(settings.model_dump(), overlay))
    except ValidationError as exc:
        problems = [
            Problem(None, ".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()
        ]
        raise InvalidInput("invalid shaping settings", problems) from None
