package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/client"
	"github.com/eitaxii/eitaxii/ioc"
	"github.com/eitaxii/eitaxii/stix"
	"github.com/google/uuid"
)

const publishUsage = `usage: eitaxii publish --server URL --collection ID [CREDENTIALS] [OPTIONS] FILE
  Publish to a collection of any TAXII 2.1 server. FILE (- for standard input) is one of
    stix  one STIX object, a bundle or a TAXII envelope: sent as it is
    csv   one indicator a row, its columns named by the --csv-* options
    text  a list of indicators in free text (an email, an advisory, a defanged list):
          refanged and extracted like the console's paste
  The objects go in as few requests as the API root's max_content_length allows; the
  status of each is printed with every failure next to the object it concerns.

  --collection ID       collection id, alias or title (one you may publish to)
  --api-root NAME|URL   the API root, when discovery does not tell
  --input auto|stix|csv|text
                        how to read FILE; auto: .json is stix, .csv is csv, else by content
  --dry-run             print the envelopes that would be sent (one a line) and send nothing;
                        with a server named it still finds the collection and its limit
  --json                print the result as JSON
  --wait DURATION       how long to wait for a pending status (default 30s)
 For csv and text input (the indicators built from them):
  --tlp LEVEL           clear, green, amber, amber+strict or red (default: the collection's)
  --confidence N        0..100 (default: none)
  --label L             a label (repeatable, or a comma list)
  --name TEXT           the name of every indicator (default: from its value)
  --description TEXT
  --own-domain D        your group's own domain: flagged, with its subdomains (repeatable)
  --include-flagged     also publish what is flagged (private and reserved addresses,
                        own and well-known benign domains); by default it is skipped and listed
  --csv-value COL       the indicator column: a header name or a 1-based number (default:
                        the column named value, indicator or ioc, else the first)
  --csv-name, --csv-description, --csv-labels, --csv-confidence, --csv-tlp COL
                        columns that set these per row (labels split at , and ;)
  --csv-no-header       the first row is data; columns are numbers
 CREDENTIALS: --user NAME with EITAXII_PASSWORD or --password-stdin, --token TOKEN
  (or EITAXII_TOKEN), or --cert FILE --key FILE; --cacert FILE for a private CA.
 Exit status: 0 when every object was published; 1 when any failed, is still pending,
  was not sent, or the input was refused (nothing is sent then); 2 for a usage mistake.
`

const (
	// maxPublishFile bounds FILE; a larger list is split by its owner.
	maxPublishFile = 64 << 20
	// publishTimeout bounds one Add Objects request: the server checks
	// every object before it answers.
	publishTimeout     = 5 * time.Minute
	defaultPublishWait = 30 * time.Second
	// maxReportedRows bounds the CSV rows listed when a file is refused.
	maxReportedRows = 20
)

// Input kinds of eitaxii publish.
const (
	inputAuto = "auto"
	inputSTIX = "stix"
	inputCSV  = "csv"
	inputText = "text"
)

// publishCmd is one run of `eitaxii publish`.
type publishCmd struct {
	consumer // the connection and the collection, resolved for writing

	input          string
	dryRun, asJSON bool
	wait           time.Duration

	build          buildOptions
	ownDomains     commaList
	includeFlagged bool
	csv            csvColumns
}

// buildOptions are the flags that shape the indicators built from csv and
// text input.
type buildOptions struct {
	tlp         string
	confidence  int
	labels      commaList
	name        string
	description string
}

// csvColumns name the CSV columns: a header name or a 1-based number.
type csvColumns struct {
	value, name, description, labels, confidence, tlp string
	noHeader                                          bool
}

// skippedCandidate is an indicator found but not published because it is
// flagged.
type skippedCandidate struct {
	Line     int      `json:"line"`
	Kind     ioc.Kind `json:"kind"`
	Value    string   `json:"value"`
	Warnings []string `json:"warnings"`
}

// notSent is an object that no request carried.
type notSent struct {
	ID      string `json:"id,omitempty"`
	Index   int    `json:"index"` // 0-based, in the input's order
	Message string `json:"message"`
}

