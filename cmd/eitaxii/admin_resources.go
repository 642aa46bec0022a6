package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The shapes of the admin API's resources, as far as the tables need them.
// --json prints the server's JSON as is, so fields missing here are not lost.

type adminOrg struct {
	Name       string    `json:"name"`
	Title      string    `json:"title"`
	IdentityID string    `json:"identity_id"`
	Created    time.Time `json:"created"`
}

type adminRateLimit struct {
	PerSecond float64 `json:"per_second"`
	Burst     int     `json:"burst"`
}

type adminAccount struct {
	Name         string          `json:"name"`
	Organization string          `json:"organization"`
	Kind         string          `json:"kind"`
	Disabled     bool            `json:"disabled"`
	Superadmin   bool            `json:"superadmin"`
	OrgAdmin     bool            `json:"org_admin"`
	Certificates []string        `json:"certificates"`
	RateLimit    *adminRateLimit `json:"rate_limit"`
	Created      time.Time       `json:"created"`
	HasPassword  bool            `json:"has_password"`
}

type adminToken struct {
	ID       string    `json:"id"`
	Account  string    `json:"account"`
	Name     string    `json:"name"`
	Token    string    `json:"token"` // only in the answer to create
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires"`
	LastUsed time.Time `json:"last_used"`
	Revoked  bool      `json:"revoked"`
}

type adminGroup struct {
	Name             string            `json:"name"`
	Title            string            `json:"title"`
	Description      string            `json:"description"`
	MaxContentLength int64             `json:"max_content_length"`
	IdentityID       string            `json:"identity_id"`
	Members          map[string]string `json:"members"`
	Created          time.Time         `json:"created"`
}

type adminPolicy struct {
	TLPCeiling string `json:"tlp_ceiling,omitempty"`
	RequireTLP bool   `json:"require_tlp,omitempty"`
	DefaultTLP string `json:"default_tlp,omitempty"`
	Anonymize  bool   `json:"anonymize,omitempty"`
	ReadRole   string `json:"read_role,omitempty"`
	WriteRole  string `json:"write_role,omitempty"`
}

