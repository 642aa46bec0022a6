package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/ioc"
	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
	"github.com/google/uuid"
)

// maxLabels bounds the labels one publish form may give.
const maxLabels = 20

// publishData is the publish page's data: the paste and upload forms.
type publishData struct {
	Group      *Group
	Collection *Collection
	Text       string
	Error      string
}

// writable resolves the URL's collection for publishing: hidden is 404,
// visible but not writable is a message.
func (c *Console) writable(w http.ResponseWriter, r *http.Request) (*Group, *Collection, bool) {
	v := sessionOf(r).viewer
	g, coll := v.collection(r.PathValue("group"), r.PathValue("coll"))
	if coll == nil {
		c.notFound(w, r, nil)
		return nil, nil, false
	}
	if !coll.CanWrite {
		c.render(w, r, http.StatusForbidden, "message", page{Title: "Read only",
			Data: message{Heading: "You may not publish here", Text: "Your role in " + g.Name + " may read " + coll.Title + " but not publish to it."}})
		return nil, nil, false
	}
	return g, coll, true
}

func (c *Console) handlePublishPage(w http.ResponseWriter, r *http.Request) {
	g, coll, ok := c.writable(w, r)
	if !ok {
		return
	}
	c.render(w, r, http.StatusOK, "publish", page{Title: "Publish to " + coll.Title, Data: publishData{Group: g, Collection: coll}})
}

// reviewData is the review page's data: the candidates found in the
// pasted text, and the choices that apply to all.
type reviewData struct {
	Group      *Group
	Collection *Collection
	Text       string // sent back with the choice, extracted again
	Candidates []ioc.Candidate
	Truncated  bool
	Warned     int
	TLPLevels  []tlpChoice
	Confidence string
	Labels     string
	Name       string
	// As is whom the indicators name as their creator: asOrganization or
	// asGroup (see publishAs).
	As    string
	Error string
}

// Whom indicators built from a review are published as.
const (
	asOrganization = "organization" // created_by_ref: the publisher's organization's identity
	asGroup        = "group"        // created_by_ref: the group's identity, the publisher's organization unnamed
)

// publishAs returns the created_by_ref of indicators published as choice
// ("" is asOrganization) by v to g's collection coll, or false for an
// unknown choice. A collection that anonymizes publishers publishes
// everything as the group, whatever the choice.
func publishAs(choice string, v *Viewer, g *Group, coll *Collection) (string, bool) {
	switch {
	case choice != "" && choice != asOrganization && choice != asGroup:
		return "", false
	case choice == asGroup || coll.Policy.Anonymize:
		return g.IdentityID, true
	}
	return v.OrganizationIdentity, true
}

type tlpChoice struct {
	Value, Label string
	Selected     bool
}

// tlpOptions are the levels the collection accepts, the default selected:
// the collection's default TLP, else the least restrictive allowed.
func tlpOptions(p access.Policy, selected string) []tlpChoice {
	var out []tlpChoice
	def := p.DefaultTLP
	if def == stix.TLPNone {
		def = stix.TLPGreen
	}
	for _, name := range tlpChoices {
		level, _ := stix.ParseTLP(name)
		if p.TLPCeiling != stix.TLPNone && level > p.TLPCeiling {
			continue
		}
		sel := name == selected || (selected == "" && level == def)
		out = append(out, tlpChoice{Value: name, Label: level.String(), Selected: sel})
	}
	return out
}

// readUpload returns the pasted text or the uploaded file's content of
// field from a publish form (read by session, bounded by form).
func (c *Console) readUpload(r *http.Request, field string) ([]byte, error) {
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File[field+"_file"]; len(fhs) > 0 && fhs[0].Size > 0 {
			f, err := fhs[0].Open()
			if err != nil {
				return nil, err
			}
			defer f.Close()
			b, err := io.ReadAll(io.LimitReader(f, c.opts.MaxUpload+1))
			if err != nil {
				return nil, err
			}
			if int64(len(b)) > c.opts.MaxUpload {
				return nil, errors.New("The file is larger than the console accepts; split it.")
			}
			return b, nil
		}
	}
	text := r.PostFormValue(field)
	if int64(len(text)) > c.opts.MaxUpload {
		return nil, errors.New("The text is larger than the console accepts; split it.")
	}
	return []byte(text), nil
}

