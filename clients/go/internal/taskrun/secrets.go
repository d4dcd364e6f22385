package taskrun

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/baton-org/baton/clients/go/sdk"
)

// Prefixes of the worker-side secrets in the environment, as the Python SDK reads them.
const (
	VariablePrefix   = "BATON_VAR_"
	ConnectionPrefix = "BATON_CONN_"
)

// Secrets are the worker's own variables and connections, asked before the server.
type Secrets struct {
	// Lookup reads the environment; nil means os.LookupEnv.
	Lookup func(string) (string, bool)
}

func (s Secrets) lookup(name string) (string, bool) {
	if s.Lookup != nil {
		return s.Lookup(name)
	}
	return os.LookupEnv(name)
}

// envName is the variable name of a key: upper case, with '.' and '-' as '_'.
func envName(prefix, key string) string {
	return prefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// Variable returns the environment's value of a variable: JSON, or the text itself when it is not JSON.
func (s Secrets) Variable(key string) (any, bool, error) {
	text, ok := s.lookup(envName(VariablePrefix, key))
	if !ok {
		return nil, false, nil
	}
	var value any
	if json.Unmarshal([]byte(text), &value) != nil {
		return text, true, nil
	}
	return value, true, nil
}

// Connection returns the environment's connection of that id: a JSON object, or a URI
// `<type>://<login>:<password>@<host>:<port>/<schema>?<extra>` (`__extra__=<JSON object>` for any extra).
func (s Secrets) Connection(id string) (sdk.Connection, bool, error) {
	name := envName(ConnectionPrefix, id)
	text, ok := s.lookup(name)
	if !ok {
		return sdk.Connection{}, false, nil
	}
	text = strings.TrimSpace(text)
	if strings.HasPrefix(text, "{") {
		var wire wireConnection
		if err := json.Unmarshal([]byte(text), &wire); err != nil {
			return sdk.Connection{}, true, fmt.Errorf("%s is not a connection's JSON: %w", name, err)
		}
		wire.ConnID = id
		conn, err := wire.connection()
		return conn, true, err
	}
	conn, err := parseConnectionURI(id, text)
	if err != nil {
		return sdk.Connection{}, true, fmt.Errorf("%s: %w", name, err)
	}
	return conn, true, nil
}

func parseConnectionURI(id, text string) (sdk.Connection, error) {
	u, err := url.Parse(text)
	if err != nil || u.Scheme == "" {
		return sdk.Connection{}, fmt.Errorf("not a connection URI (<type>://<login>:<password>@<host>:<port>/<schema>)")
	}
	conn := sdk.Connection{ID: id, Type: u.Scheme, Host: u.Hostname(), Schema: strings.TrimPrefix(u.Path, "/")}
	if u.User != nil {
		conn.Login = u.User.Username()
		conn.Password, _ = u.User.Password()
	}
	if port := u.Port(); port != "" {
		if conn.Port, err = strconv.Atoi(port); err != nil {
			return sdk.Connection{}, fmt.Errorf("port %q is not a number", port)
		}
	}
	query := u.Query()
	if raw := query.Get("__extra__"); raw != "" {
		if conn.Extra, err = decodeExtra(json.RawMessage(raw)); err != nil {
			return sdk.Connection{}, fmt.Errorf("__extra__: %w", err)
		}
		return conn, nil
	}
	for key := range query {
		if conn.Extra == nil {
			conn.Extra = map[string]any{}
		}
		conn.Extra[key] = query.Get(key)
	}
	return conn, nil
}
