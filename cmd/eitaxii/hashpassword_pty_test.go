//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair: the controlling side, where a test
// types, and the terminal that the command reads as its stdin.
func openPTY(t *testing.T) (control, tty *os.File) {
	t.Helper()
	control, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { control.Close() })
	fd := int(control.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return control, tty
}

// Ensure that on a terminal hash-password asks for the password on stderr,
// turns echo off before the password is typed, and ends the prompt's line
// (issue 9: the error appeared glued to what was typed).
func TestHashPasswordOnTerminal(t *testing.T) {
	control, tty := openPTY(t)
	const password = "correct horse battery"
	var out, errs bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"hash-password"}, &env{stdin: tty, stdout: &out, stderr: &errs})
	}()
	// Type once the prompt has turned echo off: ReadPassword changes the
	// terminal mode before reading, and the test waits for that.
	deadline := time.Now().Add(30 * time.Second)
	for {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if tio.Lflag&unix.ECHO == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("hash-password never turned echo off")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := control.WriteString(password + "\n"); err != nil {
		t.Fatal(err)
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs.String())
	}
	if err := bcrypt.CompareHashAndPassword([]byte(strings.TrimSpace(out.String())), []byte(password)); err != nil {
		t.Errorf("hash %q does not verify: %v", out.String(), err)
	}
	if got := errs.String(); !strings.HasPrefix(got, "Password") || !strings.HasSuffix(got, "\n") {
		t.Errorf("prompt %q: want a prompt ending its line", got)
	}
}
