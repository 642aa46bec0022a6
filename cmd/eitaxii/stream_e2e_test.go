package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Ensure, through `eitaxii serve` with its real HTTP server (timeouts,
// graceful shutdown) and a configuration file, that the live stream
// delivers what a publisher posts to a reader, hides itself from a member
// of another group (404), keeps max_streams_per_account (429), and that
// stopping the server ends the open stream cleanly instead of holding the
// shutdown.
func TestServe_Stream(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("stream-password-1"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, `
data_dir: `+t.TempDir()+`
discovery: {title: eitaxii, default: election-officials}
max_streams_per_account: 1
accounts:
  - {name: alice, password_hash: "`+string(hash)+`"}
  - {name: county, password_hash: "`+string(hash)+`"}
  - {name: vendor, password_hash: "`+string(hash)+`"}
groups:
  - name: election-officials
    title: Election Officials
    members: {alice: publisher, county: reader}
    collections:
      - {id: 6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b11, title: Indicators, alias: indicators}
  - name: vendors
    title: Vendors
    members: {vendor: publisher}
`)
	base, _, _, stop := startServe(t, "--config", cfg)
	streamURL := base + "/election-officials/collections/indicators/stream/"
	open := func(user string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, streamURL, nil)
		req.SetBasicAuth(user, "stream-password-1")
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := open("county")
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reader's stream: %d", resp.StatusCode)
	}
	lines := make(chan string, 100)
	ended := make(chan error, 1)
	go func() {
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				ended <- err
				return
			}
			lines <- strings.TrimSuffix(line, "\n")
		}
	}()
	for user, want := range map[string]int{"vendor": http.StatusNotFound, "county": http.StatusTooManyRequests} {
		r := open(user)
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		if r.StatusCode != want || r.Header.Get("Content-Type") != "application/taxii+json;version=2.1" {
			t.Errorf("%s: %d %q, want %d with a TAXII error", user, r.StatusCode, r.Header.Get("Content-Type"), want)
		}
	}
	obj := fmt.Sprintf(indicatorJSON, "8c7e4a1f-2b3d-4e5f-8a9b-0c1d2e3f4a5b")
	if r, body := do(t, "POST", base+"/election-officials/collections/indicators/objects/", "alice", "stream-password-1", `{"objects":[`+obj+`]}`); r.StatusCode != http.StatusAccepted {
		t.Fatalf("publish: %d %s", r.StatusCode, body)
	}
	deadline := time.After(10 * time.Second)
	for got := false; !got; {
		select {
		case line := <-lines:
			if strings.HasPrefix(line, "data: {\"date_added\"") {
				if !strings.HasSuffix(line, `,"object":`+obj+`}`) {
					t.Errorf("object event %s, want the posted bytes", line)
				}
				got = true
			}
		case err := <-ended:
			t.Fatalf("stream ended before the object: %v", err)
		case <-deadline:
			t.Fatal("no object event")
		}
	}
	// Graceful shutdown ends the stream: serve returns 0 and the client
	// sees a complete response.
	if code := stop(); code != 0 {
		t.Errorf("serve exited with %d", code)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, io.EOF) {
			t.Errorf("stream ended with %v, want a clean end (EOF)", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("the stream outlived the server")
	}
}
