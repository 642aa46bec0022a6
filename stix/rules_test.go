package stix

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Valid objects the rule tables start from. Each passes checkRules with no
// findings (TestCheckRules_ValidBases).
const (
	rtIndicator = `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		"created":"2016-04-06T20:03:48.000Z","modified":"2016-04-06T20:03:48.000Z","name":"Poison Ivy Malware",
		"labels":["malicious-activity"],"indicator_types":["malicious-activity"],
		"pattern":"[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
		"pattern_type":"stix","valid_from":"2016-01-01T00:00:00Z","confidence":80,
		"created_by_ref":"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
		"object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"],
		"external_references":[{"source_name":"veris","external_id":"0001AA7F-C601-424A-B2B8-BE6C9F5164E7",
			"url":"https://github.com/vz-risk/VCDB/blob/master/data/json/0001AA7F-C601-424A-B2B8-BE6C9F5164E7.json",
			"hashes":{"SHA-256":"6db12788c37247f2316052e142f42f4b259d6561751e5f401a1ae2a6df9c674b"}}]}`
	rtCampaign = `{"type":"campaign","spec_version":"2.1","id":"campaign--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		"created":"2016-04-06T20:03:00.000Z","modified":"2016-04-06T20:03:00.000Z","name":"Green Group Attacks",
		"first_seen":"2016-01-01T00:00:00Z","last_seen":"2016-02-01T00:00:00Z"}`
	rtObserved = `{"type":"observed-data","spec_version":"2.1","id":"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
		"created":"2016-04-06T19:58:16.000Z","modified":"2016-04-06T19:58:16.000Z",
		"first_observed":"2015-12-21T19:00:00Z","last_observed":"2015-12-21T19:00:00Z","number_observed":50,
		"object_refs":["ipv4-addr--efcd5e80-570d-4131-b213-62cb18eaa6a8","domain-name--ecb120bf-2694-4902-a737-62b74539a41b",
			"relationship--5f9f0a8d-8e5b-4ad7-8b1b-c7d1b5dcf6a8"]}`
	rtObservedObjects = `{"type":"observed-data","spec_version":"2.1","id":"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf",
		"created":"2016-04-06T19:58:16.000Z","modified":"2016-04-06T19:58:16.000Z",
		"first_observed":"2015-12-21T19:00:00Z","last_observed":"2015-12-21T19:00:00Z","number_observed":1,
		"objects":{"0":{"type":"file","name":"foo.exe","parent_directory_ref":"1","ctime":"2015-12-21T19:00:00Z"},
			"1":{"type":"directory","path":"C:\\Windows"}}}`
	rtRelationship = `{"type":"relationship","spec_version":"2.1","id":"relationship--57b56a43-b8b0-4cba-9deb-34e3e1faed9e",
		"created":"2016-04-06T20:06:37.000Z","modified":"2016-04-06T20:06:37.000Z","relationship_type":"indicates",
		"source_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","target_ref":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",
		"start_time":"2016-04-06T20:06:37Z","stop_time":"2016-04-07T20:06:37Z"}`
	rtSighting = `{"type":"sighting","spec_version":"2.1","id":"sighting--ee20065d-2555-424f-ad9e-0f8fd2f4af84",
		"created":"2016-04-06T20:08:31.000Z","modified":"2016-04-06T20:08:31.000Z",
		"sighting_of_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","count":3,
		"first_seen":"2016-04-06T20:08:31Z","last_seen":"2016-04-06T20:08:31Z",
		"observed_data_refs":["observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf"],
		"where_sighted_refs":["identity--b67d30ff-02ac-498a-92f9-32f845f448ff","location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64"]}`
	rtMalware = `{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",
		"created":"2016-04-06T20:07:09.000Z","modified":"2016-04-06T20:07:09.000Z","name":"Poison Ivy","is_family":true,
		"sample_refs":["file--6ce09d9c-0ad3-5ebf-900c-e3cb288955b5"]}`
	rtLocation = `{"type":"location","spec_version":"2.1","id":"location--a6e9345f-5a15-4c29-8bb3-7dcc5d168d64",
		"created":"2016-04-06T20:03:00.000Z","modified":"2016-04-06T20:03:00.000Z",
		"latitude":48.8566,"longitude":2.3522,"precision":1000}`
	rtFile = `{"type":"file","spec_version":"2.1","id":"file--6ce09d9c-0ad3-5ebf-900c-e3cb288955b5","name":"foo.dll",
		"hashes":{"MD5":"3773a88f65a5e780c8dff9cdc3a056f3","SHA-1":"2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
			"SSDEEP":"3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C","TLSH":"T1B0D1E5ACA5A6E37A7A8B7C8D9E0F1A2B3C4D5E6F7A8B9C0D1E2F3A4B5C6D7E8F9A0B1C"},
		"mtime":"2016-12-31T23:59:60Z",
		"extensions":{"windows-pebinary-ext":{"pe_type":"dll","machine_hex":"014c","time_date_stamp":"2016-01-20T14:11:25.55Z"},
			"archive-ext":{"contains_refs":["file--019fde1c-94ab-4b28-b8e6-4c8f6d4f7d3d","directory--93c0a9b0-520d-545d-9094-1a08ddf46b05"]}}}`
	rtProcess = `{"type":"process","spec_version":"2.1","id":"process--f52a906a-0dfc-40bd-92f1-e7778ead38a9","pid":1221,
		"created_time":"2016-01-20T14:11:25.55Z","image_ref":"file--6ce09d9c-0ad3-5ebf-900c-e3cb288955b5",
		"parent_ref":"process--8a1d0f8b-8a7f-4e1a-b4d4-2f2f8e6a3f4c","environment_variables":{"x_ref":"not an id","HOME":"/root"}}`
	rtNetwork = `{"type":"network-traffic","spec_version":"2.1","id":"network-traffic--2568d22a-8998-58eb-99ec-3c8ca74f527d",
		"src_ref":"ipv4-addr--4d22aae0-2bf9-5427-8819-e4f6abf20a53","dst_ref":"domain-name--ecb120bf-2694-4902-a737-62b74539a41b",
		"protocols":["tcp"],"src_port":223,"dst_port":443,"start":"2016-04-06T20:00:00Z","end":"2016-04-06T20:00:00Z",
		"extensions":{"tcp-ext":{"src_flags_hex":"00000002"}}}`
	rtArtifact = `{"type":"artifact","spec_version":"2.1","id":"artifact--ca17bcf8-9846-5ab4-8662-75c1bf6e63ee",
		"mime_type":"image/jpeg","payload_bin":"iVBORw0KGgo="}`
	rtUserAccount = `{"type":"user-account","spec_version":"2.1","id":"user-account--0d5b424b-93b8-5cd8-ac36-306e1789d63c",
		"user_id":"1001","account_login":"jdoe","account_created":"2016-01-20T12:31:12Z"}`
	rtEmailAddr = `{"type":"email-addr","spec_version":"2.1","id":"email-addr--2d77a846-6264-5d51-b586-e43822ea1ea3",
		"value":"john@example.com","display_name":"John Doe"}`
	rtEmailMessage = `{"type":"email-message","spec_version":"2.1","id":"email-message--cf9b4b7f-14c8-5955-8065-020e0316b559",
		"is_multipart":true,"from_ref":"email-addr--9b7e29b3-fd8d-562e-b3f0-8fc8134f5dda",
		"to_refs":["email-addr--d1b3bf0c-f02a-51a1-8102-11aba7959868"],"date":"1997-11-21T15:55:06.000Z",
		"body_multipart":[{"content_type":"text/plain","body":"Cats are funny!"},
			{"content_type":"image/png","body_raw_ref":"artifact--4cce66f8-6eaa-53cb-85d5-3a85fca3a6c5"}]}`
	rtRegistry = `{"type":"windows-registry-key","spec_version":"2.1","id":"windows-registry-key--2ba37ae7-2745-5082-9dfd-9486dad41016",
		"key":"HKEY_LOCAL_MACHINE\\System\\Foo\\Bar","modified_time":"2016-01-20T12:31:12Z"}`
	rtX509 = `{"type":"x509-certificate","spec_version":"2.1","id":"x509-certificate--463d7b2a-8516-5a50-a3d7-6f801465d5de",
		"serial_number":"36:f7:d4:32:f4:ab:70:ea:d3:ce:98:6e:ea:99:93:49:32:0a:b7:06",
		"validity_not_before":"2016-03-12T12:00:00Z","validity_not_after":"2016-08-21T12:00:00Z",
		"x509_v3_extensions":{"private_key_usage_period_not_before":"2016-03-12T12:00:00Z"}}`
	rtTLP1Green = `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
		"created":"2017-01-20T00:00:00.000Z","definition_type":"tlp","name":"TLP:GREEN","definition":{"tlp":"green"}}`
	rtTLP2Strict = `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
		"created":"2022-10-01T00:00:00.000Z","name":"TLP:AMBER+STRICT",
		"extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"amber+strict"}}}`
	rtStatement = `{"type":"marking-definition","spec_version":"2.1","id":"marking-definition--d81f86b9-975b-4c0b-875e-810c5ad45a4f",
		"created":"2017-04-14T13:07:49.812Z","name":"Copyright","definition_type":"statement",
		"definition":{"statement":"Copyright 2017, Example Corp"}}`
	rtLanguage = `{"type":"language-content","spec_version":"2.1","id":"language-content--b86bd89f-98bb-4fa9-8cb2-9ad421da981d",
		"created":"2017-02-08T21:31:22.007Z","modified":"2017-02-08T21:31:22.007Z",
		"object_ref":"campaign--12a111f0-b824-4baf-a224-83b80237a094","object_modified":"2017-02-08T21:31:22.007Z",
		"contents":{"de":{"name":"Bank Angriff 1","description":"Weitere Informationen über Banküberfall"},
			"pt-BR":{"name":"Ataque ao banco 1"}}}`
	rtExtDef = `{"type":"extension-definition","spec_version":"2.1","id":"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e",
		"created":"2014-02-20T09:16:08.989Z","modified":"2014-02-20T09:16:08.989Z","name":"Extension Foo Bar",
		"created_by_ref":"identity--11b76a96-5d2b-45e0-8a5a-f6994f370731","schema":"https://www.example.com/schema-foo-1/v1/",
		"version":"1.2.1","extension_types":["toplevel-property-extension"],"extension_properties":["toxicity","rank"]}`
	rtWithExt = `{"type":"indicator","spec_version":"2.1","id":"indicator--e97bfccf-8970-4a3c-9cd1-5b5b97ed5d0c",
		"created":"2014-02-20T09:16:08.989Z","modified":"2014-02-20T09:16:08.989Z","pattern":"[url:value = 'http://x.example/']",
		"pattern_type":"stix","valid_from":"2014-02-20T09:00:00Z","toxicity":8,"rank":5,
		"extensions":{"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e":{"extension_type":"toplevel-property-extension"}}}`
)