// publishResult is what a run did, as --json prints it.
type publishResult struct {
	APIRoot    string             `json:"api_root,omitempty"`
	Collection string             `json:"collection,omitempty"`
	Title      string             `json:"title,omitempty"`
	DryRun     bool               `json:"dry_run,omitempty"`
	Objects    int                `json:"objects"`
	Requests   int                `json:"requests"`
	Statuses   []client.Status    `json:"statuses"`
	NotSent    []notSent          `json:"not_sent,omitempty"`
	Skipped    []skippedCandidate `json:"skipped,omitempty"`
	// Error is the request that stopped the run, if any.
	Error string `json:"error,omitempty"`
}

// runPublish implements `eitaxii publish` and returns the exit status.
func runPublish(ctx context.Context, args []string, e *env) int {
	return commandStatus(e, "publish", publishUsage, publishCommand(ctx, args, e))
}

func publishCommand(ctx context.Context, args []string, e *env) error {
	p := &publishCmd{consumer: consumer{ctx: ctx, e: e, forWriting: true}}
	fs := newAdminFlagSet("publish")
	p.connFlags.register(fs, true)
	fs.StringVar(&p.collection, "collection", "", "collection id, alias or title")
	fs.StringVar(&p.apiRoot, "api-root", "", "API root name or URL")
	fs.StringVar(&p.input, "input", inputAuto, "input kind")
	fs.BoolVar(&p.dryRun, "dry-run", false, "send nothing")
	fs.BoolVar(&p.asJSON, "json", false, "JSON output")
	fs.DurationVar(&p.wait, "wait", defaultPublishWait, "wait for a pending status")
	fs.StringVar(&p.build.tlp, "tlp", "", "TLP level")
	fs.IntVar(&p.build.confidence, "confidence", -1, "confidence 0..100")
	fs.Var(&p.build.labels, "label", "label (repeatable)")
	fs.StringVar(&p.build.name, "name", "", "indicator name")
	fs.StringVar(&p.build.description, "description", "", "indicator description")
	fs.Var(&p.ownDomains, "own-domain", "own domain (repeatable)")
	fs.BoolVar(&p.includeFlagged, "include-flagged", false, "publish flagged indicators too")
	fs.StringVar(&p.csv.value, "csv-value", "", "value column")
	fs.StringVar(&p.csv.name, "csv-name", "", "name column")
	fs.StringVar(&p.csv.description, "csv-description", "", "description column")
	fs.StringVar(&p.csv.labels, "csv-labels", "", "labels column")
	fs.StringVar(&p.csv.confidence, "csv-confidence", "", "confidence column")
	fs.StringVar(&p.csv.tlp, "csv-tlp", "", "TLP column")
	fs.BoolVar(&p.csv.noHeader, "csv-no-header", false, "no header row")
	pos, err := parseArgs(fs, args, 1)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if len(pos) != 1 {
		return usagef("", "name the FILE to publish (- for standard input)")
	}
	if p.collection == "" {
		return usagef("", "--collection is required")
	}
	if p.wait < 0 {
		return usagef("", "--wait must not be negative")
	}
	data, err := readInput(pos[0], e.stdin, maxPublishFile)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	kind, err := inputKind(p.input, pos[0], data)
	if err != nil {
		return err
	}
	if err := checkInputFlags(kind, set); err != nil {
		return err
	}
	var res publishResult
	var objects []json.RawMessage
	switch kind {
	case inputSTIX:
		objects, err = stix.FileObjects(data, stix.EnvelopeLimits{})
		if err != nil {
			return fmt.Errorf("%s: nothing was sent: %w", pos[0], err)
		}
	case inputText, inputCSV:
		var cands []builtCandidate
		if kind == inputText {
			cands, err = p.textCandidates(string(data))
		} else {
			cands, err = p.csvCandidates(data)
		}
		if err != nil {
			return fmt.Errorf("%s: nothing was sent: %w", pos[0], err)
		}
		objects, res.Skipped, err = p.buildObjects(cands)
		if err != nil {
			return fmt.Errorf("%s: nothing was sent: %w", pos[0], err)
		}
	}
	res.Objects, res.DryRun = len(objects), p.dryRun
	if len(objects) == 0 {
		if p.asJSON {
			p.report(&res)
		} else {
			p.reportSkipped(&res)
		}
		return fmt.Errorf("%s: nothing to publish: every indicator found is flagged (--include-flagged publishes them)", pos[0])
	}

	var limit int64
	if !p.dryRun || p.server != "" || e.variable(envServer) != "" {
		if err := p.connect(); err != nil {
			return err
		}
		root, err := p.c.APIRoot(ctx, p.rootURL)
		if err != nil {
			return fmt.Errorf("API root %s: %w", p.rootURL, err)
		}
		limit = root.MaxContentLength
		res.APIRoot, res.Collection, res.Title = p.rootURL, p.coll.ID, p.coll.Title
	}
	envs, tooLarge := stix.PackEnvelopes(objects, limit)
	for _, i := range tooLarge {
		res.NotSent = append(res.NotSent, notSent{ID: objectID(objects[i]), Index: i,
			Message: fmt.Sprintf("%d bytes: larger than the %d bytes the API root accepts in one request", len(objects[i]), limit)})
	}
	res.Requests = len(envs)
	if p.dryRun {
		for _, env := range envs {
			if _, err := fmt.Fprintf(e.stdout, "%s\n", env); err != nil {
				return err
			}
		}
		p.report(&res)
		return p.outcome(&res)
	}
	sendErr := p.send(envs, &res)
	p.report(&res)
	if sendErr != nil {
		return sendErr
	}
	return p.outcome(&res)
}

