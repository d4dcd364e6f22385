// A bundle whose RegisterDags panics: its process ends before go-plugin's handshake.
package main

import "github.com/baton-org/baton/clients/go/bundle"

type crashing struct{}

func (crashing) RegisterDags(bundle.Registry) error {
	var dags map[string]int
	dags["nightly"]++ // a nil map: the panic a bundle's author meets at load
	return nil
}

func main() { bundle.Serve(crashing{}, bundle.WithName("crashing")) }