var rtBases = map[string]string{
	"indicator": rtIndicator, "campaign": rtCampaign, "observed-data": rtObserved, "observed-objects": rtObservedObjects,
	"relationship": rtRelationship, "sighting": rtSighting, "malware": rtMalware, "location": rtLocation,
	"file": rtFile, "process": rtProcess, "network-traffic": rtNetwork, "artifact": rtArtifact,
	"user-account": rtUserAccount, "email-addr": rtEmailAddr, "email-message": rtEmailMessage,
	"windows-registry-key": rtRegistry, "x509-certificate": rtX509, "tlp1": rtTLP1Green, "tlp2": rtTLP2Strict,
	"statement": rtStatement, "language-content": rtLanguage, "extension-definition": rtExtDef, "with-ext": rtWithExt,
}

// rtObject decodes base and applies patch to its top level: each property
// of patch replaces the one in base, a null deletes it.
func rtObject(t testing.TB, base, patch string) map[string]any {
	t.Helper()
	obj, err := decodeObject([]byte(base))
	if err != nil {
		t.Fatalf("base: %v", err)
	}
	if patch != "" {
		p, err := decodeObject([]byte(patch))
		if err != nil {
			t.Fatalf("patch %s: %v", patch, err)
		}
		for k, v := range p {
			if v == nil {
				delete(obj, k)
			} else {
				obj[k] = v
			}
		}
	}
	return obj
}

// rtCheck runs checkRules with the header Check would have built.
func rtCheck(obj map[string]any) []Finding {
	typ, _ := obj["type"].(string)
	id, _ := obj["id"].(string)
	return checkRules(&Header{Type: typ, ID: id}, obj)
}

// A rtCase patches a base object; want rule "" means no findings at all,
// otherwise one finding must have that rule and path.
type rtCase struct {
	name  string
	base  string // key of rtBases
	patch string
	rule  string
	path  string
}

func rtRun(t *testing.T, cases []rtCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base, ok := rtBases[tc.base]
			if !ok {
				t.Fatalf("no base %q", tc.base)
			}
			fs := rtCheck(rtObject(t, base, tc.patch))
			if tc.rule == "" {
				if len(fs) != 0 {
					t.Fatalf("want no findings, got %q", fs)
				}
				return
			}
			for _, f := range fs {
				if f.Rule == tc.rule && f.Path == tc.path {
					if f.Message == "" {
						t.Fatalf("finding without message: %#v", f)
					}
					return
				}
			}
			t.Fatalf("want rule %q at %q, got %q", tc.rule, tc.path, fs)
		})
	}
}

// Ensure that the base objects, taken from or modelled on the examples of
// the specification, pass every rule.
func TestCheckRules_ValidBases(t *testing.T) {
	for name, base := range rtBases {
		if fs := rtCheck(rtObject(t, base, "")); len(fs) != 0 {
			t.Errorf("%s: want no findings, got %q", name, fs)
		}
	}
}

