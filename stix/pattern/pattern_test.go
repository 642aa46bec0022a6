package pattern

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// Hash values of the right shape for each algorithm Validate checks.
const (
	md5     = "cf69294dbd84de71c74b50eae433c4ff"
	sha1    = "56ef01bea930c45f2bdcf5079e147c73d547b5bc"
	sha256  = "0a0a6821cf229772864783918bbe29542c8af6c5859bf3234d56757524b59579"
	sha512  = "d604e42917e2e1a6a741690a18fb57a281123fd74b44d115b905423bbeed023839441ec627f9a3f67af6aeea6c0252c5b861a1b8d51f2d919fa3ed63c981386d"
	sha3256 = "df2e8ed199b99afa15acd348366eb8ff3b04e694ae83eadbff107d58a3eda562"
	sha3512 = "88a7b5688ebb480ceae9e272c1bf0d60d92cdbf100dbf86a6c989a01e162b20972b7da9cb56e7bf95cecbe0b59b224c435abdbd1ce8024700fc65cd3a682a12f"
	tlsh    = "A4ABD4448C49562D828115D13A1FCCEA927F52B4D5459297F8B43E42DA89238BC13626"
	ssdeep  = "3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C"
	ts      = "t'2016-06-01T00:00:00Z'"
)

var (
	long250  = strings.Repeat("a", 250)
	long251  = strings.Repeat("a", 251)
	nested64 = strings.Repeat("(", 63) + "[x-foo:bar = 1]" + strings.Repeat(")", 63)
)

