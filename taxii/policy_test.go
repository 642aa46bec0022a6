package taxii_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/eitaxii/eitaxii/access"
	"github.com/eitaxii/eitaxii/store"
	"github.com/eitaxii/eitaxii/taxii"
)

// TLP levels as the policies name them, indexed by restrictiveness
// (0: no marking).
var polLevels = [...]string{"", "clear", "green", "amber", "amber+strict", "red"}

// polMarkings are the nine predefined TLP marking definitions, written out
// here rather than taken from package stix, so that a wrong id there
// fails these tests.
var polMarkings = []struct {
	name  string
	level int // index in polLevels
	id    string
	def   string // the marking-definition object itself
}{
	{"TLP1-WHITE", 1, "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", polTLP1("613f2e26-407d-48c7-9eca-b8e91df99dc9", "WHITE", "white")},
	{"TLP1-GREEN", 2, "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", polTLP1("34098fce-860f-48ae-8e50-ebd3cc5e41da", "GREEN", "green")},
	{"TLP1-AMBER", 3, "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", polTLP1("f88d31f6-486f-44da-b317-01333bde0b82", "AMBER", "amber")},
	{"TLP1-RED", 5, "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", polTLP1("5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "RED", "red")},
	{"TLP2-CLEAR", 1, "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", polTLP2("94868c89-83c2-464b-929b-a1a8aa3c8487", "CLEAR", "clear")},
	{"TLP2-GREEN", 2, "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", polTLP2("bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "GREEN", "green")},
	{"TLP2-AMBER", 3, "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", polTLP2("55d920b0-5e8b-4f79-9ee9-91f868d9b421", "AMBER", "amber")},
	{"TLP2-AMBER+STRICT", 4, "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", polTLP2("939a9414-2ddd-4d32-a0cd-375ea402b003", "AMBER+STRICT", "amber+strict")},
	{"TLP2-RED", 5, "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", polTLP2("e828b379-4e03-4974-9ac4-e53a884c97c1", "RED", "red")},
}

func polTLP1(uuid, name, level string) string {
	return `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--` + uuid + `","created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:` + name + `","definition":{"tlp":"` + level + `"}}`
}

func polTLP2(uuid, name, level string) string {
	return `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--` + uuid + `","created":"2022-10-01T00:00:00.000Z","name":"TLP:` + name + `","extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"` + level + `"}}}`
}

// tlp2ID returns the TLP 2.0 marking id of a level, which default_tlp
// writes.
func tlp2ID(level int) string {
	for _, m := range polMarkings {
		if m.level == level && strings.HasPrefix(m.name, "TLP2") {
			return m.id
		}
	}
	panic(level)
}

// objectMarked returns an indicator marked with markingID in
// object_marking_refs.
func objectMarked(id, markingID string) string {
	return sgObject(id, `,"object_marking_refs":["`+markingID+`"]`)
}

// granularMarked returns an indicator whose name only is marked with
// markingID (a granular marking).
func granularMarked(id, markingID string) string {
	return sgObject(id, `,"granular_markings":[{"marking_ref":"`+markingID+`","selectors":["name"]}]`)
}

// statementMarking is a marking definition that is not TLP.
const (
	polStatementID = "marking-definition--0c9f1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
	polStatement   = `{"type":"marking-definition","spec_version":"2.1","id":"` + polStatementID + `","created":"2024-01-01T00:00:00.000Z","definition_type":"statement","definition":{"statement":"Copyright 2024, County Clerks Association"}}`
)

// Policy collections: ceiling at each level, require_tlp, default_tlp at
// each level, anonymize.
func polCeilingColl(level int) string { return sgCollID(10 + level) }
func polDefaultColl(level int) string { return sgCollID(30 + level) }

var (
	polRequireColl = sgCollID(20)
	polAnonColl    = sgCollID(40)
)

const (
	polRoot      = "/officials/"
	polPublisher = "pub-ida"
	polReader    = "rd-jon"
	polOrg       = "county-clerks"
	polOrgTitle  = "County Clerks Association"
	polOtherOrg  = "state-board"
)

func newPolicyWorld(t *testing.T) *sgWorld {
	t.Helper()
	var colls []taxii.Collection
	for l := 1; l < len(polLevels); l++ {
		colls = append(colls,
			taxii.Collection{ID: polCeilingColl(l), Title: "ceiling " + polLevels[l], Policy: access.PolicySpec{TLPCeiling: polLevels[l]}},
			taxii.Collection{ID: polDefaultColl(l), Title: "default " + polLevels[l], Policy: access.PolicySpec{RequireTLP: true, DefaultTLP: polLevels[l]}})
	}
	colls = append(colls,
		taxii.Collection{ID: polRequireColl, Title: "require", Policy: access.PolicySpec{RequireTLP: true}},
		taxii.Collection{ID: polAnonColl, Title: "anonymized", Policy: access.PolicySpec{Anonymize: true}})
	return newSGWorld(t, taxii.Options{
		Discovery:     taxii.Discovery{Title: "Election ISAC"},
		Organizations: []taxii.Organization{{Name: polOrg, Title: polOrgTitle}, {Name: polOtherOrg, Title: "State Board of Elections"}},
		Accounts:      []taxii.Account{sgAccount(polPublisher, polOrg), sgAccount(polReader, polOrg)},
		Groups: []taxii.Group{{
			Name: strings.Trim(polRoot, "/"), Title: "Officials",
			Members:     map[string]taxii.Role{polPublisher: taxii.RolePublisher, polReader: taxii.RoleReader},
			Collections: colls,
		}},
	})
}

func polObjects(coll string) string { return polRoot + "collections/" + coll + "/objects/" }

// polCase is one object posted to a policy collection and whether it must
// be stored.
type polCase struct {
	name   string
	id     string
	object string
	stored bool
	rule   string // the rule named in the failure message when refused
}

// checkPolicy posts every case in one envelope as the publisher and checks
// the status (a failure per refused object, naming the rule) and what a
// reader then fetches. It returns the stored objects by id.
func checkPolicy(t *testing.T, w *sgWorld, coll string, cases []polCase) map[string]map[string]any {
	t.Helper()
	var objs []string
	for _, c := range cases {
		objs = append(objs, c.object)
	}
	st := w.publish(t, sgBasic(polPublisher, sgPassword(polPublisher)), polObjects(coll), objs...)
	succeeded := map[string]bool{}
	for _, s := range st.Successes {
		succeeded[s.ID] = true
	}
	failed := map[string]string{}
	for _, f := range st.Failures {
		failed[f.ID] = f.Message
	}
	for _, c := range cases {
		switch {
		case c.stored && !succeeded[c.id]:
			t.Errorf("%s: refused (%q), want stored", c.name, failed[c.id])
		case !c.stored && succeeded[c.id]:
			t.Errorf("%s: stored, want refused by %s", c.name, c.rule)
		case !c.stored && !strings.Contains(failed[c.id], "("+c.rule+")"):
			t.Errorf("%s: failure %q, want one naming the rule %s", c.name, failed[c.id], c.rule)
		}
	}
	got := map[string]map[string]any{}
	for _, raw := range w.fetch(t, sgBasic(polReader, sgPassword(polReader)), polObjects(coll)) {
		var o map[string]any
		if err := json.Unmarshal(raw, &o); err != nil {
			t.Fatal(err)
		}
		got[o["id"].(string)] = o
	}
	for _, c := range cases {
		if _, ok := got[c.id]; ok != c.stored {
			t.Errorf("%s: served to a reader: %v, want %v", c.name, ok, c.stored)
		}
	}
	return got
}

// Ensure that tlp_ceiling refuses objects marked above it and stores those
// marked at or below it, for each level, with TLP 1.0 and 2.0 ids, in
// object_marking_refs or in a granular marking; the most restrictive
// marking counts; unmarked objects and the TLP marking definitions
// themselves pass.
func TestPolicy_TLPCeiling(t *testing.T) {
	w := newPolicyWorld(t)
	for ceiling := 1; ceiling < len(polLevels); ceiling++ {
		t.Run(polLevels[ceiling], func(t *testing.T) {
			n := ceiling * 1000
			next := func() string { n++; return sgID("indicator", n) }
			var cases []polCase
			for _, m := range polMarkings {
				ok := m.level <= ceiling
				id := next()
				cases = append(cases, polCase{m.name + " object marking", id, objectMarked(id, m.id), ok, "tlp-ceiling"})
				id = next()
				cases = append(cases, polCase{m.name + " granular marking", id, granularMarked(id, m.id), ok, "tlp-ceiling"})
				cases = append(cases, polCase{m.name + " definition", m.id, m.def, true, ""})
			}
			unmarked, mixed1, mixed2, statement := next(), next(), next(), next()
			cases = append(cases,
				polCase{"unmarked", unmarked, sgObject(unmarked, ""), true, ""},
				polCase{"CLEAR object, RED granular", mixed1, sgObject(mixed1, `,"object_marking_refs":["`+tlp2ID(1)+
					`"],"granular_markings":[{"marking_ref":"`+tlp2ID(5)+`","selectors":["pattern"]}]`), ceiling >= 5, "tlp-ceiling"},
				polCase{"TLP 1.0 RED object, WHITE granular", mixed2, sgObject(mixed2, `,"object_marking_refs":["`+polMarkings[3].id+
					`"],"granular_markings":[{"marking_ref":"`+polMarkings[0].id+`","selectors":["name"]}]`), ceiling >= 5, "tlp-ceiling"},
				polCase{"statement marking only", statement, objectMarked(statement, polStatementID), true, ""},
			)
			checkPolicy(t, w, polCeilingColl(ceiling), cases)
		})
	}
}

// Ensure that require_tlp refuses objects without a TLP marking (a
// statement marking is not one), accepts every TLP marking in either
// place, and exempts marking definitions.
func TestPolicy_RequireTLP(t *testing.T) {
	w := newPolicyWorld(t)
	n := 0
	next := func() string { n++; return sgID("indicator", n) }
	var cases []polCase
	for _, m := range polMarkings {
		id := next()
		cases = append(cases, polCase{m.name + " object marking", id, objectMarked(id, m.id), true, ""})
		id = next()
		cases = append(cases, polCase{m.name + " granular marking", id, granularMarked(id, m.id), true, ""})
		cases = append(cases, polCase{m.name + " definition", m.id, m.def, true, ""})
	}
	id1, id2, id3 := next(), next(), next()
	cases = append(cases,
		polCase{"unmarked", id1, sgObject(id1, ""), false, "tlp-required"},
		polCase{"granular language marking only", id2, sgObject(id2, `,"granular_markings":[{"lang":"en","selectors":["name"]}]`), false, "tlp-required"},
		polCase{"statement marking only", id3, objectMarked(id3, polStatementID), false, "tlp-required"},
		polCase{"statement marking definition", polStatementID, polStatement, true, ""},
	)
	checkPolicy(t, w, polRequireColl, cases)
}

// Ensure that default_tlp marks unmarked objects with the TLP 2.0 marking
// of its level (fetched back in object_marking_refs, after any existing
// non-TLP marking), leaves objects that carry a TLP marking as they are,
// and leaves marking definitions unmarked.
func TestPolicy_DefaultTLP(t *testing.T) {
	w := newPolicyWorld(t)
	for level := 1; level < len(polLevels); level++ {
		t.Run(polLevels[level], func(t *testing.T) {
			n := level * 1000
			next := func() string { n++; return sgID("indicator", n) }
			unmarked, statement, tlp1, granular := next(), next(), next(), next()
			got := checkPolicy(t, w, polDefaultColl(level), []polCase{
				{"unmarked", unmarked, sgObject(unmarked, ""), true, ""},
				{"statement marking", statement, objectMarked(statement, polStatementID), true, ""},
				{"TLP 1.0 GREEN", tlp1, objectMarked(tlp1, polMarkings[1].id), true, ""},
				{"granular TLP 2.0 CLEAR", granular, granularMarked(granular, tlp2ID(1)), true, ""},
				{"statement marking definition", polStatementID, polStatement, true, ""},
				{"TLP 2.0 RED definition", polMarkings[8].id, polMarkings[8].def, true, ""},
			})
			for id, want := range map[string][]string{
				unmarked:          {tlp2ID(level)},
				statement:         {polStatementID, tlp2ID(level)},
				tlp1:              {polMarkings[1].id},
				granular:          nil,
				polStatementID:    nil,
				polMarkings[8].id: nil,
			} {
				var refs []string
				if v, ok := got[id]["object_marking_refs"].([]any); ok {
					for _, r := range v {
						refs = append(refs, r.(string))
					}
				}
				if !slices.Equal(refs, want) {
					t.Errorf("%s: object_marking_refs %q, want %q", id, refs, want)
				}
			}
			// Get Object serves the marked version too.
			objs := w.fetch(t, sgBasic(polReader, sgPassword(polReader)), polObjects(polDefaultColl(level))+unmarked+"/")
			if len(objs) != 1 || !strings.Contains(string(objs[0]), `"object_marking_refs":["`+tlp2ID(level)+`"]`) {
				t.Errorf("get object: %s", objs)
			}
		})
	}
}

// Ensure that an anonymized collection replaces the publishing
// organization's identity by the group's wherever it appears
// (created_by_ref, where_sighted_refs, object_refs), gives every SDO and
// SRO the group as creator, refuses the organization's own identity object
// and any object that would still name it, so that nothing a reader can
// fetch (objects, manifest, get object, versions) names the publisher;
// while the audit log still does.
func TestPolicy_Anonymize(t *testing.T) {
	w := newPolicyWorld(t)
	var orgIdentity, groupIdentity string
	d := w.directory(t)
	for _, o := range d.Organizations {
		if o.Name == polOrg {
			orgIdentity = o.IdentityID
		}
	}
	for _, g := range d.Groups {
		groupIdentity = g.IdentityID
	}
	if !strings.HasPrefix(orgIdentity, "identity--") || !strings.HasPrefix(groupIdentity, "identity--") || orgIdentity == groupIdentity {
		t.Fatalf("identities: organization %q, group %q", orgIdentity, groupIdentity)
	}

	ind1, ind2, sighting, note, desc, rel := sgID("indicator", 1), sgID("indicator", 2), sgID("sighting", 3), sgID("note", 4), sgID("indicator", 5), sgID("relationship", 6)
	const ts = `"created":"2024-02-01T00:00:00.000Z","modified":"2024-02-01T00:00:00.000Z"`
	orgIdentityObject := `{"type":"identity","spec_version":"2.1","id":"` + orgIdentity + `",` + ts + `,"name":"` + polOrgTitle + `","identity_class":"organization"}`
	cases := []polCase{
		{"created_by_ref", ind1, sgObject(ind1, `,"created_by_ref":"`+orgIdentity+`"`), true, ""},
		{"no created_by_ref", ind2, sgObject(ind2, ""), true, ""},
		{"sighting", sighting, `{"type":"sighting","spec_version":"2.1","id":"` + sighting + `",` + ts + `,"created_by_ref":"` + orgIdentity + `","sighting_of_ref":"` + ind1 + `","where_sighted_refs":["` + orgIdentity + `"],"count":3}`, true, ""},
		{"note", note, `{"type":"note","spec_version":"2.1","id":"` + note + `",` + ts + `,"created_by_ref":"` + orgIdentity + `","content":"Seen at our precincts","object_refs":["` + orgIdentity + `","` + ind1 + `"]}`, true, ""},
		{"relationship to the identity", rel, `{"type":"relationship","spec_version":"2.1","id":"` + rel + `",` + ts + `,"relationship_type":"targets","source_ref":"` + ind1 + `","target_ref":"` + orgIdentity + `"}`, true, ""},
		{"the organization's identity object", orgIdentity, orgIdentityObject, false, "anonymize"},
		{"the organization's identity object, upper-cased", upperUUID(orgIdentity), strings.Replace(orgIdentityObject, orgIdentity, upperUUID(orgIdentity), 1), false, "id"},
		{"created_by_ref upper-cased", sgID("indicator", 7), sgObject(sgID("indicator", 7), `,"created_by_ref":"`+upperUUID(orgIdentity)+`"`), false, "ref-uuid"},
		{"the group's identity object", groupIdentity, strings.Replace(orgIdentityObject, orgIdentity, groupIdentity, 1), false, "reserved-identity"},
		{"identity inside a description", desc, sgObject(desc, `,"description":"reported by `+orgIdentity+` on Monday"`), false, "policy"},
	}
	objs := checkPolicy(t, w, polAnonColl, cases)
	for _, id := range []string{ind1, ind2, sighting, note, rel} {
		if got := objs[id]["created_by_ref"]; got != groupIdentity {
			t.Errorf("%s: created_by_ref %v, want the group's identity %s", id, got, groupIdentity)
		}
	}
	if got := fmt.Sprint(objs[sighting]["where_sighted_refs"]); got != "["+groupIdentity+"]" {
		t.Errorf("where_sighted_refs %s, want [%s]", got, groupIdentity)
	}
	if got := fmt.Sprint(objs[note]["object_refs"]); got != "["+groupIdentity+" "+ind1+"]" {
		t.Errorf("note object_refs %s", got)
	}
	if got := objs[rel]["target_ref"]; got != groupIdentity {
		t.Errorf("relationship target_ref %v", got)
	}

	// Everything a reader can fetch, with the organization's traces
	// searched for in bodies and headers.
	reader := sgBasic(polReader, sgPassword(polReader))
	coll := polRoot + "collections/" + polAnonColl + "/"
	targets := []string{coll + "objects/", coll + "manifest/", coll + "objects/?match[version]=all", polRoot + "collections/", coll}
	for _, id := range []string{ind1, ind2, sighting, note, rel} {
		targets = append(targets, coll+"objects/"+id+"/", coll+"objects/"+id+"/versions/")
	}
	for _, target := range targets {
		rec := w.req(t, http.MethodGet, target, "", reader)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: %d %s", target, rec.Code, rec.Body)
			continue
		}
		text := rec.Body.String()
		for k, vs := range rec.Header() {
			text += "\n" + k + ": " + strings.Join(vs, ",")
		}
		for _, trace := range []string{orgIdentity, strings.TrimPrefix(orgIdentity, "identity--"), polOrg, polOrgTitle, polPublisher} {
			if strings.Contains(strings.ToLower(text), strings.ToLower(trace)) {
				t.Errorf("GET %s names the publisher (%q):\n%s", target, trace, text)
			}
		}
	}

	// The audit log keeps who published.
	rows := w.audit(t, store.AuditQuery{Action: "publish", Collection: polAnonColl})
	if len(rows) != 1 {
		t.Fatalf("publish rows %+v, want 1", rows)
	}
	if r := rows[0]; r.Account != polPublisher || r.Organization != polOrg || r.Count != 5 {
		t.Errorf("publish row %+v, want account %s, organization %s, 5 objects", r, polPublisher, polOrg)
	}
}

// Ensure that the identities the server made stand only for their owners
// (issue 9): in a collection that does not anonymize, a member may publish
// its own organization's identity object, but not another organization's
// or a sharing group's; an upper-cased copy of an id is refused as STIX
// (ids are lower-case) before the policy sees it.
func TestPolicy_ServerIdentities(t *testing.T) {
	w := newPolicyWorld(t)
	ids := map[string]string{}
	d := w.directory(t)
	for _, o := range d.Organizations {
		ids[o.Name] = o.IdentityID
	}
	for _, g := range d.Groups {
		ids["group"] = g.IdentityID
	}
	identity := func(id string) string {
		return `{"type":"identity","spec_version":"2.1","id":"` + id + `","created":"2024-02-01T00:00:00.000Z","modified":"2024-02-01T00:00:00.000Z","name":"Someone","identity_class":"organization"}`
	}
	own, other, group := ids[polOrg], ids[polOtherOrg], ids["group"]
	checkPolicy(t, w, polCeilingColl(len(polLevels)-1), []polCase{
		{"own organization", own, identity(own), true, ""},
		{"another organization", other, identity(other), false, "reserved-identity"},
		{"another organization, upper-cased", upperUUID(other), identity(upperUUID(other)), false, "id"},
		{"the sharing group", group, identity(group), false, "reserved-identity"},
	})
}

// upperUUID upper-cases the UUID part of a STIX id.
func upperUUID(id string) string {
	typ, u, _ := strings.Cut(id, "--")
	return typ + "--" + strings.ToUpper(u)
}