func TestCheckRules_Timestamps(t *testing.T) {
	rtRun(t, []rtCase{
		{"LeapSecond", "indicator", `{"valid_from":"2016-12-31T23:59:60Z"}`, "", ""},
		{"LongFraction", "indicator", `{"valid_from":"2016-12-31T23:59:59.1234567891Z"}`, "", ""},
		{"Feb29", "indicator", `{"valid_from":"2017-02-29T00:00:00Z"}`, "timestamp", "/valid_from"},
		{"Nov31", "campaign", `{"first_seen":"2016-11-31T00:00:00Z"}`, "timestamp", "/first_seen"},
		{"Offset", "indicator", `{"valid_until":"2017-01-01T00:00:00+00:00"}`, "timestamp", "/valid_until"},
		{"LowercaseZ", "indicator", `{"valid_from":"2016-01-01T00:00:00z"}`, "timestamp", "/valid_from"},
		{"DanglingDot", "indicator", `{"valid_from":"2016-01-01T00:00:00.Z"}`, "timestamp", "/valid_from"},
		{"NotString", "indicator", `{"valid_from":1451606400}`, "timestamp", "/valid_from"},
		{"Hour24", "indicator", `{"type":"report","published":"2016-01-01T24:00:00Z"}`, "timestamp", "/published"},
		{"SCO", "file", `{"mtime":"2016-13-01T00:00:00Z"}`, "timestamp", "/mtime"},
		{"Process", "process", `{"created_time":"2016-02-30T00:00:00Z"}`, "timestamp", "/created_time"},
		{"UserAccount", "user-account", `{"account_last_login":"2016-01-01"}`, "timestamp", "/account_last_login"},
		{"Registry", "windows-registry-key", `{"modified_time":"2016-04-31T00:00:00Z"}`, "timestamp", "/modified_time"},
		{"EmailDate", "email-message", `{"date":"Fri, 21 Nov 1997 09:55:06 -0600"}`, "timestamp", "/date"},
		{"X509", "x509-certificate", `{"validity_not_after":"2016-08-32T12:00:00Z"}`, "timestamp", "/validity_not_after"},
		{"X509Extension", "x509-certificate", `{"x509_v3_extensions":{"private_key_usage_period_not_after":"2016-02-30T00:00:00Z"}}`,
			"timestamp", "/x509_v3_extensions/private_key_usage_period_not_after"},
		{"PEBinary", "file", `{"extensions":{"windows-pebinary-ext":{"pe_type":"exe","time_date_stamp":"2016-01-20"}}}`,
			"timestamp", "/extensions/windows-pebinary-ext/time_date_stamp"},
		{"Embedded", "observed-objects", `{"objects":{"0":{"type":"file","name":"a","atime":"2015-02-29T00:00:00Z"}}}`,
			"timestamp", "/objects/0/atime"},
		{"MalwareAnalysis", "indicator", `{"type":"malware-analysis","product":"x","result":"malicious","submitted":"2016-00-01T00:00:00Z"}`,
			"timestamp", "/submitted"},
		{"LanguageContent", "language-content", `{"object_modified":"2017-02-08"}`, "timestamp", "/object_modified"},
	})
}

func TestCheckRules_TimeOrder(t *testing.T) {
	rtRun(t, []rtCase{
		{"SeenEqual", "campaign", `{"last_seen":"2016-01-01T00:00:00.000Z"}`, "", ""},
		{"SeenBefore", "campaign", `{"last_seen":"2015-12-31T23:59:59.999Z"}`, "time-order", "/last_seen"},
		{"ThreatActor", "campaign", `{"type":"threat-actor","last_seen":"2015-01-01T00:00:00Z"}`, "time-order", "/last_seen"},
		{"IntrusionSet", "campaign", `{"type":"intrusion-set","last_seen":"2015-01-01T00:00:00Z"}`, "time-order", "/last_seen"},
		{"Infrastructure", "campaign", `{"type":"infrastructure","last_seen":"2015-01-01T00:00:00Z"}`, "time-order", "/last_seen"},
		{"Malware", "malware", `{"first_seen":"2016-01-01T00:00:00Z","last_seen":"2015-01-01T00:00:00Z"}`, "time-order", "/last_seen"},
		{"Sighting", "sighting", `{"last_seen":"2016-04-06T20:08:30Z"}`, "time-order", "/last_seen"},
		{"ValidUntilEqual", "indicator", `{"valid_until":"2016-01-01T00:00:00.000Z"}`, "time-order", "/valid_until"},
		{"ValidUntilAfter", "indicator", `{"valid_until":"2016-01-01T00:00:00.001Z"}`, "", ""},
		{"LastObserved", "observed-data", `{"last_observed":"2015-12-21T18:59:59Z"}`, "time-order", "/last_observed"},
		{"StopEqual", "relationship", `{"stop_time":"2016-04-06T20:06:37.000Z"}`, "time-order", "/stop_time"},
		{"NetworkEnd", "network-traffic", `{"end":"2016-04-06T19:59:59Z"}`, "time-order", "/end"},
		{"NetworkEndNoStart", "network-traffic", `{"start":null,"end":"2016-04-06T19:59:59Z"}`, "", ""},
		{"ActiveWithEnd", "network-traffic", `{"is_active":true}`, "network-traffic", "/end"},
		{"ActiveNoEnd", "network-traffic", `{"is_active":true,"end":null}`, "", ""},
	})
}

