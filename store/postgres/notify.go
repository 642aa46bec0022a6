package postgres

import "github.com/jackc/pgx/v5"

// notifyChannel is the channel publish and delete transactions notify,
// with the collection id as payload. The notification is a wake-up hint
// only: it is delivered at commit, may be lost (a listener reconnecting),
// and listeners read what changed by cursor.
const notifyChannel = "eitaxii_objects"

// queueNotify queues the notification of a change to collID in b.
func queueNotify(b *pgx.Batch, collID string) {
	b.Queue("SELECT pg_notify('"+notifyChannel+"', $1)", collID)
}