type adminCollection struct {
	ID          string      `json:"id"`
	APIRoot     string      `json:"api_root"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Alias       string      `json:"alias"`
	Policy      adminPolicy `json:"policy"`
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// show prints data as JSON with --json, else calls table.
func (a *adminCmd) show(data []byte, table func()) {
	if a.json {
		a.printJSON(data)
		return
	}
	table()
}

// deleted reports a deletion (204, no body) to people; scripts get nothing.
func (a *adminCmd) deleted(what string) {
	if !a.json {
		fmt.Fprintf(a.e.stdout, "deleted %s\n", what)
	}
}

func unknownVerb(resource, verb string) error {
	return usagef(resource, "%s: unknown verb %q", resource, verb)
}

// me implements `admin me`.
func (a *adminCmd) me(args []string) error {
	fs := newAdminFlagSet("me")
	a.globalFlags(fs, true)
	if _, err := a.parseVerb(fs, "me", args, 0, 0); err != nil {
		return err
	}
	var me struct {
		Account      adminAccount      `json:"account"`
		Organization adminOrg          `json:"organization"`
		Groups       map[string]string `json:"groups"`
	}
	data, err := a.call(http.MethodGet, adminPath("me"), nil, nil, &me)
	if err != nil {
		return err
	}
	a.show(data, func() {
		var groups []string
		for _, g := range sortedKeys(me.Groups) {
			groups = append(groups, g+" ("+me.Groups[g]+")")
		}
		org := me.Organization.Name
		if me.Organization.Title != "" {
			org += " (" + me.Organization.Title + ")"
		}
		a.fields("account", me.Account.Name, "kind", me.Account.Kind, "organization", org,
			"superadmin", yesNo(me.Account.Superadmin), "org admin", yesNo(me.Account.OrgAdmin),
			"groups", strings.Join(groups, ", "))
	})
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// orgs implements `admin orgs VERB`.
func (a *adminCmd) orgs(verb string, args []string) error {
	const res = "orgs"
	fs := newAdminFlagSet(verb)
	a.globalFlags(fs, true)
	title := fs.String("title", "", "title")
	var pos []string
	var err error
	switch verb {
	case "list":
		pos, err = a.parseVerb(fs, res, args, 0, 0)
	case "show", "create", "update", "delete":
		pos, err = a.parseVerb(fs, res, args, 1, 1)
	default:
		return unknownVerb(res, verb)
	}
	if err != nil {
		return err
	}
	set := visited(fs)
	if set["title"] && verb != "create" && verb != "update" {
		return usagef(res, "orgs %s: --title is only for create and update", verb)
	}
	var org adminOrg
	var data []byte
	switch verb {
	case "list":
		var list struct {
			Organizations []adminOrg `json:"organizations"`
		}
		if data, err = a.call(http.MethodGet, adminPath("organizations"), nil, nil, &list); err != nil {
			return err
		}
		a.show(data, func() {
			var rows [][]string
			for _, o := range list.Organizations {
				rows = append(rows, []string{o.Name, o.Title, o.IdentityID, when(o.Created)})
			}
			a.table([]string{"NAME", "TITLE", "IDENTITY", "CREATED"}, rows)
		})
		return nil
	case "show":
		data, err = a.call(http.MethodGet, adminPath("organizations", pos[0]), nil, nil, &org)
	case "create":
		data, err = a.call(http.MethodPost, adminPath("organizations"), nil, map[string]any{"name": pos[0], "title": *title}, &org)
	case "update":
		if !set["title"] {
			return usagef(res, "orgs update: nothing to change (--title)")
		}
		data, err = a.call(http.MethodPatch, adminPath("organizations", pos[0]), nil, map[string]any{"title": *title}, &org)
	case "delete":
		if _, err := a.call(http.MethodDelete, adminPath("organizations", pos[0]), nil, nil, nil); err != nil {
			return err
		}
		a.deleted("organization " + pos[0])
		return nil
	}
	if err != nil {
		return err
	}
	a.show(data, func() {
		a.fields("name", org.Name, "title", org.Title, "identity", org.IdentityID, "created", when(org.Created))
	})
	return nil
}

// accounts implements `admin accounts VERB`.
func (a *adminCmd) accounts(verb string, args []string) error {
	const res = "accounts"
	fs := newAdminFlagSet(verb)
	edit := verb == "create" || verb == "update"
	// For create and update, --password-stdin is the account's new
	// password; yours then comes from EITAXII_PASSWORD or a token.
	a.globalFlags(fs, !edit)
	org := fs.String("org", "", "organization")
	kind := fs.String("kind", "", "person or machine")
	superadmin := fs.Bool("superadmin", false, "superadmin")
	orgAdmin := fs.Bool("org-admin", false, "organization admin")
	disable := fs.Bool("disable", false, "disable")
	enable := fs.Bool("enable", false, "enable")
	var newPassword bool
	if edit {
		fs.BoolVar(&newPassword, "password-stdin", false, "new password on stdin")
	}
	var fingerprints, certFiles, removeCerts stringList
	fs.Var(&fingerprints, "cert-fingerprint", "SHA-256 fingerprint")
	fs.Var(&certFiles, "cert-file", "PEM certificate")
	fs.Var(&removeCerts, "remove-cert", "SHA-256 fingerprint")
	rate := fs.Float64("rate", 0, "requests per second")
	burst := fs.Int("burst", 0, "burst")
	defaultRate := fs.Bool("default-rate", false, "the server's default rate limit")
	noPassword := fs.Bool("no-password", false, "remove the password")

	var pos []string
	var err error
	switch verb {
	case "list":
		pos, err = a.parseVerb(fs, res, args, 0, 0)
	case "show", "create", "update", "delete":
		pos, err = a.parseVerb(fs, res, args, 1, 1)
	default:
		return unknownVerb(res, verb)
	}
	if err != nil {
		return err
	}
	set := visited(fs)
	for _, name := range []string{"kind", "superadmin", "org-admin", "disable", "enable", "cert-fingerprint", "cert-file", "remove-cert", "rate", "burst", "default-rate", "no-password"} {
		if set[name] && !edit {
			return usagef(res, "accounts %s: --%s is only for create and update", verb, name)
		}
	}
	switch {
	case set["org"] && verb == "update":
		return usagef(res, "accounts update: an account's organization cannot be changed; create a new account")
	case set["org"] && verb != "create" && verb != "list":
		return usagef(res, "accounts %s: --org is only for list and create", verb)
	case verb == "create" && (set["remove-cert"] || set["default-rate"] || set["no-password"]):
		return usagef(res, "accounts create: --remove-cert, --default-rate and --no-password are only for update")
	case *noPassword && newPassword:
		return usagef(res, "accounts update: --password-stdin or --no-password, not both")
	case *defaultRate && set["rate"]:
		return usagef(res, "accounts update: --rate or --default-rate, not both")
	case *disable && *enable:
		return usagef(res, "accounts %s: --disable or --enable, not both", verb)
	case set["burst"] && !set["rate"]:
		return usagef(res, "accounts %s: --burst needs --rate", verb)
	case *rate < 0 || *burst < 0:
		return usagef(res, "accounts %s: --rate and --burst must not be negative", verb)
	}

	var acct adminAccount
	var data []byte
	switch verb {
	case "list":
		var q url.Values
		if *org != "" {
			q = url.Values{"organization": {*org}}
		}
		var list struct {
			Accounts []adminAccount `json:"accounts"`
		}
		if data, err = a.call(http.MethodGet, adminPath("accounts"), q, nil, &list); err != nil {
			return err
		}
		a.show(data, func() {
			var rows [][]string
			for _, x := range list.Accounts {
				status := "active"
				if x.Disabled {
					status = "disabled"
				}
				rows = append(rows, []string{x.Name, x.Organization, x.Kind, adminRoles(&x), status,
					yesNo(x.HasPassword), strconv.Itoa(len(x.Certificates)), rateText(x.RateLimit), when(x.Created)})
			}
			a.table([]string{"NAME", "ORGANIZATION", "KIND", "ADMIN", "STATUS", "PASSWORD", "CERTS", "RATE LIMIT", "CREATED"}, rows)
		})
		return nil
	case "show":
		data, err = a.call(http.MethodGet, adminPath("accounts", pos[0]), nil, nil, &acct)
	case "delete":
		if _, err := a.call(http.MethodDelete, adminPath("accounts", pos[0]), nil, nil, nil); err != nil {
			return err
		}
		a.deleted("account " + pos[0])
		return nil
	case "create", "update":
		body := map[string]any{}
		if verb == "create" {
			body["name"] = pos[0]
			if *org != "" {
				// Without it, an organization admin creates in its own.
				body["organization"] = *org
			}
		}
		if set["kind"] {
			body["kind"] = *kind
		}
		if set["superadmin"] {
			body["superadmin"] = *superadmin
		}
		if set["org-admin"] {
			body["org_admin"] = *orgAdmin
		}
		if *disable || *enable {
			body["disabled"] = *disable
		}
		if set["rate"] {
			b := *burst
			if !set["burst"] {
				b = max(1, int(math.Ceil(*rate)))
			}
			body["rate_limit"] = adminRateLimit{PerSecond: *rate, Burst: b}
		}
		if *defaultRate {
			body["rate_limit"] = nil
		}
		if *noPassword {
			body["password"] = nil
		}
		// Plain assignments: a := here would shadow the err checked
		// after the switch, and a refused request would look done.
		var add, remove []string
		if add, err = certFingerprints(fingerprints, certFiles); err != nil {
			return err
		}
		if remove, err = certFingerprints(removeCerts, nil); err != nil {
			return err
		}
		// Connect first: your own password may come from standard input
		// only when the new one does not.
		if newPassword && a.passwordStdin {
			return usagef(res, "accounts %s: standard input can hold one password: give yours in EITAXII_PASSWORD or use a token", verb)
		}
		if err := a.connect(); err != nil {
			return err
		}
		if newPassword {
			p, err := readPassword(a.e.stdin)
			if err != nil {
				return err
			}
			body["password"] = p
		}
		if verb == "create" {
			if len(add) > 0 {
				body["certificates"] = add
			}
			data, err = a.call(http.MethodPost, adminPath("accounts"), nil, body, &acct)
			break
		}
		if len(add) > 0 || len(remove) > 0 {
			// The API replaces the whole list: read it, then add and
			// remove.
			var cur adminAccount
			if _, err := a.call(http.MethodGet, adminPath("accounts", pos[0]), nil, nil, &cur); err != nil {
				return err
			}
			certs := slices.DeleteFunc(slices.Clone(cur.Certificates), func(fp string) bool {
				return slices.Contains(remove, normalizeFingerprint(fp))
			})
			for _, fp := range add {
				if !slices.ContainsFunc(certs, func(c string) bool { return normalizeFingerprint(c) == fp }) {
					certs = append(certs, fp)
				}
			}
			body["certificates"] = certs
		}
		if len(body) == 0 {
			return usagef(res, "accounts update: nothing to change")
		}
		data, err = a.call(http.MethodPatch, adminPath("accounts", pos[0]), nil, body, &acct)
	}
	if err != nil {
		return err
	}
	a.show(data, func() {
		status := "active"
		if acct.Disabled {
			status = "disabled"
		}
		a.fields("name", acct.Name, "organization", acct.Organization, "kind", acct.Kind, "status", status,
			"superadmin", yesNo(acct.Superadmin), "org admin", yesNo(acct.OrgAdmin), "password", yesNo(acct.HasPassword),
			"certificates", strings.Join(acct.Certificates, " "), "rate limit", rateText(acct.RateLimit), "created", when(acct.Created))
	})
	return nil
}

func adminRoles(x *adminAccount) string {
	var r []string
	if x.Superadmin {
		r = append(r, "superadmin")
	}
	if x.OrgAdmin {
		r = append(r, "org-admin")
	}
	return strings.Join(r, ",")
}

func rateText(r *adminRateLimit) string {
	if r == nil {
		return "default"
	}
	if r.PerSecond == 0 {
		return "unlimited"
	}
	return strconv.FormatFloat(r.PerSecond, 'f', -1, 64) + "/s burst " + strconv.Itoa(r.Burst)
}

// normalizeFingerprint writes a SHA-256 fingerprint as the server's
// configuration does: lowercase hex, no colons (as `openssl x509
// -fingerprint -sha256` prints them).
func normalizeFingerprint(fp string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(fp), ":", ""))
}

