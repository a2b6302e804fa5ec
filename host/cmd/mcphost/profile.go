package main

import (
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
)

// envCPUProfile names a file to write a CPU profile of this process to, for
// finding where the proxy's time goes; "%p" in it becomes the process id,
// since the host, its plugins and example backends all read it.
const envCPUProfile = "MCPHOST_CPUPROFILE"

// envExecTrace names a file to write a Go execution trace to (`go tool
// trace`): where the time between a message's events goes, scheduling
// included. "%p" as for envCPUProfile.
const envExecTrace = "MCPHOST_EXECTRACE"

// startCPUProfile starts profiling when envCPUProfile is set, and tracing
// when envExecTrace is; the returned function stops both and writes the
// files.
func startCPUProfile() (stop func(), err error) {
	stopProfile, err := startRecording(envCPUProfile, pprof.StartCPUProfile, pprof.StopCPUProfile)
	if err != nil {
		return nil, err
	}
	stopTrace, err := startRecording(envExecTrace, trace.Start, trace.Stop)
	if err != nil {
		stopProfile()
		return nil, err
	}
	return func() {
		stopTrace()
		stopProfile()
	}, nil
}

// startRecording starts a recording into the file env names, if any.
func startRecording(env string, start func(io.Writer) error, stop func()) (func(), error) {
	path := os.Getenv(env)
	if path == "" {
		return func() {}, nil
	}
	path = strings.ReplaceAll(path, "%p", strconv.Itoa(os.Getpid()))
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", env, err)
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", env, err)
	}
	return func() {
		stop()
		f.Close()
	}, nil
}
