"""The emulator's KQL subset, on small hand-made tables: each operator, the type rules, and the error
kinds and positions the Log Analytics API reports."""

from __future__ import annotations

import pytest

from sentinel_emulator.kql import Column, KqlError, Table, run

NOW = 1_800_000_000.0
DAY = 86400.0


def incidents() -> dict[str, Table]:
    columns = [Column("Title", "string"), Column("Severity", "string"), Column("IncidentNumber", "int"),
               Column("TimeGenerated", "datetime"), Column("Labels", "dynamic"), Column("Score", "real")]
    rows = [
        {"Title": "Alpha", "Severity": "High", "IncidentNumber": 1, "TimeGenerated": NOW - 3 * DAY,
         "Labels": ["a"], "Score": 0.5},
        {"Title": "Beta", "Severity": "Low", "IncidentNumber": 2, "TimeGenerated": NOW - 2 * 3600,
         "Labels": [], "Score": None},
        {"Title": "Gamma ray", "Severity": "High", "IncidentNumber": 3, "TimeGenerated": NOW - 60,
         "Labels": [], "Score": 2.0},
        {"Title": "Delta", "Severity": "Medium", "IncidentNumber": 4, "TimeGenerated": NOW - 10 * DAY,
         "Labels": ["a", "b"], "Score": 1.0},
    ]
    return {"SecurityIncident": Table("SecurityIncident", columns, rows)}


def titles(query: str) -> list[str]:
    return [row["Title"] for row in run(query, incidents(), NOW).rows]


@pytest.mark.parametrize(("query", "expected"), [
    pytest.param("SecurityIncident", ["Alpha", "Beta", "Gamma ray", "Delta"], id="table"),
    pytest.param("SecurityIncident | where Severity == 'High'", ["Alpha", "Gamma ray"], id="eq-string"),
    pytest.param('SecurityIncident | where Severity != "High"', ["Beta", "Delta"], id="ne-double-quoted"),
    pytest.param("SecurityIncident | where Severity == 'high'", [], id="eq-is-case-sensitive"),
    pytest.param("SecurityIncident | where Severity =~ 'high'", ["Alpha", "Gamma ray"], id="tilde-ignores-case"),
    pytest.param("SecurityIncident | where IncidentNumber == 3", ["Gamma ray"], id="eq-number"),
    pytest.param("SecurityIncident | where IncidentNumber >= 2 and Severity == 'High'", ["Gamma ray"], id="and"),
    pytest.param("SecurityIncident | where Severity == 'Low' or IncidentNumber > 3", ["Beta", "Delta"], id="or"),
    pytest.param("SecurityIncident | where (Severity == 'Low' or Severity == 'Medium') and IncidentNumber < 4",
                 ["Beta"], id="parentheses"),
    pytest.param("SecurityIncident | where TimeGenerated > ago(1d)", ["Beta", "Gamma ray"], id="ago-days"),
    pytest.param("SecurityIncident | where TimeGenerated >= ago(5m)", ["Gamma ray"], id="ago-minutes"),
    pytest.param("SecurityIncident | where TimeGenerated < ago(48h)", ["Alpha", "Delta"], id="ago-hours"),
    pytest.param("SecurityIncident | where TimeGenerated <= ago(259200s)", ["Alpha", "Delta"], id="ago-seconds"),
    pytest.param("SecurityIncident | where TimeGenerated > datetime(2000-01-01)", ["Alpha", "Beta", "Gamma ray",
                                                                                   "Delta"], id="datetime-literal"),
    pytest.param("SecurityIncident | where TimeGenerated < datetime(2027-01-06T00:00:00Z)", ["Delta"],
                 id="datetime-instant"),
    pytest.param("SecurityIncident | where Title contains 'RAY'", ["Gamma ray"], id="contains"),
    pytest.param("SecurityIncident | where Score > 0.9", ["Gamma ray", "Delta"], id="real-and-null"),
    pytest.param("SecurityIncident | take 2", ["Alpha", "Beta"], id="take"),
    pytest.param("SecurityIncident | limit 1", ["Alpha"], id="limit"),
    pytest.param("SecurityIncident | sort by IncidentNumber", ["Delta", "Gamma ray", "Beta", "Alpha"],
                 id="sort-default-desc"),
    pytest.param("SecurityIncident | order by Severity asc, IncidentNumber desc",
                 ["Gamma ray", "Alpha", "Beta", "Delta"], id="order-two-keys"),
    pytest.param("SecurityIncident | sort by Score asc", ["Beta", "Alpha", "Delta", "Gamma ray"],
                 id="nulls-first-ascending"),
    pytest.param("SecurityIncident | where Severity == 'High' | sort by TimeGenerated desc | take 1",
                 ["Gamma ray"], id="pipeline"),
])
def test_operators(query, expected):
    """Given four incidents, when the query runs, then exactly the expected rows come back, in order."""
    assert titles(query) == expected


