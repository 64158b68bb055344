package dynamodb

import (
	"context"
	"fmt"
	"sort"
	"strconv"
)

// The operations of the client, each encoding its request and decoding the part of the answer
// the store reads. Requests are built by appending JSON; answers are scanned by jsonReader.

func appendKey(b []byte, k string) []byte {
	b = appendString(b, k)
	return append(b, ':')
}

// appendNames appends "ExpressionAttributeNames":{...} (sorted, so that requests are stable).
func appendNames(b []byte, names map[string]string) []byte {
	if len(names) == 0 {
		return b
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, `,"ExpressionAttributeNames":{`...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKey(b, k)
		b = appendString(b, names[k])
	}
	return append(b, '}')
}

func appendValues(b []byte, values map[string]attrValue) []byte {
	if len(values) == 0 {
		return b
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = append(b, `,"ExpressionAttributeValues":{`...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendKey(b, k)
		b = appendAV(b, values[k])
	}
	return append(b, '}')
}

func appendStringField(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',')
	b = appendKey(b, name)
	return appendString(b, v)
}

func appendTable(b []byte, table string) []byte {
	b = append(b, `{"TableName":`...)
	return appendString(b, table)
}

// getItem returns the item of key (nil when there is none).
func (c *client) getItem(ctx context.Context, table string, key item, projection string, consistent bool) (item, error) {
	b := appendTable(make([]byte, 0, 256), table)
	b = append(b, `,"Key":`...)
	b = appendItem(b, key)
	b = appendStringField(b, "ProjectionExpression", projection)
	if consistent {
		b = append(b, `,"ConsistentRead":true`...)
	}
	b = append(b, '}')
	out, err := c.call(ctx, "GetItem", b)
	if err != nil {
		return nil, err
	}
	var it item
	r := jsonReader{b: out}
	err = r.object(func(key []byte) error {
		if string(key) == "Item" {
			var err error
			it, err = r.item()
			return err
		}
		return r.skip()
	})
	return it, answerErr("GetItem", err)
}

func answerErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("DynamoDB %s: read the answer: %w", op, err)
}

// condition is a condition or key expression with its names and values.
type condition struct {
	expr   string
	names  map[string]string
	values map[string]attrValue
}

// putItem writes it, under cond when cond.expr is set.
func (c *client) putItem(ctx context.Context, table string, it item, cond condition) error {
	b := appendTable(make([]byte, 0, 512), table)
	b = append(b, `,"Item":`...)
	b = appendItem(b, it)
	b = appendStringField(b, "ConditionExpression", cond.expr)
	b = appendNames(b, cond.names)
	b = appendValues(b, cond.values)
	b = append(b, '}')
	_, err := c.call(ctx, "PutItem", b)
	return err
}

// batchGet is a BatchGetItem request of one table.
type batchGet struct {
	keys       []item
	projection string
	names      map[string]string
	consistent bool
}

// batchGetItem returns the items found and the keys DynamoDB left unprocessed.
func (c *client) batchGetItem(ctx context.Context, table string, in batchGet) (found, unprocessed []item, err error) {
	b := make([]byte, 0, 64+len(in.keys)*64)
	b = append(b, `{"RequestItems":{`...)
	b = appendKey(b, table)
	b = append(b, `{"Keys":[`...)
	for i, k := range in.keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendItem(b, k)
	}
	b = append(b, ']')
	b = appendStringField(b, "ProjectionExpression", in.projection)
	b = appendNames(b, in.names)
	b = append(b, `,"ConsistentRead":`...)
	b = strconv.AppendBool(b, in.consistent)
	b = append(b, "}}}"...)
	out, err := c.call(ctx, "BatchGetItem", b)
	if err != nil {
		return nil, nil, err
	}
	r := jsonReader{b: out}
	err = r.object(func(key []byte) error {
		switch string(key) {
		case "Responses":
			return r.object(func(t []byte) error {
				if string(t) != table {
					return r.skip()
				}
				var err error
				found, err = r.items()
				return err
			})
		case "UnprocessedKeys":
			return r.object(func(t []byte) error {
				if string(t) != table {
					return r.skip()
				}
				return r.object(func(k []byte) error {
					if string(k) != "Keys" {
						return r.skip()
					}
					var err error
					unprocessed, err = r.items()
					return err
				})
			})
		}
		return r.skip()
	})
	return found, unprocessed, answerErr("BatchGetItem", err)
}