// validPatterns pass Validate. Each group covers one grammar rule.
var validPatterns = []string{
	// Simple observations, one per common SCO.
	"[ipv4-addr:value = '198.51.100.1/32']",
	"[ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128']",
	"[domain-name:value = 'example.com']",
	"[url:value = 'http://example.com/foo?a=1&b=2']",
	"[email-addr:value = 'jdoe@example.com']",
	"[mac-addr:value = 'd2:fb:49:24:37:18']",
	"[file:name = 'foo.dll']",
	"[autonomous-system:number = 15139]",
	"[x509-certificate:issuer = 'CN=WEBMAIL']",
	"[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\System\\\\Foo\\\\Bar']",
	"[user-account:account_login = 'Peter']",
	"[x-usb-device:usbdrive.serial_number = '575833334C31393135']",
	"[x-acme-widget:id = 'abc']",

	// Equality operators.
	"[file:size == 25536]",
	"[file:size != 0]",
	"[file:size <> 0]",
	"[file:size NOT = 0]",
	"[file:size NOT != 0]",

	// Ordering operators.
	"[file:size < 100]",
	"[file:size <= 100]",
	"[file:size > 100]",
	"[file:size >= 100]",
	"[file:size NOT < 100]",
	"[file:size NOT >= 100]",
	"[file:name < 'm']",
	"[file:ctime > " + ts + "]",
	"[artifact:payload_bin >= b'AAAA']",
	"[x-foo:bar <= h'ff']",
	"[x-foo:bar > -1.5]",

	// Integer literals.
	"[x-foo:bar = 0]",
	"[x-foo:bar = +10]",
	"[x-foo:bar = -5]",
	"[x-foo:bar = -0]",
	"[x-foo:bar = 12345678901234567890123]",

	// Float literals.
	"[x-foo:bar = 1.5]",
	"[x-foo:bar = .5]",
	"[x-foo:bar = +.5]",
	"[x-foo:bar = -.75]",
	"[x-foo:bar = -0.25]",
	"[x-foo:bar = +3.14]",
	"[x-foo:bar = 007.5]",

	// String literals.
	"[x-foo:bar = '']",
	"[x-foo:bar = 'it\\'s']",
	"[x-foo:bar = 'C:\\\\Windows']",
	"[x-foo:bar = '\\\\\\'']",
	"[x-foo:bar = 'line one\nline two']",
	"[x-foo:bar = '日本語']",
	"[x-foo:bar = 'not // a comment']",
	"[x-foo:bar = '/* nor this */']",
	"[x-foo:bar = '] AND [']",
	"[x-foo:bar = 'AND']",
	"[x-foo:bar = '\"']",

	// Boolean literals.
	"[x-foo:bar = true]",
	"[x-foo:bar = false]",
	"[x-foo:bar != false]",

	// Binary literals.
	"[x-foo:bar = b'AAAA']",
	"[x-foo:bar = b'QUJD']",
	"[x-foo:bar = b'QUI=']",
	"[x-foo:bar = b'QQ==']",
	"[x-foo:bar = b'+/+/AAAAQUI=']",

	// Hex literals.
	"[x-foo:bar = h'']",
	"[x-foo:bar = h'00']",
	"[x-foo:bar = h'deadBEEF']",

	// Timestamp literals.
	"[x-foo:bar = t'2016-01-01T00:00:00Z']",
	"[x-foo:bar = t'2016-01-01T00:00:00.123456789012Z']",
	"[x-foo:bar = t'2020-02-29T12:30:45.1Z']",
	"[x-foo:bar = t'2000-02-29T00:00:00Z']",
	"[x-foo:bar = t'2016-12-31T23:59:60Z']",
	"[x-foo:bar = t'0000-01-31T23:59:59Z']",
	"[x-foo:bar = t'2021-04-30T00:00:00Z']",

	// IN.
	"[x-foo:bar IN ('a', 'b')]",
	"[x-foo:bar IN (1, 2, 3)]",
	"[x-foo:bar IN ()]",
	"[x-foo:bar IN('a')]",
	"[x-foo:bar NOT IN ('a')]",
	"[x-foo:bar IN (true, 1.5, 'x', b'AAAA', h'00', -3, " + ts + ")]",

	// LIKE, MATCHES, ISSUBSET, ISSUPERSET.
	"[file:name LIKE 'foo%.dll']",
	"[file:name NOT LIKE 'foo_']",
	"[email-message:subject MATCHES '^Conference.*$']",
	"[x-foo:bar NOT MATCHES '\\\\d+']",
	"[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
	"[ipv4-addr:value NOT ISSUBSET '198.51.100.0/24']",
	"[ipv4-addr:value ISSUPERSET '198.51.100.1/32']",
	"[ipv4-addr:value NOT ISSUPERSET '198.51.100.1/32']",

	// EXISTS.
	"[EXISTS file:name]",
	"[NOT EXISTS file:hashes.MD5]",
	"[EXISTS windows-registry-key:values[*].name]",
	"[EXISTS file:name AND NOT EXISTS file:size]",

	// Object paths.
	"[file:hashes.MD5 = '" + md5 + "']",
	"[file:hashes.'SHA-256' = '" + sha256 + "']",
	"[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]",
	"[email-message:to_refs[0].value = 'a@example.com']",
	"[email-message:to_refs[-1].value = 'a@example.com']",
	"[email-message:to_refs[+1].value = 'a@example.com']",
	"[email-message:to_refs[-0].value = 'a@example.com']",
	"[x-foo:bar[*][*] = 1]",
	"[x-foo:bar[0][1][2] = 1]",
	"[x-foo:bar.'a b' = 1]",
	"[x-foo:bar.'it\\'s' = 1]",
	"[x-foo:bar.'' = 1]",
	"[x-foo:bar.'AND' = 1]",
	"[x-foo:bar._under = 1]",
	"[x-foo:bar.CamelCase = 1]",
	"[x-foo:bar.TRUE = 1]",
	"[x-foo:bar.and = 1]",
	"[x-foo:bar.b = 1]",
	"[x-foo:bar.t.h = 1]",
	"[network-traffic:extensions.'http-request-ext'.request_header.'Accept-Encoding' = 'gzip']",
	"[file:'name' = 'x']",
	"[x-foo:'123' = 1]",
	"[x-foo:id = 1]",
	"[x-foo:_ab = 1]",
	"[x-foo:x_custom = 1]",
	"[x-foo:" + long250 + " = 1]",
	"[a" + long250[1:] + ":bar = 1]",
	"[abc:def = 1]",
	"[a1-b2:c_d = 1]",
	"[bbb:hhh = 1]",

	// Hash values.
	"[file:hashes.MD5 = '" + strings.ToUpper(md5) + "']",
	"[file:hashes.'SHA-1' = '" + sha1 + "']",
	"[file:hashes.'SHA-512' = '" + sha512 + "']",
	"[file:hashes.'SHA3-256' = '" + sha3256 + "']",
	"[file:hashes.'SHA3-512' = '" + sha3512 + "']",
	"[file:hashes.SSDEEP = '" + ssdeep + "']",
	"[file:hashes.SSDEEP = '" + ssdeep + ",\"file.exe\"']",
	"[file:hashes.TLSH = '" + tlsh + "']",
	"[file:hashes.TLSH = 'T1" + tlsh + "']",
	"[file:hashes.md5 = '" + md5 + "']",
	"[file:hashes.'SHA-384' = 'not checked']",
	"[file:hashes.MD5 != 'not checked']",
	"[file:hashes.MD5 LIKE 'cf69%']",
	"[file:hashes.MD5 IN ('abc')]",
	"[file:hashes.MD5 NOT = '" + md5 + "']",
	"[file:hashes = 'abc']",
	"[file:extensions.'windows-pebinary-ext'.sections[*].hashes.'SHA-256' = '" + sha256 + "']",
	"[file:hashes.MD5[0] = 'x']",

	// Comparison AND / OR / parentheses.
	"[file:name = 'a' AND file:size = 1]",
	"[file:name = 'a' OR file:size = 1]",
	"[file:name = 'a' OR file:name = 'b' AND file:size = 1]",
	"[(file:name = 'a' OR file:name = 'b') AND file:size = 1]",
	"[((file:name = 'a'))]",
	"[file:name = 'a' AND (file:size = 1 OR (file:size = 2 AND file:size != 3))]",
	"[file:name = 'a' AND file:size = 1 AND file:size != 2 AND file:size != 3]",
	"[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']",
	"[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value ISSUBSET '198.51.100.0/24']",

	// Observation AND / OR / FOLLOWEDBY / parentheses.
	"[file:name = 'a'] AND [file:name = 'b']",
	"[file:name = 'a'] OR [file:name = 'b']",
	"[file:name = 'a'] FOLLOWEDBY [file:name = 'b']",
	"[file:name = 'a'] AND [file:name = 'b'] OR [file:name = 'c'] FOLLOWEDBY [file:name = 'd']",
	"[file:name = 'a'] FOLLOWEDBY [file:name = 'b'] OR [file:name = 'c'] AND [file:name = 'd']",
	"([file:name = 'a'] FOLLOWEDBY [file:name = 'b']) AND [file:name = 'c']",
	"(([file:name = 'a']))",
	"([file:name = 'a'] OR ([file:name = 'b'] AND ([file:name = 'c'])))",

	// Qualifiers.
	"[file:name = 'a'] WITHIN 5 SECONDS",
	"[file:name = 'a'] WITHIN 2.5 SECONDS",
	"[file:name = 'a'] WITHIN .5 SECONDS",
	"[file:name = 'a'] WITHIN +5 SECONDS",
	"[file:name = 'a'] REPEATS 5 TIMES",
	"[file:name = 'a'] REPEATS +1 TIMES",
	"[file:name = 'a'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
	"[file:name = 'a'] START t'2016-07-01T00:00:00Z' STOP t'2016-06-01T00:00:00Z'",
	"[file:name = 'a'] REPEATS 5 TIMES WITHIN 10 SECONDS START " + ts + " STOP " + ts,
	"([file:name = 'a'] AND [file:name = 'b']) WITHIN 300 SECONDS",
	"([file:name = 'a'] WITHIN 5 SECONDS) WITHIN 6 SECONDS",
	"([file:name = 'a'] REPEATS 2 TIMES) REPEATS 3 TIMES",
	"[file:name = 'a'] AND [file:name = 'b'] WITHIN 5 SECONDS",
	"[file:name = 'a'] WITHIN 5 SECONDS AND [file:name = 'b'] WITHIN 5 SECONDS",
	"[network-traffic:dst_port = 80 AND network-traffic:protocols[*] = 'tcp'] REPEATS 5 TIMES START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
	"[process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachine Root$'] FOLLOWEDBY [process:command_line MATCHES '^.+>-add GlobalSign.cer -c -s -r localMachineTrustedPublisher$'] WITHIN 300 SECONDS",

	// Whitespace and comments.
	"[file:size>5]",
	"[file:size=5]AND[file:size=6]",
	"\t[ file:size\t= 5 ]\n",
	"[file:size = 5]\r\nAND\r\n[file:size = 6]",
	"/* leading */ [file:size = 5]",
	"[file:size /* inside */ = 5]",
	"[file:size = 5] // trailing",
	"[file:size = 5] // line comment\nAND [file:size = 6]",
	"[file:size = 5]/**/AND/* ' */[file:size = 6]",
	"[file:size\u00a0=\u30005]\u2028",
	"[file:size = 5] /* multi\nline */ WITHIN\v5\fSECONDS",

	// Nesting up to the limit.
	nested64,
	"[" + strings.Repeat("(", 63) + "x-foo:bar = 1" + strings.Repeat(")", 63) + "]",
}