// certFingerprints normalizes fingerprints and adds those of the leaf
// certificates in PEM files.
func certFingerprints(fps, files []string) ([]string, error) {
	var out []string
	for _, fp := range fps {
		n := normalizeFingerprint(fp)
		if b, err := hex.DecodeString(n); err != nil || len(b) != sha256.Size {
			return nil, usagef("accounts", "%q is not a SHA-256 fingerprint (64 hex digits, colons allowed)", fp)
		}
		out = append(out, n)
	}
	for _, name := range files {
		fp, err := pemFingerprint(name)
		if err != nil {
			return nil, err
		}
		out = append(out, fp)
	}
	return out, nil
}

// pemFingerprint returns the SHA-256 fingerprint of the first certificate
// in a PEM file: the leaf, when the file holds a chain.
func pemFingerprint(name string) (string, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("--cert-file: %w", err)
	}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return "", fmt.Errorf("--cert-file: %s holds no PEM certificate", name)
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return "", fmt.Errorf("--cert-file: %s: %w", name, err)
		}
		sum := sha256.Sum256(block.Bytes)
		return hex.EncodeToString(sum[:]), nil
	}
}

// tokens implements `admin tokens VERB`.
func (a *adminCmd) tokens(verb string, args []string) error {
	const res = "tokens"
	fs := newAdminFlagSet(verb)
	a.globalFlags(fs, true)
	name := fs.String("name", "", "token name")
	expiresIn := fs.String("expires-in", "", "lifetime")
	all := fs.Bool("all", false, "revoke every token of the account")
	var pos []string
	var err error
	switch verb {
	case "list", "create":
		pos, err = a.parseVerb(fs, res, args, 1, 1)
	case "revoke":
		pos, err = a.parseVerb(fs, res, args, 1, 2)
	default:
		return unknownVerb(res, verb)
	}
	if err != nil {
		return err
	}
	set := visited(fs)
	if (set["name"] || set["expires-in"]) && verb != "create" {
		return usagef(res, "tokens %s: --name and --expires-in are only for create", verb)
	}
	if set["all"] && verb != "revoke" {
		return usagef(res, "tokens %s: --all is only for revoke", verb)
	}
	if verb == "revoke" && *all == (len(pos) == 2) {
		return usagef(res, "tokens revoke: give a token id or --all, not both")
	}
	switch verb {
	case "list":
		var list struct {
			Tokens []adminToken `json:"tokens"`
		}
		data, err := a.call(http.MethodGet, adminPath("accounts", pos[0], "tokens"), nil, nil, &list)
		if err != nil {
			return err
		}
		now := time.Now()
		a.show(data, func() {
			var rows [][]string
			for _, t := range list.Tokens {
				status := "active"
				switch {
				case t.Revoked:
					status = "revoked"
				case !t.Expires.IsZero() && !now.Before(t.Expires):
					status = "expired"
				}
				rows = append(rows, []string{t.ID, t.Name, status, when(t.Created), when(t.Expires), when(t.LastUsed)})
			}
			a.table([]string{"ID", "NAME", "STATUS", "CREATED", "EXPIRES", "LAST USED"}, rows)
		})
	case "create":
		if *name == "" {
			return usagef(res, "tokens create: --name is required")
		}
		body := map[string]any{"name": *name}
		if *expiresIn != "" {
			d, err := parseAge(*expiresIn)
			if err != nil || d == 0 {
				return usagef(res, "tokens create: --expires-in: %q is not a duration such as 720h or 30d", *expiresIn)
			}
			body["expires_in"] = d.String()
		}
		var tok adminToken
		data, err := a.call(http.MethodPost, adminPath("accounts", pos[0], "tokens"), nil, body, &tok)
		if err != nil {
			return err
		}
		a.show(data, func() {
			a.fields("token", tok.Token, "id", tok.ID, "account", pos[0], "name", tok.Name, "expires", when(tok.Expires))
		})
		fmt.Fprintln(a.e.stderr, "Copy the token now: it is not shown again (the server keeps only its hash).")
	case "revoke":
		if *all {
			var res struct {
				Revoked int `json:"revoked"`
			}
			data, err := a.call(http.MethodDelete, adminPath("accounts", pos[0], "tokens"), nil, nil, &res)
			if err != nil {
				return err
			}
			a.show(data, func() {
				fmt.Fprintf(a.e.stdout, "revoked %d tokens of %s\n", res.Revoked, pos[0])
			})
			return nil
		}
		if _, err := a.call(http.MethodDelete, adminPath("accounts", pos[0], "tokens", pos[1]), nil, nil, nil); err != nil {
			return err
		}
		if !a.json {
			fmt.Fprintf(a.e.stdout, "revoked token %s of %s\n", pos[1], pos[0])
		}
	}
	return nil
}

