package taxii

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/client"
	"github.com/eitaxii/eitaxii/stix"
	"github.com/eitaxii/eitaxii/store"
	"github.com/gin-gonic/gin"
)

// The TAXII resources are client's types: what the server encodes is what
// the Go client decodes.

// handleDiscovery serves GET /taxii2/: the API roots of the caller's groups
// only (REQ-34..39).
func (s *Server) handleDiscovery(c *gin.Context) error {
	p := caller(c)
	d := s.opts.Discovery
	res := client.Discovery{Title: d.Title, Description: d.Description, Contact: d.Contact}
	for _, name := range s.dir.Load().groupOrder {
		if _, member := p.groups[name]; member {
			res.APIRoots = append(res.APIRoots, "/"+name+"/")
			if name == d.Default {
				res.Default = "/" + name + "/"
			}
		}
	}
	writeJSON(c, http.StatusOK, &res)
	return nil
}

// apiRoot returns the group named in the URL if the caller is a member;
// any other group answers 404 whether it exists or not (REQ-26).
func (s *Server) apiRoot(c *gin.Context) (*group, access.Role, error) {
	g := s.dir.Load().groups[c.Param("root")]
	if g == nil {
		return nil, "", errNotFound
	}
	role, member := caller(c).groups[g.Name]
	if !member {
		return nil, "", errNotFound
	}
	return g, role, nil
}

// collection resolves the API root and the collection (by id or alias) of
// the URL. A collection the caller can neither read nor write is hidden:
// 404, as if it did not exist.
func (s *Server) collection(c *gin.Context) (*group, *store.Collection, access.Role, error) {
	g, role, err := s.apiRoot(c)
	if err != nil {
		return nil, nil, "", err
	}
	key := c.Param("coll")
	coll := g.byID[key]
	if coll == nil {
		coll = g.byAlias[key]
	}
	if coll == nil || !access.CanSee(coll.Policy.ReadRole, coll.Policy.WriteRole, role) {
		return nil, nil, "", errNotFound
	}
	return g, coll, role, nil
}

// readable resolves the collection of the URL and requires can_read.
func (s *Server) readable(c *gin.Context) (*group, *store.Collection, error) {
	g, coll, role, err := s.collection(c)
	if err != nil {
		return nil, nil, err
	}
	if !access.CanRead(coll.Policy.ReadRole, role) {
		return nil, nil, errCannotRead
	}
	return g, coll, nil
}

// auditRead records a read of a collection: who, how many objects, which
// date_added range.
func (s *Server) auditRead(c *gin.Context, g *group, coll *store.Collection, what string, p *store.Page) {
	pr := caller(c)
	s.metrics.served.WithLabelValues(coll.ID).Add(float64(len(p.Records)))
	s.metrics.lastPoll.WithLabelValues(pr.Name).Set(float64(s.now().Unix()))
	ev := store.AuditEvent{Action: "read", Detail: what, Account: pr.Name, Organization: pr.Organization,
		Group: g.Name, Collection: coll.ID, Count: len(p.Records), RemoteAddr: c.ClientIP()}
	if len(p.Records) > 0 {
		ev.DateAddedFirst = formatTime(p.Records[0].DateAdded)
		ev.DateAddedLast = formatTime(p.Records[len(p.Records)-1].DateAdded)
	}
	s.audit.record(ev)
}

// handleAPIRoot serves GET {api-root}/ (REQ-40, REQ-41).
func (s *Server) handleAPIRoot(c *gin.Context) error {
	g, _, err := s.apiRoot(c)
	if err != nil {
		return err
	}
	writeJSON(c, http.StatusOK, &client.APIRoot{
		Title: g.Title, Description: g.Description,
		Versions: []string{MediaType}, MaxContentLength: g.MaxContentLength,
	})
	return nil
}

// handleStatus serves GET {api-root}/status/{status-id}/ (REQ-42..48).
func (s *Server) handleStatus(c *gin.Context) error {
	g, role, err := s.apiRoot(c)
	if err != nil {
		return err
	}
	rec, err := s.store.FindStatusRecord(c.Request.Context(), g.Name, c.Param("status"))
	if err != nil {
		return err
	}
	coll := g.byID[rec.Collection]
	var readRole access.Role
	if coll != nil {
		readRole = coll.Policy.ReadRole
	}
	if !access.MaySeeStatus(caller(c).Name, rec.Account, coll == nil, readRole, role) {
		return errNotFound
	}
	writeJSON(c, http.StatusOK, &rec.Status)
	return nil
}

