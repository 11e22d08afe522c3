"""Writing a seeded district in bulk: SQLAlchemy Core executemany on SQLite, COPY on PostgreSQL,
never one ORM object at a time (so the ORM's hooks, the search indexer's among them, do not run).

SQLite commits per chunk with synchronous=OFF and without the FTS5 triggers, which are put back
(and the new documents indexed) at the end, also when the load fails; a process killed outright
leaves them missing, so drop that database. PostgreSQL loads in one transaction (a failure leaves
nothing), builds the GIN index once at the end, and skips row-by-row foreign-key checks when the
role is a superuser. The full-text definitions come from their owner, ``search.schema``.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager

import sqlalchemy as sa

from ..accounts.models import Household, User
from ..board.models import Like, MeToo, Post, Reply
from ..cases.models import CalendarDay, Case, CaseDepartment, CaseEvent, CaseType
from ..compounds.models import Compound, Department, District, JoinCode, StaffAssignment, Street
from ..deliberation.models import Ballot, Proposal, ProposalOption
from ..grids.models import CareTag, Grid, GridBuilding, HouseholdCareTag, HouseholdFile, Visit
from ..search import schema
from ..search.models import SearchDocument

# Every table a seeded district writes, in an order its foreign keys accept.
TABLES = {
    "districts": District,
    "case_types": CaseType,
    "care_tags": CareTag,
    "calendar_days": CalendarDay,
    "streets": Street,
    "compounds": Compound,
    "grids": Grid,
    "grid_buildings": GridBuilding,
    "join_codes": JoinCode,
    "departments": Department,
    "households": Household,
    "household_files": HouseholdFile,
    "household_care_tags": HouseholdCareTag,
    "users": User,
    "staff_assignments": StaffAssignment,
    "visits": Visit,
    "posts": Post,
    "replies": Reply,
    "search_documents": SearchDocument,
    "likes": Like,
    "me_too": MeToo,
    "cases": Case,
    "case_departments": CaseDepartment,
    "case_events": CaseEvent,
    "proposals": Proposal,
    "proposal_options": ProposalOption,
    "ballots": Ballot,
}
WITH_IDS = [name for name, model in TABLES.items() if "id" in model.__table__.c]


# Progress ---------------------------------------------------------------------------------------


class Progress:
    """One line on stderr, rewritten with \\r at most a few times a second: count, rate and ETA."""

    def __init__(self, stream=None, interval: float = 0.5):
        self.stream = stream or sys.stderr
        self.interval = interval
        self.label, self.total, self.done, self.started, self.shown = "", 0, 0, 0.0, 0.0
        self.width = 0

    def start(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.started = self.shown = time.monotonic()
        self._show()

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if now - self.shown >= self.interval or done >= self.total:
            self.shown = now
            self._show()

    @contextmanager
    def phase(self, label: str):
        """A step without a count: its name, then how long it took, on a line of its own."""
        began = time.monotonic()
        self._write(f"{label} …")
        yield
        self._write(f"{label}: {time.monotonic() - began:.1f} s")
        self.stream.write("\n")
        self.stream.flush()
        self.width = 0

    def finish(self) -> None:
        self._show()
        self.stream.write("\n")
        self.stream.flush()
        self.width = 0

    def _show(self) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else 0
        percent = 100 * self.done / self.total if self.total else 100
        self._write(
            f"{self.label} {self.done:,}/{self.total:,} {percent:5.1f}% {rate:,.0f}/s "
            f"elapsed {_clock(elapsed)} ETA {_clock(left)}"
        )

    def _write(self, line: str) -> None:
        pad = max(self.width - len(line), 0)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()
        self.width = len(line)


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60:d}:{seconds % 60:02d}"


# Writing ----------------------------------------------------------------------------------------


class SqliteWriter:
    """Core executemany, a transaction per chunk. The FTS5 triggers are dropped for the load and the
    new documents indexed in one statement at the end (restored even when the load fails)."""

    def __init__(self, connection: sa.Connection, first_document_id: int):
        self.connection = connection
        self.first_document_id = first_document_id
        self.raw = connection.connection.dbapi_connection

    def prepare(self) -> None:
        self.saved = {name: self.raw.execute(f"PRAGMA {name}").fetchone()[0] for name in ("synchronous", "cache_size")}
        self.raw.execute("PRAGMA synchronous=OFF")
        self.raw.execute("PRAGMA cache_size=-1000000")  # about 1 GB of page cache during the load
        with self.connection.begin():
            for name in schema.FTS_TRIGGERS:
                self.connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")

    def commit(self) -> None:
        self.connection.commit()  # a transaction per chunk keeps the WAL small

    def write(self, table: str, rows: list[dict]) -> None:
        self.connection.execute(TABLES[table].__table__.insert(), rows)

    def finish(self, progress: Progress) -> None:
        with progress.phase("search index (FTS5)"), self.connection.begin():
            schema.index_documents_after(self.connection, self.first_document_id)
            for statement in schema.FTS_TRIGGERS.values():
                self.connection.exec_driver_sql(statement)
        with progress.phase("search index (merging FTS5 segments)"), self.connection.begin():
            schema.optimize(self.connection)
        with progress.phase("ANALYZE"), self.connection.begin():
            self.connection.exec_driver_sql("ANALYZE")

    def restore(self) -> None:
        """Always: the triggers back (if finish() did not get there) and the connection's settings."""
        if self.connection.in_transaction():
            self.connection.rollback()
        present = {
            row[0]
            for row in self.connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'search_documents'"
            )
        }
        self.connection.commit()
        if present < set(schema.FTS_TRIGGERS):
            with self.connection.begin():
                schema.index_documents_after(self.connection, self.first_document_id)
                for name, statement in schema.FTS_TRIGGERS.items():
                    if name not in present:
                        self.connection.exec_driver_sql(statement)
        for name, value in self.saved.items():
            self.raw.execute(f"PRAGMA {name}={value}")