// batchWriteItem puts the items and returns those DynamoDB left unprocessed.
func (c *client) batchWriteItem(ctx context.Context, table string, puts []item) ([]item, error) {
	b := make([]byte, 0, 64+len(puts)*128)
	b = append(b, `{"RequestItems":{`...)
	b = appendKey(b, table)
	b = append(b, '[')
	for i, it := range puts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"PutRequest":{"Item":`...)
		b = appendItem(b, it)
		b = append(b, "}}"...)
	}
	b = append(b, "]}}"...)
	out, err := c.call(ctx, "BatchWriteItem", b)
	if err != nil {
		return nil, err
	}
	var left []item
	r := jsonReader{b: out}
	err = r.object(func(key []byte) error {
		if string(key) != "UnprocessedItems" {
			return r.skip()
		}
		return r.object(func(t []byte) error {
			if string(t) != table {
				return r.skip()
			}
			return r.array(func() error {
				return r.object(func(k []byte) error {
					if string(k) != "PutRequest" {
						return fmt.Errorf("unprocessed %s: this client sends only PutRequest", k)
					}
					return r.object(func(k []byte) error {
						if string(k) != "Item" {
							return r.skip()
						}
						it, err := r.item()
						left = append(left, it)
						return err
					})
				})
			})
		})
	})
	return left, answerErr("BatchWriteItem", err)
}

// queryInput is a Query of one table, newest first when !forward.
type queryInput struct {
	key        condition // KeyConditionExpression, with the names and values of every expression
	filter     string
	projection string
	forward    bool
	consistent bool
	limit      int
	startKey   item
}

type queryOutput struct {
	items        []item
	scannedCount int
	lastKey      item
}

func (c *client) query(ctx context.Context, table string, in *queryInput) (queryOutput, error) {
	b := appendTable(make([]byte, 0, 512), table)
	b = appendStringField(b, "KeyConditionExpression", in.key.expr)
	b = appendStringField(b, "FilterExpression", in.filter)
	b = appendStringField(b, "ProjectionExpression", in.projection)
	b = appendNames(b, in.key.names)
	b = appendValues(b, in.key.values)
	b = append(b, `,"ScanIndexForward":`...)
	b = strconv.AppendBool(b, in.forward)
	b = append(b, `,"ConsistentRead":`...)
	b = strconv.AppendBool(b, in.consistent)
	if in.limit > 0 {
		b = append(b, `,"Limit":`...)
		b = strconv.AppendInt(b, int64(in.limit), 10)
	}
	if len(in.startKey) > 0 {
		b = append(b, `,"ExclusiveStartKey":`...)
		b = appendItem(b, in.startKey)
	}
	b = append(b, '}')
	raw, err := c.call(ctx, "Query", b)
	if err != nil {
		return queryOutput{}, err
	}
	var out queryOutput
	r := jsonReader{b: raw}
	err = r.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "Items":
			out.items, err = r.items()
		case "ScannedCount":
			var n int64
			n, err = r.int()
			out.scannedCount = int(n)
		case "LastEvaluatedKey":
			out.lastKey, err = r.item()
		default:
			err = r.skip()
		}
		return err
	})
	return out, answerErr("Query", err)
}

// createTable creates the store's table: pk S HASH, sk N RANGE, on-demand billing.
func (c *client) createTable(ctx context.Context, table string) error {
	b := appendTable(nil, table)
	b = append(b, `,"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}],`+
		`"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"BillingMode":"PAY_PER_REQUEST"}`...)
	_, err := c.call(ctx, "CreateTable", b)
	return err
}

// describeTableStatus returns the table's TableStatus (CREATING, ACTIVE...).
func (c *client) describeTableStatus(ctx context.Context, table string) (string, error) {
	out, err := c.call(ctx, "DescribeTable", append(appendTable(nil, table), '}'))
	if err != nil {
		return "", err
	}
	var status string
	r := jsonReader{b: out}
	err = r.object(func(key []byte) error {
		if string(key) != "Table" {
			return r.skip()
		}
		return r.object(func(k []byte) error {
			if string(k) != "TableStatus" {
				return r.skip()
			}
			var err error
			status, err = r.str()
			return err
		})
	})
	return status, answerErr("DescribeTable", err)
}

// describeTimeToLive returns the TTL attribute and status (ENABLED, ENABLING, DISABLED...).
func (c *client) describeTimeToLive(ctx context.Context, table string) (attr, status string, err error) {
	out, err := c.call(ctx, "DescribeTimeToLive", append(appendTable(nil, table), '}'))
	if err != nil {
		return "", "", err
	}
	r := jsonReader{b: out}
	err = r.object(func(key []byte) error {
		if string(key) != "TimeToLiveDescription" {
			return r.skip()
		}
		return r.object(func(k []byte) error {
			var err error
			switch string(k) {
			case "AttributeName":
				attr, err = r.str()
			case "TimeToLiveStatus":
				status, err = r.str()
			default:
				err = r.skip()
			}
			return err
		})
	})
	return attr, status, answerErr("DescribeTimeToLive", err)
}

// updateTimeToLive enables TTL on attr.
func (c *client) updateTimeToLive(ctx context.Context, table, attr string) error {
	b := appendTable(nil, table)
	b = append(b, `,"TimeToLiveSpecification":{"AttributeName":`...)
	b = appendString(b, attr)
	b = append(b, `,"Enabled":true}}`...)
	_, err := c.call(ctx, "UpdateTimeToLive", b)
	return err
}