// invalidTest is a pattern Validate must reject. offset and want are
// checked unless -1 or "".
type invalidTest struct {
	in       string
	offset   int
	want     string // a substring of the error text
	semantic bool   // Parse accepts it; only Validate rejects it
}

var invalidPatterns = []invalidTest{
	// Structure.
	{"", 0, "expected '[' or '(', found end of pattern", false},
	{"   ", 3, "expected '[' or '(', found end of pattern", false},
	{"[", 1, "expected comparison expression, found end of pattern", false},
	{"[]", 1, "expected comparison expression, found ']'", false},
	{"[file:name = 'x'", 16, "expected ']', found end of pattern", false},
	{"file:name = 'x'", 0, "expected '[' or '(', found 'file'", false},
	{"[file:name = 'x']]", 17, "expected end of pattern, found ']'", false},
	{"[file:name = 'x'] [file:name = 'y']", 18, "expected end of pattern, found '['", false},
	{"[file:name = 'x'][file:name = 'y']", 17, "expected end of pattern, found '['", false},
	{"[[file:name = 'x']]", 1, "expected comparison expression, found '['", false},
	{"()", 1, "expected '[' or '(', found ')'", false},
	{"([file:name = 'x']", 18, "expected ')', found end of pattern", false},
	{"[file:name = 'x'])", 17, "expected end of pattern, found ')'", false},
	{"[(file:name = 'x']", 17, "expected ')', found ']'", false},
	{"[file:name = 'x')]", 16, "expected ']', found ')'", false},
	{"([file:name = 'x'] AND)", 22, "expected '[' or '(', found ')'", false},

	// Observation operators.
	{"[file:name = 'x'] AND", 21, "expected '[' or '(', found end of pattern", false},
	{"AND [file:name = 'x']", 0, "expected '[' or '(', found 'AND'", false},
	{"[file:name = 'x'] FOLLOWEDBY FOLLOWEDBY [file:name = 'y']", 29, "expected '[' or '(', found 'FOLLOWEDBY'", false},
	{"[file:name = 'x'] and [file:name = 'y']", 18, "expected end of pattern, found 'and'", false},
	{"[file:name = 'x'] followedby [file:name = 'y']", 18, "found 'followedby'", false},
	{"[file:name = 'x'] & [file:name = 'y']", 18, "expected end of pattern, found '&'", false},
	{"[file:name = 'x'] / [file:name = 'y']", 18, "found '/'", false},
	{"[file:name = 'x'] # comment", 18, "found '#'", false},
	{"[file:name = 'x'] /* unterminated", 33, "expected '*/' closing the comment, found end of pattern", false},
	{"[file:name = 'x'] // comment\nAND", 32, "expected '[' or '(', found end of pattern", false},
	{"[file:name = 'x']\x00", 17, `found '\x00'`, false},

	// Comparison operators and expressions.
	{"[file:name = 'x' AND]", 20, "expected comparison expression, found ']'", false},
	{"[file:name = 'x' OR OR file:name = 'y']", 20, "expected comparison expression, found 'OR'", false},
	{"[AND file:name = 'x']", 1, "expected comparison expression, found 'AND'", false},
	{"[file:name = 'x' and file:size = 1]", 17, "expected ']', found 'and'", false},
	{"[file:name 'x']", 11, "expected comparison operator, found 'x'", false},
	{"[file:name]", 10, "expected comparison operator, found ']'", false},
	{"[file:name not = 'x']", 11, "expected comparison operator, found 'not'", false},
	{"[file:name like 'x']", 11, "expected comparison operator, found 'like'", false},
	{"[file:name NOT NOT = 'x']", 15, "expected comparison operator, found 'NOT'", false},
	{"[file:name = 'x' NOT]", 17, "expected ']', found 'NOT'", false},
	{"[file:name ! 'x']", 11, "expected comparison operator, found '!'", false},
	{"[file:size =< 1]", 12, "expected literal, found '<'", false},
	{"[file:size => 1]", 12, "expected literal, found '>'", false},
	{"[file:size === 1]", 13, "expected literal, found '='", false},
	{"[file:name =]", 12, "expected literal, found ']'", false},
	{"[file:name = file:name]", 13, "expected literal, found 'file'", false},
	{"[file:name = \"x\"]", 13, "expected literal, found '\"'", false},
	{"[file:name = \u2018x\u2019]", 13, "expected literal, found '\u2018'", false},
	{"[file:name = TRUE]", 13, "expected literal, found 'TRUE'", false},
	{"[file:name = True]", 13, "expected literal, found 'True'", false},
	{"[file:size < true]", 13, "expected orderable literal", false},
	{"[file:size >= false]", 14, "expected orderable literal", false},
	{"[file:name LIKE 5]", 16, "expected string literal, found 5", false},
	{"[file:name MATCHES true]", 19, "expected string literal, found true", false},
	{"[file:name ISSUBSET b'AAAA']", 20, "expected string literal, found b'AAAA'", false},
	{"[file:name ISSUPERSET h'00']", 22, "expected string literal, found h'00'", false},
	{"[file:name = h'00' h'00']", 19, "expected ']', found h'00'", false},
	{"[file:name = 'a'b]", 16, "expected ']', found 'b'", false},

	// EXISTS.
	{"[NOT file:name = 'x']", 5, "expected 'EXISTS', found 'file'", false},
	{"[EXISTS]", 7, "expected object type, found ']'", false},
	{"[EXISTS file]", 12, "expected ':', found ']'", false},
	{"[NOT EXISTS file:name = 'x']", 22, "expected ']', found '='", false},
	{"[EXISTS NOT file:name]", 8, "expected object type, found 'NOT'", false},

	// IN sets.
	{"[file:name IN 'a']", 14, "expected '(', found 'a'", false},
	{"[file:name IN ('a',)]", 19, "expected literal, found ')'", false},
	{"[file:name IN (,)]", 15, "expected literal, found ','", false},
	{"[file:name IN ('a' 'b')]", 19, "expected ',' or ')', found 'b'", false},
	{"[file:name IN ('a'", 18, "expected ',' or ')', found end of pattern", false},
	{"[file:name IN ()", 16, "expected ']', found end of pattern", false},
	{"[file:name IN (('a'))]", 15, "expected literal, found '('", false},

	// Object paths.
	{"[:name = 'x']", 1, "expected comparison expression, found ':'", false},
	{"[file name = 'x']", 6, "expected ':', found 'name'", false},
	{"[file: = 'x']", 7, "expected property name, found '='", false},
	{"[file:name. = 'x']", 12, "expected property name, found '='", false},
	{"[file:extensions.windows-pebinary-ext.x = 1]", 17, "expected property name (quote names containing '-'), found 'windows-pebinary-ext'", false},
	{"[file:x-name = 1]", 6, "quote names containing '-'", false},
	{"[x-foo.bar:baz = 1]", 6, "expected ':', found '.'", false},
	{"[x-foo:bar.5 = 1]", 10, "expected comparison operator, found .5", false},
	{"[file:name[ = 'x']", 12, "expected list index or '*', found '='", false},
	{"[file:name[0 = 'x']", 13, "expected ']', found '='", false},
	{"[file:name[a] = 'x']", 11, "expected list index or '*', found 'a'", false},
	{"[file:name[1.5] = 'x']", 11, "expected list index or '*', found 1.5", false},
	{"[file:name[-*] = 'x']", 11, "expected list index or '*', found '-'", false},
	{"[file:name[99999999999999999999] = 'x']", 11, "expected list index that fits in an int", false},
	{"[file:name[*] = 'x'", 19, "expected ']', found end of pattern", false},
	{"[true:name = 'x']", 1, "expected comparison expression, found true", false},
	{"[x-foo:true = 1]", 7, "expected property name, found true", false},
	{"[x-foo:LAST = 1]", 7, "expected property name, found 'LAST'", false},
	{"[x-foo:AND = 1]", 7, "expected property name, found 'AND'", false},
	{"[123:name = 'x']", 1, "expected comparison expression, found 123", false},
	{"[x-foo:'bar = 1]", 16, "expected closing quote, found end of pattern", false},
	{"[x-foo:b\u00e4r = 1]", 8, "expected comparison operator, found '\u00e4'", false},

	// Number literals.
	{"[file:size = 007]", 13, "expected integer without leading zeros, found 007", false},
	{"[file:name[01] = 'x']", 11, "expected integer without leading zeros", false},
	{"[file:size = 1.]", 14, "expected ']', found '.'", false},
	{"[file:size = +]", 13, "expected literal, found '+'", false},
	{"[file:size = -]", 13, "expected literal, found '-'", false},
	{"[file:size = 1e5]", 14, "expected ']', found 'e5'", false},
	{"[file:size = 0x10]", 14, "expected ']', found 'x10'", false},
	{"[file:size = --1]", 13, "expected literal, found '-'", false},

	// String literals.
	{"[file:name = 'x\\n']", 15, `expected \' or \\ after backslash, found 'n'`, false},
	{"[file:name = 'x\\u0041']", 15, `found 'u'`, false},
	{"[file:name = 'x\\\"']", 15, `found '"'`, false},
	{"[file:name = 'x\\']", 18, "expected closing quote, found end of pattern", false},
	{"[file:name = 'x", 15, "expected closing quote, found end of pattern", false},
	{"[file:name = 'abc\\", 18, `expected \' or \\ after backslash, found end of pattern`, false},

	// Binary and hex literals.
	{"[x-foo:bar = b'']", 15, "expected base64 padded to a multiple of 4 characters, found 0 characters", false},
	{"[x-foo:bar = b'AAA']", 18, "expected base64 padded to a multiple of 4 characters, found 3 characters", false},
	{"[x-foo:bar = b'AAAAA=']", 21, "found 6 characters", false},
	{"[x-foo:bar = b'AA=A']", 17, "expected base64 character, found '='", false},
	{"[x-foo:bar = b'A===']", 16, "expected base64 character, found '='", false},
	{"[x-foo:bar = b'AA-_']", 17, "expected base64 character, found '-'", false},
	{"[x-foo:bar = b'AA AA']", 17, "expected base64 character, found ' '", false},
	{"[x-foo:bar = b'AAAA", 19, "expected closing quote, found end of pattern", false},
	{"[x-foo:bar = h'abc']", 18, "expected an even number of hex digits, found 3 digits", false},
	{"[x-foo:bar = h'zz']", 15, "expected hex digit, found 'z'", false},
	{"[x-foo:bar = h'0x00']", 16, "expected hex digit, found 'x'", false},

	// Timestamp literals.
	{"[x-foo:bar = t'2016-13-01T00:00:00Z']", 20, "expected month 01-12, found '13'", false},
	{"[x-foo:bar = t'2016-00-01T00:00:00Z']", 20, "expected month 01-12, found '00'", false},
	{"[x-foo:bar = t'2016-01-32T00:00:00Z']", 23, "expected day 01-31, found '32'", false},
	{"[x-foo:bar = t'2016-01-00T00:00:00Z']", 23, "expected day 01-31, found '00'", false},
	{"[x-foo:bar = t'2021-04-31T00:00:00Z']", 23, "expected day 01-30 for 2021-04, found '31'", false},
	{"[x-foo:bar = t'2019-02-29T00:00:00Z']", 23, "expected day 01-28 for 2019-02, found '29'", false},
	{"[x-foo:bar = t'1900-02-29T00:00:00Z']", 23, "expected day 01-28 for 1900-02", false},
	{"[x-foo:bar = t'2000-02-30T00:00:00Z']", 23, "expected day 01-29 for 2000-02", false},
	{"[x-foo:bar = t'2016-01-01T24:00:00Z']", 26, "expected hour 00-23, found '24'", false},
	{"[x-foo:bar = t'2016-01-01T00:60:00Z']", 29, "expected minute 00-59, found '60'", false},
	{"[x-foo:bar = t'2016-01-01T00:00:61Z']", 32, "expected second 00-60, found '61'", false},
	{"[x-foo:bar = t'2016-01-01T00:00:00']", 34, "expected 'Z', found closing quote", false},
	{"[x-foo:bar = t'2016-01-01T00:00:00z']", 34, "expected 'Z', found 'z'", false},
	{"[x-foo:bar = t'2016-01-01T00:00:00+00:00']", 34, "expected 'Z', found '+'", false},
	{"[x-foo:bar = t'2016-01-01T00:00:00.Z']", 35, "expected digit after '.', found 'Z'", false},
	{"[x-foo:bar = t'2016-01-01']", 25, "expected 'T', found closing quote", false},
	{"[x-foo:bar = t'2016-1-01T00:00:00Z']", 21, "expected month 01-12, found '-'", false},
	{"[x-foo:bar = t'2016-01-01 00:00:00Z']", 25, "expected 'T', found ' '", false},
	{"[x-foo:bar = t'2016-01-01t00:00:00Z']", 25, "expected 'T', found 't'", false},
	{"[x-foo:bar = t'']", 15, "expected four-digit year, found closing quote", false},
	{"[x-foo:bar = t'20160-01-01T00:00:00Z']", 19, "expected '-', found '0'", false},
	{"[x-foo:bar = t'2016-01-01T00:00:00ZZ']", 35, "expected closing quote after 'Z', found 'Z'", false},
	{"[x-foo:bar = t'2016-01-01T00:00:00Z]", 36, "expected closing quote, found end of pattern", false},

	// Qualifiers.
	{"[file:name = 'x'] WITHIN SECONDS", 25, "expected number of seconds, found 'SECONDS'", false},
	{"[file:name = 'x'] WITHIN -5 SECONDS", 25, "expected number of seconds, found -5", false},
	{"[file:name = 'x'] WITHIN -.5 SECONDS", 25, "expected number of seconds, found -.5", false},
	{"[file:name = 'x'] WITHIN '5' SECONDS", 25, "expected number of seconds, found '5'", false},
	{"[file:name = 'x'] WITHIN 5", 26, "expected 'SECONDS', found end of pattern", false},
	{"[file:name = 'x'] WITHIN 5 seconds", 27, "expected 'SECONDS', found 'seconds'", false},
	{"[file:name = 'x'] within 5 SECONDS", 18, "expected end of pattern, found 'within'", false},
	{"[file:name = 'x'] REPEATS 1.5 TIMES", 26, "expected number of times, found 1.5", false},
	{"[file:name = 'x'] REPEATS -1 TIMES", 26, "expected number of times, found -1", false},
	{"[file:name = 'x'] REPEATS 5", 27, "expected 'TIMES', found end of pattern", false},
	{"[file:name = 'x'] REPEATS 5 SECONDS", 28, "expected 'TIMES', found 'SECONDS'", false},
	{"[file:name = 'x'] START '2016-06-01T00:00:00Z' STOP '2016-07-01T00:00:00Z'", 24, "expected timestamp literal, found '2016-06-01T00:00:00Z'", false},
	{"[file:name = 'x'] START " + ts, 47, "expected 'STOP', found end of pattern", false},
	{"[file:name = 'x'] START " + ts + " STOP", 52, "expected timestamp literal, found end of pattern", false},
	{"[file:name = 'x'] STOP " + ts, 18, "expected end of pattern, found 'STOP'", false},
	{"[file:name = 'x'] LAST 5 SECONDS", 18, "expected end of pattern, found 'LAST'", false},
	{"WITHIN 5 SECONDS [file:name = 'x']", 0, "expected '[' or '(', found 'WITHIN'", false},
	{"[file:name = 'x'] WITHIN 5 SECONDS AND", 38, "expected '[' or '(', found end of pattern", false},

	// Nesting beyond MaxNesting.
	{"((" + nested64 + "))", 64, "expected at most 64 nested parentheses, found '('", false},
	{strings.Repeat("(", 100) + "[x-foo:bar = 1]" + strings.Repeat(")", 100), 64, "expected at most 64 nested parentheses", false},
	{"[" + strings.Repeat("(", 65) + "x-foo:bar = 1" + strings.Repeat(")", 65) + "]", 65, "expected at most 64 nested parentheses", false},
	{"(((([" + strings.Repeat("(", 61) + "x-foo:bar = 1" + strings.Repeat(")", 61) + "]))))", 65, "nested parentheses", false},
	{strings.Repeat("(", 100000), 64, "nested parentheses", false},

	// Semantic: qualifier values.
	{"[file:name = 'x'] REPEATS 0 TIMES", 26, "REPEATS count must be positive, found 0", true},
	{"[file:name = 'x'] REPEATS +0 TIMES", 26, "REPEATS count must be positive, found 0", true},
	{"[file:name = 'x'] WITHIN 0 SECONDS", 25, "WITHIN seconds must be positive, found 0", true},
	{"[file:name = 'x'] WITHIN 0.0 SECONDS", 25, "WITHIN seconds must be positive, found 0.0", true},
	{"[file:name = 'x'] WITHIN .000 SECONDS", 25, "WITHIN seconds must be positive", true},
	{"([file:name = 'x'] AND [file:name = 'y']) WITHIN 0 SECONDS", 49, "WITHIN seconds must be positive", true},

	// Semantic: duplicate qualifiers.
	{"[file:name = 'x'] WITHIN 5 SECONDS WITHIN 6 SECONDS", 35, "duplicate WITHIN qualifier", true},
	{"[file:name = 'x'] REPEATS 2 TIMES REPEATS 3 TIMES", 34, "duplicate REPEATS qualifier", true},
	{"[file:name = 'x'] START " + ts + " STOP " + ts + " START " + ts + " STOP " + ts, 77, "duplicate START/STOP qualifier", true},
	{"[file:name = 'x'] WITHIN 5 SECONDS REPEATS 2 TIMES WITHIN 6 SECONDS", 51, "duplicate WITHIN qualifier", true},
	{"([file:name = 'x'] OR [file:name = 'y']) REPEATS 2 TIMES REPEATS 2 TIMES", 57, "duplicate REPEATS qualifier", true},
	{"[file:name = 'y'] AND [file:name = 'x'] WITHIN 5 SECONDS WITHIN 5 SECONDS", 57, "duplicate WITHIN qualifier", true},

	// Semantic: object type names.
	{"[ab:name = 'x']", 1, `invalid object type "ab": must be 3-250 characters long`, true},
	{"[x:created = t'2016-01-01T00:00:00Z']", 1, "must be 3-250 characters long", true},
	{"[a" + long250 + ":bar = 1]", 1, "must be 3-250 characters long", true},
	{"[x_whatever:detected == t'2018-03-22T12:11:14.1Z']", 1, `invalid object type "x_whatever": must contain only a-z, 0-9 and '-'`, true},
	{"[File:name = 'x']", 1, "must start with a lowercase letter", true},
	{"[_abc:name = 'x']", 1, "must start with a lowercase letter", true},
	{"[x-FOO:bar = 1]", 1, "must contain only a-z, 0-9 and '-'", true},
	{"[x--foo:bar = 1]", 1, `must not contain "--"`, true},
	{"[x-foo-:bar = 1]", 1, "must not end with '-'", true},
	{"[file:name = 'x'] AND [ab:cd = 1]", 23, `invalid object type "ab"`, true},
	{"[EXISTS ab:name]", 8, `invalid object type "ab"`, true},

	// Semantic: first-level property names.
	{"[x-foo:ab = 1]", 7, `invalid property name "ab": must be "id" or 3-250 characters of a-z, 0-9 and '_'`, true},
	{"[x-foo:Name = 1]", 7, `invalid property name "Name"`, true},
	{"[x-foo:ID = 1]", 7, `invalid property name "ID"`, true},
	{"[x-foo:'with space' = 1]", 7, `invalid property name "with space"`, true},
	{"[x-foo:'x-name' = 1]", 7, `invalid property name "x-name"`, true},
	{"[x-foo:'' = 1]", 7, `invalid property name ""`, true},
	{"[x-foo:" + long251 + " = 1]", 7, "invalid property name", true},
	{"[NOT EXISTS x-foo:ab]", 18, `invalid property name "ab"`, true},
	{"[ab:cd = 1] REPEATS 0 TIMES", 1, "invalid object type", true},

	// Semantic: hash values.
	{"[file:hashes.MD5 = 'abc']", 19, `"abc" is not a valid MD5 hash: want 32 hex digits`, true},
	{"[file:hashes.MD5 = '" + md5[:31] + "g']", 19, "not a valid MD5 hash", true},
	{"[file:hashes.md5 = '" + md5 + "0']", 19, "not a valid MD5 hash", true},
	{"[file:hashes.'SHA-1' = '" + sha1[:39] + "']", 23, "not a valid SHA-1 hash: want 40 hex digits", true},
	{"[file:hashes.'SHA-256' = '" + md5 + "']", 25, "not a valid SHA-256 hash: want 64 hex digits", true},
	{"[file:hashes.'SHA-512' = '" + sha256 + "']", 25, "not a valid SHA-512 hash: want 128 hex digits", true},
	{"[file:hashes.'SHA3-256' = '" + sha3512 + "']", 26, "not a valid SHA3-256 hash", true},
	{"[file:hashes.'SHA3-512' = '" + sha3256 + "']", 26, "not a valid SHA3-512 hash", true},
	{"[file:hashes.SSDEEP = 'abc']", 22, "not a valid SSDEEP hash", true},
	{"[file:hashes.SSDEEP = '3::AXGHsNhxLsr2C']", 22, "not a valid SSDEEP hash", true},
	{"[file:hashes.SSDEEP = 'x:AXG:AXG']", 22, "not a valid SSDEEP hash", true},
	{"[file:hashes.SSDEEP = '3:AXG:AXG:']", 22, "not a valid SSDEEP hash", true},
	{"[file:hashes.TLSH = '" + tlsh[:69] + "']", 20, "not a valid TLSH hash", true},
	{"[file:hashes.TLSH = 'T1" + tlsh[:69] + "']", 20, "not a valid TLSH hash", true},
	{"[file:hashes.MD5 = 5]", 19, "MD5 hash must be compared with a string, found integer", true},
	{"[file:hashes.MD5 = h'" + md5 + "']", 19, "found hex", true},
	{"[file:hashes.MD5 NOT = 'abc']", 23, "not a valid MD5 hash", true},
	{"[file:hashes.MD5 == 'abc']", 20, "not a valid MD5 hash", true},
	{"[file:extensions.'windows-pebinary-ext'.sections[*].hashes.MD5 = 'abc']", 65, "not a valid MD5 hash", true},
	{"[artifact:hashes.'SHA-256' = 'abc' OR artifact:mime_type = 'x']", 29, "not a valid SHA-256 hash", true},
}

