package serving

import (
	"context"
	"errors"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/featuregraph/featuregraph/store"
)

var (
	// ErrBadInput marks an error in the query's arguments (code BAD_USER_INPUT).
	ErrBadInput = errors.New("bad input")
	// ErrBadStoredValue marks a stored value that does not have the registry's type; the
	// presenter gives it the code BAD_STORED_VALUE.
	ErrBadStoredValue = errors.New("bad stored value")
	// ErrExpression marks a derived feature's expression that failed for an entity (a division
	// by zero, a non-finite number, its cost limit); the presenter gives it the code
	// EXPRESSION_ERROR.
	ErrExpression = errors.New("expression failed")
)

// InputError is an error in the query's arguments. Its message is the text alone: the code
// BAD_USER_INPUT says what kind of error it is.
func InputError(format string, args ...any) error {
	return &badInput{fmt.Sprintf(format, args...)}
}

type badInput struct{ msg string }

func (e *badInput) Error() string        { return e.msg }
func (e *badInput) Is(target error) bool { return target == ErrBadInput }

// FieldError is an error at path+alias, presented like any other resolver error (no location:
// it belongs to a field of an object loaded in a batch).
func FieldError(path ast.Path, alias string, err error) *gqlerror.Error {
	p := append(path[:len(path):len(path)], ast.PathName(alias))
	e := present(err)
	e.Path = p
	e.Err = err // errors.Is still sees the cause (the gateway tells its own deadline from a backend failure)
	return e
}

// ErrorPresenter turns resolver errors into GraphQL errors with a code, and for backend
// failures, the name of the backend, in the extensions.
func ErrorPresenter(ctx context.Context, err error) *gqlerror.Error {
	var gqlErr *gqlerror.Error
	if errors.As(err, &gqlErr) && gqlErr.Extensions != nil {
		if _, ok := gqlErr.Extensions["code"]; ok {
			return gqlErr // already presented (FieldError)
		}
	}
	e := present(err)
	if e.Path == nil {
		e.Path = graphql.GetPath(ctx)
	}
	if gqlErr != nil && gqlErr.Path != nil {
		e.Path = gqlErr.Path
		e.Locations = gqlErr.Locations
	}
	return e
}

func present(err error) *gqlerror.Error {
	var gqlErr *gqlerror.Error
	var be *store.BackendError
	switch {
	case errors.Is(err, ErrBadInput):
		return &gqlerror.Error{Message: message(err), Extensions: map[string]any{"code": "BAD_USER_INPUT"}}
	case errors.Is(err, ErrBadStoredValue):
		return &gqlerror.Error{Message: message(err), Extensions: map[string]any{"code": "BAD_STORED_VALUE"}}
	case errors.Is(err, ErrExpression):
		return &gqlerror.Error{Message: message(err), Extensions: map[string]any{"code": "EXPRESSION_ERROR"}}
	case errors.As(err, &be):
		// be's own text: err may be a gqlerror that prefixes the field's location and path.
		return &gqlerror.Error{
			Message:    fmt.Sprintf("backend %s failed: %v", be.Backend, be),
			Extensions: map[string]any{"code": "BACKEND_ERROR", "backend": be.Backend},
		}
	case errors.Is(err, context.Canceled): // the client went away; nobody reads this
		return &gqlerror.Error{Message: "request cancelled", Extensions: map[string]any{"code": "CANCELLED"}}
	case errors.Is(err, context.DeadlineExceeded):
		return &gqlerror.Error{Message: "request deadline exceeded: " + message(err), Extensions: map[string]any{"code": "TIMEOUT"}}
	case errors.As(err, &gqlErr):
		return gqlErr
	}
	return &gqlerror.Error{Message: err.Error()}
}

// message is err's own text: a resolver error reaches the presenter wrapped in a gqlerror, whose
// Error() prefixes the location and path ("input:1:17: user.recentClickedArticles ..."), which
// the response carries in its own fields.
func message(err error) string {
	var gqlErr *gqlerror.Error
	if errors.As(err, &gqlErr) && gqlErr.Err != nil {
		return gqlErr.Err.Error()
	}
	if gqlErr != nil {
		return gqlErr.Message
	}
	return err.Error()
}
