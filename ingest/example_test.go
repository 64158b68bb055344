package ingest_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/featuregraph/featuregraph/ingest"
	"github.com/featuregraph/featuregraph/ingest/kafka"
	"github.com/featuregraph/featuregraph/ingest/load"
	"github.com/featuregraph/featuregraph/ingest/push"
	"github.com/featuregraph/featuregraph/registry"
	"github.com/featuregraph/featuregraph/store"
	"github.com/featuregraph/featuregraph/store/memory"
)

// How a main package wires ingestion: one dispatcher per registry, one Writer per store shared
// by the push handler and the loader, and a Kafka consumer that owns its own Writer.
func Example_wiring() {
	ctx := context.Background()
	reg, err := registry.Load("features")
	if err != nil {
		log.Fatal(err)
	}
	var st store.Store = memory.New()
	d := ingest.NewDispatcher(reg)

	w, err := ingest.NewWriter(st, ingest.DefaultWriterConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		w.Close(ctx) // flushes what is queued
	}()

	// POST /v1/events
	h, err := push.New(d, w, push.DefaultConfig())
	if err != nil {
		log.Fatal(err)
	}
	http.Handle(push.Path, h)

	// featuregraph load --file PATH [--format jsonl|csv]
	cfg := load.DefaultConfig()
	cfg.Format, _ = load.ParseFormat("") // by extension
	l, err := load.New(d, w, cfg)
	if err != nil {
		log.Fatal(err)
	}
	sum, err := l.LoadFile(ctx, "features/demo/events.jsonl")
	fmt.Fprintln(os.Stderr, sum) // "…: 47 records read, … rejected in 12ms (… records/s)"
	if err != nil {
		log.Fatal(err)
	}

	// featuregraph ingest --kafka-brokers host:port --kafka-group NAME [--kafka-topics t=s,...]
	kcfg := kafka.DefaultConfig()
	kcfg.Brokers = []string{"localhost:9092"}
	kcfg.Group = "featuregraph"
	kcfg.TopicStreams, err = kafka.ParseTopicStreams("client_event_cleansed=client_event,user_cdc")
	if err != nil {
		log.Fatal(err)
	}
	cons, err := kafka.New(d, st, kcfg)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		for range time.Tick(15 * time.Second) {
			s := cons.Stats() // export as Prometheus counters/gauges
			log.Printf("kafka: %d records, %d writes, %d dead letters, lag %d", s.Records, s.Writes, s.DeadLetters, s.Lag)
		}
	}()
	if err := cons.Run(ctx); err != nil { // returns when ctx is done, after the last commit
		log.Fatal(err)
	}
}
