// Package stix is eitaxii's STIX 2.1 domain: identifiers, timestamps, the small
// header every stored object carries, envelope and bundle decoding, and object
// validation.
//
// Objects are handled as raw JSON bytes plus a parsed Header: the server
// validates an object, stores its bytes verbatim and serves them verbatim, so
// custom properties and timestamp precision survive untouched. This package
// imports neither gin nor bbolt.
package stix
