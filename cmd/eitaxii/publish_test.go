package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// publishLimit is the test group's max_content_length: small enough that
// a few dozen indicators need several requests.
const publishLimit = 4096

// startPublishServer runs serve with group officials (max_content_length
// publishLimit): pub publishes, county reads; collection iocsID (alias
// iocs) takes at most TLP:AMBER.
func startPublishServer(t *testing.T) string {
	return startOfficials(t, "publish test", `
    max_content_length: `+fmt.Sprint(publishLimit), `
      - {id: `+iocsID+`, title: Indicators, alias: iocs, tlp_ceiling: amber}`)
}

// publishCLI returns a runner of eitaxii commands as account name.
func publishCLI(t *testing.T, name, password string) *pollCLI {
	return &pollCLI{t: t, env: map[string]string{"EITAXII_USER": name, "EITAXII_PASSWORD": password}}
}

// stored returns the objects of collection iocs as county reads them over
// TAXII, by id.
func stored(t *testing.T, base string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	resp, body := do(t, "GET", base+"/officials/collections/"+iocsID+"/objects/?limit=1000", "county", countyPassword, "")
	if resp.StatusCode == 200 {
		var env struct {
			Objects []map[string]any `json:"objects"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			t.Fatal(err)
		}
		for _, o := range env.Objects {
			out[o["id"].(string)] = o
		}
	}
	return out
}

// byValue indexes objects by their name (the indicator's value after its
// kind, as ioc names them).
func byName(objs map[string]map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, o := range objs {
		if n, ok := o["name"].(string); ok {
			out[n] = o
		}
	}
	return out
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Ensure that a defanged text list is refanged, built into indicators with
// the TLP, confidence and labels asked for, and readable by another
// account of the group over TAXII; a flagged (private) address is skipped
// and listed (issue 13, item 2; REQ: Add Objects and Get Objects).
func TestPublish_TextList(t *testing.T) {
	base := startPublishServer(t)
	list := writeFile(t, "iocs.txt", `From the advisory of 2 Dec:
  hxxps://ballot-status[.]info/login
  185.220.101[.]23 and 10.1.2.3 (our own printer)
  d41d8cd98f00b204e9800998ecf8427e
`)
	pub := publishCLI(t, "pub", publisherPass)
	code, out, errs := pub.run("publish", "--server", base, "--collection", "iocs", "--tlp", "amber",
		"--confidence", "70", "--label", "phishing,election", list)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "published 3 of 3 objects to Indicators ("+iocsID+") in 1 requests") ||
		!strings.Contains(out, ": complete: 3 objects, 3 succeeded, 0 failed, 0 pending") {
		t.Errorf("stdout:\n%s", out)
	}
	if !strings.Contains(errs, "skipped (flagged; --include-flagged publishes it): line 3: ipv4 10.1.2.3: This address is a private address.") {
		t.Errorf("stderr:\n%s", errs)
	}
	got := byName(stored(t, base))
	if len(got) != 3 {
		t.Fatalf("county reads %d objects: %v", len(got), got)
	}
	url := got["URL https://ballot-status.info/login"]
	if url == nil || url["pattern"] != "[url:value = 'https://ballot-status.info/login']" || url["confidence"] != float64(70) {
		t.Errorf("url indicator: %v", url)
	}
	if labels, _ := json.Marshal(url["labels"]); string(labels) != `["phishing","election"]` {
		t.Errorf("labels %s", labels)
	}
	if refs, _ := json.Marshal(url["object_marking_refs"]); string(refs) != `["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]` {
		t.Errorf("markings %s, want TLP:AMBER", refs)
	}
	if got["IPv4 address 185.220.101.23"] == nil || got["File MD5 d41d8cd98f00b204e9800998ecf8427e"] == nil {
		t.Errorf("objects: %v", got)
	}

	// With --include-flagged the private address goes too; the TLP
	// above the collection's ceiling is a per-object failure the status
	// names, and the exit status says so.
	code, out, _ = pub.run("publish", "--server", base, "--collection", iocsID, "--include-flagged", "--tlp", "red", list)
	if code != 1 || !strings.Contains(out, "4 objects, 0 succeeded, 4 failed") || !strings.Contains(out, "  failed indicator--") {
		t.Fatalf("TLP:RED into an AMBER collection: exit %d\n%s", code, out)
	}
	if n := len(stored(t, base)); n != 3 {
		t.Errorf("%d objects stored after refused ones, want 3", n)
	}
}

// Ensure that a list larger than max_content_length goes in several
// requests, none over the limit, and nothing is lost; and that an object
// that cannot fit any request is reported and not sent (REQ: 413 for a
// body over max_content_length is avoided, not provoked).
func TestPublish_SplitsByMaxContentLength(t *testing.T) {
	base := startPublishServer(t)
	var lines []string
	for i := 0; i < 60; i++ {
		lines = append(lines, fmt.Sprintf("45.134.26.%d", i+1))
	}
	list := writeFile(t, "many.txt", strings.Join(lines, "\n"))
	pub := publishCLI(t, "pub", publisherPass)

	// A dry run with the server named shows the split and sends nothing.
	code, out, errs := pub.run("publish", "--server", base, "--collection", "iocs", "--dry-run", list)
	envs := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(envs) < 2 || !strings.Contains(errs, fmt.Sprintf("dry run: would send 60 objects in %d requests", len(envs))) {
		t.Fatalf("dry run: exit %d, %d envelopes\n%s", code, len(envs), errs)
	}
	for i, env := range envs {
		if len(env) > publishLimit || !json.Valid([]byte(env)) {
			t.Errorf("envelope %d: %d bytes (limit %d), valid JSON %v", i, len(env), publishLimit, json.Valid([]byte(env)))
		}
	}
	if n := len(stored(t, base)); n != 0 {
		t.Fatalf("a dry run stored %d objects", n)
	}

	code, out, errs = pub.run("publish", "--server", base, "--collection", "iocs", "--json", list)
	var res publishResult
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil {
		t.Fatalf("exit %d, %v\n%s\n%s", code, err, out, errs)
	}
	if res.Objects != 60 || res.Requests != len(envs) || len(res.Statuses) != len(envs) {
		t.Errorf("result %+v", res)
	}
	if n := len(stored(t, base)); n != 60 {
		t.Errorf("county reads %d objects, want 60", n)
	}

	// One object of a bundle cannot fit: it alone is not sent.
	big := indicator(99, "[domain-name:value = '"+strings.Repeat("a", 60)+".example.com']",
		`,"description":"`+strings.Repeat("x", publishLimit)+`"`)
	bundle := writeFile(t, "bundle.json", `{"type":"bundle","id":"bundle--6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b11","objects":[`+
		indicator(1, "[ipv4-addr:value = '185.220.101.7']", "")+","+big+"]}")
	code, out, _ = pub.run("publish", "--server", base, "--collection", "iocs", bundle)
	if code != 1 || !strings.Contains(out, "not sent: object 2 indicator--00000000-0000-4000-8000-000000000099: ") ||
		!strings.Contains(out, "published 1 of 2 objects") {
		t.Fatalf("too large: exit %d\n%s", code, out)
	}
}

// Ensure that a STIX file is sent as it is and each refused object's
// message is printed next to its id (REQ: status failures), and that a
// file that is not STIX sends nothing.
func TestPublish_STIXFile(t *testing.T) {
	base := startPublishServer(t)
	pub := publishCLI(t, "pub", publisherPass)
	bad := `{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000002","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = ","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`
	envelope := writeFile(t, "env.json", `{"objects":[`+indicator(1, "[ipv4-addr:value = '185.220.101.7']", "")+","+bad+"]}")
	code, out, _ := pub.run("publish", "--server", base, "--collection", "iocs", envelope)
	if code != 1 || !strings.Contains(out, "2 objects, 1 succeeded, 1 failed") ||
		!strings.Contains(out, "  failed indicator--00000000-0000-4000-8000-000000000002 2026-01-01T00:00:00.000Z: ") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if got := stored(t, base); len(got) != 1 || got["indicator--00000000-0000-4000-8000-000000000001"] == nil {
		t.Errorf("stored %v", got)
	}

	// One object on standard input, recognized by its content.
	var so, se bytes.Buffer
	e := &env{stdin: strings.NewReader(indicator(3, "[ipv4-addr:value = '185.220.101.9']", "")), stdout: &so, stderr: &se,
		getenv: func(k string) string { return pub.env[k] }}
	if code := run(context.Background(), []string{"publish", "--server", base, "--collection", "iocs", "-"}, e); code != 0 {
		t.Fatalf("stdin: exit %d\n%s\n%s", code, so.String(), se.String())
	}

	for _, tc := range []struct{ name, content, want string }{
		{"Empty bundle", `{"type":"bundle","id":"bundle--6f1c3c2e-1b7a-4c5e-9a0b-2a4d7f0e9b11","objects":[]}`, "the objects list is empty"},
		{"Misspelt member", `{"Objects":[]}`, "not STIX"},
		{"Broken JSON", `{"objects":[`, "not a JSON object"},
	} {
		code, _, errs := pub.run("publish", "--server", base, "--collection", "iocs", writeFile(t, "x.json", tc.content))
		if code != 1 || !strings.Contains(errs, "nothing was sent") || !strings.Contains(errs, tc.want) {
			t.Errorf("%s: exit %d, stderr %q", tc.name, code, errs)
		}
	}
	if n := len(stored(t, base)); n != 2 {
		t.Errorf("%d objects stored, want 2", n)
	}
}

// Ensure that CSV columns map by flags, each row's cells winning over
// the options, and that one bad row refuses the file with its line named
// and nothing sent.
func TestPublish_CSV(t *testing.T) {
	base := startPublishServer(t)
	pub := publishCLI(t, "pub", publisherPass)
	good := writeFile(t, "feed.csv", "first_seen,Indicator,comment,tags,tlp,score\n"+
		"2026-11-30,evil-ballots[.]net,\"fake results page, seen in SMS\",phishing;sms,green,80\n"+
		"2026-12-01,185.220.101.44,,scanner,,\n")
	code, out, errs := pub.run("publish", "--server", base, "--collection", "iocs", "--csv-value", "indicator",
		"--csv-description", "comment", "--csv-labels", "tags", "--csv-tlp", "tlp", "--csv-confidence", "6", "--tlp", "amber", good)
	if code != 0 || !strings.Contains(out, "published 2 of 2 objects") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	got := byName(stored(t, base))
	d := got["Domain evil-ballots.net"]
	if d == nil || d["description"] != "fake results page, seen in SMS" || d["confidence"] != float64(80) {
		t.Fatalf("domain row: %v", d)
	}
	if refs, _ := json.Marshal(d["object_marking_refs"]); string(refs) != `["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]` {
		t.Errorf("the row's TLP:GREEN should win over --tlp amber: %s", refs)
	}
	ip := got["IPv4 address 185.220.101.44"]
	if refs, _ := json.Marshal(ip["object_marking_refs"]); ip == nil || string(refs) != `["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"]` || ip["confidence"] != nil {
		t.Errorf("ip row (--tlp amber, no confidence): %v", ip)
	}
	if labels, _ := json.Marshal(d["labels"]); string(labels) != `["phishing","sms"]` {
		t.Errorf("labels %s", labels)
	}

	bad := writeFile(t, "bad.csv", "value,score\n185.220.101.50,10\nnot an indicator,20\n185.220.101.51,high\n")
	code, _, errs = pub.run("publish", "--server", base, "--collection", "iocs", "--csv-confidence", "score", bad)
	if code != 1 || !strings.Contains(errs, "nothing was sent: 2 rows are not indicators: line 3") ||
		!strings.Contains(errs, `line 3: "not an indicator" is not an indicator`) || !strings.Contains(errs, `line 4: confidence "high"`) {
		t.Fatalf("bad rows: exit %d\n%s", code, errs)
	}
	if n := len(stored(t, base)); n != 2 {
		t.Errorf("%d objects stored after a refused file, want 2", n)
	}

	// Columns by number without a header.
	noHeader := writeFile(t, "plain.csv", "x,185.220.101.60\n")
	if code, out, errs := pub.run("publish", "--server", base, "--collection", "iocs", "--csv-no-header", "--csv-value", "2", noHeader); code != 0 {
		t.Fatalf("no header: exit %d\n%s\n%s", code, out, errs)
	}
	if byName(stored(t, base))["IPv4 address 185.220.101.60"] == nil {
		t.Error("the no-header row was not stored")
	}
}

// Ensure that a reader cannot publish (INT-11: the collection's can_write
// is checked before any request), that a dry run needs no server, and
// that options that do not fit the input are usage errors.
func TestPublish_RefusalsAndUsage(t *testing.T) {
	base := startPublishServer(t)
	list := writeFile(t, "iocs.txt", "185.220.101.70\n")
	county := publishCLI(t, "county", countyPassword)
	code, _, errs := county.run("publish", "--server", base, "--collection", "iocs", list)
	if code != 1 || !strings.Contains(errs, "you may not publish to it") {
		t.Fatalf("reader: exit %d, %q", code, errs)
	}
	if code, _, errs := publishCLI(t, "pub", publisherPass).run("publish", "--server", base, "--collection", "nope", list); code != 1 || !strings.Contains(errs, `no collection "nope"`) {
		t.Errorf("unknown collection: exit %d, %q", code, errs)
	}

	// Offline dry run: no server, no credentials; the envelope on stdout.
	var so, se bytes.Buffer
	e := &env{stdout: &so, stderr: &se, getenv: func(string) string { return "" }}
	if code := run(context.Background(), []string{"publish", "--collection", "iocs", "--dry-run", "--tlp", "green", list}, e); code != 0 {
		t.Fatalf("offline dry run: exit %d\n%s", code, se.String())
	}
	var env struct{ Objects []map[string]any }
	if err := json.Unmarshal(so.Bytes(), &env); err != nil || len(env.Objects) != 1 || env.Objects[0]["pattern"] != "[ipv4-addr:value = '185.220.101.70']" {
		t.Fatalf("dry run output %q: %v", so.String(), err)
	}
	if n := len(stored(t, base)); n != 0 {
		t.Fatalf("%d objects stored", n)
	}

	stixFile := writeFile(t, "one.json", indicator(1, "[ipv4-addr:value = '185.220.101.7']", ""))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--collection", "iocs"}, "name the FILE"},
		{[]string{list}, "--collection is required"},
		{[]string{"--collection", "iocs", "--tlp", "green", stixFile}, "--tlp applies to csv and text input"},
		{[]string{"--collection", "iocs", "--csv-value", "2", list}, "--csv-value applies to csv input"},
		{[]string{"--collection", "iocs", "--input", "xml", list}, `--input: "xml" is not`},
		{[]string{"--collection", "iocs", "--tlp", "purple", list}, `--tlp: "purple"`},
		{[]string{"--collection", "iocs", "--confidence", "101", list}, "--confidence must be"},
		{[]string{"--collection", "iocs", "--input", "csv", "--csv-value", "nope", list}, `--csv-value: the header has no column "nope"`},
	} {
		code, _, errs := county.run(append([]string{"publish", "--server", base, "--dry-run"}, tc.args...)...)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tc.args, code, errs, tc.want)
		}
	}
}
