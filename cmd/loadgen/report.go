package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ms is a duration shown in milliseconds.
type ms time.Duration

func (d ms) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(d)/float64(time.Millisecond), 'f', 3, 64), nil
}

func (d *ms) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	*d = ms(f * float64(time.Millisecond))
	return err
}

func (d ms) String() string { return time.Duration(d).Round(10 * time.Microsecond).String() }

// report is everything a run measured.
type report struct {
	Mode            string           `json:"mode"`
	Target          string           `json:"target"`
	Faults          []string         `json:"emulator_faults,omitempty"`
	Commands        int              `json:"commands"`
	Concurrency     int              `json:"concurrency"`
	PathsPerCommand int              `json:"paths_per_command"`
	Sent            int              `json:"sent"`
	StoppedBy       string           `json:"stopped_by"`
	Elapsed         ms               `json:"elapsed_ms"`
	Throughput      float64          `json:"commands_per_second"`
	Latency         latency          `json:"reply_latency"`
	Status          map[string]int   `json:"status_codes"`
	TransportErrors int              `json:"transport_errors"`
	SampleTransport string           `json:"sample_transport_error,omitempty"`
	Replies         replies          `json:"replies"`
	CloudFront      *cloudFrontCalls `json:"cloudfront_calls,omitempty"`
	Reconciliation  reconciliation   `json:"reconciliation"`
	InjectedFaults  map[string]any   `json:"injected_faults,omitempty"`
	CPU             *cpuReport       `json:"cpu,omitempty"`
}

type latency struct {
	Replies int `json:"replies"`
	P50     ms  `json:"p50_ms"`
	P90     ms  `json:"p90_ms"`
	P99     ms  `json:"p99_ms"`
	Max     ms  `json:"max_ms"`
}

type replies struct {
	Started       int    `json:"in_channel_started"`
	Warnings      int    `json:"ephemeral_warning"`
	Errors        int    `json:"ephemeral_error"`
	Other         int    `json:"other"`
	SampleWarning string `json:"sample_warning,omitempty"`
	SampleError   string `json:"sample_error,omitempty"`
}

func (rep *report) fill(res *loadResult) {
	rep.Sent = res.sent
	rep.StoppedBy = res.stoppedBy
	rep.Elapsed = ms(res.elapsed)
	if res.elapsed > 0 {
		rep.Throughput = float64(res.sent) / res.elapsed.Seconds()
	}
	slices.Sort(res.latencies)
	rep.Latency = latency{Replies: len(res.latencies), P50: percentile(res.latencies, 0.50),
		P90: percentile(res.latencies, 0.90), P99: percentile(res.latencies, 0.99), Max: percentile(res.latencies, 1)}
	rep.Status = map[string]int{}
	for code, n := range res.status {
		rep.Status[strconv.Itoa(code)] = n
	}
	rep.TransportErrors, rep.SampleTransport = res.transportErrs, res.sampleErr
	rep.Replies = replies{Started: res.started, Warnings: res.warnings, Errors: res.errorReplies, Other: res.other,
		SampleWarning: res.sampleWarning, SampleError: res.sampleError}
}

// percentile returns the q-quantile of sorted (nearest rank).
func percentile(sorted []time.Duration, q float64) ms {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return ms(sorted[min(max(i, 0), len(sorted)-1)])
}

// cpuReport is the CPU time each process used while the load was sent.
type cpuReport struct {
	Cores    int            `json:"cores"`
	Seconds  map[string]any `json:"seconds"`                         // loadgen, serve, emulate
	Loadgen  float64        `json:"loadgen_share_of_used,omitempty"` // of loadgen's and its children's
	Machine  float64        `json:"loadgen_share_of_machine"`
	Complete bool           `json:"complete"` // every process could be measured
}

type cpuSample struct {
	self time.Duration
	kids map[string]time.Duration
	ok   bool
}

func cpuNow(k *children) cpuSample {
	s := cpuSample{kids: map[string]time.Duration{}}
	s.self, s.ok = selfCPU()
	for name, pid := range k.pids() {
		d, ok := procCPU(pid)
		s.ok = s.ok && ok
		s.kids[name] = d
	}
	return s
}

