"""One source of truth for every table: docs/run-folder.md, the row types in
upisim.runfolder, the Parquet schemas the simulator writes, the dtypes reports read
and a real run folder all name the same columns, in the same order, with the same types."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from upisim.reports import load_run
from upisim.reports import run as reports_run
from upisim.runfolder import BOOL, INT64, STRING, TABLES, Column, columns

DOC = Path(__file__).resolve().parents[2] / "docs" / "run-folder.md"
SECTION = re.compile(r"^## `(\w+)\.parquet`\s*$", re.M)
DOC_TYPES = {
    "string": (STRING, False),
    "int64": (INT64, False),
    "int64, null": (INT64, True),
    "bool": (BOOL, False),
}
ARROW_TYPES = {pa.string(): STRING, pa.int64(): INT64, pa.bool_(): BOOL}
PANDAS_DTYPES = {(STRING, False): "str", (INT64, False): "int64", (INT64, True): "Int64",
                 (BOOL, False): "bool"}  # fmt: skip
READER_COLUMNS = {
    "transactions": reports_run.TRANSACTION_COLUMNS,
    "events": reports_run.EVENT_COLUMNS,
    "money": reports_run.MONEY_COLUMNS,
    "accounts": reports_run.ACCOUNT_COLUMNS,
    "notifications": reports_run.NOTIFICATION_COLUMNS,
    "queues": reports_run.QUEUE_COLUMNS,
    "settlement": reports_run.SETTLEMENT_COLUMNS,
    "fraud_truth": reports_run.FRAUD_TRUTH_COLUMNS,
    "trace": reports_run.TRACE_COLUMNS,
}


def doc_sections(text: str) -> dict[str, list[Column]]:
    """Each `## \\`<stem>.parquet\\`` section's column table, as columns."""
    heads = list(SECTION.finditer(text))
    sections = {}
    for head, following in zip(heads, [*heads[1:], None], strict=True):
        body = text[head.end() : following.start() if following else None]
        body = body.split("\n## ", 1)[0]
        sections[head[1]] = doc_table(head[1], body)
    return sections


def doc_table(stem: str, body: str) -> list[Column]:
    """The `| column | type | meaning |` table of a section; a row naming several
    columns (`` `payer_vpa`, `payee_vpa` ``) documents each of them."""
    lines = [line.strip() for line in body.splitlines() if line.strip().startswith("|")]
    assert lines, f"{stem}.parquet: no column table"
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == ["column", "type", "meaning"], f"{stem}.parquet: header {header}"
    assert set(lines[1].replace("|", "").strip()) <= set("-: "), f"{stem}.parquet: no rule"
    out = []
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        names, type_ = cells[0], cells[1]
        assert type_ in DOC_TYPES, f"{stem}.parquet: unknown type {type_!r} in {line}"
        found = re.findall(r"`(\w+)`", names)
        assert found and re.fullmatch(r"`\w+`(,\s*`\w+`)*", names), f"{stem}.parquet: {line}"
        kind, nullable = DOC_TYPES[type_]
        out.extend(Column(name, kind, nullable) for name in found)
    return out


@pytest.fixture(scope="module")
def documented() -> dict[str, list[Column]]:
    return doc_sections(DOC.read_text(encoding="utf-8"))


def test_the_parser_reads_a_shared_row_and_nullable_types() -> None:
    text = """## `t.parquet`

| column | type | meaning |
|---|---|---|
| `a`, `b` | string | two |
| `c` | int64, null | maybe |
| `d` | bool | yes |

## `summary.json`

| column | type | meaning |
|---|---|---|
| `not_a_column` | string | another section |
"""
    assert doc_sections(text) == {
        "t": [
            Column("a", STRING, False),
            Column("b", STRING, False),
            Column("c", INT64, True),
            Column("d", BOOL, False),
        ]
    }
    with pytest.raises(AssertionError, match="unknown type"):
        doc_sections(text.replace("| bool |", "| boolean |"))


def test_every_table_has_a_documented_section_and_no_more(documented) -> None:
    assert set(documented) == set(TABLES)
    assert set(READER_COLUMNS) == set(TABLES)


@pytest.mark.parametrize("stem", list(TABLES))
def test_the_doc_matches_the_row_type(documented, stem) -> None:
    assert documented[stem] == columns(TABLES[stem])


@pytest.mark.parametrize("stem", list(TABLES))
def test_the_parquet_schema_matches_the_doc(documented, stem) -> None:
    from upisim.scenarios.output import arrow_schema

    schema = arrow_schema(TABLES[stem])

    written = [Column(f.name, ARROW_TYPES[f.type], f.nullable) for f in schema]
    assert written == documented[stem]


@pytest.mark.parametrize("stem", list(TABLES))
def test_the_reports_read_the_documented_columns(documented, stem) -> None:
    expected = {c.name: PANDAS_DTYPES[(c.type, c.nullable)] for c in documented[stem]}

    assert list(READER_COLUMNS[stem]) == list(expected)
    assert READER_COLUMNS[stem] == expected


@pytest.fixture(scope="module")
def recorded_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quickstart with notifications recorded and a fraud case: a real run folder with
    every table."""
    from upisim.scenarios.config import bundled_scenarios, parse_scenario
    from upisim.scenarios.run import run_scenario

    data = tomllib.loads(bundled_scenarios()["quickstart"].read_text(encoding="utf-8"))
    data["notifications"] = {"record": True}
    # a few more people, one of them talked into paying a mule: the truth table has rows
    data["population"] = {"size": 50}
    data["fraud_typologies"] = {"authorised_push": {"cases": 1, "payments": [2, 2]}}
    out = tmp_path_factory.mktemp("recorded-run")
    run_scenario(parse_scenario(data, "quickstart+notifications+fraud"), out)
    return out


@pytest.mark.parametrize("stem", list(TABLES))
def test_a_real_run_writes_and_loads_the_documented_columns(documented, recorded_run, stem):
    names = [c.name for c in documented[stem]]
    file = recorded_run / f"{stem}.parquet"

    schema = pq.read_schema(file)
    frame = getattr(load_run(recorded_run), stem)

    assert schema.names == names
    assert [ARROW_TYPES[t] for t in schema.types] == [c.type for c in documented[stem]]
    assert frame.columns.tolist() == names
    assert len(frame) > 0, f"{stem}: the quickstart has rows in every table"
    for column in documented[stem]:
        expected = PANDAS_DTYPES[(column.type, column.nullable)]
        assert str(frame[column.name].dtype) == expected, (stem, column.name)


def test_the_quickstart_loads_every_table_it_has(documented, quickstart_run) -> None:
    run = load_run(quickstart_run)

    for stem in TABLES:
        frame: pd.DataFrame = getattr(run, stem)
        assert frame.columns.tolist() == [c.name for c in documented[stem]], stem
        pd.testing.assert_frame_equal(run.table(stem), frame)  # by name: later tables too
        if not (quickstart_run / f"{stem}.parquet").exists():
            assert frame.empty, stem
    assert not (quickstart_run / "notifications.parquet").exists()
    # notifications are off by default, nobody in the quickstart commits fraud, and it
    # traces every payment
    empty = {"notifications", "fraud_truth"}
    assert {s for s in TABLES if not getattr(run, s).empty} == set(TABLES) - empty