// connect builds the client and resolves the collection for writing.
func (p *publishCmd) connect() error {
	c, err := p.connFlags.connectClient(p.e, connOptions{name: "eitaxii publish", timeout: publishTimeout,
		userAgent: "eitaxii-publish", maxResponse: pollMaxResponse, responseHeaderTimeout: publishTimeout})
	if err != nil {
		return err
	}
	p.c = c
	return p.resolve()
}

// send posts the envelopes in order, waiting up to --wait for a pending
// status. A request the server refuses as a whole stops it: the objects
// of that envelope and of the ones after it are not sent, and the error
// is returned (a 403 or 413 would be the same for the next ones).
func (p *publishCmd) send(envs [][]byte, res *publishResult) error {
	for i, env := range envs {
		st, err := p.c.AddObjects(p.ctx, p.rootURL, p.coll.ID, env)
		if err == nil {
			st, err = p.settle(st)
		}
		if st != nil {
			res.Statuses = append(res.Statuses, *st)
		}
		if err != nil {
			left := 0
			for _, rest := range envs[i:] {
				objs, _ := stix.DecodeEnvelope(rest, stix.EnvelopeLimits{})
				left += len(objs)
			}
			if st != nil {
				left -= st.TotalCount // this envelope was taken; only its status is unknown
			}
			res.Error = fmt.Sprintf("request %d of %d: %v (%d objects not sent)", i+1, len(envs), err, left)
			return fmt.Errorf("collection %s (%s): %s", p.coll.ID, p.coll.Title, res.Error)
		}
	}
	return nil
}

// settle polls a pending status until it completes or --wait passes. A
// status still pending then is returned as it is: outcome reports it.
func (p *publishCmd) settle(st *client.Status) (*client.Status, error) {
	sleep := p.e.sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	deadline := time.Now().Add(p.wait)
	for st.Status == "pending" && time.Now().Before(deadline) {
		if err := sleep(p.ctx, time.Second); err != nil {
			return st, err
		}
		next, err := p.c.Status(p.ctx, p.rootURL, st.ID)
		if err != nil {
			return st, fmt.Errorf("status %s: %w", st.ID, err)
		}
		st = next
	}
	return st, nil
}

// outcome is errProblems when anything was not published.
func (p *publishCmd) outcome(res *publishResult) error {
	bad := len(res.NotSent) > 0 || res.Error != ""
	for _, st := range res.Statuses {
		bad = bad || st.FailureCount > 0 || st.PendingCount > 0 || st.Status != "complete"
	}
	if bad {
		return errProblems
	}
	return nil
}

