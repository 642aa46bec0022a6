package bolt

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"io"
	"sync"
)

// Statuses and audit rows list every object of a request by id and
// version: for a 1,000-object envelope that is some 90 KB of very
// repetitive JSON, kept 24 hours (statuses) or for the audit retention.
// They are stored deflated when that pays; objects themselves are not,
// since they are served far more often than written.

// packFlate marks a deflated value. Plain values are JSON objects and start
// with '{', so the two cannot be confused (and values written before
// packing existed read as plain).
const packFlate = 0x01

// packMin is the size below which deflating is not worth its cost.
const packMin = 512

var flaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

// packJSON encodes v as JSON, deflated if it is large.
func packJSON(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil || len(data) < packMin {
		return data, err
	}
	var buf bytes.Buffer
	buf.Grow(len(data) / 4)
	buf.WriteByte(packFlate)
	w := flaters.Get().(*flate.Writer)
	defer flaters.Put(w)
	w.Reset(&buf)
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// unpackJSON decodes a value written by packJSON into v.
func unpackJSON(data []byte, v any) error {
	if len(data) > 0 && data[0] == packFlate {
		r := flate.NewReader(bytes.NewReader(data[1:]))
		defer r.Close()
		plain, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		data = plain
	}
	return json.Unmarshal(data, v)
}
