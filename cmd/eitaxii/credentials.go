package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/eitaxii/eitaxii/access"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"
)

// hashPasswordUsage is the help of `eitaxii hash-password`.
const hashPasswordUsage = `usage: eitaxii hash-password < password-file
Reads a password (12 characters to 72 bytes) as the first line of standard
input, or asks for it without echo on a terminal, and prints its bcrypt hash
for an account's password_hash.
`

// runHashPassword implements `eitaxii hash-password`: it reads a password
// (the first line of stdin; on a terminal, typed without echo after a
// prompt on stderr) and prints its bcrypt hash for password_hash.
func runHashPassword(args []string, e *env) error {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			fmt.Fprint(e.stdout, hashPasswordUsage)
			return flag.ErrHelp
		}
		return fmt.Errorf("hash-password takes no arguments (a password on the command line would stay in the shell history): give it on standard input\n%s", hashPasswordUsage)
	}
	var line string
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.stderr, "Password (12 characters to 72 bytes, not shown): ")
		b, err := term.ReadPassword(int(f.Fd()))
		// The Enter that ended the password was not echoed either.
		fmt.Fprintln(e.stderr)
		if err != nil {
			return err
		}
		line = string(b)
	} else {
		var err error
		line, err = bufio.NewReader(io.LimitReader(e.stdin, 4096)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
	stdout := e.stdout
	password := strings.TrimRight(line, "\r\n")
	// The admin API's rule, with its message.
	if err := access.Password(password); err != nil {
		return fmt.Errorf("hash-password: %v", err)
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, hash)
	return nil
}

func hashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(h), err
}

// runNewToken implements `eitaxii new-token`.
func runNewToken(stdout io.Writer) error {
	token, hash := access.NewAPIToken()
	fmt.Fprintf(stdout, "token: %s\nhash:  %s\n", token, hash)
	fmt.Fprintln(stdout, "Give the token to its user once; put the hash under the account's token_hashes.")
	return nil
}

// randomPassword returns a password for the starter account.
func randomPassword() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
