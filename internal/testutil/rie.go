package testutil

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// RIEOptions say how to run a bootstrap under aws-lambda-rie.
type RIEOptions struct {
	// Path is the aws-lambda-rie binary (FindRIE finds it).
	Path string
	// Bootstrap is the function's binary.
	Bootstrap string
	// Env is the whole environment of RIE and so of the bootstrap.
	Env []string
	// LogLevel is RIE's --log-level; "error" if empty.
	LogLevel string
	// Output receives RIE's output and the bootstrap's; it may be nil.
	Output io.Writer
}

// RIE is aws-lambda-rie running a bootstrap on 127.0.0.1.
type RIE struct {
	// InvokeAddr is the host:port of RIE's invoke API (the one
	// --runtime-interface-emulator-address sets).
	InvokeAddr string
	// RuntimeAPIAddr is the host:port of the Runtime API RIE serves to
	// the bootstrap: its AWS_LAMBDA_RUNTIME_API.
	RuntimeAPIAddr string

	cmd    *exec.Cmd
	exited chan struct{}
}

// InvokeURL is where to POST an event to invoke the function.
func (r *RIE) InvokeURL() string {
	return "http://" + r.InvokeAddr + "/2015-03-31/functions/function/invocations"
}

// Stop kills RIE (and with it the bootstrap) and waits for it to exit.
func (r *RIE) Stop() {
	r.cmd.Process.Kill()
	<-r.exited
}

// rieStartAttempts is how many times StartRIE tries a fresh Runtime API
// port when another process took the one it picked.
const rieStartAttempts = 5

// StartRIE starts aws-lambda-rie on 127.0.0.1 and returns once both of
// its ports accept connections, proved to be RIE's own.
//
// No port is picked and freed for the invoke API: RIE binds
// 127.0.0.1:0 and its port is read from the sockets RIE holds. The Runtime
// API cannot be given port 0 (RIE would hand the bootstrap
// AWS_LAMBDA_RUNTIME_API=127.0.0.1:0), so a free port is picked for it; if
// another process binds that port first, RIE fails to listen and exits,
// and the whole start is tried again with a fresh port.
//
// Where the process's sockets cannot be read (no /proc), the invoke API
// gets a picked port too and both are waited for by connecting, with the
// same retry when RIE exits.
func StartRIE(opts RIEOptions) (*RIE, error) {
	return startRIE(opts, FreeAddr)
}

// startRIE is StartRIE with the Runtime API ports picked by pick.
func startRIE(opts RIEOptions, pick func() (string, error)) (*RIE, error) {
	var errs []error
	for range rieStartAttempts {
		r, retry, err := startRIEOnce(opts, pick)
		if err == nil {
			return r, nil
		}
		errs = append(errs, err)
		if !retry {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// startRIEOnce makes one attempt; retry reports that RIE could not bind a
// port, so that a fresh one may do.
func startRIEOnce(opts RIEOptions, pick func() (string, error)) (r *RIE, retry bool, err error) {
	_, procErr := os.Stat("/proc/self/net/tcp")
	useProc := procErr == nil
	apiAddr, err := pick()
	if err != nil {
		return nil, false, err
	}
	invokeAddr := "127.0.0.1:0"
	if !useProc {
		if invokeAddr, err = FreeAddr(); err != nil {
			return nil, false, err
		}
	}
	logLevel := opts.LogLevel
	if logLevel == "" {
		logLevel = "error"
	}
	var out LockedBuffer
	w := io.Writer(&out)
	if opts.Output != nil {
		w = io.MultiWriter(&out, opts.Output)
	}
	cmd := exec.Command(opts.Path, "--runtime-interface-emulator-address", invokeAddr, "--runtime-api-address", apiAddr, "--log-level", logLevel, opts.Bootstrap)
	cmd.Env = opts.Env
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("start aws-lambda-rie: %w", err)
	}
	r = &RIE{RuntimeAPIAddr: apiAddr, cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(r.exited) }()

	_, apiPortText, _ := net.SplitHostPort(apiAddr)
	apiPort, _ := strconv.Atoi(apiPortText)
	deadline := time.Now().Add(20 * time.Second)
	var lastErr error
	for {
		if time.Now().After(deadline) {
			r.Stop()
			return nil, false, fmt.Errorf("aws-lambda-rie did not listen on its runtime API %s and its invoke API within 20s (%v):\n%s", apiAddr, lastErr, out.String())
		}
		select {
		case <-r.exited:
			text := out.String()
			bind := strings.Contains(text, "address already in use") || strings.Contains(text, "failed to listen")
			return nil, bind, fmt.Errorf("aws-lambda-rie (runtime API %s, invoke API %s) exited before it was ready: %v\n%s", apiAddr, invokeAddr, cmd.ProcessState, text)
		case <-time.After(5 * time.Millisecond):
		}
		if useProc {
			ports, err := listeningPorts(cmd.Process.Pid)
			if err != nil {
				// RIE may have just exited: the next turn sees it. If it
				// has not, the error is reported at the deadline.
				lastErr = err
				continue
			}
			if ports[apiPort] && len(ports) == 2 {
				for p := range ports {
					if p != apiPort {
						r.InvokeAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
					}
				}
				// Listening, as the kernel shows it: connecting now succeeds.
				return r, false, nil
			}
			if len(ports) > 2 {
				r.Stop()
				return nil, false, fmt.Errorf("aws-lambda-rie listens on more ports than its two: %v", ports)
			}
		} else if dials(apiAddr) && dials(invokeAddr) {
			r.InvokeAddr = invokeAddr
			return r, false, nil
		}
	}
}

func dials(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// listeningPorts is the set of TCP ports on which process pid holds a
// listening IPv4 socket, read from /proc: the socket inodes among its file
// descriptors, looked up in its network namespace's TCP table.
func listeningPorts(pid int) (map[int]bool, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		// The process may close a descriptor while we read: skip it.
		link, err := os.Readlink(dir + "/" + fd.Name())
		if err != nil {
			continue
		}
		if inode, ok := strings.CutPrefix(link, "socket:["); ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/tcp", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ports := map[int]bool{}
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != "0A" || !inodes[fields[9]] { // 0A: LISTEN
			continue
		}
		_, portHex, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		port, err := strconv.ParseUint(portHex, 16, 16)
		if err != nil {
			continue
		}
		ports[int(port)] = true
	}
	return ports, sc.Err()
}