func TestCheckRules_Refs(t *testing.T) {
	rtRun(t, []rtCase{
		{"NotID", "indicator", `{"created_by_ref":"identity--nope"}`, "ref-uuid", "/created_by_ref"},
		{"NotString", "indicator", `{"created_by_ref":7}`, "ref", "/created_by_ref"},
		{"CreatedByType", "indicator", `{"created_by_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}`, "ref-type", "/created_by_ref"},
		{"MarkingList", "indicator", `{"object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da","tlp-green"]}`,
			"ref", "/object_marking_refs/1"},
		{"MarkingType", "indicator", `{"object_marking_refs":["identity--f431f809-377b-45e0-aa1c-6a4751cae5ff"]}`, "ref-type", "/object_marking_refs/0"},
		{"RefsNotList", "indicator", `{"object_marking_refs":"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"}`, "ref", "/object_marking_refs"},
		{"Custom", "indicator", `{"x_acme_ref":"foo"}`, "ref", "/x_acme_ref"},
		{"CustomAnyType", "indicator", `{"x_acme_refs":["tool--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]}`, "", ""},
		{"BadVariant", "indicator", `{"x_acme_ref":"tool--8e2e2d2b-17d4-4cbf-f38f-98ee46b3cd3f"}`, "ref-uuid", "/x_acme_ref"},
		{"FreeDictIgnored", "process", ``, "", ""},
		{"ProcessIDv5", "process", `{"id":"process--2ba37ae7-2745-5082-9dfd-9486dad41016"}`, "uuid-v4", "/id"},
		{"ProcessRefv5", "process", `{"parent_ref":"process--2ba37ae7-2745-5082-9dfd-9486dad41016"}`, "uuid-v4", "/parent_ref"},
		{"ProcessImageType", "process", `{"image_ref":"directory--93c0a9b0-520d-545d-9094-1a08ddf46b05"}`, "ref-type", "/image_ref"},
		{"UserAccountNoIDProps", "user-account", `{"user_id":null,"account_login":null,"display_name":"J"}`, "uuid-v4", "/id"},
		{"UserAccountNoIDPropsV4", "user-account", `{"id":"user-account--f52a906a-0dfc-40bd-92f1-e7778ead38a9","user_id":null,"account_login":null,"display_name":"J"}`, "", ""},
		{"RegistryNoKey", "windows-registry-key", `{"key":null}`, "uuid-v4", "/id"},
		{"ArtifactURLNoHashes", "artifact", `{"payload_bin":null,"url":"https://x.example/a","id":"artifact--f52a906a-0dfc-40bd-92f1-e7778ead38a9"}`, "required", "/hashes"},
		{"NetworkSrcType", "network-traffic", `{"src_ref":"file--6ce09d9c-0ad3-5ebf-900c-e3cb288955b5"}`, "ref-type", "/src_ref"},
		{"EmailFromType", "email-message", `{"from_ref":"ipv4-addr--4d22aae0-2bf9-5427-8819-e4f6abf20a53"}`, "ref-type", "/from_ref"},
		{"MimePartType", "email-message", `{"body_multipart":[{"body_raw_ref":"url--4d22aae0-2bf9-5427-8819-e4f6abf20a53"}]}`,
			"ref-type", "/body_multipart/0/body_raw_ref"},
		{"ArchiveExt", "file", `{"extensions":{"archive-ext":{"contains_refs":["url--4d22aae0-2bf9-5427-8819-e4f6abf20a53"]}}}`,
			"ref-type", "/extensions/archive-ext/contains_refs/0"},
		{"FileContainsAnySCO", "file", `{"contains_refs":["url--4d22aae0-2bf9-5427-8819-e4f6abf20a53","x-acme-thing--4d22aae0-2bf9-5427-8819-e4f6abf20a53"]}`, "", ""},
		{"FileContainsSDO", "file", `{"contains_refs":["indicator--4d22aae0-2bf9-5427-8819-e4f6abf20a53"]}`, "ref-type", "/contains_refs/0"},
		{"MalwareSample", "malware", `{"sample_refs":["url--4d22aae0-2bf9-5427-8819-e4f6abf20a53"]}`, "ref-type", "/sample_refs/0"},
	})
}

func TestCheckRules_SROs(t *testing.T) {
	rtRun(t, []rtCase{
		{"SourceSighting", "relationship", `{"source_ref":"sighting--ee20065d-2555-424f-ad9e-0f8fd2f4af84"}`, "ref-type", "/source_ref"},
		{"TargetMarking", "relationship", `{"target_ref":"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"}`, "ref-type", "/target_ref"},
		{"TargetLanguage", "relationship", `{"target_ref":"language-content--b86bd89f-98bb-4fa9-8cb2-9ad421da981d"}`, "ref-type", "/target_ref"},
		{"TargetBundle", "relationship", `{"target_ref":"bundle--b86bd89f-98bb-4fa9-8cb2-9ad421da981d"}`, "ref-type", "/target_ref"},
		{"TargetSCO", "relationship", `{"target_ref":"ipv4-addr--4d22aae0-2bf9-5427-8819-e4f6abf20a53"}`, "", ""},
		{"TargetCustom", "relationship", `{"target_ref":"x-acme-widget--4d22aae0-2bf9-5427-8819-e4f6abf20a53"}`, "", ""},
		{"SightingOfSCO", "sighting", `{"sighting_of_ref":"file--6ce09d9c-0ad3-5ebf-900c-e3cb288955b5"}`, "ref-type", "/sighting_of_ref"},
		{"SightingOfCustom", "sighting", `{"sighting_of_ref":"x-acme-widget--4d22aae0-2bf9-5427-8819-e4f6abf20a53"}`, "", ""},
		{"ObservedDataRefs", "sighting", `{"observed_data_refs":["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]}`, "ref-type", "/observed_data_refs/0"},
		{"WhereSighted", "sighting", `{"where_sighted_refs":["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]}`, "ref-type", "/where_sighted_refs/0"},
		{"CountNegative", "sighting", `{"count":-1}`, "range", "/count"},
		{"CountTooBig", "sighting", `{"count":1000000000}`, "range", "/count"},
	})
}

func TestCheckRules_ObservedData(t *testing.T) {
	rtRun(t, []rtCase{
		{"Both", "observed-objects", `{"object_refs":["file--6ce09d9c-0ad3-5ebf-900c-e3cb288955b5"]}`, "observed-data", "/objects"},
		{"Neither", "observed-data", `{"object_refs":null}`, "observed-data", ""},
		{"OnlySROs", "observed-data", `{"object_refs":["relationship--5f9f0a8d-8e5b-4ad7-8b1b-c7d1b5dcf6a8"]}`, "observed-data", "/object_refs"},
		{"SDORef", "observed-data", `{"object_refs":["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]}`, "ref-type", "/object_refs/0"},
		{"NumberZero", "observed-data", `{"number_observed":0}`, "range", "/number_observed"},
		{"LocalRefMissing", "observed-objects", `{"objects":{"0":{"type":"file","name":"a","parent_directory_ref":"7"}}}`,
			"ref", "/objects/0/parent_directory_ref"},
		{"LocalRefType", "observed-objects", `{"objects":{"0":{"type":"file","name":"a","parent_directory_ref":"1"},"1":{"type":"ipv4-addr","value":"10.0.0.1"}}}`,
			"ref-type", "/objects/0/parent_directory_ref"},
		{"LocalRefIsNotID", "observed-objects", `{"objects":{"0":{"type":"file","name":"a","parent_directory_ref":"directory--93c0a9b0-520d-545d-9094-1a08ddf46b05"}}}`,
			"ref", "/objects/0/parent_directory_ref"},
		{"LocalMarkingIsID", "observed-objects", `{"objects":{"0":{"type":"file","name":"a","object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]}}}`, "", ""},
		{"EmbeddedSDO", "observed-objects", `{"objects":{"0":{"type":"indicator","created":"2016-01-01T00:00:00Z"}}}`, "observed-data", "/objects/0/type"},
		{"EmbeddedHashes", "observed-objects", `{"objects":{"0":{"type":"file","hashes":{"MD5":"zz"}}}}`, "hashes", "/objects/0/hashes/MD5"},
		{"EmbeddedEmpty", "observed-objects", `{"objects":{}}`, "empty", "/objects"},
		{"EmbeddedPointerEscape", "observed-objects", `{"objects":{"a/b":{"type":"file","name":"a","mtime":"x"}}}`, "timestamp", "/objects/a~1b/mtime"},
	})
}