// groups implements `admin groups VERB`.
func (a *adminCmd) groups(verb string, args []string) error {
	const res = "groups"
	fs := newAdminFlagSet(verb)
	a.globalFlags(fs, true)
	title := fs.String("title", "", "title")
	description := fs.String("description", "", "description")
	maxContent := fs.Int64("max-content-length", 0, "bytes")
	var pos []string
	var err error
	switch verb {
	case "list":
		pos, err = a.parseVerb(fs, res, args, 0, 0)
	case "show", "create", "update", "delete":
		pos, err = a.parseVerb(fs, res, args, 1, 1)
	default:
		return unknownVerb(res, verb)
	}
	if err != nil {
		return err
	}
	set := visited(fs)
	if (set["title"] || set["description"] || set["max-content-length"]) && verb != "create" && verb != "update" {
		return usagef(res, "groups %s: --title, --description and --max-content-length are only for create and update", verb)
	}
	if *maxContent < 0 {
		return usagef(res, "groups %s: --max-content-length must be a positive number of bytes", verb)
	}
	var g adminGroup
	var data []byte
	switch verb {
	case "list":
		var list struct {
			Groups []adminGroup `json:"groups"`
		}
		if data, err = a.call(http.MethodGet, adminPath("groups"), nil, nil, &list); err != nil {
			return err
		}
		a.show(data, func() {
			var rows [][]string
			for _, g := range list.Groups {
				rows = append(rows, []string{g.Name, g.Title, strconv.Itoa(len(g.Members)), strconv.FormatInt(g.MaxContentLength, 10), when(g.Created)})
			}
			a.table([]string{"NAME", "TITLE", "MEMBERS", "MAX CONTENT LENGTH", "CREATED"}, rows)
		})
		return nil
	case "show":
		data, err = a.call(http.MethodGet, adminPath("groups", pos[0]), nil, nil, &g)
	case "delete":
		if _, err := a.call(http.MethodDelete, adminPath("groups", pos[0]), nil, nil, nil); err != nil {
			return err
		}
		a.deleted("group " + pos[0])
		return nil
	case "create", "update":
		body := map[string]any{}
		if verb == "create" {
			body["name"] = pos[0]
		}
		if set["title"] {
			body["title"] = *title
		}
		if set["description"] {
			body["description"] = *description
		}
		if set["max-content-length"] {
			body["max_content_length"] = *maxContent
		}
		if verb == "create" {
			data, err = a.call(http.MethodPost, adminPath("groups"), nil, body, &g)
			break
		}
		if len(body) == 0 {
			return usagef(res, "groups update: nothing to change")
		}
		data, err = a.call(http.MethodPatch, adminPath("groups", pos[0]), nil, body, &g)
	}
	if err != nil {
		return err
	}
	a.show(data, func() {
		var members []string
		for _, m := range sortedKeys(g.Members) {
			members = append(members, m+" ("+g.Members[m]+")")
		}
		a.fields("name", g.Name, "title", g.Title, "description", g.Description,
			"max content length", strconv.FormatInt(g.MaxContentLength, 10), "identity", g.IdentityID,
			"members", strings.Join(members, ", "), "created", when(g.Created))
	})
	return nil
}

