// Package edittrace reads recorded editing traces (the sequential traces of
// github.com/josephg/editing-traces, kept in bench/traces) and turns each
// patch into an ot.Op, for the engine's and the client's benchmarks and
// replay tests.
//
// A trace counts positions in Unicode code points; package ot counts UTF-16
// code units. The two agree as long as no character outside the Basic
// Multilingual Plane is ever in the text, so Load refuses a trace that
// inserts one rather than convert (none of the stored traces does).
//
// The package is pure apart from Load, which reads one file; it is meant for
// tests and benchmarks only.
package edittrace