func TestCheckRules_Names(t *testing.T) {
	long := strings.Repeat("a", 251)
	rtRun(t, []rtCase{
		{"Reserved", "indicator", `{"severity":"high"}`, "reserved-property", "/severity"},
		{"ReservedPhone", "indicator", `{"phone_number":"+1"}`, "reserved-property", "/phone_number"},
		{"ReservedAction", "indicator", `{"type":"course-of-action","action":"x"}`, "reserved-property", "/action"},
		{"Uppercase", "indicator", `{"x_Acme":1}`, "property-name", "/x_Acme"},
		{"Short", "indicator", `{"xy":1}`, "property-name", "/xy"},
		{"Bang", "indicator", `{"my_new_property!":1}`, "property-name", "/my_new_property!"},
		{"Long", "indicator", `{"` + long + `":1}`, "property-name", "/" + long},
		{"Max", "indicator", `{"` + long[1:] + `":1}`, "", ""},
		{"InExtension", "with-ext", `{"extensions":{"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e":{"extension_type":"property-extension","Bad-Name":1}}}`,
			"property-name", "/extensions/extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e/Bad-Name"},
		{"ReservedInExtension", "with-ext", `{"extensions":{"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e":{"extension_type":"property-extension","action":"block"}}}`, "", ""},
		{"ExtensionName", "file", `{"extensions":{"Bad_Ext":{"x_a":1}}}`, "extension", "/extensions/Bad_Ext"},
		{"ExtensionDefinitionID", "file", `{"extensions":{"extension-definition--nope":{"extension_type":"property-extension"}}}`,
			"extension", "/extensions/extension-definition--nope"},
		{"ExtensionTypeMissing", "with-ext", `{"extensions":{"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e":{"rank":1}}}`,
			"extension", "/extensions/extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e"},
		{"ExtensionTypeBogus", "with-ext", `{"extensions":{"extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e":{"extension_type":"new-thing"}}}`,
			"extension", "/extensions/extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e/extension_type"},
		{"DefangedSDO", "indicator", `{"defanged":true}`, "defanged", "/defanged"},
		{"DefangedSCO", "email-addr", `{"defanged":true}`, "", ""},
		{"DefangedCustomSCO", "email-addr", `{"type":"x-acme-thing","defanged":true}`, "", ""},
	})
}

func TestCheckRules_Values(t *testing.T) {
	rtRun(t, []rtCase{
		{"MD5Short", "file", `{"hashes":{"MD5":"3773a88f65a5e780c8dff9cdc3a056f"}}`, "hashes", "/hashes/MD5"},
		{"MD5Upper", "file", `{"hashes":{"MD5":"3773A88F65A5E780C8DFF9CDC3A056F3"}}`, "", ""},
		{"SHA1Bad", "file", `{"hashes":{"SHA-1":"2fd4e1c67a2d28fced849ee1bb76e7391b93eb1g"}}`, "hashes", "/hashes/SHA-1"},
		{"SHA256Lowercase", "file", `{"hashes":{"sha256":"abc"}}`, "hashes", "/hashes/sha256"},
		{"SHA512", "file", `{"hashes":{"SHA-512":"` + strings.Repeat("ab", 64) + `"}}`, "", ""},
		{"SHA512Short", "file", `{"hashes":{"SHA-512":"` + strings.Repeat("ab", 32) + `"}}`, "hashes", "/hashes/SHA-512"},
		{"SHA3256", "file", `{"hashes":{"SHA3-256":"` + strings.Repeat("0f", 32) + `"}}`, "", ""},
		{"SHA3512Bad", "file", `{"hashes":{"SHA3-512":"` + strings.Repeat("0f", 32) + `"}}`, "hashes", "/hashes/SHA3-512"},
		{"SSDEEPBad", "file", `{"hashes":{"SSDEEP":"not a fuzzy hash"}}`, "hashes", "/hashes/SSDEEP"},
		{"SSDEEPEmptyInput", "file", `{"hashes":{"SSDEEP":"3::"}}`, "", ""},
		{"TLSHBad", "file", `{"hashes":{"TLSH":"T1abc"}}`, "hashes", "/hashes/TLSH"},
		{"TLSHNoPrefix", "file", `{"hashes":{"TLSH":"` + strings.Repeat("A", 70) + `"}}`, "", ""},
		{"CustomHash", "file", `{"hashes":{"x_acme_hash":"anything"}}`, "", ""},
		{"HashKeyShort", "file", `{"hashes":{"AB":"x"}}`, "hashes", "/hashes/AB"},
		{"HashKeyChars", "file", `{"hashes":{"SHA 256":"x"}}`, "hashes", "/hashes/SHA 256"},
		{"HashNotString", "file", `{"hashes":{"MD5":5}}`, "hashes", "/hashes/MD5"},
		{"ExternalRefHash", "indicator", `{"external_references":[{"source_name":"x","url":"https://x.example","hashes":{"SHA-1":"12"}}]}`,
			"hashes", "/external_references/0/hashes/SHA-1"},
		{"HexUpper", "network-traffic", `{"extensions":{"tcp-ext":{"src_flags_hex":"0A"}}}`, "hex", "/extensions/tcp-ext/src_flags_hex"},
		{"HexOdd", "network-traffic", `{"extensions":{"tcp-ext":{"src_flags_hex":"002"}}}`, "hex", "/extensions/tcp-ext/src_flags_hex"},
		{"HexCustom", "indicator", `{"x_acme_hex":"zz"}`, "hex", "/x_acme_hex"},
		{"HexPE", "file", `{"extensions":{"windows-pebinary-ext":{"pe_type":"exe","machine_hex":"14c"}}}`, "hex", "/extensions/windows-pebinary-ext/machine_hex"},
		{"Base64Bad", "artifact", `{"payload_bin":"not base64!"}`, "base64", "/payload_bin"},
		{"Base64Newline", "artifact", `{"payload_bin":"aGVs\nbG8="}`, "base64", "/payload_bin"},
		{"Base64Padding", "artifact", `{"payload_bin":"aGV=bG8="}`, "base64", "/payload_bin"},
		{"Base64Unpadded", "artifact", `{"payload_bin":"aGVsbG8"}`, "base64", "/payload_bin"},
		{"Base64DoublePad", "artifact", `{"payload_bin":"aGVsbA=="}`, "", ""},
		{"Confidence101", "indicator", `{"confidence":101}`, "confidence", "/confidence"},
		{"ConfidenceNegative", "indicator", `{"confidence":-1}`, "confidence", "/confidence"},
		{"ConfidenceFraction", "indicator", `{"confidence":50.5}`, "confidence", "/confidence"},
		{"ConfidenceString", "indicator", `{"confidence":"50"}`, "confidence", "/confidence"},
		{"ConfidenceBounds", "indicator", `{"confidence":0}`, "", ""},
		{"Lang", "indicator", `{"lang":"en_US"}`, "lang", "/lang"},
		{"LangOK", "indicator", `{"lang":"zh-Hant-TW"}`, "", ""},
		{"SoftwareLanguages", "email-addr", `{"type":"software","value":null,"name":"Word","languages":["en","english us"]}`, "lang", "/languages/1"},
	})
}

