-- Schema version 3: for the analyst console, its sessions and each
-- collection's activity counters (store.Activity). Times are bigint µs
-- since the Unix epoch, as in version 1.

-- Console sessions (store.Session), keyed by the SHA-256 of the secret the
-- browser holds. DeleteAccountSessions reads by account, PruneSessions by
-- expiry; every other call by hash.
CREATE TABLE sessions (
	hash       text PRIMARY KEY,
	account    text NOT NULL,
	via        text NOT NULL,
	credential text NOT NULL,
	csrf       text NOT NULL,
	created    bigint NOT NULL,
	last_seen  bigint NOT NULL,
	expires    bigint NOT NULL
);
CREATE INDEX sessions_account ON sessions (account);
CREATE INDEX sessions_expires ON sessions (expires);

-- The versions a collection holds, kept by the transactions that add and
-- delete them (under the collection's row lock, in the statement that
-- already sets last_added), so that the console never counts a
-- collection's rows. Computed here for what is already stored.
ALTER TABLE collections ADD COLUMN versions bigint NOT NULL DEFAULT 0 CHECK (versions >= 0);
UPDATE collections c SET versions = v.n
	FROM (SELECT collection, count(*) AS n FROM object_versions GROUP BY collection) v
	WHERE v.collection = c.id;

-- Versions added per UTC hour (hour: µs of its start), by the hour of
-- their date_added; additions only. A write drops the hours older than
-- store.ActivityWindow (48 h) before the newest it writes, which keeps a
-- collection's rows bounded.
CREATE TABLE collection_hours (
	collection text NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
	hour       bigint NOT NULL,
	added      bigint NOT NULL CHECK (added > 0),
	PRIMARY KEY (collection, hour)
);
-- What is stored in each collection's last 48 hours of additions (ending
-- at its newest hour), counted from object_versions' primary key range.
INSERT INTO collection_hours (collection, hour, added)
	SELECT o.collection, o.date_added - o.date_added % 3600000000, count(*)
	FROM object_versions o
	JOIN (SELECT collection, max(date_added) - max(date_added) % 3600000000 AS newest
		FROM object_versions GROUP BY collection) m ON m.collection = o.collection
	WHERE o.date_added >= m.newest - 48 * 3600000000::bigint
	GROUP BY 1, 2;
