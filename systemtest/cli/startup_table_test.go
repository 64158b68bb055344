package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/featuregraph/featuregraph/internal/cli"
	"github.com/featuregraph/featuregraph/internal/testenv"
	"github.com/featuregraph/featuregraph/systemtest/harness"
)

// serve on a DynamoDB table that does not exist stops at once with an error naming init-table
// (it used to retry ResourceNotFoundException forever while loading the demo, never listening).
func TestServeMissingTableNamesInitTable(t *testing.T) {
	endpoint := testenv.DynamoDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := cli.Run(ctx, []string{"serve", "--demo", "--addr", "127.0.0.1:0", "--dynamodb-endpoint", endpoint, "--dynamodb-table", "fg_missing_table"}, &out, &out, harness.NoEnv)
	if ctx.Err() != nil || err == nil || !strings.Contains(err.Error(), "featuregraph init-table --dynamodb-table fg_missing_table") {
		t.Fatalf("serve on a missing table: %v (context: %v)\n%s", err, ctx.Err(), out.String())
	}
}
