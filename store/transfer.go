package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/eitaxii/eitaxii/stix"
)

// Transfer is what copying a whole store into another needs beyond Store:
// reading every status and audit row, and writing object versions and
// statuses as they were, with their date_added values and times, rather
// than as new ones. Both backends implement it; Copy uses it. Console
// sessions are not transferred: they are ephemeral (see session.go), and
// a user signs in again on the new store.
type Transfer interface {
	Store
	// ExportStatuses calls fn with every status record and the time its
	// request was received, in no particular order, and stops at fn's
	// first error, which it returns. It returns no error of this package.
	ExportStatuses(ctx context.Context, fn func(rec *StatusRecord, received time.Time) error) error
	// ExportAudit calls fn with every audit event, oldest first, and stops
	// at fn's first error, which it returns. It returns no error of this
	// package.
	ExportAudit(ctx context.Context, fn func(ev *AuditEvent) error) error
	// ImportVersions stores recs, object versions of collection collID as
	// another store read them (ID, Version, SpecVersion, DateAdded, Raw),
	// in one transaction, keeping their date_added values. recs must be
	// ascending by DateAdded and later than every change the collection
	// has; newest (at least the last record's DateAdded, or zero) becomes
	// the collection's high-water mark of the change feed, so that cursors
	// handed out by the source stay behind every later change. Deletions
	// are not imported: deletedUpTo (zero for none) is the greatest cursor
	// of the source's deletions, and a reader of the change feed resuming
	// from before it is told of a gap (ChangePage.Gap), as after pruned
	// deletions, so that it rebuilds its state rather than miss one.
	// Nothing is stored when it fails. Returns ErrCollectionNotFound, or an error
	// matching ErrImport for records out of order, a version already
	// present, or a version that is not a timestamp.
	ImportVersions(ctx context.Context, collID string, recs []Record, newest, deletedUpTo time.Time) error
	// ImportStatus stores a status record as it is (its id, counts and
	// details), received at the given time for the status retention. It
	// returns an error matching ErrImport when the API root already has a
	// status with that id.
	ImportStatus(ctx context.Context, rec *StatusRecord, received time.Time) error
}

var (
	// ErrImport is matched by the errors of Transfer's import methods when
	// what they are given cannot be stored as it is.
	ErrImport = errors.New("cannot import")
	// ErrNotEmpty is returned by Copy when the destination already holds
	// something: a copy is made into an empty store only, so that nothing
	// there is mixed with or overwritten by the source.
	ErrNotEmpty = errors.New("the destination store is not empty")
)

// CopyReport counts what Copy copied.
type CopyReport struct {
	Organizations, Accounts, Tokens, Groups, Collections, Webhooks int
	ObjectVersions, Statuses, AuditEvents                          int
	// Sampled is how many object versions were read back from the
	// destination and compared byte for byte with the source.
	Sampled int
}

// copyBatch is how many object versions or audit rows Copy writes per
// transaction: large enough to amortize a commit, small enough that a
// transaction stays short.
const copyBatch = 1000

// sampleEvery is how often Copy reads a copied object version back: every
// sampleEvery-th version of each collection, and its last one.
const sampleEvery = 97

