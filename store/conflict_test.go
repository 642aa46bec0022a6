package store_test

import (
	"errors"
	"testing"

	"github.com/eitaxii/eitaxii/store"
)

// The message of each invariant, as the admin API answers it (409), and
// the fallback for an invariant without one.
func TestConflictError_Messages(t *testing.T) {
	tests := []struct {
		inv  store.Invariant
		want string
	}{
		{store.OrganizationExists, `organization "k" already exists`},
		{store.OrganizationHasAccounts, `organization "k" still has accounts`},
		{store.AccountExists, `account "k" already exists`},
		{store.CertificateRegistered, `certificates[2]: this certificate is registered to another account`},
		{store.TokenExists, `token k already exists`},
		{store.GroupExists, `group "k" already exists`},
		{store.GroupHasCollections, `group "k" still has collections`},
		{store.CollectionExists, `id: a collection k already exists on this server`},
		{store.AliasTaken, `alias: collection h of this group already has alias "k"`},
		{store.WebhookExists, `webhook k already exists`},
		{0, `conflict (invariant 0) on "k"`},
		{store.SessionExists, `a session with this hash already exists`},
		{store.SessionExists + 1, `conflict (invariant 12) on "k"`},
	}
	for _, tt := range tests {
		err := &store.ConflictError{Invariant: tt.inv, Key: "k", Holder: "h", Index: 2}
		if got := err.Error(); got != tt.want {
			t.Errorf("invariant %d: %q, want %q", tt.inv, got, tt.want)
		}
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("invariant %d: not ErrConflict", tt.inv)
		}
	}
}