func TestCheckRules_Empty(t *testing.T) {
	rtRun(t, []rtCase{
		{"List", "indicator", `{"labels":[]}`, "empty", "/labels"},
		{"ExternalRefs", "indicator", `{"external_references":[]}`, "empty", "/external_references"},
		{"Hashes", "file", `{"hashes":{}}`, "empty", "/hashes"},
		{"Extensions", "file", `{"extensions":{}}`, "empty", "/extensions"},
		{"Extension", "file", `{"extensions":{"ntfs-ext":{}}}`, "empty", "/extensions/ntfs-ext"},
		{"Nested", "indicator", `{"x_acme":{"a/b":[]}}`, "empty", "/x_acme/a~1b"},
		{"FreeDict", "process", `{"environment_variables":{}}`, "empty", "/environment_variables"},
		{"InFreeDict", "email-message", `{"additional_header_fields":{"Received":[]}}`, "empty", "/additional_header_fields/Received"},
		{"KillChain", "indicator", `{"kill_chain_phases":[{}]}`, "empty", "/kill_chain_phases/0"},
	})
}

func TestCheckRules_ExternalReferences(t *testing.T) {
	rtRun(t, []rtCase{
		{"NoSourceName", "indicator", `{"external_references":[{"url":"https://x.example"}]}`, "external-reference", "/external_references/0"},
		{"OnlySourceName", "indicator", `{"external_references":[{"source_name":"x"}]}`, "external-reference", "/external_references/0"},
		{"Capec", "indicator", `{"type":"attack-pattern","external_references":[{"source_name":"capec","external_id":"CAPEC-163"}]}`, "", ""},
		{"CapecBad", "indicator", `{"type":"attack-pattern","external_references":[{"source_name":"capec","external_id":"163"}]}`,
			"external-reference", "/external_references/0/external_id"},
		{"CVE", "indicator", `{"type":"vulnerability","external_references":[{"source_name":"cve","external_id":"CVE-2016-1234"}]}`, "", ""},
		{"CVEBad", "indicator", `{"type":"vulnerability","external_references":[{"source_name":"cve","external_id":"cve-2016-1234"}]}`,
			"external-reference", "/external_references/0/external_id"},
		{"CVEShort", "indicator", `{"type":"vulnerability","external_references":[{"source_name":"cve","external_id":"CVE-2016-123"}]}`,
			"external-reference", "/external_references/0/external_id"},
		// Source names are case-exact (issue 9).
		{"CVEUpper", "indicator", `{"type":"vulnerability","external_references":[{"source_name":"CVE","external_id":"CVE-2016-1234"}]}`,
			"external-reference", "/external_references/0/source_name"},
		{"CapecMixed", "indicator", `{"type":"attack-pattern","external_references":[{"source_name":"Capec","external_id":"CAPEC-163"}]}`,
			"external-reference", "/external_references/0/source_name"},
		{"CVEUpperOnIndicator", "indicator", `{"external_references":[{"source_name":"source"},{"source_name":"Cve","external_id":"cve-2016-1234"}]}`,
			"external-reference", "/external_references/1/source_name"},
		{"UpperNotAnID", "indicator", `{"external_references":[{"source_name":"CVE","description":"the CVE list"}]}`, "", ""},
		{"OtherSourceUpper", "indicator", `{"external_references":[{"source_name":"MITRE","external_id":"T1059"}]}`, "", ""},
	})
}

// Ensure that a cve or capec source_name in the wrong case is refused with
// a message saying how to write it.
func TestCheckRules_ExternalReferences_SourceNameCase(t *testing.T) {
	for _, tt := range []struct{ ref, want string }{
		{`{"source_name":"CVE","external_id":"CVE-2016-1234"}`, `/external_references/0/source_name: source_name "CVE" of a reference to CVE-2016-1234 must be written "cve", in lower case`},
		{`{"source_name":"Capec","external_id":"CAPEC-163"}`, `/external_references/0/source_name: source_name "Capec" of a reference to CAPEC-163 must be written "capec", in lower case`},
	} {
		obj := rtObject(t, rtIndicator, `{"external_references":[`+tt.ref+`]}`)
		var got []string
		for _, f := range rtCheck(obj) {
			got = append(got, f.String())
			if strings.Contains(f.String(), tt.want) {
				got = nil
				break
			}
		}
		if got != nil || len(rtCheck(obj)) == 0 {
			t.Errorf("%s: findings %q, want one containing %q", tt.ref, got, tt.want)
		}
	}
}

func TestCheckRules_Markings(t *testing.T) {
	gm := func(sel string) string {
		return `{"granular_markings":[{"marking_ref":"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da","selectors":[` + sel + `]}]}`
	}
	rtRun(t, []rtCase{
		{"SelectorOK", "indicator", gm(`"name","labels.[0]","external_references.[0].hashes.SHA-256","external_references"`), "", ""},
		{"SelectorMissing", "indicator", gm(`"name","description"`), "selector", "/granular_markings/0/selectors/1"},
		{"SelectorIndexRange", "indicator", gm(`"labels.[1]"`), "selector", "/granular_markings/0/selectors/0"},
		{"SelectorIndexString", "indicator", gm(`"name.[0]"`), "selector", "/granular_markings/0/selectors/0"},
		{"SelectorNameOnList", "indicator", gm(`"labels.name"`), "selector", "/granular_markings/0/selectors/0"},
		{"SelectorBadIndex", "indicator", gm(`"labels.[-1]"`), "selector", "/granular_markings/0/selectors/0"},
		{"SelectorEmptyPart", "indicator", gm(`"external_references..url"`), "selector", "/granular_markings/0/selectors/0"},
		{"LangOnly", "indicator", `{"granular_markings":[{"lang":"en","selectors":["name"]}]}`, "", ""},
		{"LangAndRef", "indicator", `{"granular_markings":[{"lang":"en","marking_ref":"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da","selectors":["name"]}]}`,
			"granular-marking", "/granular_markings/0"},
		{"Neither", "indicator", `{"granular_markings":[{"selectors":["name"]}]}`, "granular-marking", "/granular_markings/0"},
		{"GranularRefType", "indicator", `{"granular_markings":[{"marking_ref":"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff","selectors":["name"]}]}`,
			"ref-type", "/granular_markings/0/marking_ref"},
		{"SelfObjectMarking", "statement", `{"object_marking_refs":["marking-definition--d81f86b9-975b-4c0b-875e-810c5ad45a4f"]}`,
			"marking-self-ref", "/object_marking_refs/0"},
		{"SelfGranular", "statement", `{"granular_markings":[{"marking_ref":"marking-definition--d81f86b9-975b-4c0b-875e-810c5ad45a4f","selectors":["definition.statement"]}]}`,
			"marking-self-ref", "/granular_markings/0/marking_ref"},
		{"OtherMarking", "statement", `{"object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]}`, "", ""},
	})
}

