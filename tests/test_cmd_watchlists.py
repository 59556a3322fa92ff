"""Watchlist commands: the official names and context, plus paging, etags and the inline size limit."""

from __future__ import annotations

import re

import pytest

from module_helpers import (
    WS_URL, arm_requests, context_value, load_json, only_entry, only_error, run,
)

WL = f"{WS_URL}/watchlists/highValueAsset"


def create(tmp_path, content: bytes, **args):
    csv = tmp_path / "list.csv"
    csv.write_bytes(content)
    return run("azure-sentinel-watchlist-create-update",
               {"watchlist_alias": "highValueAsset", "watchlist_display_name": "HVA", "file_entry_id": "e-1",
                "items_search_key": "IP", **args}, files={"e-1": str(csv)})


def test_list_by_alias_returns_that_watchlist(m):
    """Given an alias, then the one watchlist is returned with the official fields (not an empty list)."""
    m.get(WL, json=load_json("watchlist_get.json"))
    row = context_value(only_entry(run("azure-sentinel-list-watchlists", {"watchlist_alias": "highValueAsset"})),
                        "AzureSentinel.Watchlist(")[0]
    assert row == {"Name": "highValueAsset", "ID": "76d5a51f-ba1f-4038-9d22-59fda38dc017",
                   "DisplayName": "High Value Assets Watchlist", "Description": "Watchlist from CSV content",
                   "Provider": "Microsoft", "Source": "watchlist.csv", "Created": "2020-09-28T00:26:54Z",
                   "Updated": "2020-09-28T00:26:57Z", "CreatedBy": "john doe", "UpdatedBy": "john doe",
                   "Alias": "highValueAsset", "Label": ["Tag1", "Tag2"], "ItemsSearchKey": "header1"}


def test_list_stops_at_the_limit_and_continues_inside_the_page(m):
    """Given watchlists over pages of two (the API takes no $top), when 3 are asked for, then 3 come back with a
    link that continues inside the second page; passed back, it returns the rest with nothing skipped."""
    items = [{**load_json("watchlist_get.json"), "name": f"w{n}"} for n in range(5)]
    m.get(f"{WS_URL}/watchlists", [
        {"json": {"value": items[0:2], "nextLink": f"{WS_URL}/watchlists?$skipToken=p2"}},
        {"json": {"value": items[2:4], "nextLink": f"{WS_URL}/watchlists?$skipToken=p3"}},
        {"json": {"value": items[2:4], "nextLink": f"{WS_URL}/watchlists?$skipToken=p3"}},
        {"json": {"value": items[4:]}}])
    first = only_entry(run("azure-sentinel-list-watchlists", {"limit": "3"}))
    link = context_value(first, "AzureSentinel.NextLink")["URL"]
    assert [w["Name"] for w in context_value(first, "AzureSentinel.Watchlist(")] == ["w0", "w1", "w2"]
    assert link.endswith("$skipToken=p2#skip=1")
    second = only_entry(run("azure-sentinel-list-watchlists", {"limit": "10", "next_link": link}))
    assert [w["Name"] for w in context_value(second, "AzureSentinel.Watchlist(")] == ["w3", "w4"]
    assert "AzureSentinel.NextLink" not in str(second["EntryContext"])
    assert [r.qs.get("$top") for r in arm_requests(m)] == [None] * 4
    assert all("skip=" not in r.url for r in arm_requests(m))  # the continuation is ours, never sent


def test_create_sends_the_csv_and_the_etag_of_an_existing_watchlist(m, tmp_path):
    """Given an existing watchlist, when it is updated from a file, then the PUT carries the file's content,
    the fields the user set over the existing ones, and the current etag."""
    m.get(WL, json=load_json("watchlist_get.json"))
    put = m.put(WL, json=load_json("watchlist_create.json"))
    entry = only_entry(create(tmp_path, b"\xef\xbb\xbfIP,Owner\n10.0.0.1,SOC\n", labels="a,b", lines_to_skip="0"))
    body = put.last_request.json()
    assert body["etag"] == '"0300bf09-0000-0000-0000-5c37296e0000"'
    props = body["properties"]
    assert props["rawContent"] == "IP,Owner\n10.0.0.1,SOC\n" and props["contentType"] == "text/csv"
    assert props["labels"] == ["a", "b"] and props["provider"] == "XSOAR" and props["sourceType"] == "Local"
    assert props["description"] == "Watchlist from CSV content"  # kept from the existing watchlist
    assert context_value(entry, "AzureSentinel.Watchlist(")["Alias"] == "highValueAsset"


