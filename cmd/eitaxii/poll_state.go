package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/eitaxii/eitaxii/internal/durable"
)

// pollState is the --since-file of `eitaxii poll` and `eitaxii watch`:
// where the last run stopped, and on which collection of which server.
// poll and watch share it, so a county can poll from cron and watch on
// election night without fetching everything again.
type pollState struct {
	Version int `json:"version"`
	// Server is the client's base URL, APIRoot the API root's URL and
	// Collection the collection's id: a state is only ever used with the
	// same three.
	Server     string `json:"server"`
	APIRoot    string `json:"api_root"`
	Collection string `json:"collection"`
	// DateAddedLast is the newest date_added written out, exactly as the
	// server sent it (X-TAXII-Date-Added-Last, or the stream's
	// date_added): the next poll's added_after.
	DateAddedLast string `json:"date_added_last,omitempty"`
	// LastEventID is the stream cursor of the last event written out: the
	// next watch's Last-Event-ID. A poll that advances DateAddedLast clears
	// it, since the cursor would then point behind what was written.
	LastEventID string `json:"last_event_id,omitempty"`
}

const stateVersion = 1

// maxStateFile bounds what is read of a state file: it is a few hundred
// bytes.
const maxStateFile = 64 << 10

// errState marks a state file that cannot be used: unreadable, or another
// server's or collection's. The command exits with status 3 and fetches
// nothing.
var errState = errors.New("state file refused")

// stateError is a refused state file, with the reason.
type stateError struct{ path, msg string }

func (e *stateError) Error() string { return fmt.Sprintf("--since-file %s: %s", e.path, e.msg) }
func (e *stateError) Unwrap() error { return errState }

// loadState reads the state at path for server, root and collection. A
// missing file is a first run: a fresh state for them. A file that is not
// a state of this version, or names another server, API root or
// collection, is a *stateError.
func loadState(path, server, root, collection string) (*pollState, error) {
	fresh := &pollState{Version: stateVersion, Server: server, APIRoot: root, Collection: collection}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fresh, nil
	}
	if err != nil {
		return nil, &stateError{path, err.Error()}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateFile+1))
	if err != nil {
		return nil, &stateError{path, err.Error()}
	}
	if len(data) > maxStateFile {
		return nil, &stateError{path, "larger than a state file can be; is it the output file?"}
	}
	var st pollState
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, &stateError{path, fmt.Sprintf("not a state file of eitaxii poll: %v", err)}
	}
	switch {
	case st.Version != stateVersion:
		return nil, &stateError{path, fmt.Sprintf("state version %d; this eitaxii reads version %d", st.Version, stateVersion)}
	case st.Server != server || st.APIRoot != root || st.Collection != collection:
		return nil, &stateError{path, fmt.Sprintf("it records collection %s of %s on %s, not %s of %s on %s; give each collection its own state file",
			st.Collection, st.APIRoot, st.Server, collection, root, server)}
	}
	return &st, nil
}

// save writes the state to path atomically: a temporary file in the same
// directory, synced, renamed over path, and the directory synced, so that
// after a crash path holds the old state or the new one, never a mix.
func (st *pollState) save(path string) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(path, 0o600, func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}
