package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/eitaxii/eitaxii/client"
)

const webhooksUsage = `usage:
  eitaxii admin webhooks list [--group GROUP]
  eitaxii admin webhooks show ID
  eitaxii admin webhooks create GROUP COLLECTION URL [FLAGS]   (COLLECTION: an id or an alias)
  eitaxii admin webhooks delete ID
  eitaxii admin webhooks rotate ID [--grace 24h]
  eitaxii admin webhooks enable ID     (resume a disabled webhook after its last acknowledged change)
  eitaxii admin webhooks deliveries ID [--limit N]
flags of create:
  --owner NAME        the account whose read access binds the deliveries (default: you)
  --type TYPE         deliver only objects of this STIX type (repeat for several)
  --notice            send a notice of the cursor range only, not the objects
  --from now|start    deliver changes from now on (default) or everything from the start
The secret that signs the messages is printed once, by create and rotate; the
server never shows it again. A rotation keeps the old secret signing beside the
new one for --grace (messages then carry both signatures).
`

// webhooks implements `admin webhooks VERB`.
func (a *adminCmd) webhooks(verb string, args []string) error {
	const res = "webhooks"
	fs := newAdminFlagSet(verb)
	a.globalFlags(fs, true)
	group := fs.String("group", "", "group")
	owner := fs.String("owner", "", "owner account")
	var types stringList
	fs.Var(&types, "type", "STIX type")
	notice := fs.Bool("notice", false, "notice only")
	from := fs.String("from", "", "now or start")
	grace := fs.String("grace", "", "grace period")
	limit := fs.Int("limit", 0, "entries")
	pos, err := a.parseVerbOf(fs, res, verb, args, map[string]arity{
		"list": {0, 0}, "show": {1, 1}, "create": {3, 3}, "delete": {1, 1}, "rotate": {1, 1}, "enable": {1, 1}, "deliveries": {1, 1}})
	if err != nil {
		return err
	}
	set := visited(fs)
	for flag, verbs := range map[string]string{"group": "list", "owner": "create", "type": "create", "notice": "create",
		"from": "create", "grace": "rotate", "limit": "deliveries"} {
		if set[flag] && verb != verbs {
			return usagef(res, "webhooks %s: --%s is only for %s", verb, flag, verbs)
		}
	}
	if err := a.connect(); err != nil {
		return err
	}
	switch verb {
	case "list":
		list, err := a.api.Webhooks(a.ctx, *group, a.keep)
		return printList(a, list, err, []string{"ID", "GROUP", "COLLECTION", "OWNER", "URL", "STATE", "CURSOR"}, func(w *client.Webhook) []string {
			return []string{w.ID, w.Group, w.Collection, w.Owner, w.URL, webhookState(&w.State), w.State.Cursor}
		})
	case "show":
		w, err := a.api.Webhook(a.ctx, pos[0], a.keep)
		return printOne(a, w, err, a.printWebhook)
	case "create":
		body := client.WebhookBody{Group: &pos[0], Collection: &pos[1], URL: &pos[2], Types: types}
		if set["owner"] {
			body.Owner = owner
		}
		if *notice {
			body.IncludeObjects = new(false)
		}
		if set["from"] {
			body.From = from
		}
		w, err := a.api.CreateWebhook(a.ctx, body, a.keep)
		err = printOne(a, w, err, func(w *client.NewWebhook) {
			a.fields("secret", w.Secret)
			a.printWebhook(&w.Webhook)
		})
		if err == nil {
			fmt.Fprintln(a.e.stderr, "Copy the secret now: it is not shown again. Receivers verify each message's webhook-signature with it.")
		}
		return err
	case "delete":
		return a.deleted(a.api.DeleteWebhook(a.ctx, pos[0]), "webhook "+pos[0])
	case "enable":
		w, err := a.api.EnableWebhook(a.ctx, pos[0], a.keep)
		return printOne(a, w, err, a.printWebhook)
	case "rotate":
		var body client.WebhookRotateBody
		if set["grace"] {
			body.Grace = grace
		}
		s, err := a.api.RotateWebhook(a.ctx, pos[0], body, a.keep)
		err = printOne(a, s, err, func(s *client.NewWebhookSecret) {
			a.fields("secret", s.Secret, "id", s.ID, "previous secrets sign until", when(s.PreviousExpires))
		})
		if err == nil {
			fmt.Fprintln(a.e.stderr, "Copy the secret now: it is not shown again.")
		}
		return err
	case "deliveries":
		list, err := a.api.WebhookDeliveries(a.ctx, pos[0], *limit, a.keep)
		return printList(a, list, err, []string{"TIME", "MESSAGE", "ATTEMPT", "CHANGES", "STATUS", "LATENCY", "ERROR"}, func(d *client.WebhookDelivery) []string {
			status := "-"
			if d.Status != 0 {
				status = strconv.Itoa(d.Status)
			}
			return []string{when(d.Time), d.MessageID, strconv.Itoa(d.Attempt), strconv.Itoa(d.Changes), status,
				strconv.FormatInt(d.LatencyMS, 10) + "ms", d.Error}
		})
	}
	return nil
}

func webhookState(s *client.WebhookState) string {
	switch {
	case !s.Enabled:
		return "disabled: " + s.DisabledReason
	case s.Failures > 0:
		return fmt.Sprintf("retrying (%d failures)", s.Failures)
	}
	return "enabled"
}

func (a *adminCmd) printWebhook(w *client.Webhook) {
	types := strings.Join(w.Types, ", ")
	if types == "" {
		types = "(all)"
	}
	var secrets []string
	for _, s := range w.Secrets {
		if s.Expires.IsZero() {
			secrets = append(secrets, "made "+when(s.Created))
		} else {
			secrets = append(secrets, "made "+when(s.Created)+", signs until "+when(s.Expires))
		}
	}
	a.fields("id", w.ID, "group", w.Group, "collection", w.Collection, "owner", w.Owner, "url", w.URL,
		"types", types, "objects", yesNo(w.IncludeObjects), "state", webhookState(&w.State), "cursor", w.State.Cursor,
		"next attempt", when(w.State.NextAttempt), "secrets", strings.Join(secrets, "; "), "created", when(w.Created))
}