func cpuSince(a, b cpuSample, wall time.Duration) *cpuReport {
	if !a.ok || !b.ok || wall <= 0 {
		return nil
	}
	r := &cpuReport{Cores: runtime.NumCPU(), Seconds: map[string]any{}, Complete: true}
	self := b.self - a.self
	total := self
	r.Seconds["loadgen"] = round(self.Seconds())
	for name, d := range b.kids {
		used := d - a.kids[name]
		total += used
		r.Seconds[name] = round(used.Seconds())
	}
	if total > 0 && len(b.kids) > 0 {
		r.Loadgen = round(self.Seconds() / total.Seconds())
	}
	r.Machine = round(self.Seconds() / (wall.Seconds() * float64(r.Cores)))
	return r
}

func round(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

func (rep *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func (rep *report) writeText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("loadgen: %s mode, target %s", rep.Mode, rep.Target)
	if len(rep.Faults) > 0 {
		p("  emulator faults      %s", strings.Join(rep.Faults, " "))
	}
	p("  commands             %d sent of %d (stopped by %s), %d in flight at most, %d path(s) each",
		rep.Sent, rep.Commands, rep.StoppedBy, rep.Concurrency, rep.PathsPerCommand)
	p("  elapsed              %s", rep.Elapsed)
	p("  throughput           %.0f commands/s", rep.Throughput)
	p("  reply latency        p50 %s  p90 %s  p99 %s  max %s  (%d replies)",
		rep.Latency.P50, rep.Latency.P90, rep.Latency.P99, rep.Latency.Max, rep.Latency.Replies)
	var codes []string
	for _, c := range slices.Sorted(maps.Keys(rep.Status)) {
		codes = append(codes, fmt.Sprintf("%s×%d", c, rep.Status[c]))
	}
	p("  status codes         %s; transport errors %d", strings.Join(codes, " "), rep.TransportErrors)
	if rep.SampleTransport != "" {
		p("    e.g. %s", rep.SampleTransport)
	}
	p("  replies              %d in_channel started, %d ephemeral warnings, %d ephemeral errors, %d other",
		rep.Replies.Started, rep.Replies.Warnings, rep.Replies.Errors, rep.Replies.Other)
	if rep.Replies.SampleWarning != "" {
		p("    warning: %s", rep.Replies.SampleWarning)
	}
	if rep.Replies.SampleError != "" {
		p("    error: %s", rep.Replies.SampleError)
	}
	if rep.InjectedFaults != nil {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(rep.InjectedFaults)) {
			v := rep.InjectedFaults[k]
			if ns, ok := v.(float64); ok && k == "delay" { // slog writes a duration in nanoseconds
				v = time.Duration(ns).Round(time.Millisecond)
			}
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
		p("  injected by emulator %s", strings.Join(parts, " "))
	}
	if rep.CloudFront != nil {
		p("  CloudFront calls per purge  %s", rep.CloudFront.text())
	}
	r := rep.Reconciliation
	switch {
	case !r.Checked:
		p("  reconciliation       skipped: %s", r.Skipped)
	default:
		verdict := "OK: none lost, none duplicated"
		if !r.OK {
			verdict = "FAILED"
		}
		p("  reconciliation       %s", verdict)
		p("    accepted %d, invalidations created %d, distinct CallerReferences %d; lost %d, unreported %d, shared IDs %d (other invalidations %d; read back in %s)",
			r.Accepted, r.Created, r.DistinctCallerReferences, r.Lost, r.Unreported, r.SharedIDs, r.Other, r.Took)
	}
	if c := rep.CPU; c != nil {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(c.Seconds)) {
			parts = append(parts, fmt.Sprintf("%s %.2fs", k, c.Seconds[k]))
		}
		share := ""
		if len(c.Seconds) > 1 {
			share = fmt.Sprintf("loadgen %.0f%% of the CPU used, ", 100*c.Loadgen)
		}
		p("  CPU while sending    %s; %s%.0f%% of %d cores", strings.Join(parts, ", "), share, 100*c.Machine, c.Cores)
	}
}
