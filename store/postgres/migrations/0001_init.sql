-- Schema version 1 of eitaxii's PostgreSQL store. Times the server hands
-- out (date_added, last_added, status and audit times) are bigint µs since
-- the Unix epoch, exactly as the contract counts them; object version
-- instants are seconds plus nanoseconds, since STIX timestamps may carry
-- more than µs precision.

-- Values created once at the first Open: the HMAC key of next tokens, so
-- that a token made on one node is accepted by every node.
CREATE TABLE settings (
	name  text PRIMARY KEY,
	value bytea NOT NULL
);

-- A collection, its description (the store.Collection JSON) and the
-- greatest value ever drawn from its date_added sequence (date_added of
-- versions, cursors of deletions). Publishing and deleting lock this row
-- (SELECT ... FOR UPDATE), which serializes the writers of one collection
-- across nodes: commit order is then date_added order. pruned_deleted is
-- the greatest deletion cursor pruned, for the change feed's gap.
CREATE TABLE collections (
	id             text PRIMARY KEY,
	api_root       text NOT NULL,
	alias          text,
	doc            jsonb NOT NULL,
	last_added     bigint NOT NULL DEFAULT 0,
	pruned_deleted bigint NOT NULL DEFAULT 0
);
-- A collection's alias is part of its URL: one per group.
CREATE UNIQUE INDEX collections_alias ON collections (api_root, alias) WHERE alias IS NOT NULL;

-- One row per stored object version, served as the exact bytes in raw.
-- is_latest and is_first mark each object's greatest and smallest version;
-- publish and delete keep them right, under the collection's row lock, so
-- that the default "latest version" read (REQ-62) is an index range scan.
CREATE TABLE object_versions (
	collection   text NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
	date_added   bigint NOT NULL,
	object_id    text NOT NULL,
	type         text NOT NULL,
	version_s    bigint NOT NULL,
	version_ns   integer NOT NULL,
	version      text NOT NULL, -- as reported: modified or created as sent, or the assigned date_added
	spec_version text NOT NULL,
	is_latest    boolean NOT NULL,
	is_first     boolean NOT NULL,
	raw          bytea NOT NULL,
	PRIMARY KEY (collection, date_added)
);
-- match[id], the per-object endpoints and duplicate detection.
CREATE UNIQUE INDEX object_versions_version ON object_versions (collection, object_id, version_s, version_ns);
-- The default read and match[version]=last / first: keyset scans of the
-- flagged rows only.
CREATE INDEX object_versions_latest ON object_versions (collection, date_added) WHERE is_latest;
CREATE INDEX object_versions_first ON object_versions (collection, date_added) WHERE is_first;
-- match[type], match[version]=<instant>, match[spec_version].
CREATE INDEX object_versions_type ON object_versions (collection, type, date_added);
CREATE INDEX object_versions_instant ON object_versions (collection, version_s, version_ns);
CREATE INDEX object_versions_spec ON object_versions (collection, spec_version, date_added);

-- Tombstones of deleted versions, the change feed's deletions: each under
-- its own cursor (change_at) drawn from the collection's date_added
-- sequence, kept until PruneDeletions removes them by age.
CREATE TABLE deletions (
	collection text NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
	change_at  bigint NOT NULL,
	object_id  text NOT NULL,
	version    text NOT NULL,
	PRIMARY KEY (collection, change_at)
);
CREATE INDEX deletions_change_at ON deletions (change_at);

-- The status of each Add Objects request (store.StatusRecord JSON), kept
-- until PruneStatuses removes it by age.
CREATE TABLE statuses (
	api_root   text NOT NULL,
	id         text NOT NULL,
	collection text NOT NULL,
	account    text NOT NULL,
	received   bigint NOT NULL,
	doc        jsonb NOT NULL,
	PRIMARY KEY (api_root, id)
);
CREATE INDEX statuses_received ON statuses (received);

-- The append-only audit log (store.AuditEvent JSON); seq orders events of
-- the same µs.
CREATE TABLE audit (
	seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time       bigint NOT NULL,
	action     text NOT NULL,
	account    text NOT NULL,
	collection text NOT NULL,
	doc        jsonb NOT NULL
);
CREATE INDEX audit_time ON audit (time, seq);

-- The directory. Each row keeps its store type as JSON (doc); the columns
-- beside it are what constraints and lookups need. directory_version's one
-- row counts committed directory changes, so that every node can tell
-- cheaply that its in-memory copy is stale.
CREATE TABLE directory_version (
	version bigint NOT NULL
);
INSERT INTO directory_version (version) VALUES (0);
CREATE TABLE organizations (
	name text PRIMARY KEY,
	doc  jsonb NOT NULL
);
CREATE TABLE accounts (
	name         text PRIMARY KEY,
	organization text NOT NULL,
	doc          jsonb NOT NULL
);
CREATE INDEX accounts_organization ON accounts (organization);
-- A client certificate authenticates one account only.
CREATE TABLE account_certificates (
	fingerprint text PRIMARY KEY,
	account     text NOT NULL REFERENCES accounts (name) ON DELETE CASCADE
);
CREATE INDEX account_certificates_account ON account_certificates (account);
CREATE TABLE tokens (
	id      text PRIMARY KEY,
	account text NOT NULL,
	doc     jsonb NOT NULL
);
CREATE INDEX tokens_account ON tokens (account);
-- A group's description; its members are in group_members.
CREATE TABLE groups (
	name text PRIMARY KEY,
	doc  jsonb NOT NULL
);
CREATE TABLE group_members (
	group_name text NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
	account    text NOT NULL,
	role       text NOT NULL,
	PRIMARY KEY (group_name, account)
);
CREATE INDEX group_members_account ON group_members (account);
