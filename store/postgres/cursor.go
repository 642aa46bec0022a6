package postgres

import "github.com/eitaxii/eitaxii/store"

// tokens is the codec of this store's next tokens (store.TokenCodec),
// keyed by the database's cursor_key: a token holds nothing the server
// must remember, so it works on every node, survives restarts and never
// expires (INT-04). The bbolt backend makes the same tokens, so that a
// store migrated with its key keeps its clients' tokens good.
func (db *DB) tokens() store.TokenCodec { return store.NewTokenCodec(db.cursorKey) }
