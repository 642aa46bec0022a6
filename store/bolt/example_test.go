package bolt_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/store/bolt"
)

func Example() {
	dir, err := os.MkdirTemp("", "eitaxii")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	db, err := bolt.Open(filepath.Join(dir, "taxii.db"), bolt.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	coll := store.Collection{ID: "2f0d3c52-8a43-4c4e-9d5e-3b1f6a7c9e01", APIRoot: "election-isac", Title: "Indicators"}
	if err := db.EnsureCollection(ctx, coll); err != nil {
		log.Fatal(err)
	}

	// Validate outside the transaction, then store the bytes verbatim.
	v, err := stix.NewValidator()
	if err != nil {
		log.Fatal(err)
	}
	raw := []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",` +
		`"created":"2024-10-01T08:00:00.000Z","modified":"2024-10-01T08:00:00.000Z",` +
		`"pattern":"[domain-name:value = 'vote-lookup.example']","pattern_type":"stix","valid_from":"2024-10-01T08:00:00Z"}`)
	h, findings := v.Check(raw)
	if len(findings) > 0 {
		log.Fatal(findings)
	}
	st, err := db.AddObjects(ctx, &store.Submission{APIRoot: coll.APIRoot, Collection: coll.ID,
		Objects: []store.Object{{Header: h, Raw: raw}}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Status, st.SuccessCount, "of", st.TotalCount)

	pg, err := db.FindObjects(ctx, coll.ID, store.Query{Limit: 100})
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range pg.Records {
		fmt.Println(r.ID, r.Version, r.MediaType)
	}
	// Output:
	// complete 1 of 1
	// indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f 2024-10-01T08:00:00.000Z application/stix+json;version=2.1
}
