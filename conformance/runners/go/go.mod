module github.com/baton-org/baton/conformance/runners/go

go 1.26.8

require (
	github.com/baton-org/baton/clients/go v0.0.0
	github.com/google/uuid v1.6.0
)

require (
	github.com/apapsch/go-jsonmerge/v2 v2.0.0 // indirect
	github.com/oapi-codegen/runtime v1.8.0 // indirect
)

// The suite points this at the client generated for each API version (go mod edit -replace).
replace github.com/baton-org/baton/clients/go => ../../../clients/go
