package storetest

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/store"
)

// The directory fixture: one organization with two accounts, alice with a
// client certificate and a token, bob with a token; group apiRoot (alice
// admin, bob reader) with collA (alias "indicators") and collB (no alias);
// group otherRoot, empty.
const (
	dirOrg   = "county"
	dirAlice = "alice"
	dirBob   = "bob"
	tokAlice = "00000000-0000-4000-8000-0000000000a1"
	tokBob   = "00000000-0000-4000-8000-0000000000b1"
)

// aliceCert is alice's certificate fingerprint, in lower-case hex.
var aliceCert = strings.Repeat("ab", 32)

// seedDirectory writes the directory fixture in one change and returns
// what LoadDirectory must give back.
func (db *DB) seedDirectory(tb testing.TB) *store.Directory {
	tb.Helper()
	want := &store.Directory{
		Organizations: []store.Organization{{Name: dirOrg, Title: "County", IdentityID: "identity--" + seqUUID(101).String(), Created: t0}},
		Accounts: []store.Account{
			{Name: dirAlice, Organization: dirOrg, Kind: "person", Certificates: []string{aliceCert}, Created: t0},
			{Name: dirBob, Organization: dirOrg, Kind: "machine", RateLimit: &store.RateLimit{PerSecond: 2, Burst: 4}, Created: t0},
		},
		Tokens: []store.Token{
			{ID: tokAlice, Account: dirAlice, Name: "siem", Hash: strings.Repeat("01", 32), Created: t0},
			{ID: tokBob, Account: dirBob, Name: "feed", Hash: strings.Repeat("02", 32), Created: t0},
		},
		Groups: []store.Group{
			{Name: apiRoot, Title: "Election ISAC", MaxContentLength: 1 << 20, IdentityID: "identity--" + seqUUID(102).String(),
				Members: map[string]access.Role{dirAlice: access.RoleAdmin, dirBob: access.RoleReader}, Created: t0},
			{Name: otherRoot, Title: "Vendors", MaxContentLength: 1 << 20, IdentityID: "identity--" + seqUUID(103).String(), Created: t0},
		},
		Collections: []store.Collection{
			{ID: collA, APIRoot: apiRoot, Title: "Indicators", Alias: "indicators"},
			{ID: collB, APIRoot: apiRoot, Title: "Submissions"},
		},
	}
	db.mustChange(tb, func(tx store.DirectoryTx) error { return store.CreateDirectory(tx, want) })
	return want
}

