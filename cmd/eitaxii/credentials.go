package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/eitaxii/eitaxii/taxii"
	"golang.org/x/crypto/bcrypt"
)

// runHashPassword implements `eitaxii hash-password`: it reads a password
// (the first line of stdin) and prints its bcrypt hash for password_hash.
func runHashPassword(stdin io.Reader, stdout io.Writer) error {
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	password := strings.TrimRight(line, "\r\n")
	if len(password) < 12 {
		return errors.New("hash-password: give a password of at least 12 characters on standard input")
	}
	if len(password) > 72 {
		return errors.New("hash-password: bcrypt uses at most 72 bytes of a password; give a shorter one")
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
	token, hash := taxii.NewAPIToken()
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