// members implements `admin members VERB`.
func (a *adminCmd) members(verb string, args []string) error {
	const res = "members"
	fs := newAdminFlagSet(verb)
	a.globalFlags(fs, true)
	var pos []string
	var err error
	switch verb {
	case "list":
		pos, err = a.parseVerb(fs, res, args, 1, 1)
	case "set":
		pos, err = a.parseVerb(fs, res, args, 3, 3)
	case "remove":
		pos, err = a.parseVerb(fs, res, args, 2, 2)
	default:
		return unknownVerb(res, verb)
	}
	if err != nil {
		return err
	}
	var g adminGroup
	var data []byte
	switch verb {
	case "list":
		data, err = a.call(http.MethodGet, adminPath("groups", pos[0]), nil, nil, &g)
	case "set":
		data, err = a.call(http.MethodPut, adminPath("groups", pos[0], "members", pos[1]), nil, map[string]any{"role": pos[2]}, &g)
	case "remove":
		data, err = a.call(http.MethodDelete, adminPath("groups", pos[0], "members", pos[1]), nil, nil, &g)
	}
	if err != nil {
		return err
	}
	// The API answers with the group, which --json prints whole.
	a.show(data, func() {
		var rows [][]string
		for _, m := range sortedKeys(g.Members) {
			rows = append(rows, []string{m, g.Members[m]})
		}
		a.table([]string{"ACCOUNT", "ROLE"}, rows)
	})
	return nil
}

