package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// startTimeout bounds building cdnpurge and each child's start.
const (
	buildTimeout = 5 * time.Minute
	startTimeout = 15 * time.Second
	stopTimeout  = 10 * time.Second
)

// children are the emulator and the server of a --spawn run.
type children struct {
	emulator, server *child
	emulatorURL      string
	serveURL         string
	secret           string
	faults           []string // the fault flags given to the emulator
	tmpDir           string
	stopOnce         sync.Once
}

// child is one running cdnpurge process.
type child struct {
	name   string
	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has exited
	err    error         // Wait's result, once done
	stdout *lineWatcher
	output *lineWatcher // stderr
}

// The lines that say a child is ready, and the one the emulator logs at
// exit with what it injected.
const (
	emulatorMarker = "CloudFront emulator on "
	serveMarker    = "serving Slack commands"
	faultsMarker   = "emulator injected faults"
)

// spawn builds cdnpurge if needed, then starts `cdnpurge emulate` and
// `cdnpurge serve` on free loopback ports and waits until both serve.
func spawn(ctx context.Context, o options, stderr io.Writer) (_ *children, err error) {
	k := &children{secret: randomHex(24)}
	defer func() {
		if err != nil {
			k.stop()
		}
	}()
	bin := o.bin
	if bin == "" {
		k.tmpDir, err = os.MkdirTemp("", "loadgen-")
		if err != nil {
			return nil, err
		}
		bin = filepath.Join(k.tmpDir, "cdnpurge")
		bctx, cancel := context.WithTimeout(ctx, buildTimeout)
		defer cancel()
		out, err := exec.CommandContext(bctx, "go", "build", "-o", bin, "github.com/cdnpurge/cdnpurge/cmd/cdnpurge").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("go build cdnpurge (give --bin to use a built one): %w\n%s", err, out)
		}
	}

	emuArgs := []string{"emulate", "--addr", "127.0.0.1:0", "--complete-after", "0", "--distribution", o.dist}
	add := func(flag, value string) {
		emuArgs = append(emuArgs, flag, value)
		k.faults = append(k.faults, flag+"="+value)
	}
	if o.failRate > 0 {
		add("--fail-rate", strconv.FormatFloat(o.failRate, 'g', -1, 64))
	}
	if o.throttleRate > 0 {
		add("--throttle-rate", strconv.FormatFloat(o.throttleRate, 'g', -1, 64))
	}
	if o.busyRate > 0 {
		add("--busy-rate", strconv.FormatFloat(o.busyRate, 'g', -1, 64))
	}
	if o.latency > 0 {
		add("--latency", o.latency.String())
	}
	if o.latencyJitter > 0 {
		add("--latency-jitter", o.latencyJitter.String())
	}
	if len(k.faults) > 0 {
		add("--seed", strconv.FormatUint(o.seed, 10))
		if o.faultOps != "" {
			add("--fault-operations", o.faultOps)
		}
	}

	// The emulator prints its address on the first line of stdout.
	k.emulator, err = startChild(ctx, "emulate", bin, emuArgs, childEnv(nil), o.verbose, stderr)
	if err != nil {
		return nil, err
	}
	addr, err := k.emulator.stdout.await(emulatorMarker, func(line []byte) (string, bool) {
		addr, ok := bytes.CutPrefix(line, []byte(emulatorMarker))
		addr, _, _ = bytes.Cut(addr, []byte(" "))
		return string(addr), ok && checkLoopbackURL(string(addr)) == nil
	}, k.emulator.done)
	if err != nil {
		return nil, fmt.Errorf("cdnpurge emulate: %w\n%s", err, k.emulator.output.tail())
	}
	k.emulatorURL = addr

	// The server logs its address in its first JSON line.
	k.server, err = startChild(ctx, "serve", bin, []string{"serve", "--addr", "127.0.0.1:0"}, childEnv(map[string]string{
		"CDNPURGE_DISTRIBUTION_ID":      o.dist,
		"CDNPURGE_SLACK_SIGNING_SECRET": k.secret,
		"CDNPURGE_SLACK_CHANNEL":        o.channel,
		"CDNPURGE_CLOUDFRONT_ENDPOINT":  k.emulatorURL,
	}), o.verbose, stderr)
	if err != nil {
		return nil, err
	}
	serveAddr, err := k.server.stdout.await(serveMarker, func(line []byte) (string, bool) {
		var rec struct{ Addr string }
		return "http://" + rec.Addr, json.Unmarshal(line, &rec) == nil && rec.Addr != ""
	}, k.server.done)
	if err != nil {
		return nil, fmt.Errorf("cdnpurge serve: %w\n%s", err, k.server.output.tail())
	}
	if err := checkLoopbackURL(serveAddr); err != nil {
		return nil, fmt.Errorf("cdnpurge serve: %w", err)
	}
	k.serveURL = serveAddr
	hctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := waitHealthy(hctx, newLoopbackClient(1, time.Second), k.serveURL); err != nil {
		return nil, err
	}
	return k, nil
}

