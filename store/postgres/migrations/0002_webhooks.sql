-- Schema version 2: webhook subscriptions (store.Webhook). Times are bigint
-- µs since the Unix epoch, as in version 1, and NULL for the zero time (a
-- secret that never expires, a state with no retry due). A subscription
-- outlives its owner and its collection (the dispatcher disables it), so
-- neither is a foreign key.
--
-- The dispatcher's queries are all by subscription id: every subscription
-- sorted by id (webhooks_pkey), one subscription (the primary keys), the
-- newest entries of one delivery log and the trim of its oldest
-- (webhook_deliveries_pkey, scanned backwards from the newest sequence
-- number). No other index is needed.

-- A subscription's configuration, written by the admin API through
-- ChangeDirectory only.
CREATE TABLE webhooks (
	id              text PRIMARY KEY,
	owner           text NOT NULL,
	api_root        text NOT NULL,
	collection      text NOT NULL,
	url             text NOT NULL,
	types           text[], -- NULL: every type
	include_objects boolean NOT NULL,
	created         bigint
);

-- Its signing secrets, newest first (position 0).
CREATE TABLE webhook_secrets (
	webhook  text NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
	position integer NOT NULL CHECK (position >= 0),
	key      bytea NOT NULL,
	created  bigint,
	expires  bigint,
	PRIMARY KEY (webhook, position)
);

-- The dispatcher's progress (store.WebhookState), one row per
-- subscription, apart from the configuration so that RecordDelivery
-- writes this row only. log_seq is the sequence number of the newest
-- delivery log entry; the log keeps the entries numbered
-- log_seq - store.MaxWebhookDeliveries + 1 .. log_seq.
CREATE TABLE webhook_progress (
	webhook       text PRIMARY KEY REFERENCES webhooks (id) ON DELETE CASCADE,
	disabled      boolean NOT NULL DEFAULT false,
	reason        text NOT NULL DEFAULT '',
	cursor_at     bigint, -- acknowledged cursor
	pending       bigint, -- last cursor of the message in flight
	failures      integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
	failing_since bigint,
	next_attempt  bigint,
	log_seq       bigint NOT NULL DEFAULT 0
);

-- The bounded delivery log (store.WebhookDelivery). It references the
-- progress row, not the configuration, so that RecordDelivery (which
-- locks the progress row, then inserts here) and DeleteWebhook (which
-- locks the configuration, then cascades to the progress row) take their
-- row locks in the same order and cannot deadlock.
CREATE TABLE webhook_deliveries (
	webhook    text NOT NULL REFERENCES webhook_progress (webhook) ON DELETE CASCADE,
	seq        bigint NOT NULL CHECK (seq > 0),
	time       bigint,
	message_id text NOT NULL,
	attempt    integer NOT NULL,
	first_at   bigint,
	last_at    bigint,
	changes    integer NOT NULL,
	status     integer NOT NULL,
	latency_ns bigint NOT NULL,
	error      text NOT NULL CHECK (octet_length(error) <= 512), -- store.MaxWebhookError
	PRIMARY KEY (webhook, seq)
);
