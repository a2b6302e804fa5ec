package stdio

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// sysProcAttr starts the child in a process group of its own, so that a
// console Ctrl+Break can be aimed at it (the nearest thing to SIGTERM) and
// the user's Ctrl+C does not reach it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}

// jobs holds the job object of each running child, by pid. Windows has no
// process groups that can be killed as one; a job object can, and with
// JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE it also dies with this process (the
// handle closes when the plugin exits), which is what Pdeathsig gives on
// Linux.
var jobs = struct {
	sync.Mutex
	byPID map[int]windows.Handle
}{byPID: map[int]windows.Handle{}}

// adopt puts the started child in a new job object. The child runs for a
// moment before it is assigned, so a grandchild it spawns at once can
// escape the job (Go cannot start a process suspended); the README says so.
func adopt(cmd *exec.Cmd) error {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return fmt.Errorf("create job object: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		_ = windows.CloseHandle(job)
		return fmt.Errorf("set job object limits: %w", err)
	}
	pid := cmd.Process.Pid
	proc, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		_ = windows.CloseHandle(job)
		return fmt.Errorf("open process %d: %w", pid, err)
	}
	defer func() { _ = windows.CloseHandle(proc) }()
	if err := windows.AssignProcessToJobObject(job, proc); err != nil {
		_ = windows.CloseHandle(job)
		return fmt.Errorf("assign process %d to a job object: %w", pid, err)
	}
	jobs.Lock()
	jobs.byPID[pid] = job
	jobs.Unlock()
	return nil
}

// reap waits for the child, then terminates whatever it left behind in its
// job and closes the job.
func reap(cmd *exec.Cmd) error {
	err := cmd.Wait()
	jobs.Lock()
	defer jobs.Unlock()
	if job, ok := jobs.byPID[cmd.Process.Pid]; ok {
		delete(jobs.byPID, cmd.Process.Pid)
		_ = windows.TerminateJobObject(job, 1)
		_ = windows.CloseHandle(job)
	}
	return err
}

// killGroup asks the child's process group to stop (SIGTERM: a console
// Ctrl+Break, which only a child sharing this process's console receives)
// or terminates its job (SIGKILL), or the child alone if it has no job.
// Errors (typically: already gone) are deliberately ignored.
func killGroup(pid int, sig syscall.Signal) {
	if sig != syscall.SIGKILL {
		_ = windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(pid))
		return
	}
	jobs.Lock()
	defer jobs.Unlock()
	if job, ok := jobs.byPID[pid]; ok {
		_ = windows.TerminateJobObject(job, 1)
		return
	}
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

// growPipe leaves the pipe's size alone: Windows fixes it when the pipe is
// made, and os.Pipe takes the default.
func growPipe(*os.File) {}