func TestValidate_Valid(t *testing.T) {
	if len(validPatterns) < 150 {
		t.Errorf("only %d valid patterns, want at least 150", len(validPatterns))
	}
	for _, s := range validPatterns {
		if _, err := Parse(s); err != nil {
			t.Errorf("Parse(%q): %v", s, err)
			continue
		}
		if err := Validate(s); err != nil {
			t.Errorf("Validate(%q): %v", s, err)
		}
	}
}

func TestValidate_Invalid(t *testing.T) {
	if len(invalidPatterns) < 100 {
		t.Errorf("only %d invalid patterns, want at least 100", len(invalidPatterns))
	}
	for _, test := range invalidPatterns {
		err := Validate(test.in)
		if err == nil {
			t.Errorf("Validate(%q) = nil, want error", test.in)
			continue
		}
		_, perr := Parse(test.in)
		var offset int
		if test.semantic {
			var se *SemanticError
			if !errors.As(err, &se) {
				t.Errorf("Validate(%q) = %T %v, want *SemanticError", test.in, err, err)
				continue
			}
			if perr != nil {
				t.Errorf("Parse(%q) = %v, want success", test.in, perr)
			}
			offset = se.Offset
		} else {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("Validate(%q) = %T %v, want *SyntaxError", test.in, err, err)
				continue
			}
			if perr == nil || perr.Error() != err.Error() {
				t.Errorf("Parse(%q) = %v, want %v", test.in, perr, err)
			}
			offset = se.Offset
		}
		if test.offset >= 0 && offset != test.offset {
			t.Errorf("Validate(%q): offset %d, want %d (%v)", test.in, offset, test.offset, err)
		}
		if !strings.Contains(err.Error(), test.want) {
			t.Errorf("Validate(%q) = %q, want it to contain %q", test.in, err, test.want)
		}
		if offset < 0 || offset > len(test.in) {
			t.Errorf("Validate(%q): offset %d outside the input", test.in, offset)
		}
	}
}