// inOrder runs steps in order and returns the first error; the steps after
// it do not run (a transaction may be unusable after an error).
func inOrder(steps ...func() error) error {
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// mustChange runs fn in ChangeDirectory and fails the test on error.
func (db *DB) mustChange(tb testing.TB, fn func(tx store.DirectoryTx) error) {
	tb.Helper()
	if err := db.ChangeDirectory(context.Background(), fn); err != nil {
		tb.Fatalf("ChangeDirectory: %v", err)
	}
}

// mustLoad returns LoadDirectory's snapshot and fails the test on error.
func (db *DB) mustLoad(tb testing.TB) *store.Directory {
	tb.Helper()
	d, err := db.LoadDirectory(context.Background())
	if err != nil {
		tb.Fatalf("LoadDirectory: %v", err)
	}
	return d
}

// Ensure that what a change creates is what LoadDirectory reads, sorted by
// key, in the same store and after a reopen.
func (s *suite) TestDirectory_CreateAndLoad(t *testing.T) {
	db := s.MustOpenDB(t)
	want := db.seedDirectory(t)
	if got := db.mustLoad(t); !reflect.DeepEqual(got, want) {
		t.Errorf("LoadDirectory = %+v\nwant %+v", got, want)
	}
	db.MustReopen(t)
	if got := db.mustLoad(t); !reflect.DeepEqual(got, want) {
		t.Errorf("LoadDirectory after reopen = %+v\nwant %+v", got, want)
	}
}

// Ensure that every change that would break an invariant fails with a
// ConflictError that matches ErrConflict and names the invariant, what is
// taken and who holds it, and that the change stores nothing.
func (s *suite) TestDirectory_Conflicts(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(tx store.DirectoryTx) error
		want   store.ConflictError
	}{
		{"OrganizationExists", func(tx store.DirectoryTx) error {
			return tx.CreateOrganization(&store.Organization{Name: dirOrg, Title: "Another"})
		}, store.ConflictError{Invariant: store.OrganizationExists, Key: dirOrg}},
		{"OrganizationHasAccounts", func(tx store.DirectoryTx) error {
			return tx.DeleteOrganization(dirOrg)
		}, store.ConflictError{Invariant: store.OrganizationHasAccounts, Key: dirOrg}},
		{"AccountExists", func(tx store.DirectoryTx) error {
			return tx.CreateAccount(&store.Account{Name: dirBob, Organization: dirOrg, Kind: "person"})
		}, store.ConflictError{Invariant: store.AccountExists, Key: dirBob}},
		{"CertificateOfAnotherOnCreate", func(tx store.DirectoryTx) error {
			// Another spelling of the same fingerprint is the same
			// certificate.
			return tx.CreateAccount(&store.Account{Name: "carol", Organization: dirOrg, Kind: "person",
				Certificates: []string{strings.Repeat("cd", 32), strings.ToUpper(aliceCert)}})
		}, store.ConflictError{Invariant: store.CertificateRegistered, Key: strings.ToUpper(aliceCert), Holder: dirAlice, Index: 1}},
		{"CertificateOfAnotherOnUpdate", func(tx store.DirectoryTx) error {
			bob, err := tx.Account(dirBob)
			if err != nil {
				return err
			}
			bob.Certificates = []string{aliceCert}
			return tx.UpdateAccount(bob)
		}, store.ConflictError{Invariant: store.CertificateRegistered, Key: aliceCert, Holder: dirAlice}},
		{"TokenExists", func(tx store.DirectoryTx) error {
			return tx.CreateToken(&store.Token{ID: tokBob, Account: dirAlice, Name: "again", Hash: strings.Repeat("03", 32)})
		}, store.ConflictError{Invariant: store.TokenExists, Key: tokBob}},
		{"GroupExists", func(tx store.DirectoryTx) error {
			return tx.CreateGroup(&store.Group{Name: otherRoot, Title: "Again"})
		}, store.ConflictError{Invariant: store.GroupExists, Key: otherRoot}},
		{"GroupHasCollections", func(tx store.DirectoryTx) error {
			return tx.DeleteGroup(apiRoot)
		}, store.ConflictError{Invariant: store.GroupHasCollections, Key: apiRoot}},
		{"CollectionExistsInAnotherGroup", func(tx store.DirectoryTx) error {
			return tx.CreateCollection(&store.Collection{ID: collA, APIRoot: otherRoot, Title: "Same id"})
		}, store.ConflictError{Invariant: store.CollectionExists, Key: collA}},
		{"AliasTakenOnCreate", func(tx store.DirectoryTx) error {
			return tx.CreateCollection(&store.Collection{ID: seqUUID(201).String(), APIRoot: apiRoot, Title: "New", Alias: "indicators"})
		}, store.ConflictError{Invariant: store.AliasTaken, Key: "indicators", Holder: collA}},
		{"AliasTakenOnUpdate", func(tx store.DirectoryTx) error {
			c, err := tx.Collection(collB)
			if err != nil {
				return err
			}
			c.Alias = "indicators"
			return tx.UpdateCollection(c)
		}, store.ConflictError{Invariant: store.AliasTaken, Key: "indicators", Holder: collA}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := s.MustOpenDB(t)
			want := db.seedDirectory(t)
			err := db.ChangeDirectory(context.Background(), tt.change)
			var ce *store.ConflictError
			if !errors.Is(err, store.ErrConflict) || !errors.As(err, &ce) {
				t.Fatalf("ChangeDirectory = %v, want a ConflictError", err)
			}
			if *ce != tt.want {
				t.Errorf("conflict %+v, want %+v", *ce, tt.want)
			}
			if got := db.mustLoad(t); !reflect.DeepEqual(got, want) {
				t.Errorf("the refused change was stored: %+v\nwant %+v", got, want)
			}
		})
	}
}

