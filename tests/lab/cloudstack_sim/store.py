"""The simulator's database: SQLite (WAL), one connection guarded by a lock.

Rows mirror the CloudStack tables the API needs (zone, cluster, host, storage pool,
VM, volume, async job); ids are internal integers, uuids are what the API shows.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, uuid TEXT, name TEXT, role TEXT,
    api_key TEXT UNIQUE, secret TEXT, user_uuid TEXT);
CREATE TABLE IF NOT EXISTS zones (id INTEGER PRIMARY KEY, uuid TEXT UNIQUE, name TEXT,
    datacenter TEXT, datacenter_moid TEXT);
CREATE TABLE IF NOT EXISTS pods (id INTEGER PRIMARY KEY, uuid TEXT UNIQUE, name TEXT, zone_id INTEGER);
CREATE TABLE IF NOT EXISTS clusters (id INTEGER PRIMARY KEY, uuid TEXT UNIQUE, name TEXT, zone_id INTEGER,
    pod_id INTEGER, moid TEXT);
CREATE TABLE IF NOT EXISTS hosts (id INTEGER PRIMARY KEY, uuid TEXT UNIQUE, name TEXT, cluster_id INTEGER,
    zone_id INTEGER, pod_id INTEGER, moid TEXT, ipaddress TEXT, state TEXT, resourcestate TEXT, created TEXT);
CREATE TABLE IF NOT EXISTS pools (id INTEGER PRIMARY KEY, uuid TEXT UNIQUE, name TEXT, zone_id INTEGER,
    pod_id INTEGER, cluster_id INTEGER, type TEXT, scope TEXT, path TEXT, ipaddress TEXT, datastore TEXT,
    capacity INTEGER, state TEXT, tags TEXT, created TEXT);
CREATE TABLE IF NOT EXISTS vms (id INTEGER PRIMARY KEY, uuid TEXT UNIQUE, name TEXT, display_name TEXT,
    instance_name TEXT, account_id INTEGER, zone_id INTEGER, host_id INTEGER, last_host_id INTEGER,
    state TEXT, created TEXT);
CREATE TABLE IF NOT EXISTS volumes (id INTEGER PRIMARY KEY, uuid TEXT UNIQUE, name TEXT, type TEXT,
    account_id INTEGER, zone_id INTEGER, vm_id INTEGER, device_id INTEGER, pool_id INTEGER, last_pool_id INTEGER,
    path TEXT, chain_info TEXT, size INTEGER, state TEXT, created TEXT, removed TEXT, tags TEXT);
CREATE INDEX IF NOT EXISTS volumes_vm ON volumes (vm_id);
CREATE INDEX IF NOT EXISTS volumes_pool ON volumes (pool_id);
CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, uuid TEXT UNIQUE, account_id INTEGER, cmd TEXT,
    command TEXT, params TEXT, instance_type TEXT, instance_id INTEGER, status INTEGER, result_code INTEGER,
    result_type TEXT, result TEXT, created TEXT, completed TEXT, sync_key TEXT);
CREATE INDEX IF NOT EXISTS jobs_instance ON jobs (instance_type, instance_id, status);
"""

# columns added after the first release of the lab: a kept database gets them on open
ADDED_COLUMNS = {"volumes": {"tags": "TEXT"}}

TABLES = ("accounts", "zones", "pods", "clusters", "hosts", "pools", "vms", "volumes", "jobs")


class Store:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.lock = threading.RLock()
        self.db = self._open()

    def _open(self):
        db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        for table, columns in ADDED_COLUMNS.items():
            present = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns.items():
                if name not in present:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        return db

    @contextmanager
    def transaction(self):
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def all(self, sql: str, args=()) -> list[dict]:
        with self.lock:
            return [dict(row) for row in self.db.execute(sql, args)]

    def one(self, sql: str, args=()) -> dict | None:
        rows = self.all(sql, args)
        return rows[0] if rows else None

    def run(self, sql: str, args=()) -> int:
        with self.lock:
            return self.db.execute(sql, args).lastrowid

    def insert(self, table: str, row: dict) -> int:
        names = ", ".join(row)
        marks = ", ".join("?" * len(row))
        return self.run(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(row.values()))

    def update(self, table: str, row_id: int, **values) -> None:
        sets = ", ".join(f"{name} = ?" for name in values)
        self.run(f"UPDATE {table} SET {sets} WHERE id = ?", (*values.values(), row_id))

    def by_uuid(self, table: str, uuid: str) -> dict | None:
        return self.one(f"SELECT * FROM {table} WHERE uuid = ?", (uuid,))

    def by_id(self, table: str, row_id) -> dict | None:
        if row_id is None:
            return None
        return self.one(f"SELECT * FROM {table} WHERE id = ?", (row_id,))

    def get_meta(self, key: str, default=None):
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return json.loads(row["value"]) if row else default

    def set_meta(self, key: str, value) -> None:
        self.run("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def is_seeded(self) -> bool:
        return bool(self.get_meta("seeded", False))

    def snapshot(self, target: Path) -> None:
        """A consistent copy of the whole database (the seeded state that reset restores)."""
        with self.lock:
            target.unlink(missing_ok=True)
            copy = sqlite3.connect(str(target))
            try:
                self.db.backup(copy)
            finally:
                copy.close()

    def restore(self, source: Path) -> None:
        with self.lock:
            saved = sqlite3.connect(str(source))
            try:
                saved.backup(self.db)
            finally:
                saved.close()

    def close(self) -> None:
        with self.lock:
            self.db.close()
