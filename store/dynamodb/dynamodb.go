// Package dynamodb is the DynamoDB backend, the source of truth. One table holds every feature:
// pk (S) = "<prefix>#<id>#<feature>"; a static value is the item with sk (N) = 0, its value in v
// (native DynamoDB type) and its event time in ts; each action event is an item with sk = its
// time in ms plus a fraction derived from the member (so two events of one millisecond never
// overwrite each other), the member in m (S), its fields in v (M), ts, and exp (TTL, epoch s).
package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/featuregraph/featuregraph/internal/backoff"
	"github.com/featuregraph/featuregraph/store"
)

const backend = "dynamodb"

// ErrTableMissing is matched (errors.Is) by the error of a call to a table that does not exist.
// It is neither store.ErrUnavailable nor store.ErrInvalid: retrying does not help, and the
// request was not malformed; the operator must run init-table.
var ErrTableMissing = errors.New("the DynamoDB table does not exist")

// api is the part of the SDK client the store uses.
type api interface {
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(context.Context, *dynamodb.DescribeTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(context.Context, *dynamodb.UpdateTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

var _ api = (*dynamodb.Client)(nil)

// Store is the DynamoDB backend. It is safe for concurrent use.
type Store struct {
	api api
	cfg Config
	now func() time.Time
}

var _ store.Store = (*Store)(nil)

// maxConnsPerHost bounds the connections to the DynamoDB endpoint.
const maxConnsPerHost = 128

// New validates cfg and builds the SDK client. It makes no call to DynamoDB (Ping does).
func New(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	delays := cfg.backoff()
	backoff := retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
		return delays.Delay(attempt - 1), nil
	})
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 256
		t.MaxIdleConnsPerHost = 64 // the default 10 makes concurrent batches re-dial
		// Bounded: under overload 1,130 connections were opened to one endpoint. Calls beyond
		// wait for a connection (within their deadline).
		t.MaxConnsPerHost = maxConnsPerHost
	})
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithHTTPClient(httpClient),
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = cfg.MaxAttempts
				o.MaxBackoff = cfg.RetryMaxDelay
				o.Backoff = backoff
			})
		}),
	}
	if cfg.Region != "" {
		opts = append(opts, awsconfig.WithRegion(cfg.Region))
	}
	switch {
	case cfg.AccessKeyID != "":
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")))
	case cfg.Endpoint != "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "":
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("dynamodb: load AWS config: %w", err)
	}
	if awsCfg.Region == "" {
		if cfg.Endpoint == "" {
			return nil, errors.New("dynamodb config: Region: no region configured (set Region or AWS_REGION)")
		}
		awsCfg.Region = "us-east-1"
	}
	client := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return newStore(client, cfg), nil
}

func newStore(a api, cfg Config) *Store {
	return &Store{api: a, cfg: cfg, now: time.Now}
}

// Table returns the table name.
func (s *Store) Table() string { return s.cfg.Table }

// Ping implements store.Pinger with a GetItem of a key that never exists: it checks the
// endpoint, the credentials and the table at the cost of one small read.
func (s *Store) Ping(ctx context.Context) error {
	_, err := call(s, "GetItem", 1, func() (*dynamodb.GetItemOutput, error) {
		return s.api.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:            aws.String(s.cfg.Table),
			Key:                  staticKey("featuregraph#ping#ping"),
			ProjectionExpression: aws.String("pk"),
		})
	})
	return err
}

// Close implements store.Store. The SDK client holds nothing that needs closing.
func (s *Store) Close() error { return nil }

// CreateTable creates the table (pk S HASH, sk N RANGE, on-demand billing), waits until it is
// active and enables TTL on exp. An existing table, or TTL already enabled, is fine. An
// endpoint that does not implement UpdateTimeToLive (dynalite) is tolerated: expired rows are
// filtered on read anyway.
func (s *Store) CreateTable(ctx context.Context) error {
	table := aws.String(s.cfg.Table)
	_, err := call(s, "CreateTable", 0, func() (*dynamodb.CreateTableOutput, error) {
		return s.api.CreateTable(ctx, &dynamodb.CreateTableInput{
			TableName: table,
			AttributeDefinitions: []types.AttributeDefinition{
				{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
				{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeN},
			},
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
			},
			BillingMode: types.BillingModePayPerRequest,
		})
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return err
	}
	waiter := dynamodb.NewTableExistsWaiter(s.api, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 2*time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: table}, 5*time.Minute); err != nil {
		return s.wrap("DescribeTable", err)
	}
	ttl, err := call(s, "DescribeTimeToLive", 0, func() (*dynamodb.DescribeTimeToLiveOutput, error) {
		return s.api.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: table})
	})
	if err != nil {
		return err
	}
	if d := ttl.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == "exp" &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = call(s, "UpdateTimeToLive", 0, func() (*dynamodb.UpdateTimeToLiveOutput, error) {
		return s.api.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               table,
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("exp"), Enabled: aws.Bool(true)},
		})
	})
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "UnknownOperationException" {
		return nil
	}
	return err
}

// call runs one SDK call, reports it to the Observer and wraps its error.
func call[T any](s *Store, op string, items int, f func() (T, error)) (T, error) {
	start := time.Now()
	out, err := f()
	reported := err
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		reported = nil // an older event, not a failure
	}
	s.cfg.Observer.BackendCall(backend, op, items, time.Since(start), reported)
	if err != nil {
		return out, s.wrap(op, err)
	}
	return out, nil
}

// wrap maps an SDK error to a store error, once, where it leaves the SDK: a request DynamoDB
// rejects as malformed is store.ErrInvalid; a missing table is ErrTableMissing (naming
// init-table); everything else — network errors, 5xx, throttling the SDK's retries could not
// ride out, the request deadline — is store.ErrUnavailable. A ConditionalCheckFailedException
// stays matchable with errors.As.
func (s *Store) wrap(op string, err error) error {
	sentinel := store.ErrUnavailable
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "ValidationException", "SerializationException", "ItemCollectionSizeLimitExceededException", "ConditionalCheckFailedException":
			sentinel = store.ErrInvalid
		case "ResourceNotFoundException":
			// Not retried (it is not ErrUnavailable): waiting does not create the table.
			return &store.BackendError{Backend: backend, Op: op, Err: fmt.Errorf("%w: table %q: create it with `featuregraph init-table --dynamodb-table %s` (with the same --dynamodb-endpoint/--dynamodb-region): %w",
				ErrTableMissing, s.cfg.Table, s.cfg.Table, err)}
		}
	}
	return &store.BackendError{Backend: backend, Op: op, Err: fmt.Errorf("%w: %s: %w", sentinel, s.cfg.Table, err)}
}

// backoff is the retry delay of SDK calls and of unprocessed batch items: RetryBaseDelay
// doubling per attempt up to RetryMaxDelay, ±50%.
func (c Config) backoff() backoff.Backoff {
	return backoff.Backoff{Initial: c.RetryBaseDelay, Max: c.RetryMaxDelay, Multiplier: 2, Jitter: 0.5}
}

// sleepBackoff waits before retry round attempt. It returns false without waiting when the wait
// would pass the context's deadline or the context is done.
func (s *Store) sleepBackoff(ctx context.Context, attempt int) bool {
	return s.cfg.backoff().Sleep(ctx, attempt)
}
