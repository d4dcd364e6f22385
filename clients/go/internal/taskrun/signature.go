// Package taskrun analyses task functions and runs them: it is the one place that knows how a
// task function's parameters are served and what its results mean, for bundle binaries and
// for tasks run inside an application alike.
package taskrun

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"runtime"
	"strings"

	"github.com/baton-org/baton/clients/go/sdk"
)

// literalName matches the last part of a function literal's symbol: "func1", "2", "gowrap1".
var literalName = regexp.MustCompile(`^(func\d+|\d+|gowrap\d+)$`)

type paramKind int

const (
	paramContext paramKind = iota
	paramLogger
	paramRunContext
	paramRunContextPtr
	paramClient
	paramData
)

var (
	contextType    = reflect.TypeFor[context.Context]()
	loggerType     = reflect.TypeFor[*slog.Logger]()
	runContextType = reflect.TypeFor[sdk.RunContext]()
	errorType      = reflect.TypeFor[error]()
	clientImpl     = reflect.TypeFor[*taskClient]()
)

type param struct {
	kind paramKind
	typ  reflect.Type
}

// Func is a task function whose signature was checked: every parameter can be served and its
// results mean something.
type Func struct {
	fn           reflect.Value
	params       []param
	dataParams   int
	result       reflect.Type // nil when the function returns no value
	returnsError bool
}

// DataParams is the number of parameters bound from upstream tasks' XComs, in order.
func (f *Func) DataParams() int { return f.dataParams }

// FuncName is the name of a named function or method value ("transform"); false for a function
// literal, which has no name a task could take.
func FuncName(fn any) (string, bool) {
	value := reflect.ValueOf(fn)
	if value.Kind() != reflect.Func || value.IsNil() {
		return "", false
	}
	full := runtime.FuncForPC(value.Pointer()).Name() // "example.com/pkg.transform", "pkg.(*T).m-fm"
	name := strings.TrimSuffix(full[strings.LastIndex(full, ".")+1:], "-fm")
	if name == "" || literalName.MatchString(name) {
		return "", false
	}
	return name, true
}

// Analyze checks that fn is a function Baton can call as a task. Parameters are served by type:
// context.Context, *slog.Logger, sdk.RunContext (or a pointer to one), and any interface the
// attempt's client satisfies (sdk.VariableClient, sdk.ConnectionClient, sdk.XComClient,
// sdk.Client). Every other parameter is data, decoded from an upstream task's XCom (JSON). The
// results are none, error, a value, or a value and an error.
func Analyze(fn any) (*Func, error) {
	value := reflect.ValueOf(fn)
	if fn == nil || value.Kind() != reflect.Func {
		return nil, fmt.Errorf("a task must be a function, not %T", fn)
	}
	if value.IsNil() {
		return nil, errors.New("a task must be a function, not a nil func")
	}
	typ := value.Type()
	if typ.IsVariadic() {
		return nil, fmt.Errorf("a variadic function (%s) cannot be served: its last parameter has no single value", typ)
	}
	f := &Func{fn: value}
	for i := range typ.NumIn() {
		p, err := classify(typ.In(i))
		if err != nil {
			return nil, fmt.Errorf("parameter %d (%s) cannot be served: %w", i+1, typ.In(i), err)
		}
		if p.kind == paramData {
			f.dataParams++
		}
		f.params = append(f.params, p)
	}
	if err := f.readResults(typ); err != nil {
		return nil, err
	}
	return f, nil
}

func classify(t reflect.Type) (param, error) {
	switch {
	case t == contextType:
		return param{kind: paramContext}, nil
	case t == loggerType:
		return param{kind: paramLogger}, nil
	case t == runContextType:
		return param{kind: paramRunContext}, nil
	case t == reflect.PointerTo(runContextType):
		return param{kind: paramRunContextPtr}, nil
	case t.Kind() == reflect.Interface && t.NumMethod() > 0:
		if !clientImpl.Implements(t) {
			return param{}, errors.New("an interface other than context.Context and the sdk clients (sdk.Client, sdk.VariableClient, sdk.ConnectionClient, sdk.XComClient)")
		}
		return param{kind: paramClient}, nil
	}
	if err := jsonable(t); err != nil {
		return param{}, fmt.Errorf("not bindable from an upstream XCom: %w", err)
	}
	return param{kind: paramData, typ: t}, nil
}

// jsonable refuses the types encoding/json can never decode into or encode.
func jsonable(t reflect.Type) error {
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return fmt.Errorf("%s values are not JSON", t.Kind())
	case reflect.Interface:
		if t.NumMethod() > 0 {
			return fmt.Errorf("%s is an interface JSON cannot decode into", t)
		}
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return jsonable(t.Elem())
	case reflect.Map:
		if err := jsonable(t.Elem()); err != nil {
			return err
		}
	}
	return nil
}

func (f *Func) readResults(typ reflect.Type) error {
	switch typ.NumOut() {
	case 0:
		return nil
	case 1:
		if typ.Out(0) == errorType {
			f.returnsError = true
			return nil
		}
		f.result = typ.Out(0)
	case 2:
		if typ.Out(1) != errorType {
			return fmt.Errorf("a function returning two values must return (value, error), not (%s, %s)", typ.Out(0), typ.Out(1))
		}
		f.result, f.returnsError = typ.Out(0), true
	default:
		return fmt.Errorf("a task returns nothing, an error, a value, or (value, error); not %d values", typ.NumOut())
	}
	if f.result == errorType {
		return errors.New("a task returns (value, error), not (error, error)")
	}
	if err := jsonable(f.result); err != nil {
		return fmt.Errorf("its result (%s) cannot become an XCom: %w", f.result, err)
	}
	return nil
}
