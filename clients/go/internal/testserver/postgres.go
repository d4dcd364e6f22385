package testserver

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
)

// psql finds PostgreSQL's client: on the PATH, else in Debian's versioned folders.
func psql() (string, error) {
	if found, err := exec.LookPath("psql"); err == nil {
		return found, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
	if len(matches) > 0 {
		return matches[len(matches)-1], nil
	}
	return "", errors.New("BATON_TEST_POSTGRES_URL is set but psql is not installed (Debian: apt-get install postgresql-client)")
}

// createDatabase makes a fresh database on the PostgreSQL server of adminURL (a SQLAlchemy URL
// such as postgresql+asyncpg://baton@127.0.0.1:54329/baton); its URL, and how to drop it.
func createDatabase(adminURL string) (string, func(), error) {
	client, err := psql()
	if err != nil {
		return "", nil, err
	}
	parsed, err := url.Parse(adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("BATON_TEST_POSTGRES_URL: %w", err)
	}
	libpq := *parsed
	libpq.Scheme = "postgresql"
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	name := "baton_go_test_" + hex.EncodeToString(suffix[:])
	run := func(statement string) error {
		out, err := exec.Command(client, libpq.String(), "-qAt", "-v", "ON_ERROR_STOP=1", "-c", statement).CombinedOutput()
		if err != nil {
			return fmt.Errorf("psql %q: %w: %s", statement, err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if err := run(fmt.Sprintf(`CREATE DATABASE "%s"`, name)); err != nil {
		return "", nil, err
	}
	created := *parsed
	created.Path = "/" + name
	drop := func() { _ = run(fmt.Sprintf(`DROP DATABASE IF EXISTS "%s" WITH (FORCE)`, name)) }
	return created.String(), drop, nil
}