// collections implements `admin collections VERB`.
func (a *adminCmd) collections(verb string, args []string) error {
	const res = "collections"
	fs := newAdminFlagSet(verb)
	a.globalFlags(fs, true)
	title := fs.String("title", "", "title")
	alias := fs.String("alias", "", "alias")
	description := fs.String("description", "", "description")
	var p adminPolicy
	fs.StringVar(&p.TLPCeiling, "tlp-ceiling", "", "TLP level")
	fs.BoolVar(&p.RequireTLP, "require-tlp", false, "require a TLP marking")
	fs.StringVar(&p.DefaultTLP, "default-tlp", "", "TLP level")
	fs.BoolVar(&p.Anonymize, "anonymize", false, "anonymize publishers")
	fs.StringVar(&p.ReadRole, "read-role", "", "role")
	fs.StringVar(&p.WriteRole, "write-role", "", "role")
	var pos []string
	var err error
	switch verb {
	case "list":
		pos, err = a.parseVerb(fs, res, args, 1, 1)
	case "create":
		pos, err = a.parseVerb(fs, res, args, 1, 2)
	case "show", "update", "delete":
		pos, err = a.parseVerb(fs, res, args, 2, 2)
	default:
		return unknownVerb(res, verb)
	}
	if err != nil {
		return err
	}
	set := visited(fs)
	policyFlags := []string{"tlp-ceiling", "require-tlp", "default-tlp", "anonymize", "read-role", "write-role"}
	policySet := false
	for _, f := range policyFlags {
		policySet = policySet || set[f]
	}
	if (policySet || set["title"] || set["alias"] || set["description"]) && verb != "create" && verb != "update" {
		return usagef(res, "collections %s: collection flags are only for create and update", verb)
	}
	var c adminCollection
	var data []byte
	switch verb {
	case "list":
		var list struct {
			Collections []adminCollection `json:"collections"`
		}
		if data, err = a.call(http.MethodGet, adminPath("groups", pos[0], "collections"), nil, nil, &list); err != nil {
			return err
		}
		a.show(data, func() {
			var rows [][]string
			for _, c := range list.Collections {
				rows = append(rows, []string{c.ID, c.Alias, c.Title, roleOr(c.Policy.ReadRole, "reader"), roleOr(c.Policy.WriteRole, "publisher"), policyText(&c.Policy)})
			}
			a.table([]string{"ID", "ALIAS", "TITLE", "READ", "WRITE", "POLICY"}, rows)
		})
		return nil
	case "show":
		data, err = a.call(http.MethodGet, adminPath("groups", pos[0], "collections", pos[1]), nil, nil, &c)
	case "delete":
		if _, err := a.call(http.MethodDelete, adminPath("groups", pos[0], "collections", pos[1]), nil, nil, nil); err != nil {
			return err
		}
		a.deleted("collection " + pos[1] + " and every object in it")
		return nil
	case "create":
		body := map[string]any{"title": *title}
		if len(pos) == 2 {
			body["id"] = pos[1]
		}
		if *alias != "" {
			body["alias"] = *alias
		}
		if *description != "" {
			body["description"] = *description
		}
		if policySet {
			body["policy"] = p
		}
		data, err = a.call(http.MethodPost, adminPath("groups", pos[0], "collections"), nil, body, &c)
	case "update":
		body := map[string]any{}
		if set["title"] {
			body["title"] = *title
		}
		if set["alias"] {
			body["alias"] = *alias
		}
		if set["description"] {
			body["description"] = *description
		}
		if policySet {
			// The API replaces the whole policy: change only what the
			// flags name in the current one.
			var cur adminCollection
			if _, err := a.call(http.MethodGet, adminPath("groups", pos[0], "collections", pos[1]), nil, nil, &cur); err != nil {
				return err
			}
			np := cur.Policy
			if set["tlp-ceiling"] {
				np.TLPCeiling = p.TLPCeiling
			}
			if set["require-tlp"] {
				np.RequireTLP = p.RequireTLP
			}
			if set["default-tlp"] {
				np.DefaultTLP = p.DefaultTLP
			}
			if set["anonymize"] {
				np.Anonymize = p.Anonymize
			}
			if set["read-role"] {
				np.ReadRole = p.ReadRole
			}
			if set["write-role"] {
				np.WriteRole = p.WriteRole
			}
			body["policy"] = np
		}
		if len(body) == 0 {
			return usagef(res, "collections update: nothing to change")
		}
		data, err = a.call(http.MethodPatch, adminPath("groups", pos[0], "collections", pos[1]), nil, body, &c)
	}
	if err != nil {
		return err
	}
	a.show(data, func() {
		a.fields("id", c.ID, "group", c.APIRoot, "title", c.Title, "alias", c.Alias, "description", c.Description,
			"read role", roleOr(c.Policy.ReadRole, "reader"), "write role", roleOr(c.Policy.WriteRole, "publisher"),
			"policy", policyText(&c.Policy))
	})
	return nil
}

