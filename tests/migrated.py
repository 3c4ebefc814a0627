"""A fresh records database starts from a migrated copy instead of running every migration again.

``Records(url)`` brings an empty database to the newest migration (``alembic upgrade head``) every time a
test opens one: about 0.2 s on SQLite and 0.5 s on PostgreSQL, on some 1,600 fresh databases a run
(a quarter of the suite's time in 2026-12). The result is the same every time, so each test process
migrates once for real and then, for every further *empty* database:

- SQLite: copies the file that first real migration made (nothing else on the disk differs);
- PostgreSQL: replays, in one transaction under the migrator's advisory lock, the statements that first
  real migration sent (its DDL, its rows, its ``alembic_version``), in the test's own schema.

Then the real ``create_all`` runs as always: it finds the database at head and checks every model's table
is there. A database that is not empty (an older store, a half-made one, a shared file) is migrated for
real, and so is everything in a module marked ``real_migrations`` (tests/store/test_migrations.py tests
the chain itself). ``yuqing migrate`` (``Records.migrate``) is never short-cut. Child processes are not
patched: a command run as a subprocess migrates as in production.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import event, text

_lock = threading.Lock()
_state: dict[str, object] = {"enabled": True}
_PG_LOCK = 7361  # store.records: one migrator at a time


def install() -> None:
    """Wrap ``Records.create_all`` (once per process)."""
    from store.records import Records

    if getattr(Records.create_all, "_from_template", False):
        return
    real = Records.create_all

    def create_all(self) -> None:
        if not _state["enabled"]:
            return real(self)
        dialect = self.engine.dialect.name
        if dialect == "postgresql" and "pg" not in _state:
            return _first_postgresql(self, real)
        try:
            if dialect == "sqlite":
                _seed_sqlite(self, real)
            elif dialect == "postgresql":
                _replay_postgresql(self)
        except Exception:  # anything unexpected: the real migration below does all the work
            pass
        return real(self)

    create_all._from_template = True  # type: ignore[attr-defined]
    Records.create_all = create_all  # type: ignore[method-assign]


def enabled(on: bool) -> None:
    _state["enabled"] = on


# --------------------------------------------------------------------------- SQLite


def _seed_sqlite(records, real) -> None:
    path = records.engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    target = Path(path)
    if target.exists() or not target.parent.is_dir():
        return
    template = _sqlite_template(real)
    # made under another name, then linked in: a second opener never sees half a file, and a file someone
    # else made meanwhile is left alone (it is not empty: the real migration handles it)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".records-template-")
    os.close(fd)
    try:
        shutil.copyfile(template, tmp)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, target)
    finally:
        os.unlink(tmp)


def _sqlite_template(real) -> Path:
    with _lock:
        if "sqlite" not in _state:
            from store.records import Records

            _state["sqlite"] = None  # tried: a failure below is not tried again at every test
            made = Path(tempfile.mkdtemp(prefix="yuqing-records-template-")) / "records.db"
            rec = Records(f"sqlite:///{made}", create=False)
            try:
                real(rec)  # the real migration, once
            finally:
                rec.dispose()  # the last connection closes: the WAL is folded into the file
            if not any(Path(f"{made}{extra}").exists() for extra in ("-wal", "-shm")):
                _state["sqlite"] = made
        made = _state["sqlite"]
    if made is None:
        raise RuntimeError("no SQLite template")
    return made  # type: ignore[return-value]


# --------------------------------------------------------------------------- PostgreSQL


def _is_empty(conn) -> bool:
    return not conn.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema())"
        )
    ).scalar()


def _first_postgresql(records, real) -> None:
    """The first schema this process migrates: for real, with every statement it sends recorded."""
    with _lock:
        if "pg" in _state:
            return _replay_then_check(records, real)
        try:
            with records.engine.connect() as conn:
                empty = _is_empty(conn)
        except Exception:
            empty = False
        if not empty:  # not fresh, or not reachable: the real create_all does what it always does
            return real(records)
        seen: list[tuple[str, object]] = []

        def record(conn, cursor, statement, parameters, context, executemany) -> None:
            seen.append((statement, parameters))

        event.listen(records.engine, "before_cursor_execute", record)
        try:
            real(records)
        finally:
            event.remove(records.engine, "before_cursor_execute", record)
        kept = [(s, p) for s, p in seen if s.lstrip().split(None, 1)[0].upper() not in ("SELECT", "SHOW")]
        # the DDL names no schema (each test's search_path picks it); anything else: never replay
        _state["pg"] = (
            _batched(kept) if kept and kept[0][0].lstrip().upper().startswith("CREATE TABLE") else []
        )
        with contextlib.suppress(Exception), records.engine.connect() as conn:
            _state["pg_pristine"] = _pristine(conn)
    return None


def _batched(statements: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """Runs of statements without parameters joined into one (one round trip each run)."""
    out: list[tuple[str, object]] = []
    run: list[str] = []
    for statement, parameters in statements:
        if parameters:
            if run:
                out.append((";\n".join(run), None))
                run = []
            out.append((statement, parameters))
        else:
            run.append(statement)
    if run:
        out.append((";\n".join(run), None))
    return out


def _replay_then_check(records, real) -> None:
    with contextlib.suppress(Exception):
        _replay_postgresql(records)
    return real(records)


def _replay_postgresql(records) -> None:
    statements = _state.get("pg")
    if not statements:
        return
    with records.engine.begin() as conn:
        conn.execute(text(f"SELECT pg_advisory_xact_lock({_PG_LOCK})"))  # as the real migrator does
        if not _is_empty(conn):
            return
        for statement, parameters in statements:  # type: ignore[union-attr]
            if parameters:
                conn.exec_driver_sql(statement, parameters)
            else:
                conn.exec_driver_sql(statement)


# --------------------------------------------------------------------------- PostgreSQL schemas, reused

# What a migrated schema is made of, schema name left out: its tables, columns, defaults, indexes,
# constraints, triggers (and whether each is enabled), functions, sequences, grants and row security.
# Two schemas with the same print were made alike; a test that changed any of it (a dropped trigger, an
# added column, a grant) leaves a schema that is dropped, never handed to another test.
_STRUCTURE_SQL = """
SELECT md5(coalesce(string_agg(replace(x, :schema || '.', ''), E'\n' ORDER BY x), '')) FROM (
  SELECT 'c ' || c.relname || ' ' || c.relkind::text || ' ' || c.relpersistence::text || ' ' || c.relrowsecurity
         || ' ' || c.relforcerowsecurity || ' ' || coalesce(c.relacl::text, '') || ' '
         || coalesce(c.reloptions::text, '') AS x
    FROM pg_class c WHERE c.relnamespace = to_regnamespace(:schema)
  UNION ALL
  SELECT 'a ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' '
         || a.attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') || ' '
         || coalesce(a.attacl::text, '') || ' ' || a.attidentity::text || a.attgenerated::text
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE c.relnamespace = to_regnamespace(:schema) AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'i ' || pg_get_indexdef(i.indexrelid) || ' ' || i.indisvalid
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = to_regnamespace(:schema)
  UNION ALL
  SELECT 'k ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated
    FROM pg_constraint WHERE connamespace = to_regnamespace(:schema)
  UNION ALL
  SELECT 't ' || t.tgname || ' ' || t.tgenabled::text || ' ' || pg_get_triggerdef(t.oid)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
   WHERE c.relnamespace = to_regnamespace(:schema) AND NOT t.tgisinternal
  UNION ALL
  SELECT 'f ' || p.proname || ' ' || md5(p.prosrc) || ' ' || coalesce(p.proacl::text, '')
    FROM pg_proc p WHERE p.pronamespace = to_regnamespace(:schema)
  UNION ALL
  SELECT 'y ' || typname || ' ' || typtype::text FROM pg_type
   WHERE typnamespace = to_regnamespace(:schema) AND typtype NOT IN ('b', 'c')
  UNION ALL
  SELECT 'r ' || r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
   WHERE c.relnamespace = to_regnamespace(:schema)
  UNION ALL
  SELECT 'p ' || pol.polname FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid
   WHERE c.relnamespace = to_regnamespace(:schema)
  UNION ALL
  SELECT 'n ' || coalesce(nspacl::text, '') FROM pg_namespace WHERE oid = to_regnamespace(:schema)
) q
"""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pristine(conn) -> dict:
    """A just-migrated schema (the connection's current one): its structure print, its rows (the
    ``alembic_version``, the audit chain's head) and where each sequence stands."""
    schema = conn.execute(text("SELECT current_schema()")).scalar()
    tables = list(
        conn.execute(
            text("SELECT relname FROM pg_class WHERE relnamespace = to_regnamespace(:s) AND relkind = 'r'"),
            {"s": schema},
        ).scalars()
    )
    sequences = list(
        conn.execute(
            text("SELECT relname FROM pg_class WHERE relnamespace = to_regnamespace(:s) AND relkind = 'S'"),
            {"s": schema},
        ).scalars()
    )
    rows = {}
    for table in tables:
        result = conn.execute(text(f"SELECT * FROM {_q(schema)}.{_q(table)}"))
        found = [dict(r._mapping) for r in result]
        if found:
            rows[table] = found
    seqs = {
        seq: tuple(conn.execute(text(f"SELECT last_value, is_called FROM {_q(schema)}.{_q(seq)}")).one())
        for seq in sequences
    }
    return {
        "print": conn.execute(text(_STRUCTURE_SQL), {"schema": schema}).scalar(),
        "tables": tables,
        "rows": rows,
        "sequences": seqs,
    }


_counts = {"made": 0, "reused": 0, "dropped": 0}  # schemas made, handed out again, dropped (tests)
_pool: dict[str, list[str]] = {}  # base URL -> schemas emptied back to their migrated state
_admins: dict[str, object] = {}


def _admin(base: str):
    from sqlalchemy import create_engine

    if base not in _admins:
        _admins[base] = create_engine(base)
    return _admins[base]


@contextlib.contextmanager
def pg_schema(base: str, prefix: str = "t_") -> Iterator[str]:
    """A PostgreSQL schema of the test's own, dropped or emptied afterwards.

    Either a new, empty one, or one an earlier test of this process used and left exactly as migration
    made it (the structure print above), emptied back to the rows and sequences migration left: the same
    as a fresh schema that ``Records`` has just migrated. Records treats both alike (upgrade to head, or
    nothing to do)."""
    admin = _admin(base)
    pool = _pool.setdefault(base, [])
    schema = pool.pop() if pool else None
    _counts["reused" if schema else "made"] += 1
    if schema is None:
        schema = f"{prefix}{uuid.uuid4().hex[:12]}"
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {_q(schema)}"))
    try:
        yield schema
    finally:
        if not _empty_for_reuse(admin, schema):
            _counts["dropped"] += 1
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {_q(schema)} CASCADE"))
        else:
            pool.append(schema)


def _empty_for_reuse(admin, schema: str) -> bool:
    """Put ``schema`` back as migration left it; False (and nothing changed) where that is not sure."""
    pristine = _state.get("pg_pristine")
    if not _state["enabled"] or not pristine:
        return False
    try:
        with admin.begin() as conn:
            if conn.execute(text(_STRUCTURE_SQL), {"schema": schema}).scalar() != pristine["print"]:
                return False
            # the rows go without firing the audit log's guards (superuser only; refused: not reused)
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(f"SET LOCAL search_path = {_q(schema)}"))
            conn.exec_driver_sql(";\n".join(f"DELETE FROM {_q(t)}" for t in pristine["tables"]))
            for seq, (last_value, is_called) in pristine["sequences"].items():
                conn.execute(
                    text("SELECT setval(:seq, :v, :c)"),
                    {"seq": f"{_q(schema)}.{_q(seq)}", "v": last_value, "c": is_called},
                )
            for table, found in pristine["rows"].items():
                cols = list(found[0])
                names = ", ".join(f":p{i}" for i in range(len(cols)))
                conn.execute(
                    text(f"INSERT INTO {_q(table)} ({', '.join(_q(c) for c in cols)}) VALUES ({names})"),
                    [{f"p{i}": row[c] for i, c in enumerate(cols)} for row in found],
                )
        return True
    except Exception:
        return False


def drop_pooled() -> None:
    """At the end of the run: the schemas kept for reuse go."""
    for base, schemas in _pool.items():
        admin = _admin(base)
        for schema in schemas:
            with contextlib.suppress(Exception), admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {_q(schema)} CASCADE"))
        schemas.clear()
    for admin in _admins.values():
        admin.dispose()  # type: ignore[attr-defined]