// report prints res: as JSON with --json, else a line a status, a line a
// failure or pending object, and a summary. Skipped (flagged) indicators
// go to standard error with why.
func (p *publishCmd) report(res *publishResult) {
	out, errOut := p.e.stdout, p.e.stderr
	if p.asJSON {
		if res.Statuses == nil {
			res.Statuses = []client.Status{}
		}
		b, _ := json.MarshalIndent(res, "", "  ")
		if p.dryRun {
			out = errOut // stdout holds the envelopes
		}
		fmt.Fprintf(out, "%s\n", b)
		return
	}
	p.reportSkipped(res)
	published := 0
	for _, st := range res.Statuses {
		fmt.Fprintf(out, "status %s: %s: %d objects, %d succeeded, %d failed, %d pending\n",
			st.ID, st.Status, st.TotalCount, st.SuccessCount, st.FailureCount, st.PendingCount)
		for _, f := range st.Failures {
			fmt.Fprintf(out, "  failed %s %s: %s\n", f.ID, f.Version, clean(f.Message))
		}
		for _, f := range st.Pendings {
			fmt.Fprintf(out, "  pending %s %s\n", f.ID, f.Version)
		}
		published += st.SuccessCount
	}
	for _, n := range res.NotSent {
		fmt.Fprintf(out, "not sent: object %d %s: %s\n", n.Index+1, n.ID, n.Message)
	}
	where := "the collection"
	if res.Collection != "" {
		where = fmt.Sprintf("%s (%s)", res.Title, res.Collection)
	}
	if p.dryRun {
		fmt.Fprintf(errOut, "dry run: would send %d objects in %d requests to %s; nothing was sent\n",
			res.Objects-len(res.NotSent), res.Requests, clean(where))
		return
	}
	fmt.Fprintf(out, "published %d of %d objects to %s in %d requests\n", published, res.Objects, clean(where), len(res.Statuses))
}

// reportSkipped lists the flagged indicators that were not published, and why.
func (p *publishCmd) reportSkipped(res *publishResult) {
	for _, s := range res.Skipped {
		fmt.Fprintf(p.e.stderr, "skipped (flagged; --include-flagged publishes it): line %d: %s %s: %s\n",
			s.Line, s.Kind, clean(s.Value), strings.Join(s.Warnings, " "))
	}
}

// objectID is an object's id for a message, "" when it has none.
func objectID(raw json.RawMessage) string {
	var h struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &h)
	return h.ID
}

// inputKind decides how to read a file: --input, else its name's
// extension, else its content (a JSON object is STIX; anything else a
// text list).
func inputKind(flagValue, name string, data []byte) (string, error) {
	switch flagValue {
	case inputSTIX, inputCSV, inputText:
		return flagValue, nil
	case inputAuto:
	default:
		return "", usagef("", "--input: %q is not auto, stix, csv or text", flagValue)
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json", ".stix":
		return inputSTIX, nil
	case ".csv":
		return inputCSV, nil
	}
	if t := bytes.TrimLeft(data, " \t\r\n\ufeff"); len(t) > 0 && t[0] == '{' {
		return inputSTIX, nil
	}
	return inputText, nil
}

// checkInputFlags refuses options that do not apply to kind: a STIX file
// is sent as it is, and the --csv-* options read CSV only.
func checkInputFlags(kind string, set map[string]bool) error {
	for name := range set {
		switch {
		case kind == inputSTIX && (buildFlags[name] || strings.HasPrefix(name, "csv-")):
			return usagef("", "--%s applies to csv and text input; a STIX file is sent as it is", name)
		case kind == inputText && strings.HasPrefix(name, "csv-"):
			return usagef("", "--%s applies to csv input (give --input csv)", name)
		}
	}
	return nil
}

// buildFlags are the options that shape built indicators.
var buildFlags = map[string]bool{"tlp": true, "confidence": true, "label": true, "name": true,
	"description": true, "own-domain": true, "include-flagged": true}

// builtCandidate is an indicator found in the input, with what its row
// (CSV) sets for it; nil and -1 fields take the command's options.
type builtCandidate struct {
	ioc.Candidate
	name, description *string
	labels            []string
	confidence        int // -1: the option's
	tlp               stix.TLP
}