func collectionOf(coll *store.Collection, role access.Role) client.CollectionResource {
	return client.CollectionResource{
		ID: coll.ID, Title: coll.Title, Description: coll.Description, Alias: coll.Alias,
		CanRead: access.CanRead(coll.Policy.ReadRole, role), CanWrite: access.CanWrite(coll.Policy.WriteRole, role),
		MediaTypes: []string{store.MediaTypeSTIX21},
	}
}

// handleCollections serves GET {api-root}/collections/ (REQ-49..51).
func (s *Server) handleCollections(c *gin.Context) error {
	g, role, err := s.apiRoot(c)
	if err != nil {
		return err
	}
	var res client.Collections
	for _, coll := range g.sorted {
		if access.CanSee(coll.Policy.ReadRole, coll.Policy.WriteRole, role) {
			res.Collections = append(res.Collections, collectionOf(coll, role))
		}
	}
	writeJSON(c, http.StatusOK, &res)
	return nil
}

// handleCollection serves GET {api-root}/collections/{id}/ (REQ-52).
func (s *Server) handleCollection(c *gin.Context) error {
	_, coll, role, err := s.collection(c)
	if err != nil {
		return err
	}
	writeJSON(c, http.StatusOK, collectionOf(coll, role))
	return nil
}

// setDateHeaders sets X-TAXII-Date-Added-First/Last from a page (REQ-101).
// An empty page gets the request's added_after in both, or neither when
// none was sent (AMB-02).
func setDateHeaders(c *gin.Context, p *store.Page, q *store.Query) {
	switch {
	case len(p.Records) > 0:
		c.Header("X-TAXII-Date-Added-First", formatTime(p.Records[0].DateAdded))
		c.Header("X-TAXII-Date-Added-Last", formatTime(p.Records[len(p.Records)-1].DateAdded))
	case !q.Filter.AddedAfter.IsZero():
		c.Header("X-TAXII-Date-Added-First", formatTime(q.Filter.AddedAfter))
		c.Header("X-TAXII-Date-Added-Last", formatTime(q.Filter.AddedAfter))
	}
	c.Set(ctxObjects, len(p.Records))
}

// writeEnvelope writes a TAXII envelope (§3.7) from the stored objects'
// bytes: nothing is re-encoded, so objects are served exactly as stored
// (REQ-60). An empty page is {} (REQ-61).
//
// The envelope is streamed, headers first (with its Content-Length), then
// each object's bytes as the page holds them, with no second copy of the
// page. The page's bytes are themselves a copy, taken inside the read
// transaction: bbolt's values are valid only until it ends, and a
// transaction kept open while a client reads slowly would block the store
// file from growing, and so every write. writeEnvelope consumes p: each
// object's bytes are dropped once written, so that the memory of what a
// slow client has already received can be reclaimed. A failed write (the
// client went away, the write timeout passed) ends the response.
func writeEnvelope(c *gin.Context, p *store.Page) {
	if len(p.Records) == 0 {
		c.Data(http.StatusOK, MediaType, []byte("{}"))
		return
	}
	head := make([]byte, 0, 64+len(p.Next))
	head = append(head, `{"more":`...)
	head = strconv.AppendBool(head, p.More)
	if p.More {
		head = append(head, `,"next":`...)
		head = strconv.AppendQuote(head, p.Next) // base64url: nothing to escape
	}
	head = append(head, `,"objects":[`...)
	const tail = "]}"
	n := len(head) + len(p.Records) - 1 + len(tail) // the commas between objects
	for _, r := range p.Records {
		n += len(r.Raw)
	}
	h := c.Writer.Header()
	h.Set("Content-Type", MediaType)
	h.Set("Content-Length", strconv.Itoa(n))
	c.Status(http.StatusOK)
	w := c.Writer
	if _, err := w.Write(head); err != nil {
		return
	}
	for i := range p.Records {
		if i > 0 {
			if _, err := w.Write(comma); err != nil {
				return
			}
		}
		_, err := w.Write(p.Records[i].Raw)
		p.Records[i].Raw = nil
		if err != nil {
			return
		}
	}
	w.Write([]byte(tail))
}

