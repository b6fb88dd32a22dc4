package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"time"
)

// metric is one measured figure. NaN means not measured (printed NA).
type metric struct {
	Name  string  `json:"name"`
	Value float64 `json:"-"`
	Unit  string  `json:"unit"`
}

// MarshalJSON writes NA as null.
func (m metric) MarshalJSON() ([]byte, error) {
	type plain metric
	var v *float64
	if !math.IsNaN(m.Value) && !math.IsInf(m.Value, 0) {
		v = &m.Value
	}
	return json.Marshal(struct {
		plain
		Value *float64 `json:"value"`
	}{plain(m), v})
}

// report collects metrics in the order they were measured.
type report struct {
	Header  map[string]string `json:"header"`
	Metrics []metric          `json:"metrics"`
	OK      bool              `json:"ok"`
	Errors  []string          `json:"errors,omitempty"`
	out     io.Writer         // each metric is printed here as it is added
}

func (r *report) add(name string, v float64, unit string) {
	m := metric{Name: name, Value: v, Unit: unit}
	r.Metrics = append(r.Metrics, m)
	if r.out != nil {
		fmt.Fprintf(r.out, "metric %s %s %s\n", name, formatValue(v), unit)
	}
}

// seconds adds a duration in seconds; a negative duration means not
// measured.
func (r *report) seconds(name string, d time.Duration) {
	if d < 0 {
		r.add(name, math.NaN(), "s")
		return
	}
	r.add(name, d.Seconds(), "s")
}

func (r *report) fail(format string, a ...any) {
	r.OK = false
	msg := fmt.Sprintf(format, a...)
	r.Errors = append(r.Errors, msg)
	if r.out != nil {
		fmt.Fprintf(r.out, "# error: %s\n", msg)
	}
}

// value returns the named metric, NaN if absent.
func (r *report) value(name string) float64 {
	for _, m := range r.Metrics {
		if m.Name == name {
			return m.Value
		}
	}
	return math.NaN()
}

func formatValue(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "NA"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

// stats adds prefix_min, _median, _p90 and _max of samples (the harness's
// definitions: median of an even count is the mean of the middle two,
// p90 the ceil(0.9n)-th smallest), scaled by scale.
func (r *report) stats(prefix string, samples []float64, scale float64, unit string) {
	if len(samples) == 0 {
		for _, s := range []string{"_min", "_median", "_p90", "_max"} {
			r.add(prefix+s, math.NaN(), unit)
		}
		return
	}
	v := append([]float64(nil), samples...)
	sort.Float64s(v)
	n := len(v)
	med := v[n/2]
	if n%2 == 0 {
		med = (v[n/2-1] + v[n/2]) / 2
	}
	p90 := v[int(math.Ceil(0.9*float64(n)))-1]
	r.add(prefix+"_min", v[0]*scale, unit)
	r.add(prefix+"_median", med*scale, unit)
	r.add(prefix+"_p90", p90*scale, unit)
	r.add(prefix+"_max", v[n-1]*scale, unit)
}