func TestCheckRules_TLP(t *testing.T) {
	rtRun(t, []rtCase{
		{"TLP1ExtraProperty", "tlp1", `{"description":"green"}`, "tlp", "/description"},
		{"TLP1Definition", "tlp1", `{"definition":{"tlp":"amber"}}`, "tlp", "/definition"},
		{"TLP1Name", "tlp1", `{"name":"TLP:AMBER"}`, "tlp", "/name"},
		{"TLP1NoName", "tlp1", `{"name":null}`, "tlp", "/name"},
		{"TLP1Created", "tlp1", `{"created":"2017-01-21T00:00:00.000Z"}`, "tlp", "/created"},
		{"TLP1CreatedPrecision", "tlp1", `{"created":"2017-01-20T00:00:00.000000Z"}`, "", ""},
		{"TLP1AsTLP2", "tlp1", `{"definition_type":null,"definition":null,"extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"green"}}}`,
			"tlp", "/extensions"},
		{"TLP2Level", "tlp2", `{"extensions":{"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d":{"extension_type":"property-extension","tlp_2_0":"amber"}}}`,
			"tlp", "/extensions"},
		{"TLP2ExtraDefinitionType", "tlp2", `{"definition_type":"TLP:AMBER+STRICT"}`, "tlp", "/definition_type"},
		{"TLP2Created", "tlp2", `{"created":"2017-01-20T00:00:00.000Z"}`, "tlp", "/created"},
		{"OtherTLP1", "tlp1", `{"id":"marking-definition--d81f86b9-975b-4c0b-875e-810c5ad45a4f"}`, "tlp", ""},
		{"OtherTLP2", "tlp2", `{"id":"marking-definition--d81f86b9-975b-4c0b-875e-810c5ad45a4f"}`, "tlp", ""},
		{"OtherTLPName", "statement", `{"name":"TLP:RED"}`, "tlp", ""},
		{"OtherTLPDefinitionType", "statement", `{"definition_type":"TLP:CLEAR","definition":null}`, "tlp", ""},
		{"StatementNamedTLPLike", "statement", `{"name":"TLP:RED handling guidance"}`, "", ""},
	})
}

func TestCheckRules_Types(t *testing.T) {
	rtRun(t, []rtCase{
		{"PatternSyntax", "indicator", `{"pattern":"[file:name = 'x'"}`, "pattern", "/pattern"},
		{"PatternOtherLanguage", "indicator", `{"pattern":"alert tcp any any -> any any (msg:\"x\";)","pattern_type":"snort"}`, "", ""},
		{"LatWithoutLong", "location", `{"longitude":null,"precision":null}`, "location", "/latitude"},
		{"LongWithoutLat", "location", `{"latitude":null,"precision":null}`, "location", "/longitude"},
		{"LatRange", "location", `{"latitude":90.5}`, "location", "/latitude"},
		{"LongRange", "location", `{"longitude":-180.01}`, "location", "/longitude"},
		{"LatEdge", "location", `{"latitude":-90,"longitude":180}`, "", ""},
		{"PrecisionAlone", "location", `{"latitude":null,"longitude":null,"region":"europe"}`, "location", "/precision"},
		{"NoPlace", "location", `{"latitude":null,"longitude":null,"precision":null,"name":"somewhere"}`, "location", ""},
		{"Country", "location", `{"latitude":null,"longitude":null,"precision":null,"country":"fr"}`, "", ""},
		{"FamilyWithoutName", "malware", `{"name":null}`, "required", "/name"},
		{"InstanceWithoutName", "malware", `{"name":null,"is_family":false}`, "", ""},
		{"ArtifactBoth", "artifact", `{"url":"https://x.example/a","hashes":{"MD5":"3773a88f65a5e780c8dff9cdc3a056f3"}}`, "artifact", "/url"},
		{"ArtifactNeither", "artifact", `{"payload_bin":null}`, "artifact", ""},
		{"ArtifactKey", "artifact", `{"decryption_key":"secret"}`, "artifact", "/decryption_key"},
		{"ArtifactKeyOK", "artifact", `{"decryption_key":"secret","encryption_algorithm":"mime-type-indicated"}`, "", ""},
		{"DisplayName", "email-addr", `{"value":"John Doe <john@example.com>"}`, "email-addr", "/value"},
		{"BodyMultipart", "email-message", `{"body":"x"}`, "email-body", "/body"},
		{"BodyMultipartFalse", "email-message", `{"is_multipart":false}`, "email-body", "/body_multipart"},
		{"HiveAbbreviated", "windows-registry-key", `{"key":"HKLM\\Software\\Foo"}`, "registry-key", "/key"},
		{"HiveLowercase", "windows-registry-key", `{"key":"hkcu\\Software\\Foo"}`, "registry-key", "/key"},
		{"NetworkNoEnds", "network-traffic", `{"src_ref":null,"dst_ref":null}`, "network-traffic", ""},
		{"Port", "network-traffic", `{"src_port":65536}`, "range", "/src_port"},
		{"ContentsKey", "language-content", `{"contents":{"en_US":{"name":"x"}}}`, "language-content", "/contents/en_US"},
		{"ContentsValue", "language-content", `{"contents":{"de":"x"}}`, "language-content", "/contents/de"},
		{"ContentsProperty", "language-content", `{"contents":{"de":{"Name":"x"}}}`, "language-content", "/contents/de/Name"},
		{"ContentsEmpty", "language-content", `{"contents":{"de":{}}}`, "empty", "/contents/de"},
		{"ContentsRef", "language-content", `{"object_ref":"language-content--b86bd89f-98bb-4fa9-8cb2-9ad421da981d"}`, "ref-type", "/object_ref"},
		{"ExtDefCreatedBy", "extension-definition", `{"created_by_ref":null}`, "required", "/created_by_ref"},
		{"ExtDefType", "extension-definition", `{"extension_types":["new-sdo","bogus"]}`, "extension-definition", "/extension_types/1"},
		{"ExtDefProperties", "extension-definition", `{"extension_types":["property-extension"]}`, "extension-definition", "/extension_properties"},
		{"ExtDefPropertyName", "extension-definition", `{"extension_properties":["Toxicity"]}`, "property-name", "/extension_properties/0"},
	})
}