// Ensure error texts read as documented.
func TestErrorText(t *testing.T) {
	_, err := Parse("[file:name = 'x1'")
	if got, want := err.Error(), "offset 17: expected ']', found end of pattern"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	err = Validate("[file:name = 'x'] REPEATS 2 TIMES REPEATS 3 TIMES")
	if got, want := err.Error(), "offset 34: duplicate REPEATS qualifier"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	_, err = Parse("[file:name = '" + strings.Repeat("x", 100) + "' x]")
	if got := err.Error(); len(got) > 120 || !strings.HasSuffix(got, "found 'x'") {
		t.Errorf("Error() = %q", got)
	}
	_, err = Parse("[file:name IN '" + strings.Repeat("x", 100) + "']")
	if got := err.Error(); !strings.HasSuffix(got, "xxx...") || len(got) > 100 {
		t.Errorf("Error() = %q, want a shortened excerpt", got)
	}
}

// tree prints an observation expression with its structure explicit:
// compounds as OP{...}, qualifiers as suffixes, comparisons as written.
func tree(e ObservationExpr) string {
	switch e := e.(type) {
	case *CompoundObservation:
		return compoundTree(e.Op, e.Operands, tree)
	case *Observation:
		return "[" + ctree(e.Comparison) + "]" + qtree(e.Qualifiers)
	case *ParenObservation:
		return "(" + tree(e.Expr) + ")" + qtree(e.Qualifiers)
	}
	return "?"
}

