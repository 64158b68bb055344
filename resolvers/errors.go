package resolvers

import (
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/featuregraph/featuregraph/serving"
)

// The errors and the presenter are package serving's, shared with the run-time executor.
var (
	// ErrBadStoredValue marks a stored value that does not have the registry's type.
	ErrBadStoredValue = serving.ErrBadStoredValue
	errBadStoredValue = serving.ErrBadStoredValue
	// ErrorPresenter is serving.ErrorPresenter.
	ErrorPresenter = serving.ErrorPresenter
	inputError     = serving.InputError
)

func fieldError(path ast.Path, alias string, err error) *gqlerror.Error {
	return serving.FieldError(path, alias, err)
}
