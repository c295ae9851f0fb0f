"""Settings of list shaping (the ``recommend.shaping`` section): business rules,
diversity, reserved slots, pagination and the latency budget.

Every stage is off (or empty) by default. An experiment variant's overlay of the
settings tree, and a request's own parameters, override these per list.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from streamrec.recommend.rules_lang import RuleError, parse_expression, parse_rule


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DiversitySettings(_Section):
    """Diversity of a list: at most ``category_cap`` items per primary category, and
    MMR re-ranking with ``mmr_lambda`` (1 = relevance only, 0 = diversity only) over
    the items' categories and tags. ``None`` turns either off."""

    category_cap: int | None = Field(default=None, ge=1, le=10_000)
    mmr_lambda: float | None = Field(default=None, ge=0, le=1)


class SlotSettings(_Section):
    """Reserved slots of a list.

    ``promoted_share`` of the slots (rounded, at least one when above 0) go to the
    best-scored items that ``promoted_when`` selects among the candidates and the
    popular items, with the reason ``promoted``. ``new_arrivals`` slots go to items
    created in the last ``new_arrival_window_s`` seconds, ranked by how many of
    their categories and tags the user's recent items share. ``editorial`` slots go
    to the editorial list (set with ``PUT /v1/editorial``). With probability
    ``exploration_epsilon`` one slot goes to an item drawn at random from the long
    tail (the popular items ranked after ``exploration_head``), and the list carries
    the propensity of that draw.
    """

    promoted_share: float = Field(default=0.0, ge=0, le=1)
    promoted_when: str | None = None
    new_arrivals: int = Field(default=0, ge=0, le=100)
    new_arrival_window_s: float = Field(default=7 * 86_400.0, gt=0)
    editorial: int = Field(default=0, ge=0, le=100)
    exploration_epsilon: float = Field(default=0.0, ge=0, le=1)
    exploration_head: int = Field(default=50, ge=0)
    exploration_tail: int = Field(default=500, ge=1)

    @field_validator("promoted_when")
    @classmethod
    def _expression(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_expression(value)
            except RuleError as exc:
                raise ValueError(str(exc)) from None
        return value


class ShapingSettings(_Section):
    """List shaping: rules, diversity, slots, pages and the latency budget.

    ``rules`` are texts of :mod:`streamrec.recommend.rules_lang` (``"filter: price <
    50"``), applied to every list before a request's own. ``budget_ms`` is the time a
    request gives its candidate sources (``None``: no deadline). A page token keeps
    its list for ``page_ttl_s`` seconds (at most ``page_lists`` lists are kept).
    """

    rules: tuple[str, ...] = ()
    diversity: DiversitySettings = DiversitySettings()
    slots: SlotSettings = SlotSettings()
    budget_ms: float | None = Field(default=None, gt=0)
    page_ttl_s: float = Field(default=300.0, gt=0)
    page_lists: int = Field(default=1024, ge=1)

    @field_validator("rules")
    @classmethod
    def _rules(cls, rules: tuple[str, ...]) -> tuple[str, ...]:
        for n, text in enumerate(rules):
            try:
                parse_rule(text)
            except RuleError as exc:
                raise ValueError(f"rule {n}: {exc}") from None
        return rules
