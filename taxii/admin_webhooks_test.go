package taxii_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/client"
	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/taxii"
)

func TestAdmin_Webhooks(t *testing.T) {
	w := newAdmWorld(t)
	body := `{"group":"officials","collection":"indicators","url":"https://soc.example/hook","owner":"rdr","types":["indicator"]}`

	// Refused before anything else: another group's member does not see
	// the group (404), a lesser member of it may not manage it (403).
	admError(t, w.call(t, admOutsider, "POST", "/admin/v1/webhooks", body), http.StatusNotFound, "")
	admError(t, w.call(t, admPublisher, "POST", "/admin/v1/webhooks", body), http.StatusForbidden, "admin of this group")

	for _, tc := range []struct{ body, want string }{
		{`{"group":"officials","collection":"indicators","url":"http://soc.example/hook"}`, "only https"},
		{`{"group":"officials","collection":"indicators","url":"https://127.0.0.1/hook"}`, "loopback"},
		{`{"group":"officials","collection":"indicators","url":"https://169.254.169.254/"}`, "metadata"},
		{`{"group":"officials","collection":"indicators","url":"https://soc.example/","owner":"plain"}`, "may not read"},
		{`{"group":"officials","collection":"indicators","url":"https://soc.example/","owner":"off"}`, "disabled"},
		{`{"group":"officials","collection":"indicators","url":"https://soc.example/","owner":"nobody"}`, "may not read"},
		{`{"group":"officials","collection":"indicators","url":"https://soc.example/","types":["Not A Type"]}`, "types[0]"},
		{`{"group":"officials","collection":"indicators","url":"https://soc.example/","from":"yesterday"}`, "from"},
		{`{"group":"officials","collection":"indicators","url":"https://soc.example/","secret":"mine"}`, "unknown field"},
		{`{"group":"officials","collection":"indicators"}`, "url: required"},
	} {
		admError(t, w.call(t, admGroupAdmin, "POST", "/admin/v1/webhooks", tc.body), http.StatusBadRequest, tc.want)
	}
	admError(t, w.call(t, admGroupAdmin, "POST", "/admin/v1/webhooks",
		`{"group":"officials","collection":"`+admCollVend+`","url":"https://soc.example/"}`), http.StatusNotFound, "")

	created := admDecode[client.NewWebhook](t, w.call(t, admGroupAdmin, "POST", "/admin/v1/webhooks", body), http.StatusCreated)
	if !strings.HasPrefix(created.Secret, "whsec_") || created.Owner != admReader || created.Collection != admCollOff ||
		created.Group != admOfficials || !created.IncludeObjects || !created.State.Enabled || len(created.Secrets) != 1 {
		t.Fatalf("created=%+v", created)
	}
	ev := w.checkEvent(t, "admin.webhook.create", admGroupAdmin, "isac", "webhook "+created.ID+" of collection "+admCollOff)
	if strings.Contains(ev.Detail, created.Secret) || strings.Contains(ev.Detail, strings.TrimPrefix(created.Secret, "whsec_")) {
		t.Fatalf("the audit row holds the secret: %q", ev.Detail)
	}
	path := "/admin/v1/webhooks/" + created.ID

	// Seen by its group's admin and a superadmin; hidden from the rest.
	got := admDecode[client.Webhook](t, w.call(t, admGroupAdmin, "GET", path, ""), http.StatusOK)
	if got.ID != created.ID || got.URL != "https://soc.example/hook" {
		t.Fatalf("GET=%+v", got)
	}
	if strings.Contains(w.call(t, admGroupAdmin, "GET", path, "").Body.String(), strings.TrimPrefix(created.Secret, "whsec_")) {
		t.Fatal("GET shows the secret")
	}
	admStatus(t, w.call(t, admSuper, "GET", path, ""), http.StatusOK)
	for _, who := range []string{admOutsider, admReader, admPublisher, admOrgAdmin} {
		admError(t, w.call(t, who, "GET", path, ""), http.StatusNotFound, "")
		admError(t, w.call(t, who, "DELETE", path, ""), http.StatusNotFound, "")
		admError(t, w.call(t, who, "GET", path+"/deliveries", ""), http.StatusNotFound, "")
		admError(t, w.call(t, who, "POST", path+"/rotate", `{}`), http.StatusNotFound, "")
		admError(t, w.call(t, who, "POST", path+"/enable", ""), http.StatusNotFound, "")
	}
	if l := admDecode[client.WebhookList](t, w.call(t, admGroupAdmin, "GET", "/admin/v1/webhooks", ""), http.StatusOK); len(l.Webhooks) != 1 {
		t.Fatalf("group admin lists %d webhooks, want 1", len(l.Webhooks))
	}
	if l := admDecode[client.WebhookList](t, w.call(t, admOutsider, "GET", "/admin/v1/webhooks", ""), http.StatusOK); len(l.Webhooks) != 0 {
		t.Fatalf("outsider lists %d webhooks, want 0", len(l.Webhooks))
	}
	admError(t, w.call(t, admOutsider, "GET", "/admin/v1/webhooks?group=officials", ""), http.StatusNotFound, "")
	if l := admDecode[client.WebhookDeliveryList](t, w.call(t, admGroupAdmin, "GET", path+"/deliveries", ""), http.StatusOK); len(l.Deliveries) != 0 {
		t.Fatalf("deliveries=%+v", l)
	}

	// Rotation: a new secret, the old one signing for the grace period.
	w.clock.Advance(time.Minute)
	rot := admDecode[client.NewWebhookSecret](t, w.call(t, admGroupAdmin, "POST", path+"/rotate", `{"grace":"2h"}`), http.StatusOK)
	if rot.Secret == created.Secret || !strings.HasPrefix(rot.Secret, "whsec_") || !rot.PreviousExpires.Equal(w.clock.Now().Add(2*time.Hour)) {
		t.Fatalf("rotate=%+v", rot)
	}
	got = admDecode[client.Webhook](t, w.call(t, admGroupAdmin, "GET", path, ""), http.StatusOK)
	if len(got.Secrets) != 2 || !got.Secrets[0].Expires.IsZero() || !got.Secrets[1].Expires.Equal(rot.PreviousExpires) {
		t.Fatalf("secrets after rotation=%+v", got.Secrets)
	}
	w.checkEvent(t, "admin.webhook.rotate", admGroupAdmin, "isac", "webhook "+created.ID+" of collection "+admCollOff)
	admError(t, w.call(t, admGroupAdmin, "POST", path+"/rotate", `{"grace":"forever"}`), http.StatusBadRequest, "grace")

	// Enable: an enabled webhook is left alone; a disabled one resumes
	// after its cursor with a fresh retry budget, if its owner still reads.
	before := len(w.adminEvents(t))
	admDecode[client.Webhook](t, w.call(t, admGroupAdmin, "POST", path+"/enable", ""), http.StatusOK)
	if n := len(w.adminEvents(t)); n != before {
		t.Fatalf("enabling an enabled webhook wrote %d audit rows", n-before)
	}
	cursor := time.Date(2024, 11, 5, 6, 0, 0, 42000, time.UTC)
	disable := func() {
		t.Helper()
		st := store.WebhookState{Disabled: true, Reason: "the target answered 410 Gone", Cursor: cursor, Failures: 3, FailingSince: cursor}
		if err := w.db.RecordDelivery(context.Background(), created.ID, st, nil); err != nil {
			t.Fatal(err)
		}
	}
	disable()
	got = admDecode[client.Webhook](t, w.call(t, admGroupAdmin, "GET", path, ""), http.StatusOK)
	if got.State.Enabled || got.State.DisabledReason != "the target answered 410 Gone" {
		t.Fatalf("state=%+v, want disabled with the reason", got.State)
	}
	got = admDecode[client.Webhook](t, w.call(t, admGroupAdmin, "POST", path+"/enable", ""), http.StatusOK)
	if !got.State.Enabled || got.State.Failures != 0 || got.State.Cursor != "2024-11-05T06:00:00.000042Z" {
		t.Fatalf("after enable state=%+v, want enabled, no failures, the cursor kept", got.State)
	}
	w.checkEvent(t, "admin.webhook.enable", admGroupAdmin, "isac", "webhook "+created.ID+" of collection "+admCollOff)
	disable()
	admStatus(t, w.call(t, admGroupAdmin, "DELETE", "/admin/v1/groups/"+admOfficials+"/members/"+admReader, ""), http.StatusOK)
	admError(t, w.call(t, admGroupAdmin, "POST", path+"/enable", ""), http.StatusBadRequest, "may not read")

	w.mustDelete(t, admGroupAdmin, path, "admin.webhook.delete", "isac", "webhook "+created.ID+" of collection "+admCollOff)
}

// Ensure that a collection takes at most MaxWebhooksPerCollection
// subscriptions (every input bounded): one more is 409 with a message that
// says what to do, and deleting one makes room.
func TestAdmin_WebhooksPerCollection(t *testing.T) {
	w := newAdmWorld(t)
	body := `{"group":"officials","collection":"indicators","url":"https://soc.example/hook"}`
	var first string
	for i := range taxii.MaxWebhooksPerCollection {
		created := admDecode[client.NewWebhook](t, w.call(t, admGroupAdmin, "POST", "/admin/v1/webhooks", body), http.StatusCreated)
		if i == 0 {
			first = created.ID
		}
	}
	admError(t, w.call(t, admGroupAdmin, "POST", "/admin/v1/webhooks", body), http.StatusConflict,
		"collection: already has 100 webhooks, the most one collection takes; delete one first")
	admStatus(t, w.call(t, admGroupAdmin, "DELETE", "/admin/v1/webhooks/"+first, ""), http.StatusNoContent)
	admDecode[client.NewWebhook](t, w.call(t, admGroupAdmin, "POST", "/admin/v1/webhooks", body), http.StatusCreated)
}
