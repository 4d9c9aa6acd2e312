// Package pgbench holds the pgbench script that replays the ledger's posting
// transaction (post.sql, checked in and embedded) and runs it, turning
// pgbench's per-transaction log into samples comparable with our own
// harnesses (bench/internal/stats).
package pgbench

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bankcore/bank/bench/internal/stats"
)

// Scripts are the checked-in scripts, by file name.
//
//go:embed *.sql
var Scripts embed.FS

// RepoDir is where the scripts live in the repository, for printing
// commands a reader can paste.
const RepoDir = "bench/pgbench"

// PostScript replays internal/postgres.Ledger.Post: one customer transfer in
// two round trips (see its header).
const PostScript = "post.sql"

// PostVars are PostScript's -D variables for a mode (uniform: a random sender
// for each transfer; hot: customer 1 sends every transfer, as account 0 of
// fixture.SeedAccounts does in the store's runs), the number of customer
// accounts, and a run tag that keeps references unique across runs.
func PostVars(mode string, accounts, runID int) ([][2]string, error) {
	var sender string
	switch mode {
	case "uniform":
		sender = "0"
	case "hot":
		sender = "1"
	default:
		return nil, fmt.Errorf("unknown mode %q", mode)
	}
	return [][2]string{{"naccounts", strconv.Itoa(accounts)}, {"sender", sender}, {"run", strconv.Itoa(runID)}, {"seq", "0"}}, nil
}

// Options is one pgbench run.
type Options struct {
	Binary   string        // pgbench executable
	Conn     string        // libpq connection string or URL
	Script   string        // file name in Scripts
	Clients  int           // -c and -j
	Duration time.Duration // -T, rounded up to whole seconds
	Vars     [][2]string   // -D name=value, in order
	WorkDir  string        // where the script copy and the logs go
}

// Result is what pgbench did.
type Result struct {
	Args      []string       // the command as run
	Display   string         // the command with the script at its repository path
	Samples   []stats.Sample // one per transaction, from the -l log
	Processed int            // "number of transactions actually processed"
	Failed    int            // "number of failed transactions"
	TPS       float64        // pgbench's own figure (whole run, warm-up included)
	ClientCPU time.Duration  // pgbench's user + system CPU time
	Output    string         // stdout and stderr
}

// Run runs pgbench and parses its per-transaction log. An error from a
// finished run (pgbench exits 2 when clients abort) comes with the Result.
func Run(ctx context.Context, o Options) (Result, error) {
	var r Result
	body, err := Scripts.ReadFile(o.Script)
	if err != nil {
		return r, err
	}
	script := filepath.Join(o.WorkDir, o.Script)
	if err := os.WriteFile(script, body, 0o644); err != nil {
		return r, err
	}
	prefix := filepath.Join(o.WorkDir, "pgbench_log")
	secs := int(math.Ceil(o.Duration.Seconds()))
	// -M simple: the script sends two statements per round trip
	// ("BEGIN \; EXECUTE …") and executes statements it prepared itself.
	common := []string{"-n", "-M", "simple", "-c", strconv.Itoa(o.Clients), "-j", strconv.Itoa(o.Clients), "-T", strconv.Itoa(secs)}
	for _, v := range o.Vars {
		common = append(common, "-D", v[0]+"="+v[1])
	}
	r.Args = append(append([]string{o.Binary}, common...), "-l", "--log-prefix="+prefix, "-f", script, o.Conn)
	r.Display = ShellJoin(append(append([]string{"pgbench"}, common...), "-l", "--log-prefix=<tmpdir>/pgbench_log",
		"-f", RepoDir+"/"+o.Script, o.Conn))

	cmd := exec.CommandContext(ctx, o.Binary, r.Args[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	r.Output = out.String()
	if ps := cmd.ProcessState; ps != nil {
		r.ClientCPU = ps.UserTime() + ps.SystemTime()
	}
	parseSummary(&r)
	samples, err := readLogs(prefix)
	if err != nil {
		return r, err
	}
	r.Samples = samples
	if runErr != nil {
		return r, fmt.Errorf("pgbench: %w: %s", runErr, lastLines(r.Output, 5))
	}
	return r, nil
}

var (
	processedRe = regexp.MustCompile(`number of transactions actually processed: (\d+)`)
	failedRe    = regexp.MustCompile(`number of failed transactions: (\d+)`)
	tpsRe       = regexp.MustCompile(`tps = ([0-9.]+)`)
)

func parseSummary(r *Result) {
	if m := processedRe.FindStringSubmatch(r.Output); m != nil {
		r.Processed, _ = strconv.Atoi(m[1])
	}
	if m := failedRe.FindStringSubmatch(r.Output); m != nil {
		r.Failed, _ = strconv.Atoi(m[1])
	}
	if m := tpsRe.FindStringSubmatch(r.Output); m != nil {
		r.TPS, _ = strconv.ParseFloat(m[1], 64)
	}
}

// readLogs parses every log file of the run (one per thread: prefix.<pid>
// and prefix.<pid>.<thread>). A line is
// "client_id transaction_no time script_no time_epoch time_us [...]" with
// time the latency in microseconds ("failed" for a failed transaction) and
// time_epoch/time_us when it ended.
func readLogs(prefix string) ([]stats.Sample, error) {
	files, err := filepath.Glob(prefix + ".*")
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("pgbench wrote no transaction log")
	}
	var out []stats.Sample
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 6 {
				continue
			}
			sec, err1 := strconv.ParseInt(fs[4], 10, 64)
			usec, err2 := strconv.ParseInt(fs[5], 10, 64)
			if err1 != nil || err2 != nil {
				_ = f.Close()
				return nil, fmt.Errorf("%s: bad line %q", name, sc.Text())
			}
			s := stats.Sample{End: time.Unix(sec, usec*1000)}
			if lat, err := strconv.ParseInt(fs[2], 10, 64); err == nil {
				s.Latency = time.Duration(lat) * time.Microsecond
			} else {
				s.Failed = true // "failed" or "skipped"
			}
			out = append(out, s)
		}
		err = sc.Err()
		_ = f.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

// ShellJoin quotes args for a POSIX shell where needed.
func ShellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./:,@") == "" {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}
