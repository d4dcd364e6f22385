package taskrun

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// What the server stores of a log line.
const (
	MaxMessage     = 100_000 // the longest message; longer ones are cut
	maxFieldsBytes = 100_000 // most bytes of a line's fields (as JSON); fields past it are left out, by name
	maxFieldDepth  = 32      // deepest nesting of a field's value (the server refuses a body nested past 64)
	// maxFieldName is the longest field name; longer ones are cut. Names were never cut: one huge
	// name, kept or listed in fields_left_out, could make a line past the bundle connection's
	// message limit (4 MiB) and the server's request limit.
	maxFieldName = 1_000
)

// cut is s cut to at most limit bytes on a character's start, saying it was cut.
func cut(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	end := limit - len(truncated)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + truncated
}

const truncated = " … (truncated)"

// Shippable is the record as the server takes it, and its size as JSON, whatever a task logged: the
// message is cut to MaxMessage, NUL and bytes that are not UTF-8 become U+FFFD (the server refuses a
// whole batch for one of them), and a field that is not JSON (NaN, a channel), nested past
// maxFieldDepth, holding an integer past 64 bits, or past maxFieldsBytes is left out
// (fields_left_out names it, up to maxFieldsBytes of names, then says how many more). A field name
// is cut to maxFieldName. Before, one such line lost its whole batch, or (a field that could
// not be written) every later line of the attempt.
func (r Record) Shippable() (Record, int) {
	r.Message = WireText(cut(r.Message, MaxMessage))
	encoded, _ := json.Marshal(r.Message)
	size := len(encoded) + 100
	if len(r.Fields) > 0 {
		fields := make(map[string]any, len(r.Fields))
		var leftOut []string
		listed, unlisted := 0, 0 // the bytes of the names in leftOut; the names left out past maxFieldsBytes of them
		budget := maxFieldsBytes
		for _, key := range slices.Sorted(maps.Keys(r.Fields)) {
			name := WireText(cut(key, maxFieldName))
			raw, err := json.Marshal(r.Fields[key])
			if err == nil {
				raw = bytes.ReplaceAll(raw, []byte(`\u0000`), []byte(`\ufffd`))
				err = fieldFits(raw)
			}
			if err != nil || len(raw)+len(name)+4 > budget {
				if listed+len(name) > maxFieldsBytes {
					unlisted++
				} else {
					leftOut = append(leftOut, name)
					listed += len(name)
				}
				continue
			}
			fields[name] = json.RawMessage(raw)
			budget -= len(raw) + len(name) + 4
		}
		if unlisted > 0 {
			leftOut = append(leftOut, fmt.Sprintf("… and %d more", unlisted))
		}
		size += maxFieldsBytes - budget + 20
		if len(leftOut) > 0 {
			fields["fields_left_out"] = leftOut
			encoded, _ := json.Marshal(leftOut)
			size += len(encoded) + 20
		}
		r.Fields = fields
	}
	return r, size
}

// WireText is s as text the server stores, and protobuf carries: NUL and bytes that are not UTF-8
// as U+FFFD.
func WireText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// fieldFits says why the server would refuse a field's JSON: nested too deeply, or an integer
// past 64 bits.
func fieldFits(raw []byte) error {
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.UseNumber()
	depth := 0
	for {
		token, err := decoder.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch v := token.(type) {
		case json.Delim:
			if v == '{' || v == '[' {
				depth++
				if depth > maxFieldDepth {
					return errors.New("nested too deeply")
				}
			} else {
				depth--
			}
		case json.Number:
			if _, err := v.Int64(); err != nil && !strings.ContainsAny(string(v), ".eE") {
				return errors.New("an integer past 64 bits")
			}
		}
	}
}
