// Package frontend serves Tandem's browser app: the document list at "/" and
// the collaborative editor at "/d/{id}", a CodeMirror 6 bundle built from
// src/ by esbuild into dist/ and embedded in the binary.
//
// The bundle is committed: `npm run build` (in this directory) rebuilds it
// byte for byte, and CI fails when dist/ does not match a fresh build. The
// JavaScript OT client (src/ot.js, src/client.js) mirrors package ot and is
// tested with `npm test` against the same reference vectors.
//
// Handler is safe for concurrent use; it does no I/O beyond answering
// requests from memory.
package frontend
