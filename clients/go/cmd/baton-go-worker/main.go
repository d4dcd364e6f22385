// Command baton-go-worker runs the Go tasks of the bundle binaries in a folder.
//
//	baton-go-worker --bundles DIR [--queue Q ...] [--concurrency N] [--server URL] [--token TOKEN]
//	                [--name NAME] [--heartbeat-interval D] [--grace-period D] [--claim-wait D]
//	                [--log-level L]
//
// The server URL and the worker credential also come from BATON_SERVER_URL and
// BATON_WORKER_TOKEN. SIGTERM or Ctrl-C drains (no new claims, running tasks get the grace
// period); a second one hands running tasks back at once.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/baton-org/baton/clients/go/worker"
)

type queues []string

func (q *queues) String() string { return strings.Join(*q, ",") }
func (q *queues) Set(value string) error {
	*q = append(*q, value)
	return nil
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	flags := flag.NewFlagSet("baton-go-worker", flag.ContinueOnError)
	var cfg worker.Config
	var served queues
	var level string
	flags.StringVar(&cfg.BundleDir, "bundles", "", "folder of bundle binaries (required)")
	flags.Var(&served, "queue", "a queue to serve (repeatable; default: default)")
	flags.IntVar(&cfg.Concurrency, "concurrency", 4, "attempts run at once")
	flags.StringVar(&cfg.ServerURL, "server", os.Getenv("BATON_SERVER_URL"), "the Baton server's URL (BATON_SERVER_URL)")
	flags.StringVar(&cfg.Token, "token", "", "the worker credential (default: BATON_WORKER_TOKEN)")
	flags.StringVar(&cfg.Name, "name", "", "the worker's name (default: <hostname>-<pid>)")
	flags.DurationVar(&cfg.HeartbeatInterval, "heartbeat-interval", 5*time.Second, "how often the worker and its attempts heartbeat")
	flags.DurationVar(&cfg.GracePeriod, "grace-period", 60*time.Second, "how long running tasks may take to finish on shutdown")
	flags.DurationVar(&cfg.ClaimWait, "claim-wait", 10*time.Second, "how long a claim waits for work on the server")
	flags.StringVar(&level, "log-level", "info", "debug, info, warning or error")
	if err := flags.Parse(args); err != nil {
		return 2
	}
	if cfg.Token == "" {
		cfg.Token = os.Getenv("BATON_WORKER_TOKEN")
	}
	if cfg.BundleDir == "" || cfg.ServerURL == "" || cfg.Token == "" {
		fmt.Fprintln(os.Stderr, "baton-go-worker: --bundles, the server URL (--server or BATON_SERVER_URL) and the worker credential (--token or BATON_WORKER_TOKEN) are required")
		flags.Usage()
		return 2
	}
	cfg.Queues = served
	// The library takes a zero as "the default"; given on the command line, it is a mistake.
	if cfg.Concurrency < 1 {
		fmt.Fprintf(os.Stderr, "baton-go-worker: --concurrency %d: give at least 1\n", cfg.Concurrency)
		return 2
	}
	for _, d := range []struct {
		flag  string
		value time.Duration
	}{{"--heartbeat-interval", cfg.HeartbeatInterval}, {"--claim-wait", cfg.ClaimWait}, {"--grace-period", cfg.GracePeriod}} {
		if d.value <= 0 {
			fmt.Fprintf(os.Stderr, "baton-go-worker: %s %s: give a duration above 0\n", d.flag, d.value)
			return 2
		}
	}
	var logLevel slog.Level
	if err := logLevel.UnmarshalText([]byte(strings.Replace(level, "warning", "warn", 1))); err != nil {
		fmt.Fprintf(os.Stderr, "baton-go-worker: --log-level %q: use debug, info, warning or error\n", level)
		return 2
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel}))
	w, err := worker.New(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "baton-go-worker: %v\n", err)
		return 2
	}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, syscall.SIGTERM, os.Interrupt)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		first := true
		for sig := range signals {
			if first {
				cfg.Logger.Info("draining: no new claims; running tasks finish (signal again to hand them back now)", "signal", sig.String())
				cancel()
				w.Drain()
				first = false
			} else {
				cfg.Logger.Warn("handing running tasks back now; a start, log lines or a final state the server has not taken get one last try of 5s, then are given up", "signal", sig.String())
				w.HandBack()
			}
		}
	}()
	if err := w.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "baton-go-worker: %v\n", err)
		return 1
	}
	return 0
}
