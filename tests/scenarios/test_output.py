"""The run's tables stream to Parquet a row group at a time: memory holds one group a table."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from upisim.runfolder import MoneyRow
from upisim.scenarios.bench import bench_scenario
from upisim.scenarios.config import parse_scenario
from upisim.scenarios.output import SERIES_CHUNK_ROWS, TableWriter, arrow_schema
from upisim.scenarios.run import run_scenario


def test_a_writer_holds_no_more_than_a_row_group(tmp_path: Path) -> None:
    writer = TableWriter(tmp_path / "money.parquet", arrow_schema(MoneyRow), chunk_rows=3)
    rows = [MoneyRow(t, "bank:SBI", 100 - t, t, 0, 0) for t in range(8)]
    for i, row in enumerate(rows):
        writer.append(row)
        assert writer.count == i + 1 and writer.count - writer.rows < 3
    writer.close()
    table = pq.ParquetFile(tmp_path / "money.parquet")
    assert table.num_row_groups == 3  # 3 + 3 + 2
    assert [tuple(r.values()) for r in table.read().to_pylist()] == rows


def test_a_long_quiet_run_writes_its_per_second_tables_as_it_goes(tmp_path: Path) -> None:
    # 300 payments over 1,500 simulated seconds: a money row a bank a second, past one group
    scenario = parse_scenario(bench_scenario(20, 300, rate=0.2), "test")
    result = run_scenario(scenario, tmp_path / "run", direct=True)
    assert result.summary["ok"] is True
    money = pq.ParquetFile(tmp_path / "run" / "money.parquet")
    assert money.metadata.num_rows > SERIES_CHUNK_ROWS
    assert money.num_row_groups == -(-money.metadata.num_rows // SERIES_CHUNK_ROWS)
