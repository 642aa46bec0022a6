package taxii_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// duplicateKey returns the first key that appears twice in one JSON object
// of b, at any depth, or "" (REQ-32: I-JSON has no duplicate keys).
func duplicateKey(t testing.TB, b []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		object  bool
		keys    map[string]bool
		wantKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		top := func() *frame {
			if len(stack) == 0 {
				return nil
			}
			return stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if f := top(); f != nil && f.object {
					f.wantKey = true
				}
				stack = append(stack, &frame{object: v == '{', keys: map[string]bool{}, wantKey: v == '{'})
				continue
			case '}', ']':
				stack = stack[:len(stack)-1]
				if f := top(); f != nil && f.object {
					f.wantKey = true
				}
				continue
			}
		case string:
			if f := top(); f != nil && f.object && f.wantKey {
				if f.keys[v] {
					return v
				}
				f.keys[v] = true
				f.wantKey = false
				continue
			}
		}
		if f := top(); f != nil && f.object {
			f.wantKey = true
		}
	}
}

// REQ-07, REQ-30, REQ-32, REQ-59: requests without a User-Agent are served;
// every resource is UTF-8 JSON without duplicate keys, with literal
// booleans and integer counts; an envelope holds only more, next and
// objects.
func TestServer_ResourceEncoding(t *testing.T) {
	if k := duplicateKey(t, []byte(`{"a":[{"b":1},{"c":{"b":2,"b":3}}]}`)); k != "b" {
		t.Fatalf("the duplicate-key check itself found %q, want b", k)
	}
	ts := newTestServer(t)
	obj := strings.Replace(simpleIndicator(1), `"name":"Bad IP"`, `"name":"Élection – bureau de vote 投票所"`, 1)
	st := ts.addObjects(t, collEO, obj, simpleIndicator(2))
	if st.SuccessCount != 2 {
		t.Fatalf("publish: %+v", st)
	}
	targets := []string{
		"/taxii2/", rootEO, rootEO + "collections/", collectionURL(rootEO, collEO),
		objectsURL(rootEO, collEO) + "?limit=1", manifestURL(rootEO, collEO),
		objectURL(rootEO, collEO, indicatorID(1)), versionsURL(rootEO, collEO, indicatorID(1)),
		rootEO + "status/" + st.ID + "/",
	}
	for _, target := range targets {
		w := ts.get(t, userPublisher, target, "User-Agent", "") // REQ-07
		checkOK(t, w, http.StatusOK)
		body := w.Body.Bytes()
		if !utf8.Valid(body) || !json.Valid(body) {
			t.Errorf("%s: not UTF-8 JSON: %.200s", target, body)
		}
		if k := duplicateKey(t, body); k != "" {
			t.Errorf("%s: key %q twice (REQ-32)", target, k)
		}
	}

	// REQ-30: booleans are literals, max_content_length an integer.
	w := ts.get(t, userPublisher, collectionURL(rootEO, collEO))
	if body := w.Body.String(); !strings.Contains(body, `"can_read":true`) || !strings.Contains(body, `"can_write":true`) {
		t.Errorf("collection: %s", body)
	}
	w = ts.get(t, userPublisher, rootEO)
	var root map[string]any
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		t.Fatal(err)
	}
	if n, ok := root["max_content_length"].(json.Number); !ok || strings.ContainsAny(n.String(), ".eE") {
		t.Errorf("max_content_length %v is not an integer", root["max_content_length"])
	}

	// REQ-59: the envelope's members, and the stored text of the object.
	w = ts.get(t, userPublisher, objectsURL(rootEO, collEO)+"?limit=1")
	keys := keys(t, w.Body.Bytes())
	for k := range keys {
		if k != "more" && k != "next" && k != "objects" {
			t.Errorf("envelope member %q", k)
		}
	}
	if !strings.Contains(w.Body.String(), "投票所") {
		t.Errorf("non-ASCII text not served as sent: %s", w.Body)
	}
	if string(keys["more"]) != "true" || len(keys["next"]) < 3 {
		t.Errorf("more %s next %s, want more true with a next (INT-06)", keys["more"], keys["next"])
	}
}