func roleOr(r, def string) string {
	if r == "" {
		return def
	}
	return r
}

// policyText summarizes what a collection enforces on Add Objects.
func policyText(p *adminPolicy) string {
	var parts []string
	if p.TLPCeiling != "" {
		parts = append(parts, "tlp<="+p.TLPCeiling)
	}
	if p.RequireTLP {
		if p.DefaultTLP != "" {
			parts = append(parts, "require-tlp (default "+p.DefaultTLP+")")
		} else {
			parts = append(parts, "require-tlp")
		}
	}
	if p.Anonymize {
		parts = append(parts, "anonymize")
	}
	return strings.Join(parts, ", ")
}

// audit implements `admin audit`: the selected events as JSON lines.
func (a *adminCmd) audit(args []string) error {
	const res = "audit"
	fs := newAdminFlagSet("audit")
	a.globalFlags(fs, true)
	since := fs.String("since", "", "time or age")
	until := fs.String("until", "", "time or age")
	account := fs.String("account", "", "account")
	collection := fs.String("collection", "", "collection id")
	action := fs.String("action", "", "action or prefix")
	limit := fs.Int("limit", 0, "at most this many")
	if _, err := a.parseVerb(fs, res, args, 0, 0); err != nil {
		return err
	}
	now := time.Now()
	q := url.Values{}
	for name, v := range map[string]string{"since": *since, "until": *until} {
		if v == "" {
			continue
		}
		t, err := parseSince(v, now)
		if err != nil {
			return usagef(res, "audit: --%s: %v", name, err)
		}
		q.Set(name, t.UTC().Format(time.RFC3339Nano))
	}
	if *account != "" {
		q.Set("account", *account)
	}
	if *collection != "" {
		q.Set("collection", *collection)
	}
	if *action != "" {
		q.Set("action", *action)
	}
	if visited(fs)["limit"] {
		if *limit < 1 || *limit > 10000 {
			return usagef(res, "audit: --limit must be between 1 and 10000")
		}
		q.Set("limit", strconv.Itoa(*limit))
	}
	var page struct {
		Events []json.RawMessage `json:"events"`
	}
	if _, err := a.call(http.MethodGet, adminPath("audit"), q, nil, &page); err != nil {
		return err
	}
	var buf bytes.Buffer
	for _, ev := range page.Events {
		if err := json.Compact(&buf, ev); err != nil {
			return fmt.Errorf("audit: unexpected event: %w", err)
		}
		buf.WriteByte('\n')
	}
	if _, err := a.e.stdout.Write(buf.Bytes()); err != nil {
		return err
	}
	want := *limit
	if want == 0 {
		want = 1000
	}
	if len(page.Events) >= want {
		fmt.Fprintf(a.e.stderr, "eitaxii admin: %d events, the limit: there may be more; narrow --since/--until or raise --limit\n", len(page.Events))
	}
	return nil
}

var _ flag.Value = (*stringList)(nil)