func ctree(c ComparisonExpr) string {
	switch c := c.(type) {
	case *CompoundComparison:
		return compoundTree(c.Op, c.Operands, ctree)
	case *ParenComparison:
		return "(" + ctree(c.Expr) + ")"
	case *Comparison, *Exists:
		return c.String()
	}
	return "?"
}

// compoundTree prints a compound of either kind as OP{operand, ...}.
func compoundTree[E any](op LogicalOp, operands []E, tree func(E) string) string {
	parts := make([]string, len(operands))
	for i, o := range operands {
		parts[i] = tree(o)
	}
	return op.String() + "{" + strings.Join(parts, ", ") + "}"
}

func qtree(qs []Qualifier) string {
	s := ""
	for _, q := range qs {
		s += " " + q.Kind.String()
	}
	return s
}

// Ensure operators bind and associate as the grammar says.
func TestParse_Structure(t *testing.T) {
	for _, test := range []struct{ in, want string }{
		{"[a-x:b_c = 1]", "[a-x:b_c = 1]"},
		{"[a:b=1] AND [c:d=2] OR [e:f=3]", "OR{AND{[a:b = 1], [c:d = 2]}, [e:f = 3]}"},
		{"[a:b=1] OR [c:d=2] AND [e:f=3]", "OR{[a:b = 1], AND{[c:d = 2], [e:f = 3]}}"},
		{"[a:b=1] OR [c:d=2] FOLLOWEDBY [e:f=3] AND [g:h=4]",
			"FOLLOWEDBY{OR{[a:b = 1], [c:d = 2]}, AND{[e:f = 3], [g:h = 4]}}"},
		{"[a:b=1] FOLLOWEDBY [c:d=2] FOLLOWEDBY [e:f=3]", "FOLLOWEDBY{[a:b = 1], [c:d = 2], [e:f = 3]}"},
		{"([a:b=1] OR [c:d=2]) AND [e:f=3]", "AND{(OR{[a:b = 1], [c:d = 2]}), [e:f = 3]}"},
		{"[a:b=1] AND [c:d=2] WITHIN 5 SECONDS", "AND{[a:b = 1], [c:d = 2] WITHIN}"},
		{"([a:b=1] AND [c:d=2]) WITHIN 5 SECONDS REPEATS 2 TIMES", "(AND{[a:b = 1], [c:d = 2]}) WITHIN REPEATS"},
		{"([a:b=1] WITHIN 1 SECONDS) WITHIN 2 SECONDS", "([a:b = 1] WITHIN) WITHIN"},
		{"[a:b=1 AND c:d=2 OR e:f=3]", "[OR{AND{a:b = 1, c:d = 2}, e:f = 3}]"},
		{"[a:b=1 OR c:d=2 AND e:f=3]", "[OR{a:b = 1, AND{c:d = 2, e:f = 3}}]"},
		{"[a:b=1 OR c:d=2 OR e:f=3]", "[OR{a:b = 1, c:d = 2, e:f = 3}]"},
		{"[(a:b=1 OR c:d=2) AND e:f=3]", "[AND{(OR{a:b = 1, c:d = 2}), e:f = 3}]"},
		{"[NOT EXISTS a:b AND a:c NOT LIKE 'x']", "[AND{NOT EXISTS a:b, a:c NOT LIKE 'x'}]"},
	} {
		p, err := Parse(test.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", test.in, err)
			continue
		}
		if got := tree(p.Expr); got != test.want {
			t.Errorf("Parse(%q) = %s, want %s", test.in, got, test.want)
		}
	}
}