// Copy copies everything src holds into dst, which must be empty
// (ErrNotEmpty otherwise): the directory (organizations, accounts with
// their password hashes and certificates, token hashes, groups with their
// members, collections with their policies), every object version with its
// date_added and exact bytes, every status, every audit row, and every
// webhook subscription with its secrets and progress (its delivery log is
// not copied). It then checks that dst holds as many of each as src and
// that a sample of object versions reads back byte for byte, and returns
// the counts. Deletion records of the change feed are not copied: the
// high-water mark is, so cursors stay ordered, and a stream or webhook
// resuming from before a deletion is told of a gap. Next tokens issued by src are not valid on dst
// (each store signs its own). Console sessions are not copied (they are
// ephemeral: users sign in again); each collection's activity counters on
// dst are kept by ImportVersions as it stores the versions. Writers must
// not change src during the copy.
func Copy(ctx context.Context, dst, src Transfer) (*CopyReport, error) {
	if err := checkEmpty(ctx, dst); err != nil {
		return nil, err
	}
	rep := &CopyReport{}
	dir, err := src.LoadDirectory(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the source directory: %w", err)
	}
	webhooks, err := src.Webhooks(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the source's webhooks: %w", err)
	}
	if err := copyDirectory(ctx, dst, dir, webhooks, rep); err != nil {
		return nil, fmt.Errorf("copy the directory: %w", err)
	}
	for _, c := range dir.Collections {
		n, sampled, err := copyCollection(ctx, dst, src, c.ID)
		if err != nil {
			return nil, fmt.Errorf("copy collection %s: %w", c.ID, err)
		}
		rep.ObjectVersions += n
		rep.Sampled += sampled
	}
	err = src.ExportStatuses(ctx, func(rec *StatusRecord, received time.Time) error {
		rep.Statuses++
		return dst.ImportStatus(ctx, rec, received)
	})
	if err != nil {
		return nil, fmt.Errorf("copy the statuses: %w", err)
	}
	var batch []AuditEvent
	flush := func() error {
		err := dst.AppendAudit(ctx, batch...)
		rep.AuditEvents += len(batch)
		batch = batch[:0]
		return err
	}
	err = src.ExportAudit(ctx, func(ev *AuditEvent) error {
		batch = append(batch, *ev)
		if len(batch) == copyBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return nil, fmt.Errorf("copy the audit log: %w", err)
	}
	if err := checkCounts(ctx, dst, src, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// checkEmpty returns ErrNotEmpty unless s holds nothing at all.
func checkEmpty(ctx context.Context, s Store) error {
	st, err := s.Stats(ctx)
	if err != nil {
		return err
	}
	d, err := s.LoadDirectory(ctx)
	if err != nil {
		return err
	}
	if st.Collections+st.ObjectVersions+st.Statuses+len(d.Organizations)+len(d.Accounts)+len(d.Tokens)+len(d.Groups) > 0 {
		return fmt.Errorf("%w: it holds %d collections, %d object versions, %d statuses, %d accounts",
			ErrNotEmpty, st.Collections, st.ObjectVersions, st.Statuses, len(d.Accounts))
	}
	if hooks, err := s.Webhooks(ctx); err != nil || len(hooks) > 0 {
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: it holds webhook subscriptions", ErrNotEmpty)
	}
	if evs, err := s.FindAudit(ctx, AuditQuery{Limit: 1}); err != nil || len(evs) > 0 {
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: it holds audit rows", ErrNotEmpty)
	}
	return nil
}

// copyDirectory creates dir in dst in one transaction, each entry as it
// is (times, hashes and identity ids included).
func copyDirectory(ctx context.Context, dst Store, dir *Directory, webhooks []Webhook, rep *CopyReport) error {
	return dst.ChangeDirectory(ctx, func(tx DirectoryTx) error {
		if err := CreateDirectory(tx, dir); err != nil {
			return err
		}
		if err := createEach(webhooks, tx.CreateWebhook); err != nil {
			return err
		}
		rep.Webhooks = len(webhooks)
		rep.Organizations, rep.Accounts, rep.Tokens = len(dir.Organizations), len(dir.Accounts), len(dir.Tokens)
		rep.Groups, rep.Collections = len(dir.Groups), len(dir.Collections)
		return nil
	})
}

// CreateDirectory creates every entry of dir in tx, each as it is, in an
// order in which each entry finds those it names: organizations,
// accounts, tokens, groups, collections. It stops at the first error,
// which it returns (the transaction's error, see DirectoryTx).
func CreateDirectory(tx DirectoryTx, dir *Directory) error {
	for _, step := range []func() error{
		func() error { return createEach(dir.Organizations, tx.CreateOrganization) },
		func() error { return createEach(dir.Accounts, tx.CreateAccount) },
		func() error { return createEach(dir.Tokens, tx.CreateToken) },
		func() error { return createEach(dir.Groups, tx.CreateGroup) },
		func() error { return createEach(dir.Collections, tx.CreateCollection) },
	} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// createEach calls create with a pointer to each of items, in order, and
// stops at its first error, which it returns.
func createEach[T any](items []T, create func(*T) error) error {
	for i := range items {
		if err := create(&items[i]); err != nil {
			return err
		}
	}
	return nil
}

// copyCollection copies the object versions of one collection in batches
// read through the change feed, in date_added order, and reads a sample
// back. It returns how many versions it copied and sampled.
func copyCollection(ctx context.Context, dst, src Transfer, collID string) (copied, sampled int, err error) {
	var after, deleted time.Time
	var recs []Record
	var samples []Record
	for {
		page, err := src.ReadChanges(ctx, collID, after, copyBatch)
		if err != nil {
			return copied, sampled, err
		}
		recs = recs[:0]
		for _, ch := range page.Changes {
			if ch.Deleted {
				deleted = ch.Cursor
			} else {
				recs = append(recs, ch.Record)
				if (copied+len(recs))%sampleEvery == 1 {
					samples = append(samples, ch.Record)
				}
			}
			after = ch.Cursor
		}
		var newest, deletedUpTo time.Time
		if !page.More {
			newest, deletedUpTo = page.Newest, deleted
		}
		if len(recs) > 0 || !newest.IsZero() {
			if err := dst.ImportVersions(ctx, collID, recs, newest, deletedUpTo); err != nil {
				return copied, sampled, err
			}
		}
		copied += len(recs)
		if len(recs) > 0 && !page.More {
			samples = append(samples, recs[len(recs)-1])
		}
		if !page.More {
			break
		}
	}
	for _, want := range samples {
		if err := sameVersion(ctx, dst, collID, &want); err != nil {
			return copied, sampled, err
		}
		sampled++
	}
	return copied, sampled, nil
}

// sameVersion checks that dst serves the version want with the same
// date_added and bytes.
func sameVersion(ctx context.Context, dst Store, collID string, want *Record) error {
	at, err := parseVersion(want.Version)
	if err != nil {
		return err
	}
	page, err := dst.FindObject(ctx, collID, want.ID, Query{Filter: Filter{Versions: VersionSet{At: []time.Time{at}}}, Limit: 1})
	if err != nil {
		return fmt.Errorf("read back %s version %s: %w", want.ID, want.Version, err)
	}
	if len(page.Records) != 1 || !page.Records[0].DateAdded.Equal(want.DateAdded) || string(page.Records[0].Raw) != string(want.Raw) {
		return fmt.Errorf("read back %s version %s: the copy differs from the source", want.ID, want.Version)
	}
	return nil
}

// parseVersion reads a version as a Record holds it (a STIX timestamp).
func parseVersion(v string) (time.Time, error) {
	t, err := stix.ParseTimestamp(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: version %q is not a timestamp", ErrImport, v)
	}
	return t, nil
}

// checkCounts compares what dst and src hold.
func checkCounts(ctx context.Context, dst, src Store, rep *CopyReport) error {
	want, err := src.Stats(ctx)
	if err != nil {
		return err
	}
	got, err := dst.Stats(ctx)
	if err != nil {
		return err
	}
	if got.Collections != want.Collections || got.ObjectVersions != want.ObjectVersions || got.Statuses != want.Statuses {
		return fmt.Errorf("after the copy the destination holds %d collections, %d object versions, %d statuses; the source %d, %d, %d",
			got.Collections, got.ObjectVersions, got.Statuses, want.Collections, want.ObjectVersions, want.Statuses)
	}
	if rep.ObjectVersions != want.ObjectVersions {
		return fmt.Errorf("copied %d object versions, the source holds %d", rep.ObjectVersions, want.ObjectVersions)
	}
	return nil
}
