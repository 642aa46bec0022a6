package ioc_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eitaxii/eitaxii/ioc"
	"github.com/eitaxii/eitaxii/stix"
)

func TestRefang(t *testing.T) {
	for in, want := range map[string]string{
		"hxxp://evil[.]com/a":        "http://evil.com/a",
		"HXXPS[://]evil(.)com":       "https://evil.com",
		"fxp://files[dot]evil{.}com": "ftp://files.evil.com",
		"bad[@]evil[.]com":           "bad@evil.com",
		"bad[AT]evil(DOT)com":        "bad@evil.com",
		`1.2.3\.4`:                   "1.2.3.4",
		"plain text":                 "plain text",
	} {
		if got := ioc.Refang(in); got != want {
			t.Errorf("Refang(%q) = %q, want %q", in, got, want)
		}
	}
}

type found struct {
	kind  ioc.Kind
	value string
	warn  bool
}

func extract(t *testing.T, file string, opts ioc.Options) []found {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var out []found
	for _, c := range ioc.Extract(string(b), opts).Candidates {
		out = append(out, found{c.Kind, c.Value, len(c.Warnings) > 0})
	}
	return out
}

// Ensure that Extract finds the indicators of each sample file, in order,
// each with warnings exactly when it may not be meant to be shared.
func TestExtract(t *testing.T) {
	for _, tt := range []struct {
		file string
		opts ioc.Options
		want []found
	}{
		{"advisory.txt", ioc.Options{OwnDomains: []string{"state.example.gov"}}, []found{
			{ioc.Email, "support@elections-help.com", false},
			{ioc.URL, "https://login.county-vote.net/owa/auth.aspx?u=clerk", false},
			{ioc.SHA256, "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b", false},
			{ioc.MD5, "44d88612fea8a8f36de82e1278abb02f", false},
			{ioc.IPv4, "45.61.136.12", false},
			{ioc.IPv6, "2a0b:7280:200::12", false},
			{ioc.CIDR4, "185.220.100.0/22", false},
			{ioc.CVE, "CVE-2023-23397", false},
			{ioc.Domain, "microsoft.com", true},
			{ioc.IPv4, "10.20.30.40", true},
			{ioc.Domain, "vote.state.example.gov", true},
		}},
		{"list.csv", ioc.Options{}, []found{
			{ioc.Domain, "ballot-tracker.org", false},
			{ioc.IPv4, "198.51.100.23", true},
			{ioc.URL, "http://198.51.100.23:8080/gate.php", true},
			{ioc.SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709", false},
		}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			if got := extract(t, tt.file, tt.opts); !slices.Equal(got, tt.want) {
				t.Errorf("Extract:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

// Look-alikes that are not indicators: file names, versions, dates.
func TestExtractIgnoresLookalikes(t *testing.T) {
	text := "setup.exe report.pdf v1.2.3.4.5 2026.10.28 999.1.1.1 abc.local deadbeef a@b CVE-20-1 http://nohost"
	if res := ioc.Extract(text, ioc.Options{}); len(res.Candidates) != 0 {
		t.Errorf("found %+v", res.Candidates)
	}
}

func TestExtractDeduplicatesAndBounds(t *testing.T) {
	res := ioc.Extract("evil[.]com\nEVIL.com.\nevil.com", ioc.Options{})
	if len(res.Candidates) != 1 || res.Candidates[0].Line != 1 {
		t.Fatalf("got %+v, want one evil.com from line 1", res.Candidates)
	}
	res = ioc.Extract("a.com b.com c.com", ioc.Options{MaxCandidates: 2})
	if len(res.Candidates) != 2 || !res.Truncated {
		t.Errorf("got %d, truncated %v; want 2, true", len(res.Candidates), res.Truncated)
	}
}

func TestPatternEscapes(t *testing.T) {
	got := ioc.Pattern(ioc.URL, `http://evil.com/a'b\c`)
	if want := `[url:value = 'http://evil.com/a\'b\\c']`; got != want {
		t.Errorf("Pattern = %s, want %s", got, want)
	}
}

// Every object built from the test texts passes the project's own STIX
// validator, pattern included.
func TestObjectsAreValidSTIX(t *testing.T) {
	v, err := stix.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	opts := ioc.ObjectOptions{Now: time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC), Labels: []string{"election"}, Confidence: 80,
		Markings: []string{stix.TLPMarkingID(stix.TLPAmber)},
		NewID:    func() string { n++; return fmt.Sprintf("4b1a1b6a-7a7e-4c1f-9a51-%012d", n) }}
	for _, file := range []string{"advisory.txt", "list.csv"} {
		b, _ := os.ReadFile("testdata/" + file)
		for _, c := range ioc.Extract(string(b), ioc.Options{}).Candidates {
			obj, err := ioc.Object(c, opts)
			if err != nil {
				t.Fatalf("%s: %v", c.Value, err)
			}
			if _, fs := v.Check(obj); len(fs) > 0 {
				t.Errorf("%s %s: %s\n%s", c.Kind, c.Value, stix.Summarize(fs, 5), obj)
			}
			var m map[string]any
			json.Unmarshal(obj, &m)
			if c.Kind != ioc.CVE && m["pattern"] != c.Pattern {
				t.Errorf("%s: pattern %v, want %s", c.Value, m["pattern"], c.Pattern)
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d objects built", n)
	}
}

func BenchmarkExtract10k(b *testing.B) {
	var sb strings.Builder
	for i := range 10000 {
		switch i % 5 {
		case 0:
			fmt.Fprintf(&sb, "45.%d.%d.%d\n", i/65536%256, i/256%256, i%256)
		case 1:
			fmt.Fprintf(&sb, "hxxp://host%d.evil-ballot[.]com/login\n", i)
		case 2:
			fmt.Fprintf(&sb, "%064x\n", i)
		case 3:
			fmt.Fprintf(&sb, "user%d[@]phish-mail[.]net\n", i)
		default:
			fmt.Fprintf(&sb, "c2-%d.example-bad[.]org, seen 2026-11-0%d\n", i, i%9+1)
		}
	}
	text := sb.String()
	b.ReportAllocs()
	for b.Loop() {
		if n := len(ioc.Extract(text, ioc.Options{}).Candidates); n != 10000 {
			b.Fatalf("%d candidates", n)
		}
	}
}

func FuzzExtract(f *testing.F) {
	for _, s := range []string{"hxxp://evil[.]com/a?b='c'", "10.0.0.1/8 2001:db8::1", "a@b.co.uk CVE-2024-1234",
		"3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b", "http://[::1]:80/", "x.com.\n\t(dot)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, c := range ioc.Extract(text, ioc.Options{}).Candidates {
			if c.Kind != ioc.CVE && !strings.HasPrefix(c.Pattern, "[") {
				t.Fatalf("%+v: no pattern", c)
			}
		}
	})
}
