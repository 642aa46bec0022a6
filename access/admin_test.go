package access_test

import (
	"errors"
	"testing"

	"github.com/eitaxii/eitaxii/access"
)

var (
	super    = access.Actor{Name: "root", Organization: "isac", Superadmin: true}
	orgAdmin = access.Actor{Name: "ca", Organization: "county", OrgAdmin: true}
	plain    = access.Actor{Name: "pub", Organization: "county", Groups: map[string]access.Role{"officials": access.RolePublisher}}
	gadmin   = access.Actor{Name: "ga", Organization: "isac", Groups: map[string]access.Role{"officials": access.RoleAdmin}}

	countyAcct = access.Target{Name: "pub", Organization: "county"}
	countySA   = access.Target{Name: "sa", Organization: "county", Superadmin: true}
	vendorAcct = access.Target{Name: "v", Organization: "vendorco"}
)

// Ensure that the account decisions give superadmins everything, an
// organization admin its organization's accounts but no superadmin's, and
// hide the rest.
func TestActor_Accounts(t *testing.T) {
	for _, tt := range []struct {
		name    string
		actor   access.Actor
		target  access.Target
		read    bool
		change  error
		tokensR error
		tokensW error
	}{
		{"SuperOther", super, vendorAcct, true, nil, nil, nil},
		{"SuperSuperadmin", super, countySA, true, nil, nil, nil},
		{"OrgAdminOwnOrg", orgAdmin, countyAcct, true, nil, nil, nil},
		{"OrgAdminSuperadmin", orgAdmin, countySA, true, access.SuperadminTarget, nil, access.SuperadminTarget},
		{"OrgAdminOtherOrg", orgAdmin, vendorAcct, false, access.ErrHidden, access.ErrHidden, access.ErrHidden},
		{"PlainOwn", plain, countyAcct, false, access.ErrHidden, nil, nil},
		{"PlainOther", plain, vendorAcct, false, access.ErrHidden, access.ErrHidden, access.ErrHidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.actor.MayReadAccount(tt.target); got != tt.read {
				t.Errorf("MayReadAccount = %v, want %v", got, tt.read)
			}
			if err := tt.actor.CheckChangeAccount(tt.target); !errors.Is(err, tt.change) {
				t.Errorf("CheckChangeAccount = %v, want %v", err, tt.change)
			}
			if err := tt.actor.CheckTokens(tt.target, false); !errors.Is(err, tt.tokensR) {
				t.Errorf("CheckTokens(read) = %v, want %v", err, tt.tokensR)
			}
			if err := tt.actor.CheckTokens(tt.target, true); !errors.Is(err, tt.tokensW) {
				t.Errorf("CheckTokens(write) = %v, want %v", err, tt.tokensW)
			}
		})
	}
}

// Ensure that only superadmins grant superadmin, nobody locks itself out
// or deletes itself, and organization admins create accounts at home only.
func TestActor_AccountChanges(t *testing.T) {
	if err := orgAdmin.CheckAccountFlags(true); !errors.Is(err, access.GrantSuperadmin) {
		t.Errorf("org admin grants superadmin: %v", err)
	}
	if err := super.CheckAccountFlags(true); err != nil {
		t.Errorf("superadmin grants superadmin: %v", err)
	}
	self := access.Target{Name: super.Name, Organization: super.Organization, Superadmin: true}
	if err := super.CheckSelfChange(self, false, true); !errors.Is(err, access.SelfLockout) {
		t.Errorf("superadmin drops own flag: %v", err)
	}
	if err := super.CheckSelfChange(self, true, false); !errors.Is(err, access.SelfLockout) {
		t.Errorf("superadmin disables itself: %v", err)
	}
	if err := super.CheckSelfChange(countySA, true, true); err != nil {
		t.Errorf("superadmin changes another: %v", err)
	}
	if err := super.CheckDeleteAccount(self); !errors.Is(err, access.SelfDelete) {
		t.Errorf("self delete: %v", err)
	}
	if err := orgAdmin.CheckCreateAccount("county"); err != nil {
		t.Errorf("org admin at home: %v", err)
	}
	var r access.Refusal
	if err := orgAdmin.CheckCreateAccount("vendorco"); !errors.As(err, &r) ||
		err.Error() != "organization: an organization admin creates accounts in its own organization (county) only" {
		t.Errorf("org admin abroad: %v", err)
	}
	if err := super.CheckCreateAccount("vendorco"); err != nil {
		t.Errorf("superadmin anywhere: %v", err)
	}
}

// Ensure that a group is managed by its admins and superadmins, refused
// to its other members and hidden from everyone else.
func TestActor_CheckAdminGroup(t *testing.T) {
	for _, tt := range []struct {
		name  string
		actor access.Actor
		want  error
	}{
		{"Superadmin", super, nil},
		{"GroupAdmin", gadmin, nil},
		{"Member", plain, access.NeedGroupAdmin},
		{"Outsider", orgAdmin, access.ErrHidden},
	} {
		if err := tt.actor.CheckAdminGroup("officials"); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
		if got := tt.actor.AdminsGroup("officials"); got != (tt.want == nil) {
			t.Errorf("%s: AdminsGroup %v", tt.name, got)
		}
	}
	if !plain.MayReadOrganization("county") || plain.MayReadOrganization("isac") || !super.MayReadOrganization("county") {
		t.Error("MayReadOrganization")
	}
}

// Ensure that the audit log is read by administrators only, each within
// its scope.
func TestActor_Audit(t *testing.T) {
	if err := plain.CheckReadAudit(); !errors.Is(err, access.NeedAuditReader) {
		t.Errorf("plain account: %v", err)
	}
	for _, a := range []access.Actor{super, orgAdmin, gadmin} {
		if err := a.CheckReadAudit(); err != nil {
			t.Errorf("%s: %v", a.Name, err)
		}
	}
	for _, tt := range []struct {
		actor      access.Actor
		org, group string
		want       bool
	}{
		{super, "vendorco", "", true},
		{orgAdmin, "county", "", true},
		{orgAdmin, "vendorco", "officials", false},
		{gadmin, "vendorco", "officials", true},
		{gadmin, "isac", "", false},
		{gadmin, "vendorco", "vendors", false},
	} {
		if got := tt.actor.MayReadAuditRow(tt.org, tt.group); got != tt.want {
			t.Errorf("%s reads a row of %s about %q: %v, want %v", tt.actor.Name, tt.org, tt.group, got, tt.want)
		}
	}
}

// Ensure that only a superadmin passes CheckSuperadmin; an organization or
// group admin is refused with NeedSuperadmin (403, never hidden).
func TestActor_CheckSuperadmin(t *testing.T) {
	for name, tt := range map[string]struct {
		actor access.Actor
		want  error
	}{
		"Superadmin": {super, nil},
		"OrgAdmin":   {orgAdmin, access.NeedSuperadmin},
		"GroupAdmin": {gadmin, access.NeedSuperadmin},
		"Plain":      {plain, access.NeedSuperadmin},
	} {
		if err := tt.actor.CheckSuperadmin(); !errors.Is(err, tt.want) && err != tt.want {
			t.Errorf("%s: CheckSuperadmin = %v, want %v", name, err, tt.want)
		}
	}
}