// childEnv is this process's environment without AWS, proxy and cdnpurge
// settings, plus set: the children use placeholder credentials for the
// local emulator, read no AWS configuration and ask no metadata service.
func childEnv(set map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch u := strings.ToUpper(k); {
		case strings.HasPrefix(u, "AWS_"), strings.HasPrefix(u, "CDNPURGE_"), strings.HasSuffix(u, "_PROXY"):
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
	)
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return env
}

func startChild(ctx context.Context, name, bin string, args, env []string, verbose bool, stderr io.Writer) (*child, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.SysProcAttr = childProcAttr()
	var copyTo io.Writer
	if verbose {
		copyTo = stderr
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{}),
		stdout: newLineWatcher(copyTo, emulatorMarker, serveMarker),
		output: newLineWatcher(copyTo, faultsMarker)}
	cmd.Stdout, cmd.Stderr = c.stdout, c.output
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start cdnpurge %s: %w", name, err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// stop asks the child to stop (SIGINT: it shuts down gracefully), then
// kills it if it has not exited within stopTimeout.
func (c *child) stop() {
	if c == nil {
		return
	}
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(os.Interrupt)
	select {
	case <-c.done:
	case <-time.After(stopTimeout):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// stop stops the server, then the emulator, and removes the build.
func (k *children) stop() {
	k.stopOnce.Do(func() {
		k.server.stop()
		k.emulator.stop()
		if k.tmpDir != "" {
			os.RemoveAll(k.tmpDir)
		}
	})
}

// injected returns the emulator's count of injected faults, which it logs
// when it stops; nil when it injected none.
func (k *children) injected() map[string]any {
	line := k.emulator.output.find(faultsMarker)
	if line == nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(line, &m) != nil {
		return nil
	}
	for _, drop := range []string{"time", "level", "msg"} {
		delete(m, drop)
	}
	return m
}

// pids returns the children's process IDs, for CPU accounting.
func (k *children) pids() map[string]int {
	if k == nil {
		return nil
	}
	out := map[string]int{}
	for _, c := range []*child{k.emulator, k.server} {
		if c != nil && c.cmd.Process != nil {
			out[c.name] = c.cmd.Process.Pid
		}
	}
	return out
}

// lineWatcher takes a child's stderr: it keeps the last lines for error
// messages, remembers lines with the markers asked for, and optionally
// copies everything on.
type lineWatcher struct {
	copyTo  io.Writer
	markers []string

	mu      sync.Mutex
	partial []byte
	last    [][]byte          // the last tailLines lines
	marked  map[string][]byte // marker -> the last line containing it
	waiters map[string]chan []byte
}

const tailLines = 20

func newLineWatcher(copyTo io.Writer, markers ...string) *lineWatcher {
	return &lineWatcher{copyTo: copyTo, markers: markers, marked: map[string][]byte{}, waiters: map[string]chan []byte{}}
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	if w.copyTo != nil {
		w.copyTo.Write(p)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	data := append(w.partial, p...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		line := data[:i]
		data = data[i+1:]
		if len(w.last) == tailLines {
			w.last = w.last[1:]
		}
		w.last = append(w.last, bytes.Clone(line))
		for _, m := range w.markers {
			if bytes.Contains(line, []byte(m)) {
				w.marked[m] = bytes.Clone(line)
				if ch, ok := w.waiters[m]; ok {
					ch <- w.marked[m]
					delete(w.waiters, m)
				}
			}
		}
	}
	w.partial = append(w.partial[:0], data...)
	return len(p), nil
}

// await waits for a line with marker, and returns what parse makes of it.
func (w *lineWatcher) await(marker string, parse func([]byte) (string, bool), done <-chan struct{}) (string, error) {
	w.mu.Lock()
	ch := make(chan []byte, 1)
	if line, ok := w.marked[marker]; ok {
		ch <- line
	} else {
		w.waiters[marker] = ch
	}
	w.mu.Unlock()
	select {
	case line := <-ch:
		if v, ok := parse(line); ok {
			return v, nil
		}
		return "", fmt.Errorf("cannot read %q", line)
	case <-done:
		return "", errors.New("exited before it was ready")
	case <-time.After(startTimeout):
		return "", fmt.Errorf("not ready after %s", startTimeout)
	}
}

func (w *lineWatcher) find(marker string) []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.marked[marker]
}

func (w *lineWatcher) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(bytes.Join(w.last, []byte("\n")))
}