def test_project_keeps_the_named_columns_in_order_and_formats_values():
    result = run("SecurityIncident | project IncidentNumber, Labels, TimeGenerated | take 1", incidents(), NOW)
    answer = result.answer()
    assert answer["name"] == "PrimaryResult"
    assert answer["columns"] == [{"name": "IncidentNumber", "type": "int"}, {"name": "Labels", "type": "dynamic"},
                                 {"name": "TimeGenerated", "type": "datetime"}]
    number, labels, generated = answer["rows"][0]
    assert number == 1 and labels == '["a"]' and generated.endswith("Z") and generated.startswith("2027-01-12")


def test_summarize_count_by_a_column_and_overall():
    by = run("SecurityIncident | summarize count() by Severity", incidents(), NOW).answer()
    assert by["columns"] == [{"name": "Severity", "type": "string"}, {"name": "count_", "type": "long"}]
    assert sorted(by["rows"]) == [["High", 2], ["Low", 1], ["Medium", 1]]
    total = run("SecurityIncident | where Severity != 'Low' | summarize count()", incidents(), NOW).answer()
    assert total["rows"] == [[3]]
    assert run("SecurityIncident | count", incidents(), NOW).answer()["rows"] == [[4]]


def test_columns_after_project_are_the_only_ones_left():
    with pytest.raises(KqlError) as caught:
        run("SecurityIncident | project Title | where Severity == 'High'", incidents(), NOW)
    assert caught.value.kind == "semantic" and "'Severity'" in caught.value.message


@pytest.mark.parametrize(("query", "token", "pos"), [
    pytest.param("SecurityIncident | extend x = 1", "extend", 19, id="unsupported-operator"),
    pytest.param("SecurityIncident | where", "<EOF>", 24, id="dangling-where"),
    pytest.param("SecurityIncident | where Severity = 'High'", "=", 34, id="single-equals"),
    pytest.param("SecurityIncident | take many", "many", 24, id="take-needs-a-number"),
    pytest.param("SecurityIncident | where Title == 'open", "'", 34, id="unterminated-string"),
    pytest.param("SecurityIncident | where TimeGenerated > ago(1y)", "1", 45, id="bad-timespan-unit"),
    pytest.param("| take 1", "|", 0, id="no-table"),
    pytest.param("SecurityIncident | sort Title", "Title", 24, id="sort-without-by"),
    pytest.param("SecurityIncident | where TimeGenerated > datetime(soon)", "datetime(soon)", 41,
                 id="bad-datetime"),
])
def test_syntax_errors_name_the_token_and_its_position(query, token, pos):
    with pytest.raises(KqlError) as caught:
        run(query, incidents(), NOW)
    err = caught.value
    assert err.kind == "syntax" and (err.token, err.line, err.pos) == (token, 1, pos)
    assert err.message == f"Query could not be parsed at '{token}' on line [1,{pos}]"


def test_positions_count_lines():
    with pytest.raises(KqlError) as caught:
        run("SecurityIncident\n| where Severity == 'High'\n| bogus", incidents(), NOW)
    assert (caught.value.token, caught.value.line, caught.value.pos) == ("bogus", 3, 2)


@pytest.mark.parametrize(("query", "fragment"), [
    pytest.param("SecurityEvents | take 1", "table or column expression named 'SecurityEvents'", id="unknown-table"),
    pytest.param("SecurityIncident | where Nope == 'x'", "column or scalar expression named 'Nope'",
                 id="unknown-column"),
    pytest.param("SecurityIncident | project Title, Nope", "'project' operator", id="unknown-project-column"),
    pytest.param("SecurityIncident | where Severity == 1", "Cannot compare values of types string and long",
                 id="type-mismatch"),
    pytest.param("SecurityIncident | where Labels == 'a'", "Cannot compare values of types dynamic",
                 id="dynamic-compare"),
])
def test_semantic_errors(query, fragment):
    with pytest.raises(KqlError) as caught:
        run(query, incidents(), NOW)
    assert caught.value.kind == "semantic" and fragment in caught.value.message
