// Package ot is Tandem's operational-transform engine for plain text, with
// the semantics of ot.js. Every length and position counts UTF-16 code
// units, as JavaScript strings and the browser do ("a" = 1, "中" = 1,
// "😀" = 2). When two operations insert at the same position,
// Transform(a, b) puts a's text first (to the left of b's); a cursor exactly
// at an insertion point moves to after the inserted text.
//
// An Op is a list of components that together span the whole document:
// retain n units, insert a string, delete n units. It marshals to and from
// the ot.js JSON form, [5, "abc", -3]. Ops built by this package are always
// in canonical form (adjacent components of one kind merged, an insert
// before an adjacent delete, no empty components), so equal edits have equal
// representations.
//
// Unlike ot.js, the engine refuses anything that would leave the text
// invalid Unicode: an insert with a lone surrogate, or an operation whose
// boundaries fall between the two halves of a surrogate pair.
//
// The package is pure: standard library only, no I/O, no goroutines, no
// clock, no randomness. Its functions are safe for concurrent use; a Doc is
// not (its owner serialises access).
package ot
