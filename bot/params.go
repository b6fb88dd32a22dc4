package bot

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// DecodeParams unmarshals params into v, a pointer to a struct, strictly:
// params must be an object (absent or null counts as {}); a field the
// struct does not have is refused ("unknown field"), a field tagged
// `rpc:"required"` must be present, and a field of the wrong JSON type is
// refused naming the field and the type wanted ("address: want a
// string"), never with Go's own wording. Each problem is named once.
func DecodeParams(params json.RawMessage, v any) error {
	params = bytes.TrimSpace(params)
	if len(params) == 0 || string(params) == "null" {
		params = json.RawMessage("{}")
	}
	if params[0] != '{' {
		return Errorf(CodeInvalidParams, "invalid params: want an object")
	}
	// One validating pass, then the members are split off the valid
	// bytes (fastjson.go) instead of decoded into a map and each member
	// parsed again.
	if !json.Valid(params) {
		return Errorf(CodeInvalidParams, "invalid params: want an object")
	}
	obj, ok := paramMembers(params)
	if !ok {
		return Errorf(CodeInvalidParams, "invalid params: want an object")
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		// Not a typed params struct: decode as encoding/json would.
		if err := json.Unmarshal(params, v); err != nil {
			return Errorf(CodeInvalidParams, "invalid params: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return nil
	}
	sv := rv.Elem()
	fields := paramFieldsOf(sv.Type())
	seen := make([]bool, len(fields))
	for _, m := range obj {
		name, raw := m.key, m.raw
		i := findParam(fields, name)
		if i < 0 {
			return Errorf(CodeInvalidParams, "invalid params: unknown field %q", name)
		}
		f := fields[i]
		seen[i] = true
		fv := sv.Field(f.index)
		raw = bytes.TrimSpace(raw)
		if string(raw) == "null" {
			if fv.Kind() == reflect.Pointer {
				fv.SetZero()
				seen[i] = false // null is "not given" for an optional field
				continue
			}
			return Errorf(CodeInvalidParams, "invalid params: %s: want %s", f.name, f.want)
		}
		if setFast(fv, raw) {
			continue
		}
		if err := json.Unmarshal(raw, fv.Addr().Interface()); err != nil {
			return Errorf(CodeInvalidParams, "invalid params: %s: want %s", f.name, f.want)
		}
	}
	for i, f := range fields {
		if f.required && !seen[i] {
			return Errorf(CodeInvalidParams, "invalid params: %s is missing", f.name)
		}
	}
	return nil
}

// paramField is one field of a params struct.
type paramField struct {
	name     string // its JSON name
	index    int    // its index in the struct
	required bool   // tagged rpc:"required"
	want     string // what JSON type it takes, for messages: "a string"
}

var paramFields sync.Map // reflect.Type -> []paramField

func paramFieldsOf(t reflect.Type) []paramField {
	if fs, ok := paramFields.Load(t); ok {
		return fs.([]paramField)
	}
	var fs []paramField
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		fs = append(fs, paramField{name: name, index: i, required: sf.Tag.Get("rpc") == "required",
			want: wantOf(sf.Type)})
	}
	paramFields.Store(t, fs)
	return fs
}

// findParam finds a field by its JSON name: exactly, or else ignoring
// case, as encoding/json matches.
func findParam(fs []paramField, name string) int {
	for i, f := range fs {
		if f.name == name {
			return i
		}
	}
	for i, f := range fs {
		if strings.EqualFold(f.name, name) {
			return i
		}
	}
	return -1
}

// wantOf names the JSON type a Go type takes.
func wantOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}