// Ensure that the invariants do not refuse what keeps them: an alias used
// in another group, a collection or account updated with the alias or
// certificates it already has, an organization or group emptied first.
func (s *suite) TestDirectory_InvariantsAllow(t *testing.T) {
	db := s.MustOpenDB(t)
	db.seedDirectory(t)
	db.mustChange(t, func(tx store.DirectoryTx) error {
		a, err := tx.Collection(collA)
		if err != nil {
			return err
		}
		alice, err := tx.Account(dirAlice)
		if err != nil {
			return err
		}
		a.Title = "Renamed"
		alice.Disabled = true
		return inOrder(
			func() error {
				return tx.CreateCollection(&store.Collection{ID: seqUUID(201).String(), APIRoot: otherRoot, Title: "Vendor IOCs", Alias: "indicators"})
			},
			func() error { return tx.UpdateCollection(a) },
			func() error { return tx.UpdateAccount(alice) },
		)
	})
	db.mustChange(t, func(tx store.DirectoryTx) error {
		return inOrder(
			func() error { return tx.DeleteCollection(collA) },
			func() error { return tx.DeleteCollection(collB) },
			func() error { return tx.DeleteGroup(apiRoot) },
			func() error { return tx.DeleteAccount(dirAlice) },
			func() error { return tx.DeleteAccount(dirBob) },
			func() error { return tx.DeleteOrganization(dirOrg) },
		)
	})
	d := db.mustLoad(t)
	if len(d.Organizations)+len(d.Accounts)+len(d.Tokens) != 0 || len(d.Groups) != 1 || len(d.Collections) != 1 {
		t.Errorf("after deleting all but otherRoot: %+v", d)
	}
}

// Ensure that the getters, updates and deletes of what does not exist
// return ErrNotFound (ErrCollectionNotFound for collections), and that a
// collection is not updated through a group it is not in.
func (s *suite) TestDirectory_NotFound(t *testing.T) {
	db := s.MustOpenDB(t)
	want := db.seedDirectory(t)
	const missing = "nobody"
	missingID := seqUUID(999).String()
	for _, tt := range []struct {
		name       string
		call       func(tx store.DirectoryTx) error
		collection bool
	}{
		{"Organization", func(tx store.DirectoryTx) error { _, err := tx.Organization(missing); return err }, false},
		{"UpdateOrganization", func(tx store.DirectoryTx) error { return tx.UpdateOrganization(&store.Organization{Name: missing}) }, false},
		{"DeleteOrganization", func(tx store.DirectoryTx) error { return tx.DeleteOrganization(missing) }, false},
		{"Account", func(tx store.DirectoryTx) error { _, err := tx.Account(missing); return err }, false},
		{"UpdateAccount", func(tx store.DirectoryTx) error {
			return tx.UpdateAccount(&store.Account{Name: missing, Organization: dirOrg})
		}, false},
		{"DeleteAccount", func(tx store.DirectoryTx) error { return tx.DeleteAccount(missing) }, false},
		{"Token", func(tx store.DirectoryTx) error { _, err := tx.Token(missingID); return err }, false},
		{"UpdateToken", func(tx store.DirectoryTx) error {
			return tx.UpdateToken(&store.Token{ID: missingID, Account: dirAlice})
		}, false},
		{"Group", func(tx store.DirectoryTx) error { _, err := tx.Group(missing); return err }, false},
		{"UpdateGroup", func(tx store.DirectoryTx) error { return tx.UpdateGroup(&store.Group{Name: missing}) }, false},
		{"DeleteGroup", func(tx store.DirectoryTx) error { return tx.DeleteGroup(missing) }, false},
		{"Collection", func(tx store.DirectoryTx) error { _, err := tx.Collection(missingID); return err }, true},
		{"UpdateCollection", func(tx store.DirectoryTx) error {
			return tx.UpdateCollection(&store.Collection{ID: missingID, APIRoot: apiRoot})
		}, true},
		{"UpdateCollectionOfAnotherGroup", func(tx store.DirectoryTx) error {
			return tx.UpdateCollection(&store.Collection{ID: collA, APIRoot: otherRoot, Title: "Moved"})
		}, true},
		{"DeleteCollection", func(tx store.DirectoryTx) error { return tx.DeleteCollection(missingID) }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := db.ChangeDirectory(context.Background(), tt.call)
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("%s = %v, want ErrNotFound", tt.name, err)
			}
			if tt.collection && !errors.Is(err, store.ErrCollectionNotFound) {
				t.Errorf("%s = %v, want ErrCollectionNotFound", tt.name, err)
			}
		})
	}
	if got := db.mustLoad(t); !reflect.DeepEqual(got, want) {
		t.Errorf("a failed call changed the directory: %+v\nwant %+v", got, want)
	}
}

