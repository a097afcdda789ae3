//go:build unix

package sshdtest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

// LoginUser is the ordinary user every node logs sessions in as.
const LoginUser = "drovetest"

// loginShell is the login user's shell: drove promises to need nothing
// beyond a POSIX shell, so the nodes offer nothing more.
const loginShell = "/bin/sh"

// lockPath serialises the machine-wide setup (user creation, privsep
// directory) between concurrent test binaries.
const lockPath = "/tmp/drove-sshdtest.lock"

// privsepDir is the directory sshd chroots its unprivileged children into.
const privsepDir = "/run/sshd"

// TB is the part of testing.TB the harness uses. testing.TB satisfies it; a
// program can pass its own implementation. Fatalf and Skipf must not return
// (testing.T calls runtime.Goexit).
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Logf(format string, args ...any)
	Cleanup(func())
}

// unavailable skips the test, or fails it when the environment variable CI
// is non-empty, so that CI cannot silently lose the real-sshd tier.
func unavailable(t TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("sshdtest: %s (CI is set, so this tier must run: install openssh-server and run as root)", msg)
	}
	t.Skipf("sshdtest: %s", msg)
}

// findSSHD returns the absolute path of sshd, which sshd needs to re-execute
// itself.
func findSSHD() (string, error) {
	if p, err := exec.LookPath("sshd"); err == nil {
		return p, nil
	}
	const p = "/usr/sbin/sshd"
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("sshdtest: sshd not found in PATH or at %s: %w", p, err)
	}
	return p, nil
}

// account is the login user as the harness needs it.
type account struct {
	Name string
	UID  int
	GID  int
	Home string
}

// prepareMachine makes sure the login user exists with a usable account and
// that sshd's privilege separation directory exists. It holds an flock on
// lockPath so that parallel test binaries do not race on useradd.
func prepareMachine() (account, error) {
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return account{}, fmt.Errorf("sshdtest: lock: %w", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return account{}, fmt.Errorf("sshdtest: lock %s: %w", lockPath, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)

	if err := os.MkdirAll(privsepDir, 0o755); err != nil {
		return account{}, fmt.Errorf("sshdtest: privsep dir: %w", err)
	}
	u, err := user.Lookup(LoginUser)
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) {
		// The password field '*' is "no password" rather than "locked";
		// with UsePAM no, sshd refuses even key logins to locked accounts
		// ('!', which useradd sets by default).
		out, addErr := exec.Command("useradd", "--create-home", "--shell", loginShell,
			"--password", "*", LoginUser).CombinedOutput()
		if addErr != nil {
			return account{}, fmt.Errorf("sshdtest: useradd %s: %w: %s", LoginUser, addErr, strings.TrimSpace(string(out)))
		}
		u, err = user.Lookup(LoginUser)
	}
	if err != nil {
		return account{}, fmt.Errorf("sshdtest: look up %s: %w", LoginUser, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil || uid == 0 {
		return account{}, fmt.Errorf("sshdtest: user %s has uid %q, want an ordinary user", LoginUser, u.Uid)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return account{}, fmt.Errorf("sshdtest: user %s has gid %q", LoginUser, u.Gid)
	}
	shell, err := passwdShell(LoginUser)
	if err != nil {
		return account{}, err
	}
	if shell != loginShell {
		return account{}, fmt.Errorf("sshdtest: user %s has shell %s, want %s (usermod -s %s %s)",
			LoginUser, shell, loginShell, loginShell, LoginUser)
	}
	if err := unlockAccount(LoginUser); err != nil {
		return account{}, err
	}
	return account{Name: LoginUser, UID: uid, GID: gid, Home: u.HomeDir}, nil
}

// passwdShell reads the login shell of name from /etc/passwd.
func passwdShell(name string) (string, error) {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return "", fmt.Errorf("sshdtest: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) == 7 && fields[0] == name {
			return fields[6], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("sshdtest: read /etc/passwd: %w", err)
	}
	return "", fmt.Errorf("sshdtest: user %s not in /etc/passwd", name)
}

// unlockAccount replaces a locked password field ("!...") of the login user
// with "*", since sshd without PAM refuses locked accounts outright.
func unlockAccount(name string) error {
	data, err := os.ReadFile("/etc/shadow")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("sshdtest: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Split(line, ":")
		if len(fields) < 2 || fields[0] != name {
			continue
		}
		if !strings.HasPrefix(fields[1], "!") {
			return nil
		}
		out, err := exec.Command("usermod", "--password", "*", name).CombinedOutput()
		if err != nil {
			return fmt.Errorf("sshdtest: unlock %s: %w: %s", name, err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	return nil
}