class PostgresWriter:
    """COPY into the tables in one transaction; the GIN index is dropped for the load and built at the
    end, foreign keys are not checked row by row when the role may say so (superuser)."""

    def __init__(self, connection: sa.Connection):
        self.connection = connection
        self.raw = connection.connection.driver_connection
        self.columns: dict[str, list[str]] = {}

    def prepare(self) -> None:
        self.connection.begin()
        self.connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")
        self.connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
        if self.connection.exec_driver_sql("SHOW is_superuser").scalar() == "on":
            self.connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        self.connection.exec_driver_sql(f"DROP INDEX IF EXISTS {schema.GIN_INDEX_NAME}")

    def commit(self) -> None:
        pass  # one transaction: a failed load leaves nothing behind

    def write(self, table: str, rows: list[dict]) -> None:
        columns = self.columns.get(table)
        if columns is None:
            columns = self.columns[table] = list(rows[0])
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with self.raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])

    def finish(self, progress: Progress) -> None:
        with progress.phase("search index (GIN)"):
            self.connection.exec_driver_sql(schema.GIN_INDEX)
        with progress.phase("commit"):
            for table in WITH_IDS:
                self.connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT COALESCE(MAX(id), 1) FROM {table}))"
                )
            self.connection.commit()
        with progress.phase("VACUUM ANALYZE"):
            # A bulk load leaves the visibility map empty, so index-only scans (the dashboards')
            # would still visit every row; VACUUM cannot run inside a transaction.
            autocommit = self.connection.execution_options(isolation_level="AUTOCOMMIT")
            for table in TABLES:
                autocommit.exec_driver_sql(f"VACUUM (ANALYZE) {table}")

    def restore(self) -> None:
        if self.connection.in_transaction():
            self.connection.rollback()  # nothing of a failed load stays, the GIN index included
