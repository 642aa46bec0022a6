// Package stix is eitaxii's STIX 2.1 domain: identifiers, timestamps, the small
// header every stored object carries, envelope and bundle decoding, and object
// validation.
//
// Objects are handled as raw JSON bytes plus a parsed Header: the server
// validates an object, stores its bytes verbatim and serves them verbatim, so
// custom properties and timestamp precision survive untouched. This package
// imports neither gin nor bbolt.
//
// All JSON is read through one scanner, stix/internal/jsonscan: envelope
// splitting (DecodeEnvelope), the decoding behind validation, the I-JSON
// and duplicate-key checks, TLP reading (ObjectTLP) and the rewrites
// (AddObjectMarking, ReplaceIdentity). Its package comment says how each
// JSON edge case is decided; each user says only what it does with the
// result (DecodeEnvelope lets invalid UTF-8 inside an object through for
// Check to refuse that object alone, the rewrites refuse it, the I-JSON
// check reports it).
package stix