// Ensure that when fn returns an error nothing it did is kept, its audit
// row included, and that the error is returned as it is.
func (s *suite) TestDirectory_RollbackOnError(t *testing.T) {
	db := s.MustOpenDB(t)
	want := db.seedDirectory(t)
	errStop := errors.New("stop here")
	err := db.ChangeDirectory(context.Background(), func(tx store.DirectoryTx) error {
		err := inOrder(
			func() error { return tx.CreateOrganization(&store.Organization{Name: "state", Created: t0}) },
			func() error {
				return tx.CreateAccount(&store.Account{Name: "carol", Organization: "state", Kind: "person"})
			},
			func() error {
				return tx.CreateToken(&store.Token{ID: seqUUID(301).String(), Account: "carol", Name: "x"})
			},
			func() error { return tx.DeleteAccount(dirBob) },
			func() error { return tx.DeleteCollection(collB) },
			func() error { return tx.Audit(store.AuditEvent{Action: "admin.test", Target: "rolled back"}) },
		)
		if err != nil {
			return err
		}
		return errStop
	})
	if err != errStop {
		t.Fatalf("ChangeDirectory = %v, want fn's own error", err)
	}
	if got := db.mustLoad(t); !reflect.DeepEqual(got, want) {
		t.Errorf("directory after a failed change = %+v\nwant %+v", got, want)
	}
	evs, err := db.FindAudit(context.Background(), store.AuditQuery{Action: "admin.test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 0 {
		t.Errorf("audit rows of a failed change were kept: %+v", evs)
	}
}

// Ensure that an audit row written with a change is stored with it, a zero
// Time taking the store clock's.
func (s *suite) TestDirectory_AuditWithChange(t *testing.T) {
	db := s.MustOpenDB(t)
	db.mustChange(t, func(tx store.DirectoryTx) error {
		if err := tx.CreateOrganization(&store.Organization{Name: dirOrg, Created: t0}); err != nil {
			return err
		}
		return tx.Audit(store.AuditEvent{Action: "admin.organization.create", Account: "root", Target: "organization " + dirOrg})
	})
	evs, err := db.FindAudit(context.Background(), store.AuditQuery{Action: "admin."})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.AuditEvent{{Time: t0, Action: "admin.organization.create", Account: "root", Target: "organization " + dirOrg}}
	if !reflect.DeepEqual(evs, want) {
		t.Errorf("audit = %+v\nwant %+v", evs, want)
	}
	if d := db.mustLoad(t); len(d.Organizations) != 1 {
		t.Errorf("organizations %+v, want the one created", d.Organizations)
	}
}

// Ensure that DeleteAccount removes the account's tokens and memberships
// and nobody else's.
func (s *suite) TestDirectory_DeleteAccount(t *testing.T) {
	db := s.MustOpenDB(t)
	want := db.seedDirectory(t)
	db.mustChange(t, func(tx store.DirectoryTx) error { return tx.DeleteAccount(dirBob) })
	want.Accounts = want.Accounts[:1]
	want.Tokens = want.Tokens[:1]
	delete(want.Groups[0].Members, dirBob)
	if got := db.mustLoad(t); !reflect.DeepEqual(got, want) {
		t.Errorf("after DeleteAccount(%s) = %+v\nwant %+v", dirBob, got, want)
	}
	// The deleted account's certificate-free name is free again.
	db.mustChange(t, func(tx store.DirectoryTx) error {
		return tx.CreateAccount(&store.Account{Name: dirBob, Organization: dirOrg, Kind: "person"})
	})
}

// Ensure that of concurrent changes that each read, then create the same
// names, exactly one wins and the others see a ConflictError: the check
// and the write are one transaction however the calls interleave.
func (s *suite) TestDirectory_ConcurrentCreates(t *testing.T) {
	db := s.MustOpenDB(t)
	db.seedDirectory(t)
	creates := map[string]func(tx store.DirectoryTx, i int) error{
		"organization": func(tx store.DirectoryTx, i int) error {
			// A read first, as a caller that checks before it writes:
			// the check must not be what keeps the name unique.
			if _, err := tx.Organization("state"); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			return tx.CreateOrganization(&store.Organization{Name: "state", Title: seqUUID(uint64(i)).String()})
		},
		"account": func(tx store.DirectoryTx, i int) error {
			return tx.CreateAccount(&store.Account{Name: "carol", Organization: dirOrg, Kind: "person"})
		},
		"certificate": func(tx store.DirectoryTx, i int) error {
			// Different accounts, one certificate.
			return tx.CreateAccount(&store.Account{Name: "feed-" + seqUUID(uint64(i)).String(), Organization: dirOrg,
				Kind: "machine", Certificates: []string{strings.Repeat("ef", 32)}})
		},
		"alias": func(tx store.DirectoryTx, i int) error {
			return tx.CreateCollection(&store.Collection{ID: seqUUID(uint64(400 + i)).String(), APIRoot: otherRoot, Title: "x", Alias: "shared"})
		},
	}
	const racers = 8
	for what, create := range creates {
		var wg sync.WaitGroup
		errs := make([]error, racers)
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = db.ChangeDirectory(context.Background(), func(tx store.DirectoryTx) error { return create(tx, i) })
			}()
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("%s: racer %d: %v, want success or a conflict", what, i, err)
			}
		}
		if won != 1 {
			t.Errorf("%s: %d racers won, want exactly 1", what, won)
		}
	}
}

