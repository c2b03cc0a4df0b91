"""Ids typed into URLs and forms never make a 500: odd digits ("²"), numbers past the column's
range, and junk are a 404 in a URL and ignored in a form."""

from __future__ import annotations

import pytest

from saas.web.ids import BIGINT_MAX, INT_MAX, parse_id, parse_ids


@pytest.mark.parametrize(("text", "limit", "expected"), [
    ("42", INT_MAX, 42), (" 7 ", INT_MAX, 7), ("²", INT_MAX, None), ("٣", INT_MAX, None),
    ("0", INT_MAX, None), ("-3", INT_MAX, None), ("", INT_MAX, None), (None, INT_MAX, None),
    (str(INT_MAX), INT_MAX, INT_MAX), (str(INT_MAX + 1), INT_MAX, None),
    (str(INT_MAX + 1), BIGINT_MAX, INT_MAX + 1), ("9" * 20, BIGINT_MAX, None),
])
def test_parse_id(text, limit, expected):
    assert parse_id(text, limit) == expected


def test_parse_ids_keeps_the_good_ones():
    assert parse_ids(["3", "²", "x", "9" * 25, "12"]) == [3, 12]


@pytest.mark.parametrize("path", [
    "/acme/records/99999999999999999999", "/acme/records/%C2%B2",
    "/acme/sequences/99999999999", "/acme/segments/3000000000",
])
def test_out_of_range_ids_in_urls_are_404(manager_client, path):
    assert manager_client.get(path).status_code == 404


def test_odd_ids_in_query_strings_and_forms_are_ignored(manager_client):
    for query in ("%C2%B2", "99999999999"):
        assert manager_client.get(f"/acme/worklist?sequence={query}").status_code in (200, 302)
    bulk = manager_client.post("/acme/leads/bulk", data={
        "ids": ["²", "9" * 25], "action": "owner", "owner_id": "²"})
    assert bulk.status_code == 302
