package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// FileObjects returns the objects of a STIX file as people hand them
// around: a bundle's or a TAXII envelope's objects, read by DecodeEnvelope
// with lim (so a file meets the rules of a request body), or the file
// itself when it is one object. A file is a list when its "type" is
// "bundle", or when it has no "type" and an "objects" member (an
// envelope); an observed-data object's deprecated "objects" member does
// not make it one. The objects are not validated: the caller checks each
// (Validator.Check) or lets the server do it. Errors wrap ErrBadEnvelope;
// an empty list is one.
func FileObjects(data []byte, lim EnvelopeLimits) ([]json.RawMessage, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object (a STIX object, a bundle or a TAXII envelope): %s", ErrBadEnvelope, jsonErrorText(err))
	}
	var typ string
	if t, ok := top["type"]; ok {
		if err := json.Unmarshal(t, &typ); err != nil || typ == "" {
			return nil, fmt.Errorf("%w: the type member is not a non-empty string", ErrBadEnvelope)
		}
	}
	_, hasObjects := top["objects"]
	switch {
	case typ == "bundle" || (typ == "" && hasObjects):
		objs, err := DecodeEnvelope(data, lim)
		if err != nil {
			return nil, err
		}
		if len(objs) == 0 {
			return nil, fmt.Errorf("%w: the objects list is empty or missing", ErrBadEnvelope)
		}
		return objs, nil
	case typ == "":
		return nil, fmt.Errorf("%w: no type member and no objects list: this is not STIX", ErrBadEnvelope)
	}
	return []json.RawMessage{bytes.TrimSpace(data)}, nil
}

// envelopeFrame is what an envelope adds around its objects.
const envelopeFrame = len(`{"objects":[]}`)

// ErrTooLarge reports an object that cannot fit an envelope of the
// server's max_content_length, however the objects are packed.
var ErrTooLarge = errors.New("larger than the server accepts in one request")

// PackEnvelopes packs objects, in order, into as few TAXII envelopes
// ({"objects":[...]}) as a limit of limit bytes each allows; limit <= 0
// means one envelope. An object that does not fit an envelope of its own
// is not packed: its index is returned in tooLarge, so the caller can
// report it without sending anything for it.
func PackEnvelopes(objects []json.RawMessage, limit int64) (envelopes [][]byte, tooLarge []int) {
	var cur bytes.Buffer
	flush := func() {
		if cur.Len() > 0 {
			cur.WriteString("]}")
			envelopes = append(envelopes, bytes.Clone(cur.Bytes()))
			cur.Reset()
		}
	}
	for i, o := range objects {
		if limit > 0 && int64(envelopeFrame+len(o)) > limit {
			tooLarge = append(tooLarge, i)
			continue
		}
		// One more object costs its bytes and a comma, and the envelope's
		// closing "]}" must still fit.
		if cur.Len() > 0 && limit > 0 && int64(cur.Len()+1+len(o)+2) > limit {
			flush()
		}
		if cur.Len() == 0 {
			cur.WriteString(`{"objects":[`)
		} else {
			cur.WriteByte(',')
		}
		cur.Write(o)
	}
	flush()
	return envelopes, tooLarge
}
