package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
)

// Collection list bounds: a page shows at most listPageSize matches and
// reads at most listScanLimit versions to find them, so a filter that
// matches little costs a bounded read, never a scan of the collection;
// the page then offers to continue from where it stopped.
const (
	listPageSize  = 50
	listScanLimit = 2000
	listReadSize  = 200
	maxRelated    = 20
	maxFilterLen  = 200
)

// summary is an object version as a list shows it.
type summary struct {
	ID, Type, Name string
	Version        string
	DateAdded      time.Time
	TLP            stix.TLP
	Labels         []string
	Detail         string // the pattern, value or description, clipped
}

// objectFields are the members the console reads from an object.
type objectFields struct {
	Type        string   `json:"type"`
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Pattern     string   `json:"pattern"`
	Value       string   `json:"value"`
	Labels      []string `json:"labels"`
}

// summarize reads what a list shows of a record. An object whose marking
// cannot be read counts as TLP:RED, the most restrictive.
func summarize(rec *store.Record) (summary, objectFields) {
	var f objectFields
	_ = json.Unmarshal(rec.Raw, &f) // stored objects are valid JSON; a missing member stays empty
	tlp, err := stix.ObjectTLP(rec.Raw)
	if err != nil {
		tlp = stix.TLPRed
	}
	s := summary{ID: rec.ID, Type: f.Type, Name: f.Name, Version: rec.Version, DateAdded: rec.DateAdded,
		TLP: tlp, Labels: f.Labels}
	for _, d := range []string{f.Pattern, f.Value, f.Description} {
		if d != "" {
			s.Detail = clip(d, 160)
			break
		}
	}
	return s, f
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// homeData is the home page's data.
type homeData struct {
	Groups []homeGroup
}

type homeGroup struct {
	*Group
	Collections []homeCollection
}

type homeCollection struct {
	*Collection
	Activity *store.Activity // nil when the viewer may not read it
	Chart    chart
}

func (c *Console) handleHome(w http.ResponseWriter, r *http.Request) {
	v := sessionOf(r).viewer
	now := c.svc.Now()
	since := now.Add(-23 * time.Hour).Truncate(time.Hour)
	var d homeData
	for _, g := range v.Groups {
		hg := homeGroup{Group: g}
		for _, coll := range g.Collections {
			hc := homeCollection{Collection: coll}
			if coll.CanRead {
				a, err := c.store.CollectionActivity(r.Context(), coll.ID, since)
				if err != nil {
					c.fail(w, r, err)
					return
				}
				hc.Activity = a
				hc.Chart = hourlyChart(a.Hours, since, 24)
			}
			hg.Collections = append(hg.Collections, hc)
		}
		d.Groups = append(d.Groups, hg)
	}
	c.render(w, r, http.StatusOK, "home", page{Title: "Home", Data: d})
}

// listFilter is the collection page's filter form.
type listFilter struct {
	Type  string
	After string // a TAXII timestamp: list versions added after it
	TLP   string // a level name ("amber"): versions marked at most this
	Label string
	Text  string // free text over name, description, pattern and value
}

func (f listFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"type": f.Type, "after": f.After, "tlp": f.TLP, "label": f.Label, "q": f.Text} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// collectionData is the collection page's data.
type collectionData struct {
	Group      *Group
	Collection *Collection
	Filter     listFilter
	Objects    []summary
	Scanned    int
	Next       string // the query of the following page, "" at the end
	Error      string
	TLPLevels  []string
}

// tlpChoices are the TLP filter's and the publish form's levels.
var tlpChoices = []string{"clear", "green", "amber", "amber+strict", "red"}

func (c *Console) handleCollection(w http.ResponseWriter, r *http.Request) {
	v := sessionOf(r).viewer
	g, coll := v.collection(r.PathValue("group"), r.PathValue("coll"))
	if coll == nil {
		c.notFound(w, r, nil)
		return
	}
	d := collectionData{Group: g, Collection: coll, TLPLevels: tlpChoices}
	if !coll.CanRead {
		d.Error = "You may publish to this collection but not read it."
		c.render(w, r, http.StatusOK, "collection", page{Title: coll.Title, Data: d})
		return
	}
	q := r.URL.Query()
	d.Filter = listFilter{Type: q.Get("type"), After: q.Get("after"), TLP: q.Get("tlp"), Label: q.Get("label"), Text: q.Get("q")}
	if len(d.Filter.Type)+len(d.Filter.After)+len(d.Filter.TLP)+len(d.Filter.Label)+len(d.Filter.Text) > maxFilterLen {
		d.Error = "The filter is too long."
		c.render(w, r, http.StatusBadRequest, "collection", page{Title: coll.Title, Data: d})
		return
	}
	sel, err := d.Filter.compile()
	if err != nil {
		d.Error = err.Error()
		c.render(w, r, http.StatusBadRequest, "collection", page{Title: coll.Title, Data: d})
		return
	}
	objs, last, scanned, more, err := c.list(r, coll, sel)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d.Objects, d.Scanned = objs, scanned
	if more {
		nf := d.Filter
		nf.After = last.UTC().Format(store.TimestampLayout)
		d.Next = nf.query().Encode()
	}
	c.auditList(r, g, coll, objs)
	c.render(w, r, http.StatusOK, "collection", page{Title: coll.Title, Data: d})
}

// selector is a compiled listFilter.
type selector struct {
	filter store.Filter
	tlp    stix.TLP // TLPNone: any
	label  string
	text   string // lower-cased
}

func (f listFilter) compile() (selector, error) {
	var s selector
	if f.Type != "" {
		if !stix.ValidTypeName(f.Type) {
			return s, errors.New("The type is not a STIX type name (such as indicator).")
		}
		s.filter.Types = []string{f.Type}
	}
	if f.After != "" {
		t, err := stix.ParseTimestamp(f.After)
		if err != nil {
			return s, errors.New("“Added after” is not a timestamp such as 2024-05-01T12:00:00Z.")
		}
		s.filter.AddedAfter = t
	}
	if f.TLP != "" {
		level, err := stix.ParseTLP(f.TLP)
		if err != nil || level == stix.TLPNone {
			return s, errors.New("The TLP level is not one of clear, green, amber, amber+strict, red.")
		}
		s.tlp = level
	}
	s.label = f.Label
	s.text = strings.ToLower(f.Text)
	s.filter.Versions = store.VersionSet{Last: true}
	return s, nil
}

func (s *selector) matches(sum *summary, f *objectFields) bool {
	if s.tlp != stix.TLPNone && sum.TLP > s.tlp {
		return false
	}
	if s.label != "" && !slices.Contains(f.Labels, s.label) {
		return false
	}
	if s.text != "" {
		hit := false
		for _, field := range []string{f.Name, f.Description, f.Pattern, f.Value, f.ID} {
			if strings.Contains(strings.ToLower(field), s.text) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// list reads the collection by cursor (date_added order) and returns up
// to listPageSize matches, the date_added of the last version read, how
// many it read, and whether there is more to read after it.
func (c *Console) list(r *http.Request, coll *Collection, sel selector) (objs []summary, last time.Time, scanned int, more bool, err error) {
	q := store.Query{Filter: sel.filter, Limit: listReadSize}
	for {
		p, err := c.store.FindObjects(r.Context(), coll.ID, q)
		if err != nil {
			return nil, time.Time{}, 0, false, err
		}
		for i := range p.Records {
			rec := &p.Records[i]
			scanned++
			last = rec.DateAdded
			sum, f := summarize(rec)
			if sel.matches(&sum, &f) {
				objs = append(objs, sum)
			}
			if len(objs) == listPageSize || scanned == listScanLimit {
				return objs, last, scanned, i < len(p.Records)-1 || p.More, nil
			}
		}
		if !p.More {
			return objs, last, scanned, false, nil
		}
		q.Next = p.Next
	}
}

// auditList records what a list page showed, as a TAXII read is
// recorded.
func (c *Console) auditList(r *http.Request, g *Group, coll *Collection, objs []summary) {
	v := sessionOf(r).viewer
	ev := store.AuditEvent{Action: "read", Detail: "console", Account: v.Account.Name, Organization: v.Account.Organization,
		Group: g.Name, Collection: coll.ID, Count: len(objs), RemoteAddr: remoteAddr(r)}
	if len(objs) > 0 {
		ev.DateAddedFirst = objs[0].DateAdded.UTC().Format(store.TimestampLayout)
		ev.DateAddedLast = objs[len(objs)-1].DateAdded.UTC().Format(store.TimestampLayout)
	}
	c.svc.RecordRead(ev)
}

// objectData is the object page's data.
type objectData struct {
	Group      *Group
	Collection *Collection
	Object     summary
	JSON       string
	Versions   []store.Record
	Related    []related
}

type related struct {
	ID, Property string
	Present      bool // the collection holds it (a link)
}

func (c *Console) handleObject(w http.ResponseWriter, r *http.Request) {
	v := sessionOf(r).viewer
	g, coll := v.collection(r.PathValue("group"), r.PathValue("coll"))
	id := r.PathValue("id")
	if coll == nil || !coll.CanRead || len(id) > 300 {
		c.notFound(w, r, nil)
		return
	}
	ctx := r.Context()
	vp, err := c.store.FindObjectVersions(ctx, coll.ID, id, store.Query{Limit: 1000})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	sel := store.VersionSet{Last: true}
	want := r.URL.Query().Get("version")
	if want != "" {
		t, err := stix.ParseTimestamp(want)
		if err != nil {
			c.notFound(w, r, err)
			return
		}
		sel = store.VersionSet{At: []time.Time{t}}
	}
	op, err := c.store.FindObject(ctx, coll.ID, id, store.Query{Filter: store.Filter{Versions: sel}, Limit: 1})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if len(op.Records) == 0 {
		c.notFound(w, r, nil)
		return
	}
	rec := &op.Records[0]
	sum, _ := summarize(rec)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, rec.Raw, "", "  "); err != nil {
		pretty.Reset()
		pretty.Write(rec.Raw)
	}
	d := objectData{Group: g, Collection: coll, Object: sum, JSON: pretty.String(), Versions: vp.Records}
	for _, ref := range references(rec.Raw) {
		if len(d.Related) == maxRelated {
			break
		}
		rp, err := c.store.FindObject(ctx, coll.ID, ref.ID, store.Query{Filter: store.Filter{Versions: store.VersionSet{Last: true}}, Limit: 1})
		switch {
		case err == nil:
			ref.Present = len(rp.Records) > 0
		case !errors.Is(err, store.ErrNotFound):
			c.fail(w, r, err)
			return
		}
		d.Related = append(d.Related, ref)
	}
	c.svc.RecordRead(store.AuditEvent{Action: "read", Detail: "console object", Account: v.Account.Name,
		Organization: v.Account.Organization, Group: g.Name, Collection: coll.ID, Count: 1, RemoteAddr: remoteAddr(r),
		DateAddedFirst: rec.DateAdded.UTC().Format(store.TimestampLayout), DateAddedLast: rec.DateAdded.UTC().Format(store.TimestampLayout)})
	c.render(w, r, http.StatusOK, "object", page{Title: sum.ID, Data: d})
}

// references lists the STIX ids an object refers to in its top-level
// *_ref and *_refs properties, each once, in property order.
func references(raw []byte) []related {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if strings.HasSuffix(k, "_ref") || strings.HasSuffix(k, "_refs") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []related
	seen := map[string]bool{}
	add := func(prop, id string) {
		if strings.Contains(id, "--") && !seen[id] {
			seen[id] = true
			out = append(out, related{ID: id, Property: prop})
		}
	}
	for _, k := range keys {
		var one string
		var many []string
		if json.Unmarshal(m[k], &one) == nil {
			add(k, one)
		} else if json.Unmarshal(m[k], &many) == nil {
			for _, id := range many {
				add(k, id)
			}
		}
	}
	return out
}