var comma = []byte{','}

// readPage serves the four read endpoints: the collection must be
// readable, the query is parsed with the endpoint's filters, a read slot of
// the caller's account is taken (startRead; 429 when none is free), find
// reads the page, the read is audited as what, the date headers are set
// (REQ-101) and write writes the page. The slot is held until write
// returns, because the page is held until then.
func (s *Server) readPage(c *gin.Context, fs filterSet, what string,
	find func(ctx context.Context, collID string, q store.Query) (*store.Page, error),
	write func(*gin.Context, *store.Page)) error {
	g, coll, err := s.readable(c)
	if err != nil {
		return err
	}
	q, err := parseQuery(c.Request.URL.RawQuery, fs, s.opts.MaxPageSize)
	if err != nil {
		return err
	}
	q.MaxBytes = max(s.opts.MaxPageBytes, 0)
	release, err := s.startRead(c)
	if err != nil {
		return err
	}
	defer release()
	p, err := find(c.Request.Context(), coll.ID, q)
	if err != nil {
		return err
	}
	s.auditRead(c, g, coll, what, p)
	setDateHeaders(c, p, &q)
	write(c, p)
	return nil
}

// handleGetObjects serves GET {api-root}/collections/{id}/objects/
// (REQ-59..64).
func (s *Server) handleGetObjects(c *gin.Context) error {
	return s.readPage(c, objectsFilters, "objects", s.store.FindObjects, writeEnvelope)
}

// handleManifest serves GET {api-root}/collections/{id}/manifest/
// (REQ-54..58).
func (s *Server) handleManifest(c *gin.Context) error {
	return s.readPage(c, objectsFilters, "manifest", s.store.FindManifest, func(c *gin.Context, p *store.Page) {
		res := client.Manifest{More: p.More, Next: p.Next}
		for _, r := range p.Records {
			res.Objects = append(res.Objects, client.ManifestRecord{ID: r.ID, DateAdded: formatTime(r.DateAdded), Version: r.Version, MediaType: r.MediaType})
		}
		writeJSON(c, http.StatusOK, &res)
	})
}

// handleGetObject serves GET {api-root}/collections/{id}/objects/{object-id}/
// (REQ-75..78).
func (s *Server) handleGetObject(c *gin.Context) error {
	return s.readPage(c, objectFilters, "object", func(ctx context.Context, collID string, q store.Query) (*store.Page, error) {
		return s.store.FindObject(ctx, collID, c.Param("object"), q)
	}, writeEnvelope)
}

// handleVersions serves
// GET {api-root}/collections/{id}/objects/{object-id}/versions/ (REQ-84..86).
func (s *Server) handleVersions(c *gin.Context) error {
	return s.readPage(c, versionsFilters, "versions", func(ctx context.Context, collID string, q store.Query) (*store.Page, error) {
		return s.store.FindObjectVersions(ctx, collID, c.Param("object"), q)
	}, func(c *gin.Context, p *store.Page) {
		res := client.Versions{More: p.More, Next: p.Next}
		for _, r := range p.Records {
			res.Versions = append(res.Versions, r.Version)
		}
		writeJSON(c, http.StatusOK, &res)
	})
}

// handleDeleteObject serves
// DELETE {api-root}/collections/{id}/objects/{object-id}/ (REQ-79..83):
// 404 when the caller can neither read nor write, 403 when only one.
func (s *Server) handleDeleteObject(c *gin.Context) error {
	g, coll, role, err := s.collection(c)
	if err != nil {
		return err // includes "can neither read nor write": 404
	}
	switch {
	case !access.CanWrite(coll.Policy.WriteRole, role):
		return errCannotWrite
	case !access.CanRead(coll.Policy.ReadRole, role):
		return errCannotRead
	}
	q, err := parseQuery(c.Request.URL.RawQuery, deleteFilters, s.opts.MaxPageSize)
	if err != nil {
		return err
	}
	n, err := s.store.DeleteObject(c.Request.Context(), coll.ID, c.Param("object"), q.Filter)
	if err != nil {
		return err
	}
	p := caller(c)
	s.audit.record(store.AuditEvent{Action: "delete", Account: p.Name, Organization: p.Organization, Group: g.Name,
		Collection: coll.ID, Count: n, Objects: []store.ObjectRef{{ID: c.Param("object")}}, RemoteAddr: c.ClientIP()})
	c.Set(ctxObjects, n)
	c.Data(http.StatusOK, MediaType, nil)
	return nil
}

