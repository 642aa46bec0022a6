package taxii_test

import (
	"net/http"
	"strings"
	"testing"
)

// benchServer is a test server whose election-officials API root takes
// 10 MiB envelopes.
func benchServer(b *testing.B) *testServer {
	return newTestServerConfig(b, config{eoMaxContentLen: 10 << 20})
}

func benchEnvelope(first, n int) string {
	objs := make([]string, n)
	for i := range objs {
		objs[i] = simpleIndicator(first + i)
	}
	return envelope(objs...)
}

// One Add Objects request of 1,000 new indicators per iteration, through
// the whole handler: body read, envelope decoding, full validation
// (schema, rules, pattern), the write transaction (issue 5: ingest).
func BenchmarkServer_AddObjects1000(b *testing.B) {
	ts := benchServer(b)
	target := objectsURL(rootEO, collEO)
	b.ReportAllocs()
	for i := range b.N {
		b.StopTimer()
		body := benchEnvelope(i*1000, 1000)
		b.SetBytes(int64(len(body)))
		b.StartTimer()
		w := do(b, ts, http.MethodPost, target, body, "Authorization", basic(userPublisher), "Content-Type", mediaTAXII)
		if w.Code != http.StatusAccepted || !strings.Contains(w.Body.String(), `"success_count":1000`) {
			b.Fatalf("POST: %d %.300s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "objects/s")
}

// A limit=1000 page of a 10,000-object collection per iteration, rendered
// from the stored bytes (issue 5: polling).
func BenchmarkServer_GetObjectsPage(b *testing.B) {
	ts := benchServer(b)
	target := objectsURL(rootEO, collEO)
	for first := 0; first < 10000; first += 1000 {
		w := do(b, ts, http.MethodPost, target, benchEnvelope(first, 1000), "Authorization", basic(userPublisher), "Content-Type", mediaTAXII)
		if w.Code != http.StatusAccepted {
			b.Fatalf("fill: %d %.300s", w.Code, w.Body)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		w := do(b, ts, http.MethodGet, target+"?limit=1000&added_after="+stamp(added(1000*(i%9))), "", "Authorization", basic(userReader))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"more":true`) {
			b.Fatalf("GET: %d %.300s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "objects/s")
}

// Discovery with a Basic credential that the server has already verified
// once: what authentication costs per request with the cache (issue 5).
func BenchmarkServer_AuthenticateCachedBasic(b *testing.B) {
	ts := benchServer(b)
	auth := basic(userReader)
	do(b, ts, http.MethodGet, "/taxii2/", "", "Authorization", auth) // pay the bcrypt once
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if w := do(b, ts, http.MethodGet, "/taxii2/", "", "Authorization", auth); w.Code != http.StatusOK {
			b.Fatalf("GET: %d", w.Code)
		}
	}
}
