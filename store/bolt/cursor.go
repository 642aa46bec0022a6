package bolt

import "github.com/eitaxii/eitaxii/store"

// tokens is the codec of this store's next tokens (store.TokenCodec),
// keyed by the secret kept in the meta bucket: tokens are stateless, so
// they survive restarts, work across replicas and never expire (INT-04).
func (db *DB) tokens() store.TokenCodec { return store.NewTokenCodec(db.cursorKey) }
