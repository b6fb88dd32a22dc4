package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat;
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// procSample is what /proc says about one process.
type procSample struct {
	cpu     float64 // user + system seconds
	hwmMiB  float64 // VmHWM: peak resident set size
	rssMiB  float64 // VmRSS now
	anonMiB float64 // RssAnon now: resident anonymous memory (smaps_rollup's Anonymous)
}

// readRollup reads the proportional set size (Pss) and the anonymous
// memory (Anonymous) from /proc/PID/smaps_rollup, in MiB. Pss counts the
// resident pages with each shared page divided among the processes that
// map it: N nodes run one binary, so its code and data pages, which
// VmHWM counts in full for every node, count 1/N here. Anonymous is what
// belongs to the process alone (Go heap and stacks, SQLite's memory),
// without any file pages.
func readRollup(pid int) (pss, anon float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, 0, err
	}
	found := 0
	for _, l := range strings.Split(string(b), "\n") {
		for _, f := range []struct {
			prefix string
			v      *float64
		}{{"Pss:", &pss}, {"Anonymous:", &anon}} {
			if v, ok := strings.CutPrefix(l, f.prefix); ok {
				kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				if err != nil {
					return 0, 0, fmt.Errorf("/proc/%d/smaps_rollup: %w", pid, err)
				}
				*f.v = kb / 1024
				found++
			}
		}
	}
	if found < 2 {
		return 0, 0, fmt.Errorf("/proc/%d/smaps_rollup: no Pss or Anonymous", pid)
	}
	return pss, anon, nil
}

// readProc reads /proc/PID/stat and /proc/PID/status.
func readProc(pid int) (procSample, error) {
	var s procSample
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name (field 2) may hold spaces; fields after it start
	// after the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 { // state is f[0]; utime f[11], stime f[12]
		return s, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("/proc/%d/stat: bad utime/stime", pid)
	}
	s.cpu = (ut + st) / clockTicks
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	defer status.Close()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmHWM" && k != "VmRSS" && k != "RssAnon") {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmHWM":
			s.hwmMiB = kb / 1024
		case "VmRSS":
			s.rssMiB = kb / 1024
		default:
			s.anonMiB = kb / 1024
		}
	}
	return s, sc.Err()
}
