package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/eitaxii/eitaxii/client"
)

// connFlags are the connection options every client command takes
// (admin, poll, watch): one home, so that credentials work the same
// everywhere. Passwords never come from a flag value: EITAXII_PASSWORD or
// the first line of standard input (--password-stdin).
type connFlags struct {
	server        string
	user          string
	token         string
	passwordStdin bool
	cacert        string
	cert, key     string
}

// register adds the options to fs, with their current values as defaults
// so that options given earlier on the command line survive a second
// parse. withPasswordStdin is false where --password-stdin means
// something else (the new password of `admin accounts create|update`).
func (c *connFlags) register(fs *flag.FlagSet, withPasswordStdin bool) {
	fs.StringVar(&c.server, "server", c.server, "server URL")
	fs.StringVar(&c.user, "user", c.user, "account name")
	fs.StringVar(&c.token, "token", c.token, "API token")
	if withPasswordStdin {
		fs.BoolVar(&c.passwordStdin, "password-stdin", c.passwordStdin, "read the password from standard input")
	}
	fs.StringVar(&c.cacert, "cacert", c.cacert, "CA certificate file")
	fs.StringVar(&c.cert, "cert", c.cert, "client certificate file")
	fs.StringVar(&c.key, "key", c.key, "client key file")
}

// connOptions tunes the HTTP client of one command.
type connOptions struct {
	name          string        // command name for warnings, "eitaxii admin"
	defaultServer string        // used when neither --server nor EITAXII_SERVER is set; "" makes the server required
	timeout       time.Duration // http.Client.Timeout; 0 for none (streams)
	userAgent     string
	maxResponse   int64
	// responseHeaderTimeout bounds the wait for an answer's headers; 0
	// leaves the transport's default (none).
	responseHeaderTimeout time.Duration
}

// connectClient resolves the server and the credentials (flags win over
// the environment; a token wins over a user name when both come from the
// environment) and builds the client. A mistake in the options is a
// *usageError; a file that cannot be read (--cacert, --cert) is a plain
// error.
func (c *connFlags) connectClient(e *env, o connOptions) (*client.Client, error) {
	getenv := e.variable
	server := c.server
	if server == "" {
		server = getenv(envServer)
	}
	if server == "" {
		server = o.defaultServer
	}
	if server == "" {
		return nil, usagef("", "name the server: --server URL (or EITAXII_SERVER)")
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, usagef("", "--server: %q is not an http:// or https:// URL", server)
	}
	if u.User != nil {
		return nil, usagef("", "--server: put no credentials in the URL; use --user with EITAXII_PASSWORD, or a token")
	}
	if u.Scheme == "http" && (c.cacert != "" || c.cert != "" || c.key != "") {
		return nil, usagef("", "--cacert, --cert and --key need an https:// server")
	}
	if (c.cert == "") != (c.key == "") {
		return nil, usagef("", "give --cert and --key together")
	}

	user, token := c.user, c.token
	switch {
	case user != "" && token != "":
		return nil, usagef("", "give --user or --token, not both")
	case user == "" && token == "":
		if token = getenv(envToken); token == "" {
			user = getenv(envUser)
		}
	}
	if c.passwordStdin && user == "" {
		return nil, usagef("", "--password-stdin needs --user NAME (or EITAXII_USER)")
	}
	var password string
	switch {
	case user != "":
		if c.passwordStdin {
			if password, err = readPassword(e.stdin); err != nil {
				return nil, err
			}
		} else if password = getenv(envPassword); password == "" {
			return nil, usagef("", "no password for %s: set EITAXII_PASSWORD or pass --password-stdin", user)
		}
	case token != "":
	case c.cert == "":
		return nil, usagef("", "no credentials: give --user NAME with EITAXII_PASSWORD or --password-stdin, --token (or EITAXII_TOKEN), or --cert and --key")
	}

	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.cacert != "" {
		pem, err := os.ReadFile(c.cacert)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert: %s holds no PEM certificate", c.cacert)
		}
		tlsConf.RootCAs = pool
	}
	if c.cert != "" {
		pair, err := tls.LoadX509KeyPair(c.cert, c.key)
		if err != nil {
			return nil, fmt.Errorf("--cert/--key: %w", err)
		}
		tlsConf.Certificates = []tls.Certificate{pair}
	}
	if u.Scheme == "http" && (user != "" || token != "") && !loopback(net.JoinHostPort(u.Hostname(), "0")) {
		fmt.Fprintf(e.stderr, "%s: warning: sending credentials to %s over plain HTTP\n", o.name, u.Host)
	}

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConf
	tr.DialContext = (&net.Dialer{Timeout: adminDialTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = adminDialTimeout
	tr.ResponseHeaderTimeout = o.responseHeaderTimeout
	hc := &http.Client{
		Transport: tr,
		Timeout:   o.timeout,
		// eitaxii's APIs never redirect; following one could resend the
		// credentials elsewhere or turn a POST into a GET.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return client.New(u.String(), client.Options{HTTPClient: hc, Username: user, Password: password, Token: token,
		UserAgent: o.userAgent, MaxResponse: o.maxResponse})
}