// Ensure that DirectoryVersion changes with every committed directory
// change and EnsureCollection, and with nothing else, and survives a
// reopen: servers poll it to follow changes made by other nodes.
func (s *suite) TestDirectory_Version(t *testing.T) {
	ctx := context.Background()
	db := s.MustOpenDB(t)
	version := func() uint64 {
		t.Helper()
		v, err := db.DirectoryVersion(ctx)
		if err != nil {
			t.Fatalf("DirectoryVersion: %v", err)
		}
		return v
	}
	v0 := version()
	db.seedDirectory(t)
	v1 := version()
	if v1 == v0 {
		t.Fatal("DirectoryVersion unchanged by a committed change")
	}
	refused := errors.New("refused")
	if err := db.ChangeDirectory(ctx, func(tx store.DirectoryTx) error {
		if err := tx.CreateOrganization(&store.Organization{Name: "rolled-back", Created: t0}); err != nil {
			return err
		}
		return refused
	}); !errors.Is(err, refused) {
		t.Fatalf("ChangeDirectory = %v, want the error fn returned", err)
	}
	if err := db.RecordUse(ctx, nil, map[string]time.Time{"alice": t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != v1 {
		t.Fatalf("DirectoryVersion moved from %d to %d without a committed change", v1, v)
	}
	if err := db.EnsureCollection(ctx, store.Collection{ID: collB, APIRoot: apiRoot, Title: "B"}); err != nil {
		t.Fatal(err)
	}
	v2 := version()
	if v2 == v1 {
		t.Fatal("DirectoryVersion unchanged by EnsureCollection")
	}
	db.MustReopen(t)
	if v := version(); v != v2 {
		t.Fatalf("DirectoryVersion after reopen = %d, want %d", v, v2)
	}
}
