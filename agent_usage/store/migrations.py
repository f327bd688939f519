"""The store's schema: numbered migrations, each applied once in its own transaction and
recorded in `_migrations`. Add a migration at the end; never edit one that has shipped."""

from __future__ import annotations

import duckdb

MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "m001_events",
        """
        CREATE TABLE events (
            event_key VARCHAR NOT NULL,
            ts TIMESTAMP NOT NULL,
            harness VARCHAR NOT NULL,
            session_id VARCHAR NOT NULL,
            model VARCHAR NOT NULL,
            input_tokens BIGINT NOT NULL,
            cache_read_tokens BIGINT NOT NULL,
            cache_write_5m_tokens BIGINT NOT NULL,
            cache_write_1h_tokens BIGINT NOT NULL,
            output_tokens BIGINT NOT NULL,
            reasoning_tokens BIGINT NOT NULL,
            cost_reported_usd DOUBLE,
            provider VARCHAR,
            harness_version VARCHAR,
            parent_session_id VARCHAR,
            agent_id VARCHAR,
            project VARCHAR,
            cwd VARCHAR,
            git_branch VARCHAR,
            service_tier VARCHAR,
            message_id VARCHAR,
            is_sidechain BOOLEAN NOT NULL,
            rank BIGINT NOT NULL,
            source_path VARCHAR NOT NULL,
            source_offset BIGINT NOT NULL
        );
        CREATE TABLE files (
            path VARCHAR PRIMARY KEY,
            harness VARCHAR NOT NULL,
            size BIGINT NOT NULL,
            mtime_ns BIGINT NOT NULL,
            read_offset BIGINT NOT NULL,
            fingerprint VARCHAR NOT NULL,
            parser_state VARCHAR NOT NULL,
            bad_lines BIGINT NOT NULL,
            last_read TIMESTAMP NOT NULL
        );
        CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
        """,
    ),
    (
        "m002_prices",
        """
        CREATE TABLE prices (
            provider VARCHAR,
            model VARCHAR NOT NULL,
            matched_model VARCHAR,
            source VARCHAR NOT NULL,
            valid_from TIMESTAMP NOT NULL,
            valid_to TIMESTAMP NOT NULL,
            input DOUBLE, output DOUBLE, cache_read DOUBLE,
            cache_write_5m DOUBLE, cache_write_1h DOUBLE,
            tier_start BIGINT,
            tier_input DOUBLE, tier_output DOUBLE, tier_cache_read DOUBLE,
            tier_cache_write_5m DOUBLE, tier_cache_write_1h DOUBLE
        );
        """,
    ),
    (
        "m003_export_state",
        """
        CREATE TABLE export_series (
            metric VARCHAR NOT NULL,
            series VARCHAR NOT NULL,
            start_ns BIGINT NOT NULL,
            value DOUBLE NOT NULL,
            profile VARCHAR NOT NULL,
            PRIMARY KEY (metric, series)
        );
        CREATE TABLE exported_spans (
            destination VARCHAR NOT NULL,
            event_key VARCHAR NOT NULL,
            sent_at TIMESTAMP NOT NULL
        );
        """,
    ),
    (
        "m004_price_variants",
        # every price row gets a twin per service-tier variant (pricing.VARIANTS); the copies
        # keep events priced until the next refresh re-resolves them with their real rates
        """
        ALTER TABLE prices ADD COLUMN variant VARCHAR DEFAULT 'standard';
        INSERT INTO prices SELECT p.* REPLACE (v.name AS variant)
            FROM prices p, (VALUES ('fast'), ('priority'), ('flex'), ('batch')) v(name);
        DELETE FROM meta WHERE key = 'prices_version';
        """,
    ),
    (
        "m005_web_searches",
        # searches stored before this read as 0 (`rebuild` re-reads the files still on disk);
        # the dropped version makes the next refresh fetch every model's per-search price
        """
        ALTER TABLE events ADD COLUMN web_search_requests BIGINT DEFAULT 0;
        ALTER TABLE prices ADD COLUMN web_search DOUBLE;
        DELETE FROM meta WHERE key = 'prices_version';
        """,
    ),
    (
        "m006_git_remote",
        # rows stored before this have no remote: their project stays their folder until a
        # `rebuild` (or a session of the same folder that records one) names the repository
        "ALTER TABLE events ADD COLUMN git_remote VARCHAR;",
    ),
    (
        "m007_session_total",
        # every row stored before this stands for one request (Droid, the only harness that
        # records session totals, is read since this migration)
        "ALTER TABLE events ADD COLUMN session_total BOOLEAN DEFAULT false;",
    ),
)


def applied_migrations(con: duckdb.DuckDBPyConnection) -> set[str] | None:
    """The migrations the store records, or None for a DuckDB file that is no agent-usage
    store: a read-only command must not add tables to a file someone else made."""
    try:
        return {row[0] for row in con.execute("SELECT name FROM _migrations").fetchall()}
    except duckdb.CatalogException:
        return None


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet recorded in `_migrations`; return their names."""
    con.execute("CREATE TABLE IF NOT EXISTS _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
    done = applied_migrations(con) or set()
    applied = []
    for name, sql in MIGRATIONS:
        if name in done:
            continue
        con.execute("BEGIN")
        con.execute(sql)
        con.execute("INSERT INTO _migrations VALUES (?, now())", [name])
        con.execute("COMMIT")
        applied.append(name)
    return applied
