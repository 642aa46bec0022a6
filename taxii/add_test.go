package taxii_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/client"
	"github.com/google/uuid"
)

// checkStatus checks the invariants of a status resource (REQ-44, REQ-45,
// REQ-68, REQ-72) and its counts.
func checkStatus(t testing.TB, body []byte, total, success, failure int) client.Status {
	t.Helper()
	st := decodeStrict[client.Status](t, body)
	if u, err := uuid.Parse(st.ID); err != nil || u.Version() != 4 || u.String() != st.ID {
		t.Errorf("status id %q is not a UUIDv4 (REQ-28)", st.ID)
	}
	if st.Status != "complete" || st.PendingCount != 0 || st.Pendings != nil {
		t.Errorf("status %q, pending_count %d, pendings %v; want complete, 0, none (REQ-72)", st.Status, st.PendingCount, st.Pendings)
	}
	if st.TotalCount != total || st.SuccessCount != success || st.FailureCount != failure {
		t.Errorf("counts total %d success %d failure %d, want %d %d %d (REQ-68)", st.TotalCount, st.SuccessCount, st.FailureCount, total, success, failure)
	}
	if st.SuccessCount+st.FailureCount+st.PendingCount != st.TotalCount {
		t.Errorf("counts do not add up to total_count (REQ-45): %+v", st)
	}
	if len(st.Successes) != st.SuccessCount || len(st.Failures) != st.FailureCount {
		t.Errorf("%d successes and %d failures listed, counts %d and %d (REQ-45)", len(st.Successes), len(st.Failures), st.SuccessCount, st.FailureCount)
	}
	if !taxiiTimestamp.MatchString(st.RequestTimestamp) {
		t.Errorf("request_timestamp %q is not a TAXII timestamp (REQ-27, REQ-74)", st.RequestTimestamp)
	}
	return st
}

// storedIDs returns the ids of every version in election-officials'
// collection, in date_added order.
func storedIDs(t testing.TB, ts *testServer) []string {
	t.Helper()
	w := ts.get(t, userReader, manifestURL(rootEO, collEO)+"?match[version]=all")
	checkOK(t, w, http.StatusOK)
	if w.Body.String() == "{}" {
		return nil
	}
	var ids []string
	for _, r := range decodeStrict[client.Manifest](t, w.Body.Bytes()).Objects {
		ids = append(ids, r.ID)
	}
	return ids
}

// REQ-42..46, REQ-65, REQ-68, REQ-74: the status of an Add Objects request,
// and the same status at {r}/status/{id}, with and without the slash.
func TestServer_AddObjects_Status(t *testing.T) {
	ts := newTestServer(t)
	w := ts.post(t, userPublisher, objectsURL(rootEO, collEO), envelope(simpleIndicator(1), ind2, marking, ipv4))
	checkOK(t, w, http.StatusAccepted)
	st := checkStatus(t, w.Body.Bytes(), 4, 4, 0)
	if want := "2024-06-01T08:30:00.123456Z"; st.RequestTimestamp != want {
		t.Errorf("request_timestamp %q, want the arrival time %q (REQ-74)", st.RequestTimestamp, want)
	}
	want := []client.StatusDetail{
		{ID: indicatorID(1), Version: "2024-01-01T00:00:00.000Z"},
		{ID: indicatorID(2), Version: ind2Modified},
		{ID: markingID, Version: "2024-01-01T00:00:00.000Z"},
		{ID: ipv4ID, Version: stamp(added(3))}, // REQ-46: a server-consistent value, the manifest's
	}
	if !slices.Equal(st.Successes, want) {
		t.Errorf("successes\n%+v\nwant\n%+v (REQ-46)", st.Successes, want)
	}
	for _, k := range []string{"failures", "pendings"} {
		if _, ok := keys(t, w.Body.Bytes())[k]; ok {
			t.Errorf("empty %s present, want it omitted (REQ-29)", k)
		}
	}
	for _, u := range []string{rootEO + "status/" + st.ID + "/", rootEO + "status/" + st.ID} {
		for _, user := range []string{userPublisher, userReader, userAdmin} {
			g := ts.get(t, user, u)
			checkOK(t, g, http.StatusOK)
			if g.Body.String() != w.Body.String() {
				t.Errorf("GET %s as %s:\n%s\nwant the POST's status\n%s (REQ-42, REQ-47)", u, user, g.Body, w.Body)
			}
		}
	}
	// REQ-43: unknown status ids.
	for _, id := range []string{uuid.NewString(), "not-a-uuid", strings.ToUpper(st.ID)} {
		checkError(t, ts.get(t, userPublisher, rootEO+"status/"+id+"/"), http.StatusNotFound)
	}
	// REQ-73: every success is visible.
	if got := storedIDs(t, ts); !slices.Equal(got, []string{indicatorID(1), indicatorID(2), markingID, ipv4ID}) {
		t.Errorf("stored %v", got)
	}
}

