package store_test

import (
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/storetest"
)

// Ensure that a status detail names the version as sent: modified, else
// created (REQ-46).
func TestDetailFor(t *testing.T) {
	mod := storetest.Indicator(t, storetest.STIXID("indicator", 1), storetest.Created.Add(time.Hour))
	if got, want := store.DetailFor(&mod.Header, "m"), (store.StatusDetail{ID: mod.Header.ID, Version: mod.Header.Modified, Message: "m"}); got != want {
		t.Errorf("DetailFor = %+v, want %+v", got, want)
	}
	md := storetest.MustObject(t, `{"type":"marking-definition","spec_version":"2.1","id":"`+storetest.STIXID("marking-definition", 1)+
		`","created":"2024-10-01T08:00:00.000Z","definition_type":"statement","definition":{"statement":"Copyright EI-ISAC"}}`)
	if got := store.DetailFor(&md.Header, ""); got.Version != "2024-10-01T08:00:00.000Z" {
		t.Errorf("DetailFor without modified: version %q, want created", got.Version)
	}
}
