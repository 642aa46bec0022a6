package taxii

import (
	"errors"
	"io"
	"net/http"
	"os"
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

// readBody reads the request body, at most limit bytes; a larger body is
// answered with tooLarge. A Content-Length above limit is refused before
// reading: the client learns at once (no 100 Continue is sent) and no
// connection is held for a body that will be refused anyway; "Connection:
// close" makes net/http answer at once and close the connection instead of
// first reading up to 256 KiB of the body to reuse it. A body the server's
// read timeout cut off is a 408, any other read failure a 400.
func readBody(c *gin.Context, limit int64, tooLarge *Error) ([]byte, error) {
	if c.Request.ContentLength > limit {
		c.Header("Connection", "close")
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return body, nil
	case errors.As(err, &tooBig):
		return nil, tooLarge
	case errors.Is(err, os.ErrDeadlineExceeded):
		return nil, errorf(http.StatusRequestTimeout, "Request Timeout", "the request body was not received in time")
	}
	return nil, errorf(http.StatusBadRequest, "Bad Request", "the request body could not be read")
}