// Ensure that the pattern message carries the parser's offset.
func TestCheckRules_PatternMessage(t *testing.T) {
	fs := rtCheck(rtObject(t, rtIndicator, `{"pattern":"[file:name = 'x'"}`))
	if len(fs) != 1 {
		t.Fatalf("want 1 finding, got %q", fs)
	} else if got, want := fs[0].Message, "pattern: offset 16: expected ']'"; !strings.HasPrefix(got, want) {
		t.Fatalf("Message=%q, want prefix %q", got, want)
	}
}

// Ensure that findings come out in the same order whatever the order in
// which Go iterates the maps.
func TestCheckRules_Deterministic(t *testing.T) {
	patch := `{"x_A":[],"x_B":{},"labels":[],"severity":1,"confidence":200,"x_c_ref":"no","x_d_hex":"Z","lang":"_"}`
	first := rtCheck(rtObject(t, rtIndicator, patch))
	if len(first) < 8 {
		t.Fatalf("want at least 8 findings, got %q", first)
	}
	for range 20 {
		if got := rtCheck(rtObject(t, rtIndicator, patch)); !reflect.DeepEqual(got, first) {
			t.Fatalf("order changed:\n%q\n%q", got, first)
		}
	}
}

// Ensure that checkRules does not panic on objects of the wrong shape; the
// schema reports those.
func TestCheckRules_WrongShapes(t *testing.T) {
	for _, base := range rtBases {
		obj := rtObject(t, base, "")
		for k := range obj {
			if k == "type" || k == "id" {
				continue
			}
			for _, v := range []any{nil, true, json.Number("1e999"), "x", []any{nil}, map[string]any{"": nil}, []any{[]any{}}} {
				o := rtObject(t, base, "")
				o[k] = v
				rtCheck(o)
			}
		}
	}
	checkRules(&Header{}, map[string]any{})
	checkRules(&Header{Type: "observed-data"}, map[string]any{"objects": map[string]any{"0": map[string]any{"type": "observed-data"}}})
}

func TestValidLangTag(t *testing.T) {
	for _, s := range []string{"en", "de", "pt-BR", "zh-Hant-TW", "sr-Latn-RS", "x-klingon", "i-klingon", "en-a-bbb-x-a-ccc", "es-419", "english"} {
		if !validLangTag(s) {
			t.Errorf("validLangTag(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"", "e", "en_US", "en-", "-en", "en--US", "12", "en-a", "en-a-b-cc", "x", "toolongtag", "en-US-toolongsub", "a-bc"} {
		if validLangTag(s) {
			t.Errorf("validLangTag(%q) = true, want false", s)
		}
	}
}

// BenchmarkCheckRulesIndicator measures the rules on a typical indicator
// (decoding excluded); the server's budget is a few µs per object.
func BenchmarkCheckRulesIndicator(b *testing.B) {
	obj := rtObject(b, rtIndicator, "")
	h := &Header{Type: "indicator", ID: obj["id"].(string)}
	b.ReportAllocs()
	for b.Loop() {
		if fs := checkRules(h, obj); len(fs) != 0 {
			b.Fatal(fs)
		}
	}
}

// BenchmarkCheckRulesIndicatorNoPattern is the same without the pattern
// parser, to show what the rules themselves cost.
func BenchmarkCheckRulesIndicatorNoPattern(b *testing.B) {
	obj := rtObject(b, rtIndicator, `{"pattern_type":"snort"}`)
	h := &Header{Type: "indicator", ID: obj["id"].(string)}
	b.ReportAllocs()
	for b.Loop() {
		checkRules(h, obj)
	}
}

// BenchmarkCheckIndicator measures the whole of Check on the same
// indicator: header, decoding, schema and rules.
func BenchmarkCheckIndicator(b *testing.B) {
	v, err := NewValidator()
	if err != nil {
		b.Fatal(err)
	}
	raw := []byte(rtIndicator)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		v.Check(raw)
	}
}

// Ensure that every ordering names timestamp properties of its own entry,
// which timestamps relies on.
func TestTimeRulesTable(t *testing.T) {
	for typ, r := range timeRules {
		if len(r.props) > 8 {
			t.Errorf("%s: %d timestamp properties, timestamps keeps 8", typ, len(r.props))
		}
		for _, o := range r.orders {
			if indexOf(r.props, o.earlier) < 0 || indexOf(r.props, o.later) < 0 {
				t.Errorf("%s: ordering %s/%s names a property not in %q", typ, o.earlier, o.later, r.props)
			}
		}
	}
}

// Ensure that a custom object is an SDO or SRO when its extensions say so
// (extension_type new-sdo or new-sro, STIX 2.1 §7.3), and then needs created
// and modified (§3.2) whether or not it has created; an SCO when they say
// new-sco; and only otherwise told apart by created (issue 9).
func TestValidator_Check_CustomKind(t *testing.T) {
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	const extDef = "extension-definition--d83fce45-ef58-4c6c-a3f4-1fbc32e98c6e"
	obj := func(typ, extType, extra string) []byte {
		s := `{"type":"` + typ + `","spec_version":"2.1","id":"` + typ + `--6ce09d9c-0ad3-4ebf-900c-e3cb288955b5"`
		if extType != "" {
			s += `,"extensions":{"` + extDef + `":{"extension_type":"` + extType + `"}}`
		}
		return []byte(s + extra + `}`)
	}
	const times = `,"created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z"`
	for _, tt := range []struct {
		name  string
		raw   []byte
		want  []string // in the findings, in order
		isSCO bool
	}{
		{"NewSDOWithout", obj("x-acme-widget", "new-sdo", ""), []string{"/created: created is required on an x-acme-widget (required)", "/modified: modified is required on an x-acme-widget (required)"}, false},
		{"NewSROWithout", obj("x-acme-link", "new-sro", `,"modified":"2024-01-01T00:00:00.000Z"`), []string{"/created: created is required on an x-acme-link (required)"}, false},
		{"NewSDO", obj("x-acme-widget", "new-sdo", times), nil, false},
		{"NewSCO", obj("x-acme-device", "new-sco", ""), nil, true},
		{"NewSCOWithCreated", obj("x-acme-device", "new-sco", `,"created":"2024-01-01T00:00:00.000Z"`), nil, true},
		{"UndeclaredWithout", obj("x-acme-device", "", ""), nil, true},
		{"UndeclaredWithCreated", obj("x-acme-widget", "", `,"created":"2024-01-01T00:00:00.000Z"`), []string{"/modified: modified is required on an x-acme-widget (required)"}, false},
		{"PropertyExtension", obj("x-acme-device", "property-extension", ""), nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, fs := v.Check(tt.raw)
			var got []string
			for _, f := range fs {
				got = append(got, f.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("findings %q, want %q", got, tt.want)
			}
			o, err := decodeObject(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			if typ, _ := o["type"].(string); isSCOObject(typ, o) != tt.isSCO {
				t.Errorf("isSCOObject = %v, want %v", !tt.isSCO, tt.isSCO)
			}
		})
	}
}
