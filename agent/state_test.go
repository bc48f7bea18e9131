package agent

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/virmo/virmo/dmtree"
)

func openTestState(t *testing.T) *stateStore {
	t.Helper()
	s, err := openState(filepath.Join(t.TempDir(), stateFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.close() })
	return s
}

func TestStatePersistAndAck(t *testing.T) {
	s := openTestState(t)

	snap, err := s.snapshot()
	if err != nil || snap != nil {
		t.Fatalf("snapshot of a new state = %q, %v; want nil, nil", snap, err)
	}

	alerts := []dmtree.Alert{
		{Type: "t1", Format: "int", Mark: "informational", Source: "./A", Target: "./B",
			Data: "1200", Correlator: "c1"},
		{Type: "t2", Data: "0"},
	}
	if err := s.persist([]byte("one"), alerts); err != nil {
		t.Fatal(err)
	}
	if err := s.persist([]byte("two"), nil); err != nil {
		t.Fatal(err)
	}

	snap, err = s.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if string(snap) != "two" {
		t.Errorf("snapshot = %q, want %q", snap, "two")
	}

	pending, err := s.pendingAlerts()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 2 {
		t.Fatalf("pending alerts = %d, want 2", len(pending))
	}
	if pending[0].Alert != alerts[0] {
		t.Errorf("first alert = %+v, want %+v", pending[0].Alert, alerts[0])
	}
	if pending[1].Alert != alerts[1] {
		t.Errorf("second alert = %+v, want %+v", pending[1].Alert, alerts[1])
	}

	if err := s.ackAlert(pending[0].Seq); err != nil {
		t.Fatal(err)
	}
	if err := s.ackAlert(pending[0].Seq); err != nil {
		t.Errorf("second ack of the same alert: %v", err)
	}
	pending, err = s.pendingAlerts()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].Alert.Type != "t2" {
		t.Errorf("pending after ack = %+v, want only t2", pending)
	}
}

func TestStateSettings(t *testing.T) {
	s := openTestState(t)

	if _, ok, err := s.setting("x"); ok || err != nil {
		t.Errorf("missing setting: ok=%v err=%v", ok, err)
	}
	if err := s.setSetting("x", "1"); err != nil {
		t.Fatal(err)
	}
	if err := s.setSetting("x", "2"); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := s.setting("x"); v != "2" || !ok || err != nil {
		t.Errorf("setting x = %q, %v, %v; want 2, true, nil", v, ok, err)
	}

	for want := uint64(1); want <= 3; want++ {
		n, err := s.nextSessionSeq()
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("session seq = %d, want %d", n, want)
		}
	}
}

// crashWriterEnv names the environment variable that turns the test binary
// into the child process of TestStateSurvivesSIGKILL.
const crashWriterEnv = "VIRMO_AGENT_CRASH_WRITER"

// TestMain turns the test binary into the crash writer child when
// crashWriterEnv is set.
func TestMain(m *testing.M) {
	if path := os.Getenv(crashWriterEnv); path != "" {
		runCrashWriter(path)
	}
	os.Exit(m.Run())
}

// runCrashWriter is the child process: it persists snapshot n with alert n,
// for n = 1, 2, ..., printing n after each commit, until killed.
func runCrashWriter(path string) {
	s, err := openState(path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for n := 1; ; n++ {
		v := strconv.Itoa(n)
		// A snapshot of some size, so a torn write would show.
		snap := []byte(v + ":" + string(make([]byte, 64<<10)))
		err := s.persist(snap, []dmtree.Alert{{Type: "crash", Data: v}})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(n)
	}
}

func TestStateSurvivesSIGKILL(t *testing.T) {
	for round := range 3 {
		t.Run(fmt.Sprintf("round%d", round), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), stateFile)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), crashWriterEnv+"="+path)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}

			// Kill the writer in the middle of its commits, after a number of
			// them that differs per round.
			lines := bufio.NewScanner(out)
			acked := 0
			for acked < 20+round*37 && lines.Scan() {
				n, err := strconv.Atoi(lines.Text())
				if err != nil {
					t.Fatalf("writer: %s", lines.Text())
				}
				acked = n
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()

			s, err := openState(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.close()

			var check string
			if err := s.db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil {
				t.Fatal(err)
			}
			if check != "ok" {
				t.Fatalf("integrity_check = %q", check)
			}

			snap, err := s.snapshot()
			if err != nil {
				t.Fatal(err)
			}
			var last int
			if _, err := fmt.Sscanf(string(snap), "%d:", &last); err != nil {
				t.Fatalf("snapshot prefix %q: %v", snap[:min(len(snap), 16)], err)
			}
			if last < acked {
				t.Errorf("snapshot %d is older than the last acknowledged commit %d", last, acked)
			}

			// Every committed snapshot brought its alert: alerts 1..last,
			// none missing and none extra.
			pending, err := s.pendingAlerts()
			if err != nil {
				t.Fatal(err)
			}
			if len(pending) != last {
				t.Fatalf("alerts = %d, want %d (one per committed snapshot)", len(pending), last)
			}
			for i, q := range pending {
				if q.Alert.Data != strconv.Itoa(i+1) {
					t.Fatalf("alert %d has data %q, want %d", i, q.Alert.Data, i+1)
				}
			}
		})
	}
}
