package postgres_test

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/postgres"
	"github.com/eitaxii/eitaxii/store/postgres/pgtest"
	"github.com/eitaxii/eitaxii/store/storetest"
)

// Ensure that a database at schema version 2 holding objects migrates to
// version 3 with its activity counters right: each collection's versions,
// and the hours of those within store.ActivityWindow of its newest, as
// the migration's SQL counts them; and that it then keeps them.
func TestMigrate_ActivityFromVersion2(t *testing.T) {
	ctx := context.Background()
	t0 := storetest.T0
	url := pgtest.URL(t)
	// Version 2 as a build of that version left it: its two migrations,
	// recorded in schema_migrations as Open records them.
	mustExec(t, url, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`)
	for i, name := range []string{"0001_init.sql", "0002_webhooks.sql"} {
		sql, err := os.ReadFile("migrations/" + name)
		if err != nil {
			t.Fatal(err)
		}
		mustExec(t, url, string(sql))
		mustExec(t, url, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", i+1, name)
	}
	const collA, collB, collC = storetest.CollA, storetest.CollB, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
	for _, id := range []string{collA, collB, collC} {
		mustExec(t, url, `INSERT INTO collections (id, api_root, doc, last_added) VALUES ($1, $2, $3, $4)`,
			id, storetest.APIRoot, `{"id":"`+id+`","api_root":"`+storetest.APIRoot+`","title":"C"}`, t0.Add(2*time.Hour).UnixMicro())
	}
	// collA: one version three days before t0 (outside the window of its
	// newest hour), two at 12:00, one at 13:10; collB: one at 12:30;
	// collC: none.
	n := 0
	put := func(coll string, at time.Time) {
		n++
		id := storetest.STIXID("indicator", n)
		mustExec(t, url, `INSERT INTO object_versions (collection, date_added, object_id, type, version_s, version_ns, version,
			spec_version, is_latest, is_first, raw) VALUES ($1, $2, $3, 'indicator', $4, 0, $5, '2.1', true, true, $6)`,
			coll, at.UnixMicro(), id, storetest.Created.Unix(), storetest.STIXTime(storetest.Created),
			[]byte(storetest.IndicatorJSON(id, storetest.Created, "old")))
	}
	put(collA, t0.Add(-72*time.Hour))
	put(collA, t0)
	put(collA, t0.Add(time.Microsecond))
	put(collA, t0.Add(70*time.Minute))
	put(collB, t0.Add(30*time.Minute))

	clock := storetest.NewClock(t0.Add(3 * time.Hour))
	db := mustOpen(t, url, postgres.Options{Now: clock.Now})
	if v := postgres.SchemaVersion(); v != 3 {
		t.Errorf("SchemaVersion() = %d; this test migrates from 2 to 3", v)
	}
	hour := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	for _, tt := range []struct {
		coll string
		want store.Activity
	}{
		{collA, store.Activity{Versions: 4, Newest: t0.Add(70 * time.Minute),
			Hours: []store.HourCount{{Hour: hour(0), Added: 2}, {Hour: hour(1), Added: 1}}}},
		{collB, store.Activity{Versions: 1, Newest: t0.Add(30 * time.Minute), Hours: []store.HourCount{{Hour: hour(0), Added: 1}}}},
		{collC, store.Activity{}},
	} {
		got, err := db.CollectionActivity(ctx, tt.coll, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Versions != tt.want.Versions || !got.Newest.Equal(tt.want.Newest) || !reflect.DeepEqual(got.Hours, tt.want.Hours) {
			t.Errorf("%s: activity after the migration %+v\nwant %+v", tt.coll, *got, tt.want)
		}
	}
	// From here on the counters are kept by the writes (Verify at cleanup
	// compares them with what is stored).
	storetest.MustAdd(t, db, clock.Now(), collA, storetest.Indicators(t, 100, 2)...)
	if _, err := db.DeleteObject(ctx, collA, storetest.STIXID("indicator", 1), store.Filter{}); err != nil {
		t.Fatal(err)
	}
	got, err := db.CollectionActivity(ctx, collA, hour(3))
	if err != nil || got.Versions != 5 || !reflect.DeepEqual(got.Hours, []store.HourCount{{Hour: hour(3), Added: 2}}) {
		t.Errorf("after two additions and a deletion: %+v, %v; want 5 versions, 2 added at 15:00", got, err)
	}
	if err := db.CreateSession(ctx, store.Session{Hash: strings.Repeat("0b", 32), Account: "alice", Via: store.SessionViaPassword,
		Credential: "c", CSRF: "t", Created: clock.Now(), LastSeen: clock.Now(), Expires: clock.Now().Add(time.Hour)}); err != nil {
		t.Errorf("CreateSession after the migration: %v", err)
	}
}