// Ensure the AST holds decoded values and source offsets.
func TestParse_AST(t *testing.T) {
	s := "[file:extensions.'windows-pebinary-ext'.sections[-1][*].name NOT IN ('a\\'b', +5, .5)] REPEATS +3 TIMES START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00.5Z'"
	p, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	o := p.Expr.(*Observation)
	c := o.Comparison.(*Comparison)
	path := c.Path
	if path.Type != "file" || path.Pos != 1 || path.Property != "extensions" || path.PropertyPos != 6 {
		t.Errorf("path = %+v", path)
	}
	wantSteps := []PathStep{
		{Kind: KeyStep, Pos: 17, Key: "windows-pebinary-ext"},
		{Kind: KeyStep, Pos: 40, Key: "sections"},
		{Kind: IndexStep, Pos: 48, Index: -1},
		{Kind: AnyIndexStep, Pos: 52},
		{Kind: KeyStep, Pos: 56, Key: "name"},
	}
	if len(path.Steps) != len(wantSteps) {
		t.Fatalf("steps = %+v", path.Steps)
	}
	for i, step := range path.Steps {
		if step != wantSteps[i] {
			t.Errorf("step %d = %+v, want %+v", i, step, wantSteps[i])
		}
	}
	if !c.Not || c.Op != OpIn || len(c.Set) != 3 {
		t.Fatalf("comparison = %+v", c)
	}
	wantSet := []Literal{
		{Kind: StringLiteral, Pos: 69, Text: "a'b"},
		{Kind: IntLiteral, Pos: 77, Text: "5"},
		{Kind: FloatLiteral, Pos: 81, Text: ".5"},
	}
	for i, l := range c.Set {
		if l != wantSet[i] {
			t.Errorf("set[%d] = %+v, want %+v", i, l, wantSet[i])
		}
	}
	if len(o.Qualifiers) != 2 {
		t.Fatalf("qualifiers = %+v", o.Qualifiers)
	}
	if q := o.Qualifiers[0]; q.Kind != RepeatsQualifier || q.Pos != 86 || q.Value.Text != "3" {
		t.Errorf("qualifier 0 = %+v", q)
	}
	if q := o.Qualifiers[1]; q.Kind != StartStopQualifier || q.Start.Text != "2016-06-01T00:00:00Z" || q.Stop.Text != "2016-07-01T00:00:00.5Z" {
		t.Errorf("qualifier 1 = %+v", q)
	}
}

// Ensure String prints the canonical form.
func TestString(t *testing.T) {
	for _, test := range []struct{ in, want string }{
		{"[file:size==+5]", "[file:size = 5]"},
		{"[file:size<>-0]", "[file:size != -0]"},
		{"[file:size NOT>=+.5]", "[file:size NOT >= .5]"},
		{"[file:'name' = 'it\\'s \\\\']", "[file:name = 'it\\'s \\\\']"},
		{"[file:hashes.'SHA-256' = 'x']", "[file:hashes.'SHA-256' = 'x']"},
		{"[x-foo:bar.'AND'.'true'.'a b'.'' = 1]", "[x-foo:bar.'AND'.'true'.'a b'.'' = 1]"},
		{"[x-foo:bar.'plain'[+1][-2][*] = 1]", "[x-foo:bar.plain[1][-2][*] = 1]"},
		{"[x-foo:bar IN(1,'a' ,true)]", "[x-foo:bar IN (1, 'a', true)]"},
		{"[x-foo:bar IN ( )]", "[x-foo:bar IN ()]"},
		{"[x-foo:bar = b'QUI=' AND x-foo:baz = h'00FF' OR x-foo:qux = t'2016-01-01T00:00:00Z']",
			"[x-foo:bar = b'QUI=' AND x-foo:baz = h'00FF' OR x-foo:qux = t'2016-01-01T00:00:00Z']"},
		{"/*c*/([a:b=1]//x\nFOLLOWEDBY[c:d=2])WITHIN +5 SECONDS REPEATS 2 TIMES",
			"([a:b = 1] FOLLOWEDBY [c:d = 2]) WITHIN 5 SECONDS REPEATS 2 TIMES"},
		{"[a:b = 1] START t'2016-06-01T00:00:00Z'STOP t'2016-07-01T00:00:00Z'",
			"[a:b = 1] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'"},
		{"[NOT  EXISTS a:b]", "[NOT EXISTS a:b]"},
		{"[((a:b=1))]", "[((a:b = 1))]"},
	} {
		p, err := Parse(test.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", test.in, err)
			continue
		}
		if got := p.String(); got != test.want {
			t.Errorf("Parse(%q).String() = %q, want %q", test.in, got, test.want)
		}
	}
}