// textCandidates extracts the indicators of a free-text list.
func (p *publishCmd) textCandidates(text string) ([]builtCandidate, error) {
	r := ioc.Extract(text, ioc.Options{OwnDomains: p.ownDomains})
	if r.Truncated {
		return nil, fmt.Errorf("more than %d indicators: split the list", ioc.DefaultMaxCandidates)
	}
	if len(r.Candidates) == 0 {
		return nil, errors.New("no indicator was found in the text")
	}
	out := make([]builtCandidate, len(r.Candidates))
	for i, c := range r.Candidates {
		out[i] = builtCandidate{Candidate: c, confidence: -1}
	}
	return out, nil
}

// csvCandidates reads one indicator a row. A row that does not hold
// exactly one indicator, or whose confidence or TLP cell is not one,
// refuses the file: the rows are listed and nothing is sent.
func (p *publishCmd) csvCandidates(data []byte) ([]builtCandidate, error) {
	rd := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	rd.FieldsPerRecord = -1
	rd.TrimLeadingSpace = true
	var header []string
	if !p.csv.noHeader {
		h, err := rd.Read()
		if err != nil {
			return nil, fmt.Errorf("the header row: %w", csvError(err))
		}
		header = h
	}
	cols, err := p.csv.resolve(header)
	if err != nil {
		return nil, err
	}
	var out []builtCandidate
	var problems []string
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := rd.FieldPos(0)
		if len(out)+len(problems) >= ioc.DefaultMaxCandidates {
			return nil, fmt.Errorf("more than %d rows: split the file", ioc.DefaultMaxCandidates)
		}
		c, err := p.csvRow(rec, cols, line)
		if err != nil {
			problems = append(problems, fmt.Sprintf("line %d: %v", line, err))
			continue
		}
		out = append(out, c)
	}
	if len(problems) > 0 {
		total, more := len(problems), ""
		if total > maxReportedRows {
			more = fmt.Sprintf("; and %d more", total-maxReportedRows)
			problems = problems[:maxReportedRows]
		}
		return nil, fmt.Errorf("%d rows are not indicators: %s%s", total, strings.Join(problems, "; "), more)
	}
	if len(out) == 0 {
		return nil, errors.New("the file has no data rows")
	}
	return out, nil
}

// csvError makes encoding/csv's errors read as sentences about the file.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
	}
	return err
}

// csvIndex are the 0-based columns of a CSV file; -1 is absent.
type csvIndex struct{ value, name, description, labels, confidence, tlp int }

// resolve turns the column options into indexes against header (nil with
// --csv-no-header).
func (c csvColumns) resolve(header []string) (csvIndex, error) {
	find := func(flagName, spec string) (int, error) {
		if spec == "" {
			return -1, nil
		}
		if n, err := strconv.Atoi(spec); err == nil {
			if n < 1 || (header != nil && n > len(header)) {
				return 0, usagef("", "--%s: column %d is not in the file", flagName, n)
			}
			return n - 1, nil
		}
		if header == nil {
			return 0, usagef("", "--%s: with --csv-no-header, name a column by its number", flagName)
		}
		for i, h := range header {
			if strings.EqualFold(strings.TrimSpace(h), spec) {
				return i, nil
			}
		}
		return 0, usagef("", "--%s: the header has no column %q (it has %s)", flagName, spec, strings.Join(header, ", "))
	}
	var ix csvIndex
	var err error
	for _, f := range []struct {
		name, spec string
		dst        *int
	}{
		{"csv-value", c.value, &ix.value}, {"csv-name", c.name, &ix.name}, {"csv-description", c.description, &ix.description},
		{"csv-labels", c.labels, &ix.labels}, {"csv-confidence", c.confidence, &ix.confidence}, {"csv-tlp", c.tlp, &ix.tlp},
	} {
		if *f.dst, err = find(f.name, f.spec); err != nil {
			return ix, err
		}
	}
	if ix.value < 0 {
		ix.value = 0
		for i, h := range header {
			if h = strings.ToLower(strings.TrimSpace(h)); h == "value" || h == "indicator" || h == "ioc" {
				ix.value = i
				break
			}
		}
	}
	return ix, nil
}

