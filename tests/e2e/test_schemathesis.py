"""schemathesis over the whole OpenAPI description of a real ``streamrec serve``.

Every operation gets generated requests in positive (valid by the schema) and
negative (invalid) modes, sent with a key holding every scope; every response must
be a non-5xx whose status, content type, headers and body the description
documents, and invalid requests must be rejected. The cases sent are counted and
checked at the end, so the run cannot shrink to nothing unnoticed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import ignored_auth, positive_data_acceptance
from schemathesis.config._checks import (
    NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES,
    NegativeDataRejectionConfig,
)

from streamrec.config import Settings
from streamrec.serving.app import create_app
from tests.serving import serving

KEY = "fuzz-key-0123456789abcdef"
AUTH = {"keys": [{"name": "fuzz", "key": KEY, "scopes": ["read", "write", "admin"]}]}
CONFIG = f"""
[[auth.keys]]
name = "fuzz"
key = "{KEY}"
scopes = ["read", "write", "admin"]
"""
#: Examples per operation and mode.
EXAMPLES = 100
#: The fewest cases the run must have sent in all.
MIN_CASES = 2_000
SENT: dict[str, int] = {}
#: Checks left out: every case carries the key (tests/e2e/test_auth.py checks keys), and
#: the server rejects schema-valid values a JSON Schema cannot bound (event times
#: outside the window around its clock, RFC 3339 times before 1970) with a 422.
EXCLUDED = [ignored_auth, positive_data_acceptance]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("fuzz-serve")
    with serving(root, CONFIG) as url:
        yield url
    assert "Traceback" not in (root / "serve.log").read_text()


def test_the_server_publishes_the_description_under_test(server: str) -> None:
    assert httpx.get(f"{server}/openapi.json").json() == DESCRIPTION


#: The description the app publishes (building the app opens nothing).
DESCRIPTION = create_app(Settings(auth=AUTH)).openapi()
schema = schemathesis.openapi.from_dict(DESCRIPTION)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=EXAMPLES
)
#: A request line or headers too long for the HTTP server (a query of many long
#: values) are refused by it before the app, with 414 or 431: rejections as well.
schema.config.checks.negative_data_rejection = NegativeDataRejectionConfig(
    expected_statuses=[*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "414", "431"]
)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_as_documented(server: str, case: Any) -> None:
    mode = "negative" if case.meta and case.meta.generation.mode.is_negative else "positive"
    key = f"{case.method} {case.path} {mode}"
    SENT[key] = SENT.get(key, 0) + 1
    case.call_and_validate(
        base_url=server,
        headers={"authorization": f"Bearer {KEY}"},
        excluded_checks=EXCLUDED,
        timeout=60,
    )


def test_the_run_sent_thousands_of_cases_in_both_modes(capsys: pytest.CaptureFixture[str]) -> None:
    total = sum(SENT.values())
    modes = {key.rsplit(" ", 1)[1] for key in SENT}
    with capsys.disabled():
        print(f"\nschemathesis: {total} cases over {len(SENT)} operation-modes")
    assert total >= MIN_CASES, SENT
    assert modes == {"positive", "negative"}
