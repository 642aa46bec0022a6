package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/store"
	"go.etcd.io/bbolt"
	"golang.org/x/crypto/bcrypt"
)

// The world of the backup tests: root is a superadmin, pub publishes to
// one collection of the group officials.
const (
	bkCollection = "3c9e7a51-8f2d-4b6e-9a1c-5d7f0e2b4a68"
	bkPubPass    = "pub-password-123"
	bkObjects    = "/officials/collections/" + bkCollection + "/objects/"
)

// bkConfig writes the configuration of the backup tests, with the store in
// dataDir.
func bkConfig(t *testing.T, dataDir string) string {
	t.Helper()
	rootHash, err := bcrypt.GenerateFromPassword([]byte(rootPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	pubHash, err := bcrypt.GenerateFromPassword([]byte(bkPubPass), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return writeConfig(t, `
data_dir: `+dataDir+`
discovery: {title: eitaxii backup test}
accounts:
  - name: root
    superadmin: true
    password_hash: "`+string(rootHash)+`"
  - name: pub
    password_hash: "`+string(pubHash)+`"
groups:
  - name: officials
    title: Officials
    members: {pub: publisher}
    collections:
      - {id: `+bkCollection+`, title: Indicators}
`)
}

// asRoot is the environment that signs in as the superadmin.
var asRoot = map[string]string{"EITAXII_USER": "root", "EITAXII_PASSWORD": rootPassword}

// bkOK runs a command that must succeed and returns its standard output.
func bkOK(t *testing.T, vars map[string]string, args ...string) string {
	t.Helper()
	code, out, errs := runCLI(vars, args...)
	if code != 0 {
		t.Fatalf("eitaxii %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// bkFails runs a command that must exit with code and say want (on
// standard output or error).
func bkFails(t *testing.T, code int, want string, args ...string) {
	t.Helper()
	got, out, errs := runCLI(asRoot, args...)
	if got != code || !strings.Contains(out+errs, want) {
		t.Fatalf("eitaxii %s: exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(args, " "), got, out, errs, code, want)
	}
}

// bkObjectID is the id of object i of publisher w.
func bkObjectID(w, i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", w, i) }

// bkServeThree starts a server with the backup tests' configuration cfg on
// a new data directory dir, and publishes three indicators to it at base;
// stop stops the server.
func bkServeThree(t *testing.T) (dir, cfg, base string, stop func() int) {
	t.Helper()
	dir = t.TempDir()
	cfg = bkConfig(t, dir)
	base, _, _, stop = startServe(t, "--config", cfg)
	for i := range 3 {
		if err := bkPublish(base, bkObjectID(0, i)); err != nil {
			t.Fatal(err)
		}
	}
	return dir, cfg, base, stop
}

// bkPublish posts one indicator as pub; a nil error means the server
// acknowledged it (202, stored without failure).
func bkPublish(base, id string) error {
	body := `{"objects":[` + fmt.Sprintf(indicatorJSON, id) + `]}`
	req, err := http.NewRequest("POST", base+bkObjects, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth("pub", bkPubPass)
	req.Header.Set("Accept", "application/taxii+json;version=2.1")
	req.Header.Set("Content-Type", "application/taxii+json;version=2.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	var st store.Status
	if resp.StatusCode != 202 || json.Unmarshal(data, &st) != nil || st.SuccessCount != 1 {
		return fmt.Errorf("publish %s: %d %s", id, resp.StatusCode, data)
	}
	return nil
}

// bkFetchAll returns every object of the collection, by id, as the bytes
// the server serves, following next.
func bkFetchAll(t *testing.T, base string) map[string]string {
	t.Helper()
	all := map[string]string{}
	next := ""
	for {
		target := base + bkObjects + "?limit=1000"
		if next != "" {
			target += "&next=" + url.QueryEscape(next)
		}
		resp, body := do(t, "GET", target, "pub", bkPubPass, "")
		if resp.StatusCode != 200 {
			t.Fatalf("GET objects: %d %s", resp.StatusCode, body)
		}
		var env struct {
			More    bool              `json:"more"`
			Next    string            `json:"next"`
			Objects []json.RawMessage `json:"objects"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatalf("GET objects: %v\n%s", err, body)
		}
		for _, o := range env.Objects {
			var h struct{ ID string }
			if err := json.Unmarshal(o, &h); err != nil {
				t.Fatal(err)
			}
			all[h.ID] = string(o)
		}
		if !env.More {
			return all
		}
		next = env.Next
	}
}

// Ensure that an online backup taken while publishing goes on restores,
// on a new data directory, to a server whose collection holds every object
// acknowledged before the backup started, byte for byte, and nothing the
// original does not hold; and that the download is audited.
func TestBackup_Online(t *testing.T) {
	cfg := bkConfig(t, t.TempDir())
	base, _, _, _ := startServe(t, "--config", cfg)
	for i := range 20 {
		if err := bkPublish(base, bkObjectID(0, i)); err != nil {
			t.Fatal(err)
		}
	}

	// Publish continuously in the background, recording what was
	// acknowledged.
	var (
		mu    sync.Mutex
		acked []string
	)
	ackedSoFar := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), acked...)
	}
	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				errc <- nil
				return
			default:
			}
			id := bkObjectID(1, i)
			if err := bkPublish(base, id); err != nil {
				errc <- err
				return
			}
			mu.Lock()
			acked = append(acked, id)
			mu.Unlock()
		}
	}()
	waitAcked := func(n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for len(ackedSoFar()) < n {
			if time.Now().After(deadline) {
				t.Fatalf("the publisher acknowledged only %d objects", len(ackedSoFar()))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitAcked(5)
	before := ackedSoFar()
	for i := range 20 {
		before = append(before, bkObjectID(0, i))
	}

	out := filepath.Join(t.TempDir(), "nightly.db")
	got := bkOK(t, asRoot, "backup", "--server", base, "--out", out)
	if !strings.Contains(got, "backup: wrote "+out) || !strings.Contains(got, "verified") {
		t.Errorf("backup output %q", got)
	}
	waitAcked(len(before) - 20 + 5)
	close(stop)
	if err := <-errc; err != nil {
		t.Fatalf("publishing during the backup: %v", err)
	}
	if _, err := os.Stat(out + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary file is left: %v", err)
	}
	original := bkFetchAll(t, base)
	audit := newAdminCLI(t, base).ok("audit", "--action", "admin.backup.create")
	if evs := auditLines(t, audit); len(evs) != 1 || evs[0]["account"] != "root" {
		t.Errorf("backup audit rows: %s", audit)
	}

	restored := t.TempDir()
	bkOK(t, nil, "restore", out, "--data-dir", restored)
	base2, _, _, _ := startServe(t, "--config", cfg, "--data-dir", restored)
	copied := bkFetchAll(t, base2)
	for _, id := range before {
		id = "indicator--" + id
		if copied[id] == "" {
			t.Errorf("%s was acknowledged before the backup and is not in the restored store", id)
		} else if copied[id] != original[id] {
			t.Errorf("%s differs:\n restored %s\n original %s", id, copied[id], original[id])
		}
	}
	for id, obj := range copied {
		if original[id] != obj {
			t.Errorf("the restored store holds %s, which the original does not hold as %s", id, obj)
		}
	}
	t.Logf("%d objects acknowledged before the backup, %d in it, %d in the original at the end", len(before), len(copied), len(original))
}

// Ensure that only a superadmin's credentials take a backup, and that a
// refusal leaves no file behind.
func TestBackup_Refused(t *testing.T) {
	cfg := bkConfig(t, t.TempDir())
	base, _, _, _ := startServe(t, "--config", cfg)
	out := filepath.Join(t.TempDir(), "b.db")

	code, stdout, stderr := runCLI(map[string]string{"EITAXII_PASSWORD": bkPubPass}, "backup", "--server", base, "--user", "pub", "--out", out)
	if code != 1 || !strings.Contains(stderr, "HTTP 403") || !strings.Contains(stderr, "only a superadmin") {
		t.Fatalf("backup as a publisher: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, _, stderr = runCLI(map[string]string{"EITAXII_PASSWORD": "wrong"}, "backup", "--server", base, "--user", "root", "--out", out)
	if code != 1 || !strings.Contains(stderr, "HTTP 401") {
		t.Fatalf("backup with a wrong password: exit %d, stderr %q", code, stderr)
	}
	for _, p := range []string{out, out + ".tmp"} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists after a refused backup (%v)", p, err)
		}
	}

	bkFails(t, 2, "--out FILE is required", "backup", "--server", base)
	bkFails(t, 2, "give --server URL (a running server) or --data-dir DIR", "backup", "--out", out)
	bkFails(t, 2, "not both", "backup", "--server", base, "--data-dir", t.TempDir(), "--out", out)
}

// Ensure that the offline commands refuse a store the server holds (backup
// with advice to use --server, restore even with --force, check), that no
// backup is renamed over it, and
// work once it has stopped: an offline backup, a restore that refuses to
// replace a store without --force and keeps the old one with it, and a
// check that summarizes a healthy store.
func TestBackup_Offline(t *testing.T) {
	dir, cfg, base, stop := bkServeThree(t)
	online := filepath.Join(t.TempDir(), "online.db")
	bkOK(t, asRoot, "backup", "--server", base, "--out", online)

	out := filepath.Join(t.TempDir(), "offline.db")
	bkFails(t, 1, "is in use", "backup", "--data-dir", dir, "--out", out)
	bkFails(t, 1, "--server", "backup", "--data-dir", dir, "--out", out)
	for _, p := range []string{out, out + ".tmp"} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists after a refused backup (%v)", p, err)
		}
	}
	bkFails(t, 1, "is in use", "restore", online, "--data-dir", dir)
	bkFails(t, 1, "is in use", "restore", online, "--data-dir", dir, "--force")
	bkFails(t, 1, "is in use", "check", "--data-dir", dir)
	bkFails(t, 1, "is a store in use", "backup", "--server", base, "--out", filepath.Join(dir, storeFile))
	// The server was not disturbed.
	if err := bkPublish(base, bkObjectID(0, 3)); err != nil {
		t.Fatal(err)
	}
	if code := stop(); code != 0 {
		t.Fatalf("serve exited with %d", code)
	}

	got := bkOK(t, nil, "backup", "--data-dir", dir, "--out", out)
	if !strings.Contains(got, "verified: 1 collections, 4 object versions, 4 statuses") {
		t.Errorf("offline backup output %q", got)
	}
	bkFails(t, 1, "already holds a store", "restore", online, "--data-dir", dir)
	bkFails(t, 1, "--force", "restore", online, "--data-dir", dir)

	got = bkOK(t, nil, "restore", online, "--data-dir", dir, "--force")
	baks, err := filepath.Glob(filepath.Join(dir, storeFile+".bak-*"))
	if err != nil || len(baks) != 1 || !strings.Contains(got, "kept as "+baks[0]) {
		t.Fatalf("old store kept as %v (%v); output %q", baks, err, got)
	}
	if _, err := os.Stat(filepath.Join(dir, storeFile+".restore.tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the temporary copy is left: %v", err)
	}
	// The data directory now holds the online backup (3 objects); the old
	// store (4) is kept aside.
	got = bkOK(t, nil, "check", "--data-dir", dir)
	if !strings.Contains(got, ": ok: 1 collections, 3 object versions") {
		t.Errorf("check after restore: %q", got)
	}
	bakDir := t.TempDir()
	bkOK(t, nil, "restore", baks[0], "--data-dir", bakDir)
	if got = bkOK(t, nil, "check", "--data-dir", bakDir); !strings.Contains(got, "4 object versions") {
		t.Errorf("the kept store: %q", got)
	}

	// The restored store serves again.
	base, _, _, _ = startServe(t, "--config", cfg)
	if objs := bkFetchAll(t, base); len(objs) != 3 {
		t.Errorf("restored server holds %d objects, want 3", len(objs))
	}
}

// Ensure that check and restore find a store whose index was broken behind
// the store's back: check exits 1 naming the problem, and restore refuses
// it without touching the data directory; restore also refuses a file
// that is no store at all.
func TestCheck_BrokenStore(t *testing.T) {
	dir, _, _, stop := bkServeThree(t)
	stop()
	if got := bkOK(t, nil, "check", "--data-dir", dir); !strings.Contains(got, "ok: 1 collections, 3 object versions, 3 statuses") {
		t.Fatalf("check on a healthy store: %q", got)
	}

	raw, err := bbolt.Open(filepath.Join(dir, storeFile), 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Remove one object's entry from the collection's version index
	// (package store/bolt's layout).
	err = raw.Update(func(tx *bbolt.Tx) error {
		versions := tx.Bucket([]byte("c")).Bucket([]byte(bkCollection)).Bucket([]byte("versions"))
		k, _ := versions.Cursor().First()
		return versions.Delete(k)
	})
	raw.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(nil, "check", "--data-dir", dir)
	if code != 1 || !strings.Contains(out, "collection "+bkCollection+": object indicator--") || !strings.Contains(out, "has no version entry") ||
		!strings.Contains(errs, "1 problems") {
		t.Fatalf("check on a broken index: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	target := t.TempDir()
	bkFails(t, 1, "has no version entry", "restore", filepath.Join(dir, storeFile), "--data-dir", target)
	garbage := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a store "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	bkFails(t, 1, "not a usable store", "restore", garbage, "--data-dir", target)
	if entries, err := os.ReadDir(target); err != nil || len(entries) != 0 {
		t.Errorf("a refused restore left %v (%v)", entries, err)
	}
	bkFails(t, 1, "no store at", "check", "--data-dir", t.TempDir())
	bkFails(t, 2, "--data-dir DIR is required", "check")
	bkFails(t, 2, "name the backup FILE", "restore", "--data-dir", target)
}
