package access

import "errors"

// Who may administer what. The decisions below answer in two ways: a
// Refusal is a caller who may never do this (the HTTP layer answers 403
// with its text), ErrHidden a thing outside the caller's scope, which must
// look as if it did not exist (404).

// ErrHidden is returned when the thing asked about is outside the caller's
// scope: the caller must not learn that it exists.
var ErrHidden = errors.New("not in the caller's scope")

// Refusal is a decision that the caller may not do what it asks; its text
// says why and is meant for the caller.
type Refusal string

func (r Refusal) Error() string { return string(r) }

// The refusals of the admin API.
const (
	NeedSuperadmin   Refusal = "only a superadmin may do this"
	NeedAccountAdmin Refusal = "only a superadmin or an organization admin (org_admin) manages accounts"
	NeedGroupAdmin   Refusal = "only an admin of this group or a superadmin manages it; your role in it does not allow this"
	SuperadminTarget Refusal = "only a superadmin may change a superadmin account or its tokens"
	GrantSuperadmin  Refusal = "superadmin: only a superadmin may grant or remove it"
	SelfLockout      Refusal = "an account may not disable itself or drop its own superadmin flag; ask another superadmin"
	SelfDelete       Refusal = "an account may not delete itself; ask another administrator"
)

// Actor is the account that asks, as the decisions need it.
type Actor struct {
	Name         string
	Organization string
	Superadmin   bool
	OrgAdmin     bool
	// Groups maps the names of the actor's groups to its role in each.
	Groups map[string]Role
}

// Target is the account a decision is about.
type Target struct {
	Name         string
	Organization string
	Superadmin   bool
}

// ManagesAccounts reports whether a may use the accounts endpoints at all.
func (a Actor) ManagesAccounts() bool { return a.Superadmin || a.OrgAdmin }

// MayReadAccount reports whether a may see account t through the accounts
// endpoints: a superadmin sees every account, an organization admin those
// of its organization.
func (a Actor) MayReadAccount(t Target) bool {
	return a.Superadmin || a.OrgAdmin && t.Organization == a.Organization
}

// CheckChangeAccount returns nil if a may change account t, ErrHidden if t
// is outside a's scope, and SuperadminTarget for a superadmin account
// changed by an organization admin (which would otherwise be a way to
// become one).
func (a Actor) CheckChangeAccount(t Target) error {
	switch {
	case a.Superadmin:
		return nil
	case !a.MayReadAccount(t):
		return ErrHidden
	case t.Superadmin:
		return SuperadminTarget
	}
	return nil
}

// CheckTokens returns nil if a may list (write false) or create and revoke
// (write true) the tokens of account t: its own, any as a superadmin, those
// of its organization's accounts as an organization admin. Others are
// ErrHidden; a superadmin's tokens written by an organization admin are
// SuperadminTarget.
func (a Actor) CheckTokens(t Target, write bool) error {
	if a.Name == t.Name || a.Superadmin {
		return nil
	}
	if !a.MayReadAccount(t) {
		return ErrHidden
	}
	if write && t.Superadmin {
		return SuperadminTarget
	}
	return nil
}

// CheckAccountFlags returns GrantSuperadmin if a sets the superadmin flag
// of any account without being a superadmin: only superadmins make
// superadmins.
func (a Actor) CheckAccountFlags(setsSuperadmin bool) error {
	if setsSuperadmin && !a.Superadmin {
		return GrantSuperadmin
	}
	return nil
}

// CheckSelfChange returns SelfLockout if a would disable its own account t
// or drop its own superadmin flag: that is how a server loses its last
// administrator. disable and dropSuperadmin say what the change does.
func (a Actor) CheckSelfChange(t Target, disable, dropSuperadmin bool) error {
	if t.Name == a.Name && (disable || dropSuperadmin && a.Superadmin) {
		return SelfLockout
	}
	return nil
}

// CheckDeleteAccount returns SelfDelete if t is a's own account.
func (a Actor) CheckDeleteAccount(t Target) error {
	if t.Name == a.Name {
		return SelfDelete
	}
	return nil
}

// AdminsGroup reports whether a manages the named group.
func (a Actor) AdminsGroup(group string) bool {
	return a.Superadmin || a.Groups[group] == RoleAdmin
}

// CheckAdminGroup returns nil if a manages the named (existing) group,
// NeedGroupAdmin for a member with a lesser role (the group is no secret to
// it), and ErrHidden for anyone else, as for a group that does not exist.
func (a Actor) CheckAdminGroup(group string) error {
	if a.AdminsGroup(group) {
		return nil
	}
	if _, member := a.Groups[group]; member {
		return NeedGroupAdmin
	}
	return ErrHidden
}

// MayReadOrganization reports whether a may see the named organization
// (and filter accounts by it): a superadmin any, an account its own.
func (a Actor) MayReadOrganization(name string) bool {
	return a.Superadmin || a.Organization == name
}

// CheckCreateAccount returns nil if a may create an account in
// organization org: a superadmin anywhere, an organization admin in its own
// organization only.
func (a Actor) CheckCreateAccount(org string) error {
	if !a.Superadmin && org != a.Organization {
		return Refusal("organization: an organization admin creates accounts in its own organization (" + a.Organization + ") only")
	}
	return nil
}

// NeedAuditReader refuses the audit log to an account that administers
// nothing.
const NeedAuditReader Refusal = "only superadmins, organization admins and group admins read the audit log"

// CheckReadAudit returns NeedAuditReader unless a may read some of the
// audit log: superadmins, organization admins and group admins may.
func (a Actor) CheckReadAudit() error {
	if a.Superadmin || a.OrgAdmin {
		return nil
	}
	for _, role := range a.Groups {
		if role == RoleAdmin {
			return nil
		}
	}
	return NeedAuditReader
}

// MayReadAuditRow reports whether a may read an audit row written for an
// account of organization org about group ("" for none): a superadmin
// every row, an organization admin its organization's, a group admin its
// groups'.
func (a Actor) MayReadAuditRow(org, group string) bool {
	return a.Superadmin || a.OrgAdmin && org == a.Organization || group != "" && a.Groups[group] == RoleAdmin
}

// CheckSuperadmin returns NeedSuperadmin unless a is a superadmin.
func (a Actor) CheckSuperadmin() error {
	if !a.Superadmin {
		return NeedSuperadmin
	}
	return nil
}