// INT-07, AMB-09, REQ-33: bundles and envelopes with all their members are
// accepted (unknown members are refused, see
// TestServer_AddObjects_EnvelopeMembers); an empty envelope is a complete status with all counts 0.
func TestServer_AddObjects_Envelopes(t *testing.T) {
	good := simpleIndicator(1)
	tests := []struct {
		name, body string
		total      int
	}{
		{"bundle (python-stix2)", `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","spec_version":"2.1","objects":[` + good + `]}`, 1},
		{"bundle without spec_version", `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[` + good + `]}`, 1},
		{"more and next", `{"more":false,"next":"x","objects":[` + good + `]}`, 1},
		{"whitespace around", "\n\t " + envelope(good) + " \r\n", 1},
		{"indented", "{\n  \"objects\": [\n    " + good + "\n  ]\n}\n", 1},
		{"{}", `{}`, 0},
		{`{"objects":[]}`, `{"objects":[]}`, 0},
		{"empty bundle", `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			w := ts.post(t, userPublisher, objectsURL(rootEO, collEO), tt.body)
			checkOK(t, w, http.StatusAccepted)
			st := checkStatus(t, w.Body.Bytes(), tt.total, tt.total, 0)
			if tt.total == 0 {
				if st.Successes != nil || st.Failures != nil {
					t.Errorf("empty envelope lists details: %s", w.Body)
				}
				checkOK(t, ts.get(t, userPublisher, rootEO+"status/"+st.ID+"/"), http.StatusOK)
				return
			}
			got := ts.get(t, userReader, objectsURL(rootEO, collEO))
			env := decodeStrict[client.Envelope](t, got.Body.Bytes())
			if len(env.Objects) != 1 || string(env.Objects[0]) != good {
				t.Errorf("stored %s, want %s", got.Body, good)
			}
		})
	}
}

// REQ-25, REQ-69, AMB-06, AMB-08: a body that is not a usable envelope is a
// 422 TAXII error and nothing of it is stored, not even its good objects.
func TestServer_AddObjects_Unprocessable(t *testing.T) {
	good := simpleIndicator(1)
	deep := `{"objects":[` + good[:len(good)-1] + `,"x_deep":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}]}`
	tests := []struct{ name, body string }{
		{"truncated JSON", `{"objects":[` + good},
		{"not JSON", `objects: [indicator]`},
		{"empty body", ``},
		{"whitespace only", " \n "},
		{"JSON array", `[` + good + `]`},
		{"JSON string", `"objects"`},
		{"JSON number", `42`},
		{"JSON null", `null`},
		{"objects is an object", `{"objects":{"0":` + good + `}}`},
		{"objects is a string", `{"objects":"` + indicatorID(1) + `"}`},
		{"objects is null", `{"objects":null}`},
		{"objects is a number", `{"objects":1}`},
		{"an element is a number", `{"objects":[` + good + `,42]}`},
		{"an element is a string", `{"objects":[` + good + `,"indicator"]}`},
		{"an element is null", `{"objects":[` + good + `,null]}`},
		{"an element is a list", `{"objects":[` + good + `,[` + simpleIndicator(2) + `]]}`},
		{"trailing garbage", envelope(good) + `x`},
		{"two JSON values", envelope(good) + envelope(simpleIndicator(2))},
		{"nested too deep", deep},
	}
	ts := newTestServer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := ts.post(t, userPublisher, objectsURL(rootEO, collEO), tt.body)
			checkError(t, w, http.StatusUnprocessableEntity)
			if got := storedIDs(t, ts); got != nil {
				t.Errorf("a 422 stored %v (AMB-08)", got)
			}
		})
	}
}

// REQ-59, INT-07, AMB-08: an envelope (or bundle) member that neither has,
// a mis-cased "objects" included, or a member sent twice makes the body
// unusable: a 422 whose description names the member, and nothing stored.
// The members both do have are accepted.
func TestServer_AddObjects_EnvelopeMembers(t *testing.T) {
	good := simpleIndicator(1)
	tests := []struct{ name, body, want string }{
		{"mixed-case objects", `{"oBjeCts":[` + good + `]}`, `unknown top-level member "oBjeCts" (member names are case-sensitive: write "objects")`},
		{"capitalized objects", `{"Objects":[` + good + `]}`, `unknown top-level member "Objects"`},
		{"unknown member", `{"objects":[` + good + `],"x_comment":"hi"}`, `unknown top-level member "x_comment"`},
		{"objects twice", `{"objects":[` + simpleIndicator(2) + `],"objects":[` + good + `]}`, `the top-level member "objects" appears more than once`},
		{"more twice", `{"more":false,"objects":[` + good + `],"more":false}`, `the top-level member "more" appears more than once`},
	}
	ts := newTestServer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := ts.post(t, userPublisher, objectsURL(rootEO, collEO), tt.body)
			checkError(t, w, http.StatusUnprocessableEntity)
			if d := errorDescription(t, w.Body.Bytes()); !strings.Contains(d, tt.want) {
				t.Errorf("description %q, want it to contain %q", d, tt.want)
			}
			if got := storedIDs(t, ts); got != nil {
				t.Errorf("a 422 stored %v (AMB-08)", got)
			}
		})
	}
	t.Run("bundle members", func(t *testing.T) {
		body := `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","spec_version":"2.1","more":false,"next":"x","objects":[` + good + `]}`
		w := ts.post(t, userPublisher, objectsURL(rootEO, collEO), body)
		checkOK(t, w, http.StatusAccepted)
		if st := decodeStrict[client.Status](t, w.Body.Bytes()); st.SuccessCount != 1 {
			t.Fatalf("status %+v, want 1 success", st)
		}
	})
}

// REQ-70, REQ-73, AMB-08, REQ-46: bad objects in a good envelope are
// failures with a message a person can act on, naming the object; the
// good ones are stored.
func TestServer_AddObjects_BadObjects(t *testing.T) {
	const created = "2024-01-01T00:00:00.000Z"
	valid := func(n int) string { return simpleIndicator(n) }
	malwareID := "malware--1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b"
	tests := []struct {
		obj             string
		id, version     string
		messageContains string
	}{
		{strings.Replace(valid(11), `"type":"indicator",`, ``, 1), indicatorID(11), created, "type"},
		{strings.Replace(valid(12), indicatorID(12), "indicator--1234", 1), "indicator--1234", created, "id"},
		{strings.Replace(valid(13), indicatorID(13), malwareID, 1), malwareID, created, "id"},
		{strings.Replace(valid(14), `"spec_version":"2.1",`, ``, 1), indicatorID(14), created, "spec_version"},
		{strings.Replace(valid(15), `"spec_version":"2.1"`, `"spec_version":"2.0"`, 1), indicatorID(15), created, "spec_version"},
		{strings.Replace(valid(16), `"created":"`+created+`",`, ``, 1), indicatorID(16), created, "created"},
		{strings.Replace(valid(17), `"modified":"`+created+`",`, ``, 1), indicatorID(17), created, "modified"},
		{indicator(indicatorID(18), "2024-02-01T00:00:00.000Z", "2024-01-01T00:00:00.000Z", "[ipv4-addr:value = '198.51.100.1']"), indicatorID(18), "2024-01-01T00:00:00.000Z", "modified"},
		{strings.Replace(valid(19), `"modified":"`+created+`"`, `"modified":"yesterday"`, 1), indicatorID(19), "yesterday", "modified"},
		{indicator(indicatorID(20), created, created, "[ipv4-addr:value = "), indicatorID(20), created, "pattern"},
		{`{"foo":"bar"}`, "", "", "objects["},
		// Not I-JSON (RFC 7493): the object fails, its neighbours are stored.
		{strings.Replace(valid(21), `"type":"indicator",`, `"type":"indicator","name":"\ud800",`, 1), indicatorID(21), created, "/name: the value holds a lone surrogate escape"},
		{strings.Replace(valid(22), `"type":"indicator",`, `"type":"indicator","x_score":1e999999,`, 1), indicatorID(22), created, "/x_score: the number 1e999999 is too large for an IEEE 754 double"},
		{strings.Replace(valid(23), `"type":"indicator",`, `"type":"indicator","confidence":9007199254740993,`, 1), indicatorID(23), created, "/confidence: confidence 9007199254740993 is outside"},
		{strings.Replace(valid(24), `"type":"indicator",`, `"type":"indicator","description":"`+"\xed\xa0\x80"+`",`, 1), indicatorID(24), created, "/description: the value is not valid UTF-8"},
	}
	objs := []string{valid(1)}
	for _, tt := range tests {
		objs = append(objs, tt.obj)
	}
	objs = append(objs, valid(2))

	ts := newTestServer(t)
	w := ts.post(t, userPublisher, objectsURL(rootEO, collEO), envelope(objs...))
	checkOK(t, w, http.StatusAccepted)
	st := checkStatus(t, w.Body.Bytes(), len(objs), 2, len(tests))
	if want := []client.StatusDetail{{ID: indicatorID(1), Version: created}, {ID: indicatorID(2), Version: created}}; !slices.Equal(st.Successes, want) {
		t.Errorf("successes %+v, want %+v", st.Successes, want)
	}
	for _, tt := range tests {
		i := slices.IndexFunc(st.Failures, func(d client.StatusDetail) bool { return d.ID == tt.id })
		if i < 0 {
			t.Errorf("no failure for %s (REQ-68)", tt.id)
			continue
		}
		f := st.Failures[i]
		if f.Version != tt.version {
			t.Errorf("failure %s: version %q, want %q (REQ-46)", tt.id, f.Version, tt.version)
		}
		if !strings.Contains(f.Message, tt.messageContains) {
			t.Errorf("failure %s: message %q does not mention %q", tt.id, f.Message, tt.messageContains)
		}
	}
	if got := storedIDs(t, ts); !slices.Equal(got, []string{indicatorID(1), indicatorID(2)}) {
		t.Errorf("stored %v, want only the two valid indicators (REQ-73)", got)
	}
	// The failed objects are nowhere to be found.
	checkError(t, ts.get(t, userReader, objectURL(rootEO, collEO, indicatorID(14))), http.StatusNotFound)
}

// REQ-67, REQ-104, REQ-106, REQ-107, AMB-04: re-posting a version stores
// nothing and is a success; so is a different content under the same
// version, which keeps the first; an SCO is the same object whatever its
// content.
func TestServer_AddObjects_Duplicates(t *testing.T) {
	ts := newTestServer(t)
	ind := simpleIndicator(1)
	changed := strings.Replace(ind, `"name":"Bad IP"`, `"name":"Worse IP"`, 1)
	sco := ipv4
	scoChanged := strings.Replace(ipv4, `"value":"198.51.100.7"`, `"value":"198.51.100.7","x_seen":true`, 1)
	ts.addObjects(t, collEO, ind, sco)
	manifest := ts.get(t, userReader, manifestURL(rootEO, collEO)+"?match[version]=all").Body.String()

	for _, body := range []string{envelope(ind, sco), envelope(changed, scoChanged), envelope(ind, ind)} {
		w := ts.post(t, userPublisher, objectsURL(rootEO, collEO), body)
		checkOK(t, w, http.StatusAccepted)
		checkStatus(t, w.Body.Bytes(), 2, 2, 0)
	}
	if got := ts.get(t, userReader, manifestURL(rootEO, collEO)+"?match[version]=all").Body.String(); got != manifest {
		t.Errorf("duplicates changed the manifest (REQ-67, REQ-106):\nbefore %s\nafter  %s", manifest, got)
	}
	w := ts.get(t, userReader, objectsURL(rootEO, collEO)+"?match[version]=all")
	env := decodeStrict[client.Envelope](t, w.Body.Bytes())
	if len(env.Objects) != 2 || string(env.Objects[0]) != ind || string(env.Objects[1]) != sco {
		t.Errorf("objects after duplicates:\n%s\nwant the first posts only (AMB-04)", w.Body)
	}
}

// REQ-24, REQ-71: a body over max_content_length is a 413 and stores
// nothing; a body of exactly max_content_length is accepted. The limit
// counts the bytes read, so it holds without Content-Length (chunked).
func TestServer_AddObjects_MaxContentLength(t *testing.T) {
	const max = eoMaxContentLength
	// sized returns an envelope with indicator n padded to size bytes.
	sized := func(n, size int) string {
		env := envelope(simpleIndicator(n))
		return env + strings.Repeat(" ", size-len(env))
	}
	tests := []struct {
		name    string
		size    int
		chunked bool
		want    int
	}{
		{"one byte under", max - 1, false, http.StatusAccepted},
		{"exactly max_content_length", max, false, http.StatusAccepted},
		{"one byte over", max + 1, false, http.StatusRequestEntityTooLarge},
		{"far over", 4 * max, false, http.StatusRequestEntityTooLarge},
		{"chunked, exactly max_content_length", max, true, http.StatusAccepted},
		{"chunked, one byte over", max + 1, true, http.StatusRequestEntityTooLarge},
		{"chunked, far over", 16 * max, true, http.StatusRequestEntityTooLarge},
	}
	ts := newTestServer(t)
	var want []string
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := sized(i+1, tt.size)
			if len(body) != tt.size {
				t.Fatalf("body of %d bytes, want %d", len(body), tt.size)
			}
			req := httptest.NewRequest(http.MethodPost, objectsURL(rootEO, collEO), strings.NewReader(body))
			req.Header.Set("Authorization", basic(userPublisher))
			req.Header.Set("Accept", mediaTAXII)
			req.Header.Set("Content-Type", mediaTAXII)
			if tt.chunked {
				req.ContentLength = -1
				req.TransferEncoding = []string{"chunked"}
			}
			w := httptest.NewRecorder()
			ts.ServeHTTP(w, req)
			if tt.want != http.StatusAccepted {
				checkError(t, w, tt.want)
				return
			}
			checkOK(t, w, tt.want)
			checkStatus(t, w.Body.Bytes(), 1, 1, 0)
			want = append(want, indicatorID(i+1))
		})
	}
	if got := storedIDs(t, ts); !slices.Equal(got, want) {
		t.Errorf("stored %v, want %v: nothing of a 413 is stored", got, want)
	}
}

