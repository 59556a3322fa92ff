"""Safe paging: limits across pages, NextLink hand-over, and nextLinks that must not be followed.

`IncidentPages` is a small fake of the ARM incidents list: pages of at most 50, `$top` honoured,
a `$skipToken` nextLink that carries the caller's `$top` (as ARM does).
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests_mock

from module_helpers import (
    ARM, INCIDENT_ID, INCIDENT_URL, RG, SUB, WS, WS_URL, arm_requests, base_params, context_value, incident,
    NEXT_LINK_KEY, load_module, mock_login, only_entry, only_error, query, run,
)

MOD = load_module()
EVIL = "https://evil.example.com"


class IncidentPages:
    """A requests-mock callback serving `total` incidents, at most `page_size` per page."""

    def __init__(self, total: int, page_size: int = 50):
        self.total = total
        self.page_size = page_size

    def __call__(self, request, context):
        q = query(request)
        start = int(q.get("$skipToken", 0))
        top = int(q.get("$top", self.page_size))
        end = min(start + min(top, self.page_size), self.total)
        body = {"value": [incident(f"inc-{n}", n) for n in range(start + 1, end + 1)]}
        if end < self.total:
            body["nextLink"] = f"{WS_URL}/incidents?" + urlencode(
                {"api-version": q["api-version"], "$top": top, "$skipToken": end})
        return body


@pytest.fixture
def bare():
    with requests_mock.Mocker() as mocker:
        yield mocker


@pytest.fixture
def m(bare):
    mock_login(bare)
    return bare


def ids(entry) -> list[str]:
    return [row["ID"] for row in context_value(entry, "AzureSentinel.Incident(")]


def evil_requests(m) -> list:
    return [r for r in m.request_history if "evil.example.com" in r.url]


def test_limit_spanning_pages_returns_exactly_limit_and_a_next_link(m):
    """Given 200 incidents served 50 per page, when list-incidents asks for 120, then 120 come back with NextLink."""
    m.get(f"{WS_URL}/incidents", json=IncidentPages(200))
    entry = only_entry(run("azure-sentinel-list-incidents", {"limit": "120"}))
    assert ids(entry) == [f"inc-{n}" for n in range(1, 121)]
    tops = [int(query(r)["$top"]) for r in arm_requests(m)]
    assert tops == [120, 70, 20]  # the last page asks only for what is still missing
    next_link = entry["EntryContext"][NEXT_LINK_KEY]
    assert next_link["Description"] == "NextLink for listing commands"
    assert next_link["URL"].startswith(f"{WS_URL}/incidents?") and "skipToken=120" in next_link["URL"]


@pytest.mark.parametrize("command, path, args", [
    pytest.param("azure-sentinel-list-incidents", "incidents", {}, id="incidents"),
    pytest.param("azure-sentinel-list-incident-comments", f"incidents/{INCIDENT_ID}/comments",
                 {"incident_id": INCIDENT_ID}, id="comments"),
])
def test_an_empty_limit_is_the_default_of_50(m, command, path, args):
    """Given limit="" (an empty argument, which every other argument treats as absent), when a list command
    runs, then it asks for the default 50, as the resource group and subscription lists already did."""
    m.get(f"{WS_URL}/{path}", json={"value": []})
    only_entry(run(command, {**args, "limit": ""}))
    assert [query(r)["$top"] for r in arm_requests(m)] == ["50"]


def test_no_next_link_when_everything_was_returned(m):
    """Given exactly `limit` incidents in total, when list-incidents runs, then no NextLink is set."""
    m.get(f"{WS_URL}/incidents", json=IncidentPages(100))
    entry = only_entry(run("azure-sentinel-list-incidents", {"limit": "100"}))
    assert len(ids(entry)) == 100
    assert NEXT_LINK_KEY not in entry["EntryContext"]


def test_next_link_argument_continues_where_the_last_call_stopped(m):
    """Given the NextLink of a first call, when list-incidents runs with next_link, then the next items follow."""
    m.get(f"{WS_URL}/incidents", json=IncidentPages(200))
    first = only_entry(run("azure-sentinel-list-incidents", {"limit": "120"}))
    link = first["EntryContext"][NEXT_LINK_KEY]["URL"]
    second = only_entry(run("azure-sentinel-list-incidents", {"limit": "50", "next_link": link}))
    assert ids(second) == [f"inc-{n}" for n in range(121, 171)]
    continued = arm_requests(m)[3]
    assert continued.url.count("top=") == 1, "the link's own $top is replaced, not sent twice"
    assert query(continued)["$top"] == "50" and query(continued)["$skipToken"] == "120"
    assert "skipToken=170" in second["EntryContext"][NEXT_LINK_KEY]["URL"]


def test_next_link_with_spaces_round_trips(m):
    """Given a nextLink whose filter has spaces, then NextLink.URL carries %20 and works as next_link."""
    link = f"{WS_URL}/incidents?api-version=2025-12-01&$filter=properties/severity eq 'High'&$skipToken=1"
    m.get(f"{WS_URL}/incidents", [{"json": {"value": [incident()], "nextLink": link}},
                                  {"json": {"value": [incident("inc-2", 2)]}}])
    first = only_entry(run("azure-sentinel-list-incidents", {"limit": "1"}))
    url = first["EntryContext"][NEXT_LINK_KEY]["URL"]
    assert " " not in url and "%20" in url
    second = only_entry(run("azure-sentinel-list-incidents", {"next_link": url}))
    assert ids(second) == ["inc-2"]
    assert query(arm_requests(m)[-1])["$filter"] == "properties/severity eq 'High'"


@pytest.mark.parametrize("foreign", [
    pytest.param(f"{EVIL}/steal?$skipToken=50", id="other-host"),
    pytest.param("http://management.azure.com/x?$skipToken=50", id="downgraded-scheme"),
    pytest.param("https://management.azure.com:8443/x?$skipToken=50", id="other-port"),
    pytest.param("https://user:pw@management.azure.com/x?$skipToken=50", id="user-info"),
])
def test_foreign_next_link_from_the_server_is_not_followed(bare, foreign):
    """Given a page whose nextLink points elsewhere, when paging, then it is refused and gets no request/token."""
    # Registered first, so matched last: it records anything that is neither sign-in nor the first page.
    catch_all = bare.register_uri(requests_mock.ANY, requests_mock.ANY, json={"value": []})
    mock_login(bare)
    first_page = bare.get(f"{WS_URL}/incidents", json={"value": [incident()], "nextLink": foreign})
    message = only_error(run("azure-sentinel-list-incidents", {"limit": "10"}))
    assert "Refusing" in message
    assert first_page.call_count == 1
    assert catch_all.call_count == 0
    assert evil_requests(bare) == []


def test_repeated_next_link_stops_with_an_error(m):
    """Given a server that returns the same nextLink again, when paging, then it stops instead of looping."""
    loop = f"{WS_URL}/incidents?api-version=2025-12-01&$skipToken=same"
    m.get(f"{WS_URL}/incidents", json={"value": [incident()], "nextLink": loop})
    message = only_error(run("azure-sentinel-list-incidents", {"limit": "500"}))
    assert "same nextLink twice" in message
    assert len(arm_requests(m)) == 2


def test_more_than_max_pages_stops_with_an_error(m, monkeypatch):
    """Given an endless chain of distinct nextLinks, when paging, then it stops after MAX_PAGES pages."""
    monkeypatch.setattr(MOD, "MAX_PAGES", 3)
    m.get(f"{WS_URL}/incidents", json=IncidentPages(10_000, page_size=1))
    settings = MOD.settings_from_params(base_params())
    session = MOD.new_session(settings)
    transport = MOD.Transport(session, MOD.Credential(settings, session, {}), ARM,
                              MOD.RetryPolicy(sleep=lambda s: None))
    client = MOD.Client(transport, SUB, RG, WS)
    with pytest.raises(MOD.UnsafeRequestError, match="Stopped after 3 pages"):
        client.list_incidents(500)
    assert len(arm_requests(m)) == 3


@pytest.mark.parametrize("command, extra", [
    pytest.param("azure-sentinel-list-incidents", {}, id="incidents"),
    pytest.param("azure-sentinel-list-incident-comments", {"incident_id": INCIDENT_ID}, id="comments"),
    pytest.param("azure-sentinel-list-incident-relations", {"incident_id": INCIDENT_ID}, id="relations"),
])
@pytest.mark.parametrize("link", [
    pytest.param(f"{EVIL}/steal", id="other-host"),
    pytest.param("http://management.azure.com/steal", id="http"),
    pytest.param("//evil.example.com/steal", id="scheme-relative"),
    pytest.param("not a url", id="garbage"),
])
def test_foreign_next_link_argument_is_refused_before_any_request(command, extra, link):
    """Given a next_link argument for another host, when a list command runs, then nothing at all is sent."""
    with requests_mock.Mocker() as m:
        catch_all = m.register_uri(requests_mock.ANY, requests_mock.ANY, json={"value": []})
        message = only_error(run(command, {**extra, "next_link": link}))
        assert "Refusing" in message
        assert catch_all.call_count == 0 and m.request_history == []


def test_comments_follow_pages_up_to_the_limit(m):
    """Given comments over two pages, when list-incident-comments asks for 3, then 3 come back with NextLink."""
    def comment(n):
        return {"name": f"c{n}", "properties": {"message": f"m{n}"}}
    page2 = f"{INCIDENT_URL}/comments?api-version=2025-12-01&$skipToken=2"
    m.get(f"{INCIDENT_URL}/comments", [
        {"json": {"value": [comment(1), comment(2)], "nextLink": page2}},
        {"json": {"value": [comment(3)], "nextLink": page2 + "x"}},
    ])
    entry = only_entry(run("azure-sentinel-list-incident-comments", {"incident_id": INCIDENT_ID, "limit": "3"}))
    rows = context_value(entry, "AzureSentinel.IncidentComment(")
    assert [r["ID"] for r in rows] == ["c1", "c2", "c3"]
    assert [query(r)["$top"] for r in arm_requests(m)] == ["3", "1"]
    assert entry["EntryContext"][NEXT_LINK_KEY]["URL"].endswith("$skipToken=2x")