// publishError shows the publish page again with what was wrong.
func (c *Console) publishError(w http.ResponseWriter, r *http.Request, status int, g *Group, coll *Collection, msg string) {
	c.render(w, r, status, "publish", page{Title: "Publish", Data: publishData{Group: g, Collection: coll, Error: msg}})
}

// pasted reads the form's IOC text (pasted or a text file) and extracts
// its indicators; on a bad form it answers with the publish page and
// returns false.
func (c *Console) pasted(w http.ResponseWriter, r *http.Request, g *Group, coll *Collection) (string, ioc.Result, bool) {
	text, err := c.readUpload(r, "text")
	if err != nil {
		c.publishError(w, r, http.StatusBadRequest, g, coll, err.Error())
		return "", ioc.Result{}, false
	}
	return string(text), ioc.Extract(string(text), ioc.Options{OwnDomains: g.OwnDomains}), true
}

// handleReview extracts the indicators of a pasted list and shows them for
// review: nothing is stored yet.
func (c *Console) handleReview(w http.ResponseWriter, r *http.Request) {
	g, coll, ok := c.writable(w, r)
	if !ok {
		return
	}
	text, res, ok := c.pasted(w, r, g, coll)
	if !ok {
		return
	}
	if len(res.Candidates) == 0 {
		c.render(w, r, http.StatusOK, "publish", page{Title: "Publish", Data: publishData{Group: g, Collection: coll,
			Text: text, Error: "No indicator was found in the text."}})
		return
	}
	d := reviewData{Group: g, Collection: coll, Text: text, Candidates: res.Candidates, Truncated: res.Truncated,
		TLPLevels: tlpOptions(coll.Policy, ""), Confidence: "50", As: asOrganization}
	for _, cand := range res.Candidates {
		if len(cand.Warnings) > 0 {
			d.Warned++
		}
	}
	c.render(w, r, http.StatusOK, "review", page{Title: "Review", Data: d})
}

// handlePublish publishes the reviewed candidates (mode "ioc") or an
// uploaded STIX file (mode "stix"), then shows the status.
func (c *Console) handlePublish(w http.ResponseWriter, r *http.Request) {
	g, coll, ok := c.writable(w, r)
	if !ok {
		return
	}
	if r.URL.Query().Get("mode") == "stix" {
		c.publishSTIX(w, r, g, coll)
		return
	}
	text, res, ok := c.pasted(w, r, g, coll)
	if !ok {
		return
	}
	f := r.PostForm
	d := reviewData{Group: g, Collection: coll, Text: text, Candidates: res.Candidates, Truncated: res.Truncated,
		TLPLevels: tlpOptions(coll.Policy, f.Get("tlp")), Confidence: f.Get("confidence"), Labels: f.Get("labels"), Name: f.Get("name"),
		As: f.Get("as")}
	fail := func(msg string) {
		d.Error = msg
		c.render(w, r, http.StatusBadRequest, "review", page{Title: "Review", Data: d})
	}
	level, err := stix.ParseTLP(f.Get("tlp"))
	if err != nil || level == stix.TLPNone || (coll.Policy.TLPCeiling != stix.TLPNone && level > coll.Policy.TLPCeiling) {
		fail("Choose a TLP level this collection accepts.")
		return
	}
	confidence, err := strconv.Atoi(strings.TrimSpace(f.Get("confidence")))
	if err != nil || confidence < 0 || confidence > 100 {
		fail("Confidence is a whole number from 0 to 100.")
		return
	}
	var labels []string
	for _, l := range strings.Split(f.Get("labels"), ",") {
		if l = strings.TrimSpace(l); l != "" {
			labels = append(labels, l)
		}
	}
	if len(labels) > maxLabels {
		fail("Give at most " + strconv.Itoa(maxLabels) + " labels.")
		return
	}
	name := strings.TrimSpace(f.Get("name"))
	if len(name) > 256 {
		fail("The name is longer than 256 bytes.")
		return
	}
	createdBy, ok := publishAs(d.As, sessionOf(r).viewer, g, coll)
	if !ok {
		fail("Choose whom to publish as: your organization or the group.")
		return
	}
	now := c.svc.Now()
	opts := ioc.ObjectOptions{Now: now, NewID: uuid.NewString, Name: name, Labels: labels, Confidence: confidence,
		Markings: []string{stix.TLPMarkingID(level)}, CreatedBy: createdBy}
	var objects []json.RawMessage
	for _, p := range f["pick"] {
		i, err := strconv.Atoi(p)
		if err != nil || i < 0 || i >= len(res.Candidates) {
			fail("The review no longer matches the text; review it again.")
			return
		}
		obj, err := ioc.Object(res.Candidates[i], opts)
		if err != nil {
			fail("Could not build an indicator for " + res.Candidates[i].Value + ": " + err.Error())
			return
		}
		objects = append(objects, obj)
	}
	if len(objects) == 0 {
		fail("Choose at least one indicator to publish.")
		return
	}
	c.publishObjects(w, r, g, coll, objects)
}