// Ensure that a status lists at most 1,000 failures (issue 9: 99,999 empty
// objects made an 11.8 MB status) while its counts stay exact (REQ-45,
// REQ-68), and that the last listed failure says the list was cut. The
// valid object of the same envelope is stored.
func TestServer_AddObjects_FailureListIsCapped(t *testing.T) {
	ts := newTestServer(t)
	objs := []string{simpleIndicator(1)}
	for range 2500 {
		objs = append(objs, "{}")
	}
	w := ts.post(t, userPublisher, objectsURL(rootEO, collEO), envelope(objs...))
	checkOK(t, w, http.StatusAccepted)
	st := decodeStrict[client.Status](t, w.Body.Bytes())
	if st.TotalCount != 2501 || st.SuccessCount != 1 || st.FailureCount != 2500 {
		t.Errorf("counts total %d success %d failure %d, want 2501 1 2500", st.TotalCount, st.SuccessCount, st.FailureCount)
	}
	if len(st.Failures) != 1000 {
		t.Fatalf("%d failures listed, want 1000", len(st.Failures))
	}
	if m := st.Failures[0].Message; !strings.HasPrefix(m, "objects[1]: ") || strings.Contains(m, "not listed") {
		t.Errorf("first failure %q", m)
	}
	if m := st.Failures[999].Message; !strings.Contains(m, "objects[1000]: ") || !strings.Contains(m, "first 1000 failures; 1500 more are counted in failure_count but not listed") {
		t.Errorf("last listed failure %q does not say the list was cut", m)
	}
	// The stored status is the same.
	again := ts.get(t, userPublisher, rootEO+"status/"+st.ID+"/")
	checkOK(t, again, http.StatusOK)
	if again.Body.String() != w.Body.String() {
		t.Errorf("stored status differs from the response")
	}
}

// Ensure that a Content-Length above max_content_length is refused with a
// 413 at once, before any of the body is sent (issue 9: the connection
// was held until the read timeout). The client here sends the header only
// and waits for the answer; the deadline only bounds a failing run.
func TestServer_AddObjects_ContentLengthTooLargeAtOnce(t *testing.T) {
	ts := newTestServer(t)
	srv := httptest.NewServer(ts)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nAccept: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		objectsURL(rootEO, collEO), basic(userPublisher), mediaTAXII, mediaTAXII, eoMaxContentLength+1)
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body was sent: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("%d %s, want 413", resp.StatusCode, body)
	}
	checkErrorResource(t, resp.StatusCode, resp.Header, body)
}