// maxListedFailures bounds the failures one status lists: an envelope of
// a hundred thousand empty objects would otherwise make a status of many
// megabytes, kept for the status retention time. The counts stay exact.
const maxListedFailures = 1000

// handleAddObjects serves POST {api-root}/collections/{id}/objects/
// (REQ-65..74). The envelope is read (bounded by max_content_length,
// counted on the bytes read), decoded and every object validated before the
// single write transaction that stores the valid ones with their status. An
// unusable envelope is a 422 that stores nothing; an invalid object is a
// failure entry in the status.
func (s *Server) handleAddObjects(c *gin.Context) error {
	received := s.now()
	g, coll, role, err := s.collection(c)
	if err != nil {
		return err
	}
	if !access.CanWrite(coll.Policy.WriteRole, role) {
		return errCannotWrite
	}
	if !taxiiContentType(c.GetHeader("Content-Type")) {
		return errUnsupportedMedia
	}
	tooLarge := errorf(http.StatusRequestEntityTooLarge, "Request Entity Too Large",
		"the envelope exceeds this API root's max_content_length of "+strconv.FormatInt(g.MaxContentLength, 10)+" bytes; split it")
	body, err := readBody(c, g.MaxContentLength, tooLarge)
	if err != nil {
		return err
	}
	st, err := s.publish(c.Request.Context(), g, coll, role, caller(c), body, c.ClientIP(), received)
	if err != nil {
		return err
	}
	c.Set(ctxObjects, st.SuccessCount)
	writeJSON(c, http.StatusAccepted, st)
	return nil
}

// publish decodes an envelope that p sent to coll and stores its valid
// objects with their status in one transaction (see handleAddObjects):
// the one publishing pipeline of the TAXII API and the console. The
// caller has checked that p may write coll and bounded the body.
func (s *Server) publish(ctx context.Context, g *group, coll *store.Collection, role access.Role, p *principal,
	body []byte, addr string, received time.Time) (*store.Status, error) {
	raws, err := stix.DecodeEnvelope(body, stix.EnvelopeLimits{MaxObjects: s.opts.MaxObjectsPerEnvelope})
	if err != nil {
		return nil, err
	}
	sub := &store.Submission{APIRoot: g.Name, Collection: coll.ID, Account: p.Name, Received: received,
		Blind: !access.CanRead(coll.Policy.ReadRole, role),
		Audit: &store.AuditEvent{Action: "publish", Account: p.Name, Organization: p.Organization,
			Group: g.Name, Collection: coll.ID, RemoteAddr: addr}}
	dir := s.dir.Load()
	var from string // "" for an account whose organization is gone
	if org := dir.orgs[p.Organization]; org != nil {
		from = org.IdentityID
	}
	pol := access.NewPublish(coll.Policy, from, g.IdentityID, dir.identities)
	for i, raw := range raws {
		h, findings := s.validator.Check(raw)
		var obj []byte
		if len(findings) == 0 {
			obj, findings = pol.Apply(&h, raw) // DecodeEnvelope compacted it
		}
		if len(findings) > 0 {
			for _, f := range findings {
				s.metrics.validationFailures.WithLabelValues(f.Rule).Inc()
			}
			msg := stix.Summarize(findings, 10)
			if h.ID == "" {
				// Without an id the client can only find the object by
				// its place in the envelope.
				msg = "objects[" + strconv.Itoa(i) + "]: " + msg
			}
			if len(sub.Failures) < maxListedFailures {
				sub.Failures = append(sub.Failures, store.DetailFor(&h, msg))
			} else {
				sub.Unlisted++
			}
			continue
		}
		sub.Objects = append(sub.Objects, store.Object{Header: h, Raw: obj})
	}
	if sub.Unlisted > 0 {
		last := &sub.Failures[len(sub.Failures)-1]
		last.Message += fmt.Sprintf(" [the status lists the first %d failures; %d more are counted in failure_count but not listed]",
			maxListedFailures, sub.Unlisted)
	}
	st, err := s.store.AddObjects(ctx, sub)
	if err != nil {
		return nil, err
	}
	s.metrics.published.WithLabelValues(coll.ID).Add(float64(st.SuccessCount))
	return st, nil
}