// csvRow reads one row.
func (p *publishCmd) csvRow(rec []string, ix csvIndex, line int) (builtCandidate, error) {
	cell := func(i int) (string, bool) {
		if i < 0 || i >= len(rec) {
			return "", false
		}
		return strings.TrimSpace(rec[i]), true
	}
	v, _ := cell(ix.value)
	if v == "" {
		return builtCandidate{}, errors.New("the value column is empty")
	}
	r := ioc.Extract(v, ioc.Options{OwnDomains: p.ownDomains})
	switch len(r.Candidates) {
	case 0:
		return builtCandidate{}, fmt.Errorf("%q is not an indicator (IP, CIDR, domain, URL, email, hash or CVE id)", clip(v, 80))
	case 1:
	default:
		return builtCandidate{}, fmt.Errorf("%q holds %d indicators; give one a row", clip(v, 80), len(r.Candidates))
	}
	c := builtCandidate{Candidate: r.Candidates[0], confidence: -1}
	c.Line = line
	if s, ok := cell(ix.name); ok && s != "" {
		c.name = &s
	}
	if s, ok := cell(ix.description); ok && s != "" {
		c.description = &s
	}
	if s, ok := cell(ix.labels); ok {
		c.labels = splitLabels(s)
	}
	if s, ok := cell(ix.confidence); ok && s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 100 {
			return builtCandidate{}, fmt.Errorf("confidence %q is not a whole number from 0 to 100", clip(s, 20))
		}
		c.confidence = n
	}
	if s, ok := cell(ix.tlp); ok && s != "" {
		level, err := stix.ParseTLP(s)
		if err != nil {
			return builtCandidate{}, fmt.Errorf("TLP %q is not clear, green, amber, amber+strict or red", clip(s, 20))
		}
		c.tlp = level
	}
	return c, nil
}

// splitLabels splits a labels cell at commas and semicolons.
func splitLabels(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// clip shortens s for a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}

// buildObjects turns candidates into STIX objects with the command's
// options, each row's own values first. Flagged candidates are skipped
// (and returned) unless --include-flagged.
func (p *publishCmd) buildObjects(cands []builtCandidate) ([]json.RawMessage, []skippedCandidate, error) {
	b := p.build
	var tlp stix.TLP
	if b.tlp != "" {
		level, err := stix.ParseTLP(b.tlp)
		if err != nil {
			return nil, nil, usagef("", "--tlp: %q is not clear, green, amber, amber+strict or red", b.tlp)
		}
		tlp = level
	}
	if b.confidence < -1 || b.confidence > 100 {
		return nil, nil, usagef("", "--confidence must be a whole number from 0 to 100")
	}
	now := time.Now()
	var objects []json.RawMessage
	var skipped []skippedCandidate
	for _, c := range cands {
		if len(c.Warnings) > 0 && !p.includeFlagged {
			skipped = append(skipped, skippedCandidate{Line: c.Line, Kind: c.Kind, Value: c.Value, Warnings: c.Warnings})
			continue
		}
		o := ioc.ObjectOptions{Now: now, NewID: uuid.NewString, Name: b.name, Description: b.description,
			Labels: b.labels, Confidence: b.confidence}
		if c.name != nil {
			o.Name = *c.name
		}
		if c.description != nil {
			o.Description = *c.description
		}
		if c.labels != nil {
			o.Labels = c.labels
		}
		if c.confidence >= 0 {
			o.Confidence = c.confidence
		}
		level := tlp
		if c.tlp != stix.TLPNone {
			level = c.tlp
		}
		if level != stix.TLPNone {
			o.Markings = []string{stix.TLPMarkingID(level)}
		}
		obj, err := ioc.Object(c.Candidate, o)
		if err != nil {
			return nil, nil, fmt.Errorf("line %d: %s: %w", c.Line, c.Value, err)
		}
		objects = append(objects, obj)
	}
	return objects, skipped, nil
}
