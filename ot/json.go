package ot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MarshalJSON encodes op in the ot.js form: [5, "abc", -3].
func (op Op) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 8+8*len(op))
	b = append(b, '[')
	for i, c := range op {
		if i > 0 {
			b = append(b, ',')
		}
		if c.N != 0 {
			b = strconv.AppendInt(b, int64(c.N), 10)
			continue
		}
		if !utf8.ValidString(c.S) {
			// json.Marshal would silently write U+FFFD instead.
			return nil, fmt.Errorf("component %d: %w", i, ErrInvalidUnicode)
		}
		s, err := json.Marshal(c.S)
		if err != nil {
			return nil, err
		}
		b = append(b, s...)
	}
	return append(b, ']'), nil
}

// maxCount bounds a retain or delete count, and the span of a whole op (the
// sum of its counts), so that sums cannot overflow and merged counts stay
// within the bound, which keeps decode(encode(op)) == op.
const maxCount = 1 << 40

// UnmarshalJSON decodes the ot.js form and normalises it as ot.js does
// (merging, moving an insert before a delete, dropping empty inserts). It
// refuses zero, non-integers (1.5, 2.0, 1e1), counts or a total span above
// maxCount, values other than numbers and strings, and strings with a lone
// surrogate escape or invalid UTF-8, which encoding/json would silently turn
// into U+FFFD.
func (op *Op) UnmarshalJSON(data []byte) error {
	if out, ok := decodeSimple(data); ok {
		*op = out
		return nil
	}
	// json.Unmarshal turns null into a nil slice without complaint; ot.js
	// refuses it, and so must we.
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return fmt.Errorf("operation must be a JSON array: %w", ErrBadOp)
	}
	out := make(Op, 0, len(raw))
	span := 0
	for i, r := range raw {
		c, err := decodeComponent(r)
		if err != nil {
			return fmt.Errorf("element %d (%s): %w", i, clip(r), err)
		}
		if span += max(c.N, -c.N); span > maxCount {
			return fmt.Errorf("operation spans more than %d units: %w", maxCount, ErrBadOp)
		}
		out.add(c)
	}
	*op = out
	return nil
}

func decodeComponent(r json.RawMessage) (Component, error) {
	if len(r) == 0 {
		return Component{}, ErrBadOp
	}
	switch c := r[0]; {
	case c == '"':
		if !utf8.Valid(r) {
			return Component{}, fmt.Errorf("invalid UTF-8: %w", ErrInvalidUnicode)
		}
		if err := checkSurrogateEscapes(r); err != nil {
			return Component{}, err
		}
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			return Component{}, fmt.Errorf("bad string: %w", ErrBadOp)
		}
		if s == "" {
			return Component{}, nil // an empty insert is dropped by add
		}
		return Component{S: s}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		for _, d := range r[1:] {
			if d < '0' || d > '9' {
				return Component{}, fmt.Errorf("not an integer: %w", ErrBadOp)
			}
		}
		n, err := strconv.Atoi(string(r))
		if err != nil || n == 0 || n > maxCount || n < -maxCount {
			return Component{}, fmt.Errorf("count must be a non-zero integer of magnitude at most %d: %w", maxCount, ErrBadOp)
		}
		return Component{N: n}, nil
	default:
		return Component{}, fmt.Errorf("want a number or a string: %w", ErrBadOp)
	}
}

// checkSurrogateEscapes refuses a JSON string literal whose \u escapes hold
// a high surrogate not followed by a low one, or a lone low surrogate.
func checkSurrogateEscapes(r []byte) error {
	if bytes.IndexByte(r, '\\') < 0 {
		return nil
	}
	pendingHigh := false
	for i := 1; i < len(r)-1; i++ {
		if r[i] != '\\' {
			if pendingHigh {
				return fmt.Errorf("lone high surrogate: %w", ErrInvalidUnicode)
			}
			continue
		}
		i++
		if i >= len(r)-1 || r[i] != 'u' {
			if pendingHigh {
				return fmt.Errorf("lone high surrogate: %w", ErrInvalidUnicode)
			}
			continue
		}
		if i+4 >= len(r) {
			return fmt.Errorf("bad escape: %w", ErrBadOp)
		}
		v, err := strconv.ParseUint(string(r[i+1:i+5]), 16, 16)
		if err != nil {
			return fmt.Errorf("bad escape: %w", ErrBadOp)
		}
		i += 4
		switch {
		case v >= 0xD800 && v < 0xDC00:
			if pendingHigh {
				return fmt.Errorf("lone high surrogate: %w", ErrInvalidUnicode)
			}
			pendingHigh = true
		case v >= 0xDC00 && v < 0xE000:
			if !pendingHigh {
				return fmt.Errorf("lone low surrogate: %w", ErrInvalidUnicode)
			}
			pendingHigh = false
		default:
			if pendingHigh {
				return fmt.Errorf("lone high surrogate: %w", ErrInvalidUnicode)
			}
		}
	}
	if pendingHigh {
		return fmt.Errorf("lone high surrogate: %w", ErrInvalidUnicode)
	}
	return nil
}

// clip shortens r for an error message, on a character boundary, with
// anything that is not UTF-8 replaced.
func clip(r []byte) string {
	const max = 20
	if len(r) > max {
		k := max
		for k > 0 && !utf8.RuneStart(r[k]) {
			k--
		}
		return strings.ToValidUTF8(string(r[:k]), "\uFFFD") + "…"
	}
	return strings.ToValidUTF8(string(r), "\uFFFD")
}

// decodeSimple is the fast path for the ops clients send all the time:
// integers and strings without escapes. It reports false for anything
// else (escapes, errors), which the general decoder then handles or refuses
// with a precise message.
func decodeSimple(data []byte) (Op, bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return nil, false
	}
	i = skipSpace(data, i+1)
	out := make(Op, 0, 4)
	span := 0
	if i < len(data) && data[i] == ']' {
		return out, skipSpace(data, i+1) == len(data)
	}
	for {
		if i >= len(data) {
			return nil, false
		}
		switch c := data[i]; {
		case c == '"':
			j := i + 1
			for j < len(data) && data[j] != '"' {
				if data[j] == '\\' || data[j] < 0x20 {
					return nil, false
				}
				j++
			}
			if j >= len(data) || !utf8.Valid(data[i+1:j]) {
				return nil, false
			}
			out.Insert(string(data[i+1 : j]))
			i = j + 1
		case c == '-' || (c >= '1' && c <= '9'):
			neg := c == '-'
			j := i
			if neg {
				j++
			}
			if j >= len(data) || data[j] < '1' || data[j] > '9' {
				return nil, false
			}
			n := 0
			for ; j < len(data) && data[j] >= '0' && data[j] <= '9'; j++ {
				n = n*10 + int(data[j]-'0')
				if n > maxCount {
					return nil, false
				}
			}
			if span += n; span > maxCount {
				return nil, false
			}
			if neg {
				out.Delete(n)
			} else {
				out.Retain(n)
			}
			i = j
		default:
			return nil, false
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return nil, false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case ']':
			return out, skipSpace(data, i+1) == len(data)
		default:
			return nil, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
