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
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eitaxii/eitaxii/client"
)

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// show prints the last answer as JSON with --json, else calls table.
func (a *adminCmd) show(table func()) {
	if a.json {
		a.printJSON(a.raw)
		return
	}
	table()
}

// printOne prints the answer v of a call that returned err.
func printOne[T any](a *adminCmd, v *T, err error, print func(*T)) error {
	if err != nil {
		return err
	}
	a.show(func() { print(v) })
	return nil
}

// printList prints a list answer as a table of one row per item.
func printList[T any](a *adminCmd, list []T, err error, header []string, row func(*T) []string) error {
	if err != nil {
		return err
	}
	a.show(func() {
		var rows [][]string
		for i := range list {
			rows = append(rows, row(&list[i]))
		}
		a.table(header, rows)
	})
	return nil
}

// deleted reports a deletion (204, no body) that returned err to people;
// scripts get nothing.
func (a *adminCmd) deleted(err error, what string) error {
	if err == nil && !a.json {
		fmt.Fprintf(a.e.stdout, "deleted %s\n", what)
	}
	return err
}

func unknownVerb(resource, verb string) error {
	return usagef(resource, "%s: unknown verb %q", resource, verb)
}

// arity is how many positional arguments a verb takes.
type arity struct{ min, max int }

// crudVerbs are the verbs of a resource named by one argument.
var crudVerbs = map[string]arity{"list": {0, 0}, "show": {1, 1}, "create": {1, 1}, "update": {1, 1}, "delete": {1, 1}}

// parseVerbOf parses the arguments of verb, one of verbs, after the
// resource's flags are defined on fs.
func (a *adminCmd) parseVerbOf(fs *flag.FlagSet, resource, verb string, args []string, verbs map[string]arity) ([]string, error) {
	n, ok := verbs[verb]
	if !ok {
		return nil, unknownVerb(resource, verb)
	}
	return a.parseVerb(fs, resource, args, n.min, n.max)
}

// me implements `admin me`.
func (a *adminCmd) me(args []string) error {
	fs := newAdminFlagSet("me")
	a.globalFlags(fs, true)
	if _, err := a.parseVerb(fs, "me", args, 0, 0); err != nil {
		return err
	}
	if err := a.connect(); err != nil {
		return err
	}
	me, err := a.api.Me(a.ctx, a.keep)
	return printOne(a, me, err, func(me *client.Me) {
		var org string
		if o := me.Organization; o != nil {
			org = o.Name
			if o.Title != "" {
				org += " (" + o.Title + ")"
			}
		}
		a.fields("account", me.Account.Name, "kind", me.Account.Kind, "organization", org,
			"superadmin", yesNo(me.Account.Superadmin), "org admin", yesNo(me.Account.OrgAdmin),
			"groups", withRoles(me.Groups))
	})
}

