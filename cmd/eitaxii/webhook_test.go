package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/client"
	"golang.org/x/crypto/bcrypt"
)

// hookReceiver is a webhook target on loopback that checks each message's
// Standard Webhooks signature with the secret it is given (written from
// the spec: HMAC-SHA256 over "id.timestamp.body", "v1,<base64>" entries
// separated by spaces) and keeps the object ids it acknowledges.
type hookReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	key []byte
	ids []string
	bad int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		mac := hmac.New(sha256.New, r.key)
		fmt.Fprintf(mac, "%s.%s.%s", req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), body)
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		ok := false
		for _, sig := range strings.Fields(req.Header.Get("webhook-signature")) {
			ok = ok || hmac.Equal([]byte(sig), []byte(want))
		}
		if !ok {
			r.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m struct {
			Data struct {
				Changes []struct{ Object struct{ ID string } }
			}
		}
		if err := json.Unmarshal(body, &m); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		for _, ch := range m.Data.Changes {
			r.ids = append(r.ids, ch.Object.ID)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

// Ensure that a webhook made with the CLI delivers what is published, in
// order and signed; that another group's admin cannot see it; that it
// stops when its owner leaves the group.
func TestWebhooks_EndToEnd(t *testing.T) {
	rcv := newHookReceiver(t)
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	cfg := writeConfig(t, `
data_dir: `+t.TempDir()+`
discovery: {title: eitaxii webhook test}
webhooks:
  allow_hosts: [127.0.0.1]
accounts:
  - name: root
    superadmin: true
    password_hash: "`+hash(rootPassword)+`"
  - name: soc
    password_hash: "`+hash("soc-password-1")+`"
  - name: vadmin
    password_hash: "`+hash("vadmin-password-1")+`"
groups:
  - name: isac
    title: ISAC
    members: {root: admin, soc: reader}
    collections:
      - {id: 6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b11, title: Indicators, alias: indicators}
  - name: vendors
    title: Vendors
    members: {vadmin: admin}
    collections:
      - {id: 0b8e6a70-3f0e-4f5e-8f8e-6b0a4f0e9b22, title: Vendor feed}
`)
	base, _, _, _ := startServe(t, "--config", cfg)
	cli := newAdminCLI(t, base)
	// A plain-http target on a host that is not allowed is refused.
	cli.fails(1, "only https", "webhooks", "create", "isac", "indicators", "http://receiver.example/hook")

	var created client.NewWebhook
	cli.json(&created, "webhooks", "create", "isac", "indicators", rcv.srv.URL+"/hook", "--owner", "soc", "--from", "start")
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(created.Secret, "whsec_"))
	if err != nil || len(key) != 32 {
		t.Fatalf("secret %q: %v", created.Secret, err)
	}
	rcv.mu.Lock()
	rcv.key = key
	rcv.mu.Unlock()

	publish := func(first, n int) []string {
		var objs, ids []string
		for i := first; i < first+n; i++ {
			id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			objs = append(objs, fmt.Sprintf(indicatorJSON, id))
			ids = append(ids, "indicator--"+id)
		}
		resp, body := do(t, "POST", base+"/isac/collections/indicators/objects/", "root", rootPassword, `{"objects":[`+strings.Join(objs, ",")+`]}`)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("publish: %d %s", resp.StatusCode, body)
		}
		return ids
	}
	want := publish(1, 150)
	want = append(want, publish(500, 3)...)
	waitFor(t, "every object delivered", func() bool { return len(rcv.received()) >= len(want) })
	if got := rcv.received(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("received %d objects, want %d in order:\n%v", len(got), len(want), got)
	}
	if rcv.bad != 0 {
		t.Fatalf("%d messages with a bad signature", rcv.bad)
	}

	// The dispatcher's metrics are on /metrics (a superadmin may read it).
	resp, body := do(t, "GET", base+"/metrics", "root", rootPassword, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `eitaxii_webhook_deliveries_total{outcome="ok"}`) ||
		!strings.Contains(string(body), "eitaxii_webhook_retry_queue 0") {
		t.Fatalf("/metrics: %d, no webhook metrics:\n%.2000s", resp.StatusCode, body)
	}

	out := cli.ok("webhooks", "list")
	lineMatches(t, out, created.ID, `isac\s+6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b11\s+soc\s+\S+\s+enabled`)
	out = cli.ok("webhooks", "deliveries", created.ID)
	if !strings.Contains(out, "204") || !strings.Contains(out, "msg_") {
		t.Fatalf("deliveries:\n%s", out)
	}
	if out := cli.ok("webhooks", "show", created.ID); strings.Contains(out, created.Secret) || !strings.Contains(out, rcv.srv.URL) {
		t.Fatalf("show:\n%s", out)
	}

	// Another group's admin: as if it did not exist.
	vendor := newAdminCLI(t, base)
	vendor.env = map[string]string{"EITAXII_USER": "vadmin", "EITAXII_PASSWORD": "vadmin-password-1"}
	vendor.fails(1, "404", "webhooks", "show", created.ID)
	vendor.fails(1, "404", "webhooks", "delete", created.ID)
	vendor.fails(1, "404", "webhooks", "create", "isac", "indicators", "https://soc.example/hook")
	if out := vendor.ok("webhooks", "list"); strings.Contains(out, created.ID) {
		t.Fatalf("vendor admin lists the webhook:\n%s", out)
	}

	// The owner leaves the group: nothing more is delivered.
	cli.ok("members", "remove", "isac", "soc")
	publish(600, 2)
	waitFor(t, "the webhook disabled", func() bool {
		var w client.Webhook
		cli.json(&w, "webhooks", "show", created.ID)
		return !w.State.Enabled && strings.Contains(w.State.DisabledReason, "may no longer read")
	})
	if got := rcv.received(); len(got) != len(want) {
		t.Fatalf("received %d objects after the owner left, want %d", len(got), len(want))
	}

	// While the owner may not read, enabling is refused; once it is a
	// member again, the webhook resumes where it stopped: what was
	// published meanwhile arrives, in order.
	cli.fails(1, "may not read", "webhooks", "enable", created.ID)
	cli.ok("members", "set", "isac", "soc", "reader")
	cli.ok("webhooks", "enable", created.ID)
	want = append(want, "indicator--00000000-0000-4000-8000-000000000600", "indicator--00000000-0000-4000-8000-000000000601")
	waitFor(t, "the objects published while disabled", func() bool { return len(rcv.received()) >= len(want) })
	if got := rcv.received(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("after enable received %v, want %v", got[len(got)-3:], want[len(want)-3:])
	}

	var rot client.NewWebhookSecret
	cli.json(&rot, "webhooks", "rotate", created.ID, "--grace", "1h")
	if !strings.HasPrefix(rot.Secret, "whsec_") || rot.Secret == created.Secret {
		t.Fatalf("rotate=%+v", rot)
	}
	cli.ok("webhooks", "delete", created.ID)
	cli.fails(1, "404", "webhooks", "show", created.ID)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