def test_create_retries_with_the_new_etag_after_a_conflict(m, tmp_path):
    """Given the watchlist changes between read and write, then it is re-read and written with the new etag."""
    first, second = load_json("watchlist_get.json"), load_json("watchlist_get.json")
    second["etag"] = '"etag-2"'
    m.get(WL, [{"json": first}, {"json": second}])
    put = m.put(WL, [{"status_code": 409, "json": {"error": {"code": "Conflict", "message": "Newer version"}}},
                     {"json": load_json("watchlist_create.json")}])
    assert only_entry(create(tmp_path, b"IP\n1.1.1.1\n"))["Type"] == 1
    assert [r.json()["etag"] for r in put.request_history] == ['"0300bf09-0000-0000-0000-5c37296e0000"', '"etag-2"']


def test_a_file_above_the_inline_limit_is_refused_before_sending(m, tmp_path):
    """Given a CSV above 3.8 MB, then no request is sent and the error says how to upload a large watchlist."""
    message = only_error(create(tmp_path, b"IP\n" + b"10.0.0.1\n" * 500_000))
    assert "3.8 MB" in message and "Azure Storage" in message
    assert arm_requests(m) == []


@pytest.mark.parametrize("args, says", [
    pytest.param({"content_type": "application/json"}, "text/csv", id="not-csv"),
    pytest.param({"lines_to_skip": "-1"}, "lines_to_skip", id="negative-skip"),
    pytest.param({"file_entry_id": "missing"}, "cannot be read", id="unknown-entry"),
])
def test_bad_create_arguments_are_one_clear_error(m, tmp_path, args, says):
    message = only_error(create(tmp_path, b"IP\n1.1.1.1\n", **args))
    assert says in message and arm_requests(m) == []


def test_a_file_that_is_not_utf8_is_refused(m, tmp_path):
    assert "UTF-8" in only_error(create(tmp_path, b"IP\n\xff\xfe\x00bad\n"))


def test_item_create_parses_the_json_and_keeps_one_id_per_invocation(m):
    """Given no item ID, then one new ID is used for the read and the write (a retried PUT updates the same item)."""
    items = re.compile(r"/watchlists/highValueAsset/watchlistItems/")
    m.get(items, status_code=404, json={"error": {"code": "NotFound", "message": "x"}})
    put = m.put(items, json=load_json("watchlist_item_create.json"))
    entry = only_entry(run("azure-sentinel-create-update-watchlist-item",
                           {"watchlist_alias": "highValueAsset", "item_key_value": '{"IP": "10.0.0.9"}'}))
    assert put.last_request.json() == {"properties": {"itemsKeyValue": {"IP": "10.0.0.9"}}}
    paths = {r.path for r in m.request_history if "watchlistitems/" in r.path}
    assert len(paths) == 1
    assert context_value(entry, "AzureSentinel.WatchlistItem(")["WatchlistAlias"] == "highValueAsset"


@pytest.mark.parametrize("value", ["not json", "[1, 2]", '"text"'])
def test_item_key_value_must_be_a_json_object(m, value):
    message = only_error(run("azure-sentinel-create-update-watchlist-item",
                             {"watchlist_alias": "a", "item_key_value": value}))
    assert "item_key_value" in message and "JSON object" in message and arm_requests(m) == []


def test_deleting_what_does_not_exist_says_so(m):
    m.delete(f"{WL}/watchlistItems/i-9", status_code=204)
    entry = only_entry(run("azure-sentinel-delete-watchlist-item",
                           {"watchlist_alias": "highValueAsset", "watchlist_item_id": "i-9"}))
    assert entry["HumanReadable"] == "Watchlist item i-9 does not exist."


def test_items_list_names_its_watchlist(m):
    m.get(f"{WL}/watchlistItems", json=load_json("watchlist_items.json"))
    rows = context_value(only_entry(run("azure-sentinel-list-watchlist-items", {"watchlist_alias": "highValueAsset"})),
                         "AzureSentinel.WatchlistItem(")
    assert rows and all(r["WatchlistAlias"] == "highValueAsset" for r in rows)
    assert isinstance(rows[0]["ItemsKeyValue"], dict) and rows[0]["ItemsKeyValue"]