// orgs implements `admin orgs VERB`.
func (a *adminCmd) orgs(verb string, args []string) error {
	const res = "orgs"
	fs := newAdminFlagSet(verb)
	a.globalFlags(fs, true)
	title := fs.String("title", "", "title")
	pos, err := a.parseVerbOf(fs, res, verb, args, crudVerbs)
	if err != nil {
		return err
	}
	set := visited(fs)
	if set["title"] && verb != "create" && verb != "update" {
		return usagef(res, "orgs %s: --title is only for create and update", verb)
	}
	if verb == "update" && !set["title"] {
		return usagef(res, "orgs update: nothing to change (--title)")
	}
	if err := a.connect(); err != nil {
		return err
	}
	var org *client.Organization
	switch verb {
	case "list":
		list, err := a.api.Organizations(a.ctx, a.keep)
		return printList(a, list, err, []string{"NAME", "TITLE", "IDENTITY", "CREATED"}, func(o *client.Organization) []string {
			return []string{o.Name, o.Title, o.IdentityID, when(o.Created)}
		})
	case "show":
		org, err = a.api.Organization(a.ctx, pos[0], a.keep)
	case "create":
		org, err = a.api.CreateOrganization(a.ctx, client.OrganizationBody{Name: &pos[0], Title: title}, a.keep)
	case "update":
		org, err = a.api.UpdateOrganization(a.ctx, pos[0], client.OrganizationPatch{Title: title}, a.keep)
	case "delete":
		return a.deleted(a.api.DeleteOrganization(a.ctx, pos[0]), "organization "+pos[0])
	}
	return printOne(a, org, err, func(o *client.Organization) {
		a.fields("name", o.Name, "title", o.Title, "identity", o.IdentityID, "created", when(o.Created))
	})
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

	pos, err := a.parseVerbOf(fs, res, verb, args, crudVerbs)
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

	if !edit {
		if err := a.connect(); err != nil {
			return err
		}
	}
	var acct *client.Account
	switch verb {
	case "list":
		list, err := a.api.Accounts(a.ctx, *org, a.keep)
		return printList(a, list, err, []string{"NAME", "ORGANIZATION", "KIND", "ADMIN", "STATUS", "PASSWORD", "CERTS", "RATE LIMIT", "CREATED"}, func(x *client.Account) []string {
			return []string{x.Name, x.Organization, x.Kind, adminRoles(x), accountStatus(x),
				yesNo(x.HasPassword), strconv.Itoa(len(x.Certificates)), rateText(x.RateLimit), when(x.Created)}
		})
	case "show":
		acct, err = a.api.Account(a.ctx, pos[0], a.keep)
	case "delete":
		return a.deleted(a.api.DeleteAccount(a.ctx, pos[0]), "account "+pos[0])
	case "create", "update":
		// The fields of both bodies; create adds name and organization.
		var patch client.AccountPatch
		if set["kind"] {
			patch.Kind = kind
		}
		if set["superadmin"] {
			patch.Superadmin = superadmin
		}
		if set["org-admin"] {
			patch.OrgAdmin = orgAdmin
		}
		if *disable || *enable {
			patch.Disabled = disable
		}
		if set["rate"] {
			b := *burst
			if !set["burst"] {
				b = max(1, int(math.Ceil(*rate)))
			}
			patch.RateLimit = client.Some(&client.RateLimit{PerSecond: *rate, Burst: b})
		}
		if *defaultRate {
			patch.RateLimit = client.Null[*client.RateLimit]()
		}
		if *noPassword {
			patch.Password = client.Null[string]()
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
			patch.Password = client.Some(p)
		}
		if verb == "create" {
			body := client.AccountBody{Name: &pos[0], AccountPatch: patch}
			if *org != "" {
				// Without it, an organization admin creates in its own.
				body.Organization = org
			}
			if len(add) > 0 {
				body.Certificates = &add
			}
			acct, err = a.api.CreateAccount(a.ctx, body, a.keep)
			break
		}
		if len(add) > 0 || len(remove) > 0 {
			// The API replaces the whole list: read it, then add and
			// remove.
			cur, err := a.api.Account(a.ctx, pos[0])
			if err != nil {
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
			patch.Certificates = &certs
		}
		if patch == (client.AccountPatch{}) {
			return usagef(res, "accounts update: nothing to change")
		}
		acct, err = a.api.UpdateAccount(a.ctx, pos[0], patch, a.keep)
	}
	return printOne(a, acct, err, func(acct *client.Account) {
		a.fields("name", acct.Name, "organization", acct.Organization, "kind", acct.Kind, "status", accountStatus(acct),
			"superadmin", yesNo(acct.Superadmin), "org admin", yesNo(acct.OrgAdmin), "password", yesNo(acct.HasPassword),
			"certificates", strings.Join(acct.Certificates, " "), "rate limit", rateText(acct.RateLimit), "created", when(acct.Created))
	})
}

func accountStatus(x *client.Account) string {
	if x.Disabled {
		return "disabled"
	}
	return "active"
}

func adminRoles(x *client.Account) string {
	var r []string
	if x.Superadmin {
		r = append(r, "superadmin")
	}
	if x.OrgAdmin {
		r = append(r, "org-admin")
	}
	return strings.Join(r, ",")
}

func rateText(r *client.RateLimit) string {
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
	pos, err := a.parseVerbOf(fs, res, verb, args, map[string]arity{"list": {1, 1}, "create": {1, 1}, "revoke": {1, 2}})
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
	var body client.TokenBody
	if verb == "create" {
		if *name == "" {
			return usagef(res, "tokens create: --name is required")
		}
		body.Name = name
		if *expiresIn != "" {
			d, err := parseAge(*expiresIn)
			if err != nil || d == 0 {
				return usagef(res, "tokens create: --expires-in: %q is not a duration such as 720h or 30d", *expiresIn)
			}
			body.ExpiresIn = new(d.String())
		}
	}
	if err := a.connect(); err != nil {
		return err
	}
	switch verb {
	case "list":
		list, err := a.api.Tokens(a.ctx, pos[0], a.keep)
		now := time.Now()
		return printList(a, list, err, []string{"ID", "NAME", "STATUS", "CREATED", "EXPIRES", "LAST USED"}, func(t *client.Token) []string {
			status := "active"
			switch {
			case t.Revoked:
				status = "revoked"
			case !t.Expires.IsZero() && !now.Before(t.Expires):
				status = "expired"
			}
			return []string{t.ID, t.Name, status, when(t.Created), when(t.Expires), when(t.LastUsed)}
		})
	case "create":
		tok, err := a.api.CreateToken(a.ctx, pos[0], body, a.keep)
		err = printOne(a, tok, err, func(tok *client.NewToken) {
			a.fields("token", tok.Token, "id", tok.ID, "account", pos[0], "name", tok.Name, "expires", when(tok.Expires))
		})
		if err == nil {
			fmt.Fprintln(a.e.stderr, "Copy the token now: it is not shown again (the server keeps only its hash).")
		}
		return err
	case "revoke":
		if *all {
			n, err := a.api.RevokeAllTokens(a.ctx, pos[0], a.keep)
			return printOne(a, &n, err, func(n *int) {
				fmt.Fprintf(a.e.stdout, "revoked %d tokens of %s\n", *n, pos[0])
			})
		}
		if err := a.api.RevokeToken(a.ctx, pos[0], pos[1]); err != nil {
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
	ownDomains := fs.String("own-domains", "", "the group's own domains, comma-separated")
	pos, err := a.parseVerbOf(fs, res, verb, args, crudVerbs)
	if err != nil {
		return err
	}
	set := visited(fs)
	if (set["title"] || set["description"] || set["max-content-length"] || set["own-domains"]) && verb != "create" && verb != "update" {
		return usagef(res, "groups %s: --title, --description, --max-content-length and --own-domains are only for create and update", verb)
	}
	if *maxContent < 0 {
		return usagef(res, "groups %s: --max-content-length must be a positive number of bytes", verb)
	}
	var body client.GroupPatch
	if set["title"] {
		body.Title = title
	}
	if set["description"] {
		body.Description = description
	}
	if set["max-content-length"] {
		body.MaxContentLength = maxContent
	}
	if set["own-domains"] {
		domains := []string{}
		for d := range strings.SplitSeq(*ownDomains, ",") {
			if d = strings.TrimSpace(d); d != "" {
				domains = append(domains, d)
			}
		}
		body.OwnDomains = &domains
	}
	if verb == "update" && body == (client.GroupPatch{}) {
		return usagef(res, "groups update: nothing to change")
	}
	if err := a.connect(); err != nil {
		return err
	}
	var g *client.Group
	switch verb {
	case "list":
		list, err := a.api.Groups(a.ctx, a.keep)
		return printList(a, list, err, []string{"NAME", "TITLE", "MEMBERS", "MAX CONTENT LENGTH", "CREATED"}, func(g *client.Group) []string {
			return []string{g.Name, g.Title, strconv.Itoa(len(g.Members)), strconv.FormatInt(g.MaxContentLength, 10), when(g.Created)}
		})
	case "show":
		g, err = a.api.Group(a.ctx, pos[0], a.keep)
	case "delete":
		return a.deleted(a.api.DeleteGroup(a.ctx, pos[0]), "group "+pos[0])
	case "create":
		g, err = a.api.CreateGroup(a.ctx, client.GroupBody{Name: &pos[0], GroupPatch: body}, a.keep)
	case "update":
		g, err = a.api.UpdateGroup(a.ctx, pos[0], body, a.keep)
	}
	return printOne(a, g, err, func(g *client.Group) {
		a.fields("name", g.Name, "title", g.Title, "description", g.Description,
			"max content length", strconv.FormatInt(g.MaxContentLength, 10), "identity", g.IdentityID,
			"members", withRoles(g.Members), "own domains", strings.Join(g.OwnDomains, ", "), "created", when(g.Created))
	})
}

// members implements `admin members VERB`.
func (a *adminCmd) members(verb string, args []string) error {
	const res = "members"
	fs := newAdminFlagSet(verb)
	a.globalFlags(fs, true)
	pos, err := a.parseVerbOf(fs, res, verb, args, map[string]arity{"list": {1, 1}, "set": {3, 3}, "remove": {2, 2}})
	if err != nil {
		return err
	}
	if err := a.connect(); err != nil {
		return err
	}
	var g *client.Group
	switch verb {
	case "list":
		g, err = a.api.Group(a.ctx, pos[0], a.keep)
	case "set":
		g, err = a.api.SetMember(a.ctx, pos[0], pos[1], client.Role(pos[2]), a.keep)
	case "remove":
		g, err = a.api.RemoveMember(a.ctx, pos[0], pos[1], a.keep)
	}
	// The API answers with the group, which --json prints whole.
	return printOne(a, g, err, func(g *client.Group) {
		var rows [][]string
		for _, m := range slices.Sorted(maps.Keys(g.Members)) {
			rows = append(rows, []string{m, string(g.Members[m])})
		}
		a.table([]string{"ACCOUNT", "ROLE"}, rows)
	})
}

// collections implements `admin collections VERB`.
func (a *adminCmd) collections(verb string, args []string) error {
	const res = "collections"
	fs := newAdminFlagSet(verb)
	a.globalFlags(fs, true)
	title := fs.String("title", "", "title")
	alias := fs.String("alias", "", "alias")
	description := fs.String("description", "", "description")
	var p client.Policy
	fs.StringVar(&p.TLPCeiling, "tlp-ceiling", "", "TLP level")
	fs.BoolVar(&p.RequireTLP, "require-tlp", false, "require a TLP marking")
	fs.StringVar(&p.DefaultTLP, "default-tlp", "", "TLP level")
	fs.BoolVar(&p.Anonymize, "anonymize", false, "anonymize publishers")
	fs.StringVar((*string)(&p.ReadRole), "read-role", "", "role")
	fs.StringVar((*string)(&p.WriteRole), "write-role", "", "role")
	pos, err := a.parseVerbOf(fs, res, verb, args, map[string]arity{"list": {1, 1}, "create": {1, 2}, "show": {2, 2}, "update": {2, 2}, "delete": {2, 2}})
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
	var patch client.CollectionPatch
	if verb == "update" {
		if set["title"] {
			patch.Title = title
		}
		if set["alias"] {
			patch.Alias = alias
		}
		if set["description"] {
			patch.Description = description
		}
		if patch == (client.CollectionPatch{}) && !policySet {
			return usagef(res, "collections update: nothing to change")
		}
	}
	if err := a.connect(); err != nil {
		return err
	}
	var c *client.Collection
	switch verb {
	case "list":
		list, err := a.api.Collections(a.ctx, pos[0], a.keep)
		return printList(a, list, err, []string{"ID", "ALIAS", "TITLE", "READ", "WRITE", "POLICY"}, func(c *client.Collection) []string {
			return []string{c.ID, c.Alias, c.Title, roleOr(c.Policy.ReadRole, "reader"), roleOr(c.Policy.WriteRole, "publisher"), policyText(&c.Policy)}
		})
	case "show":
		c, err = a.api.Collection(a.ctx, pos[0], pos[1], a.keep)
	case "delete":
		return a.deleted(a.api.DeleteCollection(a.ctx, pos[0], pos[1]), "collection "+pos[1]+" and every object in it")
	case "create":
		body := client.CollectionBody{CollectionPatch: client.CollectionPatch{Title: title}}
		if len(pos) == 2 {
			body.ID = &pos[1]
		}
		if *alias != "" {
			body.Alias = alias
		}
		if *description != "" {
			body.Description = description
		}
		if policySet {
			body.Policy = &p
		}
		c, err = a.api.CreateCollection(a.ctx, pos[0], body, a.keep)
	case "update":
		if policySet {
			// The API replaces the whole policy: change only what the
			// flags name in the current one.
			cur, err := a.api.Collection(a.ctx, pos[0], pos[1])
			if err != nil {
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
			patch.Policy = &np
		}
		c, err = a.api.UpdateCollection(a.ctx, pos[0], pos[1], patch, a.keep)
	}
	return printOne(a, c, err, func(c *client.Collection) {
		a.fields("id", c.ID, "group", c.APIRoot, "title", c.Title, "alias", c.Alias, "description", c.Description,
			"read role", roleOr(c.Policy.ReadRole, "reader"), "write role", roleOr(c.Policy.WriteRole, "publisher"),
			"policy", policyText(&c.Policy))
	})
}

func roleOr(r client.Role, def string) string {
	if r == "" {
		return def
	}
	return string(r)
}

// policyText summarizes what a collection enforces on Add Objects.
func policyText(p *client.Policy) string {
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
	var q client.AuditQuery
	for name, v := range map[string]string{"since": *since, "until": *until} {
		if v == "" {
			continue
		}
		t, err := parseSince(v, now)
		if err != nil {
			return usagef(res, "audit: --%s: %v", name, err)
		}
		if name == "since" {
			q.Since = t
		} else {
			q.Until = t
		}
	}
	q.Account, q.Collection, q.Action = *account, *collection, *action
	if visited(fs)["limit"] {
		if *limit < 1 || *limit > 10000 {
			return usagef(res, "audit: --limit must be between 1 and 10000")
		}
		q.Limit = *limit
	}
	if err := a.connect(); err != nil {
		return err
	}
	// The rows are printed as the server sent them, members this client
	// does not know included.
	if _, err := a.api.Audit(a.ctx, q, a.keep); err != nil {
		return err
	}
	var page struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(a.raw, &page); err != nil {
		return fmt.Errorf("audit: unexpected answer: %w", err)
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
