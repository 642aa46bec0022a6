package taxii

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
)

// Request-size defaults. The HTTP server's own MaxHeaderBytes must be set
// well above MaxHeaderBytes: Go answers a header over its own limit with a
// plain-text 431 that no TAXII client can read, so the TAXII limit has to
// be the one that trips.
const (
	// DefaultMaxHeaderBytes is Options.MaxHeaderBytes when zero: 64 KiB.
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultMaxQueryBytes is Options.MaxQueryBytes when zero: 32 KiB,
	// room for a match[id] list of a few hundred ids together with the
	// next token that repeats them (the store accepts tokens of up to
	// 16 KiB).
	DefaultMaxQueryBytes = 32 << 10
)

// limitRequest refuses, with a TAXII error, a request whose URL query is
// longer than MaxQueryBytes (414) or whose header is larger than
// MaxHeaderBytes (431), before anything else reads either.
func (s *Server) limitRequest(c *gin.Context) {
	r := c.Request
	if n := len(r.URL.RawQuery); n > s.opts.MaxQueryBytes {
		s.writeError(c, errorf(http.StatusRequestURITooLong, "URI Too Long",
			"the URL query has "+strconv.Itoa(n)+" bytes, at most "+strconv.Itoa(s.opts.MaxQueryBytes)+
				" are accepted; give fewer match values (a next token may be sent without the filters it was issued for)"))
		return
	}
	if n := headerBytes(r); n > s.opts.MaxHeaderBytes {
		s.writeError(c, errorf(http.StatusRequestHeaderFieldsTooLarge, "Request Header Fields Too Large",
			"the request line and header fields have "+strconv.Itoa(n)+" bytes, at most "+strconv.Itoa(s.opts.MaxHeaderBytes)+" are accepted"))
		return
	}
	c.Next()
}

// headerBytes is the size of r's request line and header fields as HTTP/1.1
// sends them ("Name: value\r\n" each, Host included).
func headerBytes(r *http.Request) int {
	uri := r.RequestURI
	if uri == "" {
		uri = r.URL.RequestURI()
	}
	n := len(r.Method) + 1 + len(uri) + 1 + len(r.Proto) + 2
	n += len("Host: ") + len(r.Host) + 2
	for name, values := range r.Header {
		for _, v := range values {
			n += len(name) + 2 + len(v) + 2
		}
	}
	return n
}
