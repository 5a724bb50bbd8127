// validatord, built in Go with the standard library only: POST /v1/validate answers a
// validation failure as a flat struct of exported fields,
// {"Kind":"schema","Field":…,"Reason":…}: what encoding/json makes of a Go struct with no
// custom MarshalJSON.
//
// The /v1/drift/* routes hand encoding/json the same inputs the Rust build hands
// serde_json, so each answer is what the library itself makes of them.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
)

const (
	defaultPort = 4110
	maxEndorsed = 8
	maxRequest  = 1 << 20
	maxRows     = 100000
	jsonType    = "application/json"
)

var (
	knownPlaybooks = map[string]bool{"pb_0123456789abcdef": true}
	wellFormed     = regexp.MustCompile(`^pb_[0-9a-f]{16}$`)
	// Latin-1 "café": not UTF-8. No config can carry these bytes, so the route holds them.
	invalidUTF8 = []byte("{\"text\":\"caf\xe9\"}")
)

// ValidationError is flat: every kind of failure in one struct, unused fields omitted.
type ValidationError struct {
	Kind   string
	Field  string `json:",omitempty"`
	ID     string `json:",omitempty"`
	Reason string `json:",omitempty"`
	Max    int    `json:",omitempty"`
	Got    int    `json:",omitempty"`
}

type Submission struct {
	Kind        string   `json:"kind"`
	Fingerprint *string  `json:"fingerprint"`
	Endorsed    []string `json:"endorsed"`
	Playbook    *string  `json:"playbook"`
}

type Valid struct {
	Valid       bool   `json:"valid"`
	Kind        string `json:"kind"`
	Fingerprint string `json:"fingerprint"`
}

// Profile has an optional field: omitempty leaves a nil one out.
type Profile struct {
	Name     string  `json:"name"`
	Nickname *string `json:"nickname,omitempty"`
}

// Counter is a typed integer field: uint64 holds every integer up to 2^64 - 1 exactly.
type Counter struct {
	ID uint64 `json:"id"`
}

type RangeRequest struct {
	N int `json:"n"`
}

type Rows struct {
	Rows []int `json:"rows"`
}

func schema(field, reason string) *ValidationError {
	return &ValidationError{Kind: "schema", Field: field, Reason: reason}
}

func validate(s Submission) (*Valid, *ValidationError) {
	if s.Kind == "fill" {
		ref := ""
		if s.Playbook != nil {
			ref = *s.Playbook
		}
		if !knownPlaybooks[ref] {
			return nil, &ValidationError{Kind: "reference", ID: ref, Reason: "phantom: no such playbook"}
		}
		return &Valid{Valid: true, Kind: s.Kind, Fingerprint: ref}, nil
	}
	if s.Kind != "playbook" {
		return nil, schema("kind", fmt.Sprintf("unknown kind %q", s.Kind))
	}
	switch {
	case s.Fingerprint == nil:
		return nil, schema("fingerprint", "missing — required for Phase 25 validity window")
	case len(*s.Fingerprint) < 3 || (*s.Fingerprint)[:3] != "pb_":
		return nil, schema("fingerprint", "wrong prefix — expected pb_")
	case !wellFormed.MatchString(*s.Fingerprint):
		return nil, schema("fingerprint", "malformed — expected pb_ and 16 hex digits")
	case len(s.Endorsed) == 0:
		return nil, schema("endorsed", "empty — at least one endorser required")
	case len(s.Endorsed) > maxEndorsed:
		return nil, &ValidationError{Kind: "limit", Field: "endorsed", Max: maxEndorsed, Got: len(s.Endorsed)}
	}
	return &Valid{Valid: true, Kind: s.Kind, Fingerprint: *s.Fingerprint}, nil
}

func reply(w http.ResponseWriter, status int, contentType string, value any) {
	body, err := json.Marshal(value)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"cannot encode the answer"}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Runtime", "go")
	w.WriteHeader(status)
	w.Write(body)
}