// Ensure String adds the parentheses a hand-built tree needs to print as
// the same tree.
func TestString_HandBuilt(t *testing.T) {
	cmp := func(v string) ComparisonExpr {
		return &Comparison{Path: ObjectPath{Type: "x-foo", Property: "bar"}, Op: OpEqual,
			Value: Literal{Kind: StringLiteral, Text: v}}
	}
	obs := func(v string) ObservationExpr { return &Observation{Comparison: cmp(v)} }
	p := &Pattern{Expr: &CompoundObservation{Op: OpAnd, Operands: []ObservationExpr{
		&CompoundObservation{Op: OpOr, Operands: []ObservationExpr{obs("a"), obs("b")}},
		&CompoundObservation{Op: OpAnd, Operands: []ObservationExpr{obs("c"), &Observation{
			Comparison: &CompoundComparison{Op: OpAnd, Operands: []ComparisonExpr{
				&CompoundComparison{Op: OpOr, Operands: []ComparisonExpr{cmp("d"), cmp("e")}}, cmp("f")}},
		}}},
	}}}
	want := "([x-foo:bar = 'a'] OR [x-foo:bar = 'b']) AND ([x-foo:bar = 'c'] AND [(x-foo:bar = 'd' OR x-foo:bar = 'e') AND x-foo:bar = 'f'])"
	if got := p.String(); got != want {
		t.Errorf("String() = %q\nwant %q", got, want)
	}
	if _, err := Parse(p.String()); err != nil {
		t.Errorf("Parse(String()): %v", err)
	}
}

// Ensure every accepted pattern reprints to a pattern that parses to the
// same tree and validates the same way.
func TestRoundTrip(t *testing.T) {
	inputs := append([]string(nil), validPatterns...)
	for _, test := range invalidPatterns {
		if test.semantic {
			inputs = append(inputs, test.in)
		}
	}
	for _, s := range inputs {
		checkRoundTrip(t, s)
	}
}

// checkRoundTrip checks Parse(p.String()) for an input Parse accepts.
func checkRoundTrip(t *testing.T, s string) {
	t.Helper()
	p, err := Parse(s)
	if err != nil {
		return
	}
	out := p.String()
	p2, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse(%q) reprinted as %q: %v", s, out, err)
	}
	if out2 := p2.String(); out2 != out {
		t.Fatalf("Parse(%q) reprinted as %q, then as %q", s, out, out2)
	}
	if a, b := tree(p.Expr), tree(p2.Expr); a != b {
		t.Fatalf("Parse(%q) tree %s, reprinted tree %s", s, a, b)
	}
	if a, b := Validate(s) == nil, Validate(out) == nil; a != b {
		t.Fatalf("Validate(%q) ok=%v but Validate(%q) ok=%v", s, a, out, b)
	}
}

// Ensure long flat chains do not recurse deeply and stay fast.
func TestParse_LongChains(t *testing.T) {
	obs := strings.Repeat("[x-foo:bar = 1] AND ", 20000) + "[x-foo:bar = 1]"
	p, err := Parse(obs)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Expr.(*CompoundObservation).Operands); n != 20001 {
		t.Errorf("%d operands, want 20001", n)
	}
	if err := Validate(obs); err != nil {
		t.Error(err)
	}
	cmp := "[" + strings.Repeat("x-foo:bar = 1 OR ", 20000) + "x-foo:bar = 1]"
	if err := Validate(cmp); err != nil {
		t.Error(err)
	}
	quals := "[x-foo:bar = 1]" + strings.Repeat(" WITHIN 1 SECONDS", 20000)
	if err := Validate(quals); err == nil {
		t.Error("20000 WITHIN qualifiers: want duplicate error")
	}
}

// Ensure the Literal accessors decode values.
func TestLiteral_Accessors(t *testing.T) {
	p, err := Parse("[x-foo:bar IN (+42, -7, 99999999999999999999, .5, b'QUI=', h'00ff', t'2016-12-31T23:59:60.123Z', 'x', true)]")
	if err != nil {
		t.Fatal(err)
	}
	set := p.Expr.(*Observation).Comparison.(*Comparison).Set
	if n, err := set[0].Int(); n != 42 || err != nil {
		t.Errorf("Int() = %d, %v", n, err)
	}
	if n, err := set[1].Int(); n != -7 || err != nil {
		t.Errorf("Int() = %d, %v", n, err)
	}
	if _, err := set[2].Int(); err == nil {
		t.Error("Int() of 99999999999999999999: want range error")
	}
	if f, err := set[3].Float(); f != 0.5 || err != nil {
		t.Errorf("Float() = %v, %v", f, err)
	}
	if f, err := set[0].Float(); f != 42 || err != nil {
		t.Errorf("Float() of int = %v, %v", f, err)
	}
	if b, err := set[4].Bytes(); string(b) != "AB" || err != nil {
		t.Errorf("Bytes() = %q, %v", b, err)
	}
	if b, err := set[5].Bytes(); string(b) != "\x00\xff" || err != nil {
		t.Errorf("Bytes() = %q, %v", b, err)
	}
	want := time.Date(2017, 1, 1, 0, 0, 0, 123000000, time.UTC)
	if tm, err := set[6].Time(); !tm.Equal(want) || err != nil {
		t.Errorf("Time() = %v, %v, want %v", tm, err, want)
	}
	if _, err := set[7].Int(); err == nil {
		t.Error("Int() of a string: want error")
	}
	if _, err := set[7].Bytes(); err == nil {
		t.Error("Bytes() of a string: want error")
	}
	if _, err := set[8].Time(); err == nil {
		t.Error("Time() of a bool: want error")
	}
	if _, err := set[8].Float(); err == nil {
		t.Error("Float() of a bool: want error")
	}
}
