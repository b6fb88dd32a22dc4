package bot

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"sync"
	"unicode/utf8"
)

// The request and notification paths of a burst (conference.send in,
// its answer and conference.message out) run once per message, so they
// avoid encoding/json's repeated passes over the same bytes: a request
// line is validated once (json.Valid) and then split into its members
// by walking the already-valid bytes; plain strings and booleans are
// taken as they are; everything else still goes through encoding/json,
// so the results (and every error message) are the ones encoding/json
// gives. Lines are built in pooled buffers. fastjson_test.go checks the
// outputs byte for byte against encoding/json.

// skipWS returns the index of the first non-whitespace byte at or after i.
func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string starting at
// b[i] (a quote), -1 if it does not end.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// valueEnd returns the index just past the JSON value starting at b[i],
// -1 if it does not end. b must be valid JSON (json.Valid).
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				if j = stringEnd(b, j); j < 0 {
					return -1
				}
				j-- // the loop steps past the closing quote
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' &&
		b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}

// eachMember calls f with the raw key (quotes included) and the raw
// value of every member of the JSON object b, in order. b must be valid
// JSON (json.Valid); ok is false when it is not an object.
func eachMember(b []byte, f func(key, val []byte)) (ok bool) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	for i = skipWS(b, i+1); i < len(b) && b[i] != '}'; {
		ke := stringEnd(b, i)
		if ke < 0 {
			return false
		}
		vs := skipWS(b, ke)
		if vs >= len(b) || b[vs] != ':' {
			return false
		}
		vs = skipWS(b, vs+1)
		ve := valueEnd(b, vs)
		if ve < 0 {
			return false
		}
		f(b[i:ke], b[vs:ve])
		i = skipWS(b, ve)
		if i < len(b) && b[i] == ',' {
			i = skipWS(b, i+1)
		}
	}
	return i < len(b)
}