func badRequest(w http.ResponseWriter, err error) {
	reply(w, http.StatusBadRequest, jsonType, map[string]string{"error": "body is not valid JSON: " + err.Error()})
}

// decoded reads the body into v; on failure it has already answered 400.
func decoded(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		badRequest(w, err)
	}
	return err == nil
}

func post(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			reply(w, http.StatusMethodNotAllowed, jsonType, map[string]string{"error": "method not allowed"})
			return
		}
		next(w, r)
	}
}

func get(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			reply(w, http.StatusMethodNotAllowed, jsonType, map[string]string{"error": "method not allowed"})
			return
		}
		next(w, r)
	}
}

// roundTrip decodes the body into a T and encodes it again; with T = any, into
// encoding/json's dynamic value (maps, float64, strings).
func roundTrip[T any](contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var value T
		if decoded(w, r, &value) {
			reply(w, http.StatusOK, contentType, value)
		}
	}
}

func routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", get(func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusOK, jsonType, map[string]string{"status": "ok"})
	}))
	mux.HandleFunc("/v1/validate", post(func(w http.ResponseWriter, r *http.Request) {
		var s Submission
		if !decoded(w, r, &s) {
			return
		}
		if valid, failure := validate(s); failure != nil {
			reply(w, http.StatusUnprocessableEntity, jsonType, failure)
		} else {
			reply(w, http.StatusOK, jsonType, valid)
		}
	}))
	mux.HandleFunc("/v1/drift/echo", post(roundTrip[any](jsonType)))
	// The same echo, labelled the way many Go handlers label JSON.
	mux.HandleFunc("/v1/drift/charset", post(roundTrip[any](jsonType+"; charset=utf-8")))
	mux.HandleFunc("/v1/drift/invalid_utf8", get(func(w http.ResponseWriter, r *http.Request) {
		var value any
		if err := json.Unmarshal(invalidUTF8, &value); err != nil {
			badRequest(w, err)
			return
		}
		reply(w, http.StatusOK, jsonType, value)
	}))
	mux.HandleFunc("/v1/drift/profile", post(roundTrip[Profile](jsonType)))
	mux.HandleFunc("/v1/drift/counter", post(roundTrip[Counter](jsonType)))
	mux.HandleFunc("/v1/drift/range", post(func(w http.ResponseWriter, r *http.Request) {
		var req RangeRequest
		if !decoded(w, r, &req) {
			return
		}
		if req.N < 0 || req.N > maxRows {
			reply(w, http.StatusBadRequest, jsonType, map[string]string{"error": fmt.Sprintf("n must be 0 to %d", maxRows)})
			return
		}
		rows := make([]int, req.N)
		for i := range rows {
			rows[i] = i
		}
		reply(w, http.StatusOK, jsonType, Rows{Rows: rows})
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		reply(w, http.StatusNotFound, jsonType, map[string]string{"error": "no route " + r.URL.Path})
	})
	return mux
}

// port is --port N, else the PORT variable, else 4110; 0 takes a free port.
func port() (int, error) {
	fallback := defaultPort
	if env := os.Getenv("PORT"); env != "" {
		p, err := strconv.Atoi(env)
		if err != nil {
			return 0, fmt.Errorf("PORT is not a port number: %q", env)
		}
		fallback = p
	}
	p := flag.Int("port", fallback, "the loopback port to listen on (0: a free one)")
	flag.Parse()
	if flag.NArg() > 0 {
		return 0, errors.New("usage: validatord-go [--port N]")
	}
	return *p, nil
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("validatord-go: ")
	p, err := port()
	if err != nil {
		log.Print(err)
		os.Exit(2)
	}
	listener, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		log.Printf("cannot listen on 127.0.0.1:%d: %v", p, err)
		os.Exit(1)
	}
	fmt.Printf("validatord-go listening on http://%s\n", listener.Addr())
	log.Fatal(http.Serve(listener, routes()))
}
