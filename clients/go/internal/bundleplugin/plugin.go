// Package bundleplugin is the hashicorp/go-plugin glue between the Go worker (the host) and a
// bundle binary (the plugin), over the gRPC contract of proto/bundle/v1/bundle.proto.
package bundleplugin

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/baton-org/baton/clients/go/api"
	"github.com/baton-org/baton/clients/go/internal/bundlepb"
	"github.com/baton-org/baton/clients/go/internal/taskrun"
)

// Handshake is shared by the worker and every bundle binary; a binary started without it (by
// hand) says what it is instead of serving. ProtocolVersion changes with bundle.proto's
// incompatible changes.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "BATON_GO_BUNDLE_PLUGIN",
	MagicCookieValue: "c3e1d2f8-baton-go-bundle-v1",
}

// PluginName is the name the bundle's service is dispensed under.
const PluginName = "bundle"

// Catalog is what a bundle binary serves: its identity, DAG descriptions and tasks.
type Catalog interface {
	Name() string
	Version() string
	Dags() []api.DagDescription
	EntryPoints() []string
	Task(entryPoint string) (*taskrun.Task, bool)
}

// LaunchedByWorker reports whether this process was started by the Go worker as a plugin.
func LaunchedByWorker() bool {
	return os.Getenv(Handshake.MagicCookieKey) == Handshake.MagicCookieValue
}

// grpcPlugin is the go-plugin plugin of both sides: the server side serves a catalog, the client
// side hands out the generated gRPC client.
type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	catalog Catalog
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	bundlepb.RegisterBundleServer(s, newServer(p.catalog))
	return nil
}

func (p *grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return bundlepb.NewBundleClient(conn), nil
}

var _ plugin.GRPCPlugin = (*grpcPlugin)(nil)

// Serve serves the catalog to the worker that started this process, until the worker ends it.
//
// It ignores SIGTERM, as go-plugin ignores SIGINT: a SIGTERM sent to the worker's whole process
// group or cgroup (systemd's stop, `kill -TERM -PGID`) would otherwise kill the bundle under the
// tasks the worker is draining. The worker ends the process itself (and the kernel kills it when
// the worker dies). Handled, not ignored: processes the tasks start keep the default action.
func Serve(catalog Catalog) {
	terminations := make(chan os.Signal, 1)
	signal.Notify(terminations, syscall.SIGTERM)
	go func() {
		for range terminations {
		}
	}()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{PluginName: &grpcPlugin{catalog: catalog}},
		GRPCServer:      plugin.DefaultGRPCServer,
	})
}
