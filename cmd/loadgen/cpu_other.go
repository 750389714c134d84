//go:build !linux

package main

import (
	"syscall"
	"time"
)

func selfCPU() (time.Duration, bool)      { return 0, false }
func procCPU(int) (time.Duration, bool)   { return 0, false }
func childProcAttr() *syscall.SysProcAttr { return nil }