// publishSTIX publishes an uploaded STIX file: one object, a bundle or a
// TAXII envelope.
func (c *Console) publishSTIX(w http.ResponseWriter, r *http.Request, g *Group, coll *Collection) {
	data, err := c.readUpload(r, "stix")
	if err == nil && len(bytes.TrimSpace(data)) == 0 {
		err = errors.New("Choose a STIX file to upload.")
	}
	if err != nil {
		c.publishError(w, r, http.StatusBadRequest, g, coll, err.Error())
		return
	}
	objects, err := stix.FileObjects(data, stix.EnvelopeLimits{})
	if err != nil {
		c.publishError(w, r, http.StatusUnprocessableEntity, g, coll, "Nothing was published: "+err.Error())
		return
	}
	c.publishObjects(w, r, g, coll, objects)
}

// publishObjects sends objects through the publishing pipeline in as few
// envelopes as the group's max_content_length allows, then shows the
// status (or, for several envelopes, the list of statuses). An object too
// large for any envelope stops it before anything is sent.
func (c *Console) publishObjects(w http.ResponseWriter, r *http.Request, g *Group, coll *Collection, objects []json.RawMessage) {
	v := sessionOf(r).viewer
	envs, tooLarge := stix.PackEnvelopes(objects, g.MaxContentLength)
	if len(tooLarge) > 0 {
		// Refused before anything is sent: a publish is all or nothing
		// where the console can know it in advance.
		c.publishError(w, r, http.StatusRequestEntityTooLarge, g, coll, fmt.Sprintf(
			"Nothing was published: %d of the %d objects (the first is number %d) are larger than the %d bytes %s accepts in one request.",
			len(tooLarge), len(objects), tooLarge[0]+1, g.MaxContentLength, g.Name))
		return
	}
	var ids []string
	for _, env := range envs {
		st, err := c.svc.Publish(r.Context(), v, coll, env, remoteAddr(r))
		if err != nil {
			if errors.Is(err, stix.ErrBadEnvelope) {
				c.publishError(w, r, http.StatusUnprocessableEntity, g, coll, "Nothing was published: "+err.Error())
				return
			}
			c.fail(w, r, err)
			return
		}
		ids = append(ids, st.ID)
	}
	if len(ids) == 1 {
		http.Redirect(w, r, "/console/g/"+g.Name+"/status/"+ids[0], http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "statuses", page{Title: "Published", Data: statusesData{Group: g, IDs: ids}})
}

type statusesData struct {
	Group *Group
	IDs   []string
}

// statusData is the status page's data.
type statusData struct {
	Group      *Group
	Collection *Collection // nil when deleted since
	Record     *store.StatusRecord
}

func (c *Console) handleStatus(w http.ResponseWriter, r *http.Request) {
	v := sessionOf(r).viewer
	g := v.group(r.PathValue("group"))
	id := r.PathValue("id")
	if g == nil || len(id) > 100 {
		c.notFound(w, r, nil)
		return
	}
	rec, err := c.store.FindStatusRecord(r.Context(), g.Name, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	_, coll := v.collection(g.Name, rec.Collection)
	var readRole access.Role
	if coll != nil {
		readRole = coll.Policy.ReadRole
	}
	// A collection the viewer cannot see counts as gone: its statuses are
	// its publisher's only.
	if !access.MaySeeStatus(v.Account.Name, rec.Account, coll == nil, readRole, g.Role) {
		c.notFound(w, r, nil)
		return
	}
	c.render(w, r, http.StatusOK, "status", page{Title: "Status", Data: statusData{Group: g, Collection: coll, Record: rec}})
}
