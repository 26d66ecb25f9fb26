package wire

import "regexp"

// Protocol limits that every side checks: the server refuses messages past
// them, and clients check before sending.
const (
	// MaxRanges is the most selection ranges one presence message carries.
	MaxRanges = 100
	// MaxNameLen is the longest display name, in UTF-16 units.
	MaxNameLen = 64
	// MaxOpComponents is the most components (retains, inserts, deletes)
	// one op may have. It bounds the work one op costs the server: an op
	// of n components transformed past k others costs about n × k steps.
	MaxOpComponents = 10000
)

var (
	clientRe = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
	colorRe  = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)
)

// ValidClient reports whether id is a well-formed client id:
// [A-Za-z0-9._:-]{1,64}.
func ValidClient(id string) bool { return clientRe.MatchString(id) }

// ValidColor reports whether c is "#rgb" or "#rrggbb".
func ValidColor(c string) bool { return colorRe.MatchString(c) }

var secretRe = regexp.MustCompile(`^[A-Za-z0-9_-]{22,64}$`)

// ValidSecret reports whether s is a well-formed client secret:
// [A-Za-z0-9_-]{22,64}, room for at least 128 random bits in base64url.
func ValidSecret(s string) bool { return secretRe.MatchString(s) }

var authorRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidAuthor reports whether a is a well-formed author id:
// [A-Za-z0-9_-]{1,64}.
func ValidAuthor(a string) bool { return authorRe.MatchString(a) }