// plainString returns the contents of a raw JSON string that needs no
// unquoting: no escapes, valid UTF-8 (encoding/json would replace bytes
// that are not). ok is false otherwise.
func plainString(raw []byte) (s []byte, ok bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	s = raw[1 : len(raw)-1]
	ascii := true
	for _, c := range s {
		if c == '\\' {
			return nil, false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(s) {
		return nil, false
	}
	return s, true
}

// keyString unquotes a member's raw key.
func keyString(raw []byte) string {
	if s, ok := plainString(raw); ok {
		return string(s)
	}
	var k string
	_ = json.Unmarshal(raw, &k) // raw is a valid JSON string
	return k
}

// keyIs reports whether a raw key names member (exactly or ignoring case,
// as encoding/json matches struct fields).
func keyIs(raw []byte, member string) bool {
	if s, ok := plainString(raw); ok {
		return string(s) == member || bytes.EqualFold(s, []byte(member))
	}
	return bytes.EqualFold([]byte(keyString(raw)), []byte(member))
}

// looseRequest is a request's members as raw values, the way
// encoding/json fills a struct of json.RawMessage fields: the last of
// duplicated members wins, names match ignoring case.
type looseRequest struct {
	JSONRPC, ID, Method, Params []byte
}

// splitRequest reads raw (valid JSON) into its members; ok is false
// when raw is neither an object nor null.
func splitRequest(raw []byte) (l looseRequest, ok bool) {
	i := skipWS(raw, 0)
	if i < len(raw) && raw[i] == 'n' { // null: no members
		return l, true
	}
	ok = eachMember(raw, func(key, val []byte) {
		switch {
		case keyIs(key, "jsonrpc"):
			l.JSONRPC = val
		case keyIs(key, "id"):
			l.ID = val
		case keyIs(key, "method"):
			l.Method = val
		case keyIs(key, "params"):
			l.Params = val
		}
	})
	return l, ok
}

// decodeString unmarshals a raw JSON value into a string the way
// json.Unmarshal does, taking plain strings as they are.
func decodeString(raw []byte, v *string) error {
	if s, ok := plainString(raw); ok {
		*v = string(s)
		return nil
	}
	return json.Unmarshal(raw, v)
}

var (
	stringType = reflect.TypeFor[string]()
	boolType   = reflect.TypeFor[bool]()
)

// setFast stores a plain string or a boolean into a field of exactly
// that type; false when encoding/json has to decode it.
func setFast(fv reflect.Value, raw []byte) bool {
	switch fv.Type() {
	case stringType:
		if s, ok := plainString(raw); ok {
			fv.SetString(string(s))
			return true
		}
	case boolType:
		switch string(raw) {
		case "true":
			fv.SetBool(true)
			return true
		case "false":
			fv.SetBool(false)
			return true
		}
	}
	return false
}

// member is one params member; members keep the last of duplicated keys
// (a map would), in the order they first appeared.
type member struct {
	key string
	raw []byte
}

func paramMembers(params []byte) ([]member, bool) {
	var ms []member
	ok := eachMember(params, func(key, val []byte) {
		k := keyString(key)
		for i := range ms {
			if ms[i].key == k {
				ms[i].raw = val
				return
			}
		}
		ms = append(ms, member{k, val})
	})
	return ms, ok
}

// lineBufs holds the buffers lines are built in.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledLine bounds the buffers kept for reuse.
const maxPooledLine = 64 << 10

func getBuf() *[]byte { return lineBufs.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= maxPooledLine {
		*b = (*b)[:0]
		lineBufs.Put(b)
	}
}

// plainID reports whether a raw id is written back as it is: encoding/json
// compacts a json.RawMessage and escapes <, >, & and U+2028/2029 in it, so
// ids with whitespace or those characters take its path.
func plainID(id []byte) bool {
	for _, c := range id {
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf:
			return false
		}
	}
	return len(id) > 0
}

// appendResponse appends r as encoding/json would marshal it, for the
// answers of a burst: a result with a plain id. ok is false for any
// other response (the caller marshals it).
func appendResponse(dst []byte, r *response) (out []byte, ok bool) {
	if r.Error != nil || r.Result == nil || !plainID(r.ID) {
		return dst, false
	}
	dst = append(dst, `{"jsonrpc":"2.0","id":`...)
	dst = append(dst, r.ID...)
	dst = append(dst, `,"result":`...)
	if s, ok := r.Result.(sendResult); ok {
		dst = s.appendJSON(dst)
	} else {
		b, err := json.Marshal(r.Result)
		if err != nil {
			return dst, false
		}
		dst = append(dst, b...)
	}
	return append(dst, '}'), true
}

// appendJSON appends s as encoding/json marshals it.
func (s sendResult) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"number":`...)
	dst = strconv.AppendUint(dst, uint64(s.Number), 10)
	dst = append(dst, `,"cursor":`...)
	dst = strconv.AppendInt(dst, s.Cursor, 10)
	dst = append(dst, `,"time":`...)
	dst = appendString(dst, s.Time)
	return append(dst, '}')
}

// appendJSON appends m as encoding/json marshals it, with "at" added as
// withAt adds it.
func (m *messageJSON) appendJSON(dst []byte, at string) []byte {
	dst = append(dst, '{')
	if m.Conference != "" {
		dst = append(dst, `"conference":`...)
		dst = appendString(dst, m.Conference)
		dst = append(dst, ',')
	}
	dst = append(dst, `"from":`...)
	dst = appendString(dst, m.From)
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, m.Name)
	dst = append(dst, `,"text":`...)
	dst = appendString(dst, m.Text)
	dst = append(dst, `,"action":`...)
	dst = strconv.AppendBool(dst, m.Action)
	dst = append(dst, `,"number":`...)
	dst = strconv.AppendUint(dst, uint64(m.Number), 10)
	dst = append(dst, `,"time":`...)
	dst = appendString(dst, m.Time)
	if m.Cursor != 0 {
		dst = append(dst, `,"cursor":`...)
		dst = strconv.AppendInt(dst, m.Cursor, 10)
	}
	if m.Pending != nil {
		dst = append(dst, `,"pending":`...)
		dst = strconv.AppendBool(dst, *m.Pending)
	}
	dst = append(dst, `,"at":`...)
	dst = strconv.AppendQuote(dst, at) // withAt's quoting
	return append(dst, '}')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string exactly as encoding/json's
// Marshal writes it (HTML-safe: <, > and & escaped; invalid UTF-8 as
// U+FFFD; U+2028 and U+2029 escaped).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
