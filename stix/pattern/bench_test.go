package pattern

import "testing"

var benchPatterns = []struct{ name, pattern string }{
	{"ipv4", "[ipv4-addr:value = '198.51.100.1/32']"},
	{"hashes", "[file:hashes.'SHA-256' = '" + sha256 + "' OR file:hashes.MD5 = '" + md5 + "' AND file:size > 1024]"},
	{"followedby", "[process:name = 'cmd.exe'] FOLLOWEDBY [network-traffic:dst_port = 443 AND network-traffic:dst_ref.value = '203.0.113.5'] WITHIN 300 SECONDS"},
}

func BenchmarkParse(b *testing.B) {
	for _, bp := range benchPatterns {
		b.Run(bp.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bp.pattern)))
			for b.Loop() {
				if _, err := Parse(bp.pattern); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkValidate(b *testing.B) {
	for _, bp := range benchPatterns {
		b.Run(bp.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Validate(bp.pattern); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkString(b *testing.B) {
	p, err := Parse(benchPatterns[2].pattern)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = p.String()
	}
}
