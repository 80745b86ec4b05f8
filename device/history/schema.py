"""The history database's schema: one SQL script per version, applied in order by Store.

Never edit a step that has shipped: a database at version N has run steps 1..N exactly as they
were. Add a step instead; each runs in one transaction with PRAGMA user_version.
"""

MIGRATIONS: tuple[str, ...] = (
    # 1: sessions hold sets, sets hold reps.
    """
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        started_at REAL NOT NULL,
        ended_at REAL NOT NULL
    );
    CREATE TABLE sets (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id),
        exercise TEXT NOT NULL,
        started_at REAL NOT NULL,
        ended_at REAL NOT NULL
    );
    CREATE TABLE reps (
        id INTEGER PRIMARY KEY,
        set_id INTEGER NOT NULL REFERENCES sets(id),
        exercise TEXT NOT NULL,
        complete INTEGER NOT NULL,
        started_at REAL NOT NULL,
        ended_at REAL NOT NULL,
        depth REAL NOT NULL,
        down_s REAL NOT NULL,
        up_s REAL NOT NULL,
        cues TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX sets_session ON sets(session_id);
    CREATE INDEX reps_set ON reps(set_id);
    CREATE INDEX sessions_started ON sessions(started_at);
    """,
    # 2: people. Existing sets go to person 1 ("Me"). A correction keeps the counted reps
    # (reps rows) and stores the corrected count and its reason next to them; every change of
    # a set is also logged in set_corrections with the value before and after.
    # sets.person_id has no REFERENCES clause: SQLite cannot add one with a default to a table
    # that has rows; the store only writes ids of existing people and keeps anyone with sets.
    """
    CREATE TABLE people (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        colour TEXT NOT NULL,
        rest_s INTEGER NOT NULL DEFAULT 90,
        plan TEXT NOT NULL DEFAULT '[]',
        created_at REAL NOT NULL
    );
    INSERT INTO people (id, name, colour, rest_s, plan, created_at)
        VALUES (1, 'Me', '#1e88e5', 90, '[]', 0);
    CREATE TABLE targets (
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        exercise TEXT NOT NULL,
        reps INTEGER NOT NULL CHECK (reps > 0),
        PRIMARY KEY (person_id, exercise)
    );
    ALTER TABLE sets ADD COLUMN person_id INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE sets ADD COLUMN corrected_reps INTEGER;
    ALTER TABLE sets ADD COLUMN correction_reason TEXT;
    ALTER TABLE sets ADD COLUMN deleted_at REAL;
    CREATE INDEX sets_person ON sets(person_id);
    CREATE TABLE set_corrections (
        id INTEGER PRIMARY KEY,
        set_id INTEGER NOT NULL REFERENCES sets(id),
        at REAL NOT NULL,
        field TEXT NOT NULL CHECK (field IN ('reps', 'deleted', 'person_id')),
        before TEXT,
        after TEXT,
        reason TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX set_corrections_set ON set_corrections(set_id);
    CREATE TABLE device_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 3: a set ended because someone else started training (a person switch): its count is
    # whatever it had then, so it never holds a record.
    """
    ALTER TABLE sets ADD COLUMN cut_short INTEGER NOT NULL DEFAULT 0;
    """,
)
