package stix

import (
	"time"
)

// tsOrder says that timestamp property later must not be before earlier,
// or, when strict, must be after it.
type tsOrder struct {
	earlier, later string
	strict         bool
}

// tsRules lists a type's timestamp properties beyond created and modified
// (which Check parses) and the orderings STIX 2.1 imposes on them.
type tsRules struct {
	props  []string
	orders []tsOrder
}

var (
	seen      = tsRules{props: []string{"first_seen", "last_seen"}, orders: []tsOrder{{"first_seen", "last_seen", false}}}
	timeRules = map[string]tsRules{
		"campaign":       seen,
		"infrastructure": seen,
		"intrusion-set":  seen,
		"malware":        seen,
		"threat-actor":   seen,
		"sighting":       seen,
		"indicator": {props: []string{"valid_from", "valid_until"},
			orders: []tsOrder{{"valid_from", "valid_until", true}}},
		"malware-analysis": {props: []string{"submitted", "analysis_started", "analysis_ended"}},
		"observed-data": {props: []string{"first_observed", "last_observed"},
			orders: []tsOrder{{"first_observed", "last_observed", false}}},
		"report": {props: []string{"published"}},
		"relationship": {props: []string{"start_time", "stop_time"},
			orders: []tsOrder{{"start_time", "stop_time", true}}},
		"language-content": {props: []string{"object_modified"}},
		"email-message":    {props: []string{"date"}},
		"file":             {props: []string{"ctime", "mtime", "atime"}},
		"network-traffic": {props: []string{"start", "end"},
			orders: []tsOrder{{"start", "end", false}}},
		"process": {props: []string{"created_time"}},
		"user-account": {props: []string{"account_created", "account_expires", "credential_last_changed",
			"account_first_login", "account_last_login"}},
		"windows-registry-key": {props: []string{"modified_time"}},
		"x509-certificate":     {props: []string{"validity_not_before", "validity_not_after"}},
	}
)

// timestamps checks the timestamp properties of an object of type typ, the
// ones inside its predefined extensions and sub-objects, and their order.
func (c *ruleChecker) timestamps(base, typ string, obj map[string]any) {
	r, ok := timeRules[typ]
	if ok {
		var parsed [8]time.Time // no type has more timestamp properties
		for i, p := range r.props {
			if v, ok := obj[p]; ok && i < len(parsed) {
				parsed[i], _ = c.timestamp(base, "/", p, v)
			}
		}
		for _, o := range r.orders {
			ei, li := indexOf(r.props, o.earlier), indexOf(r.props, o.later)
			if ei < 0 || li < 0 || ei >= len(parsed) || li >= len(parsed) {
				continue // not in this entry's props: a table bug, not input
			}
			e, l := parsed[ei], parsed[li]
			if e.IsZero() || l.IsZero() {
				continue
			}
			switch {
			case o.strict && !l.After(e):
				c.addf(base+"/"+o.later, "time-order", "%s %s must be later than %s %s",
					o.later, obj[o.later], o.earlier, obj[o.earlier])
			case !o.strict && l.Before(e):
				c.addf(base+"/"+o.later, "time-order", "%s %s must not be earlier than %s %s",
					o.later, obj[o.later], o.earlier, obj[o.earlier])
			}
		}
	}
	switch typ {
	case "file":
		ext, _ := obj["extensions"].(map[string]any)
		pe, _ := ext["windows-pebinary-ext"].(map[string]any)
		if v, ok := pe["time_date_stamp"]; ok {
			c.timestamp(base, "/extensions/windows-pebinary-ext/", "time_date_stamp", v)
		}
	case "x509-certificate":
		x, _ := obj["x509_v3_extensions"].(map[string]any)
		for _, p := range [...]string{"private_key_usage_period_not_before", "private_key_usage_period_not_after"} {
			if v, ok := x[p]; ok {
				c.timestamp(base, "/x509_v3_extensions/", p, v)
			}
		}
	}
}

func indexOf(list []string, s string) int {
	for i, e := range list {
		if e == s {
			return i
		}
	}
	return -1
}

// timestamp parses the timestamp property name, found at JSON pointer
// base+dir+name, and reports it when it is not a calendar-valid STIX
// timestamp in UTC. The pointer is only built for a finding.
func (c *ruleChecker) timestamp(base, dir, name string, v any) (time.Time, bool) {
	s, ok := v.(string)
	if !ok {
		c.addf(base+dir+name, "timestamp", "%s must be a timestamp string such as \"2016-05-12T08:17:27.000Z\", got %s", name, jsonText(v))
		return time.Time{}, false
	}
	t, err := ParseTimestamp(s)
	if err != nil {
		c.addf(base+dir+name, "timestamp", "%s: %v (STIX timestamps are UTC: YYYY-MM-DDTHH:MM:SS[.s+]Z)", name, err)
		return time.Time{}, false
	}
	return t, true
}
