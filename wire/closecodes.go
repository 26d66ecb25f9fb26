package wire

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

// closeCodesJSON is the close-code table, shared with the browser app,
// which imports the same file (frontend/src/closecodes.js).
//
//go:embed closecodes.json
var closeCodesJSON []byte

// Action is what a client does after the server closed its socket with a
// given close code. CloseAction reads it from wire/closecodes.json.
type Action string

// The actions of the close-code table.
const (
	// ActionReconnect: reconnect with backoff, join with the revision
	// held, resend the pending op with the same seq.
	ActionReconnect Action = "reconnect"
	// ActionReconnectNow: as ActionReconnect, but at once.
	ActionReconnectNow Action = "reconnect-now"
	// ActionWait: as ActionReconnect, after a longer delay.
	ActionWait Action = "wait"
	// ActionResync: drop the pending edits, join without a revision and
	// start again from a snapshot.
	ActionResync Action = "resync"
	// ActionStop: give up; do not reconnect.
	ActionStop Action = "stop"
)

// CloseCode is one row of the close-code table.
type CloseCode struct {
	Code    int    `json:"code"`
	Name    string `json:"name"`
	Action  Action `json:"action"`
	Meaning string `json:"meaning"`
}

type closeTable struct {
	Actions map[Action]string `json:"actions"`
	Close   []CloseCode       `json:"close"`
	Errors  []struct {
		Error string `json:"error"`
		Close int    `json:"close"`
	} `json:"errors"`
}

// The table, loaded once at init; read-only afterwards.
var (
	closeCodes   []CloseCode
	closeActions map[int]Action // close code → action
	errorCloses  map[string]int // error code → close code
)

func init() {
	var err error
	if closeCodes, closeActions, errorCloses, err = loadCloseTable(closeCodesJSON); err != nil {
		panic("wire: closecodes.json: " + err.Error())
	}
}

// loadCloseTable decodes and checks the table: every action described,
// every row's action known, no code twice, every error's close code listed.
func loadCloseTable(data []byte) ([]CloseCode, map[int]Action, map[string]int, error) {
	var t closeTable
	if err := json.Unmarshal(data, &t); err != nil {
		return nil, nil, nil, err
	}
	for _, a := range []Action{ActionReconnect, ActionReconnectNow, ActionWait, ActionResync, ActionStop} {
		if t.Actions[a] == "" {
			return nil, nil, nil, fmt.Errorf("action %q is not described", a)
		}
	}
	actions := make(map[int]Action, len(t.Close))
	for _, c := range t.Close {
		if t.Actions[c.Action] == "" {
			return nil, nil, nil, fmt.Errorf("close %d: unknown action %q", c.Code, c.Action)
		}
		if _, dup := actions[c.Code]; dup {
			return nil, nil, nil, fmt.Errorf("close %d listed twice", c.Code)
		}
		actions[c.Code] = c.Action
	}
	closes := make(map[string]int, len(t.Errors))
	for _, e := range t.Errors {
		if _, ok := actions[e.Close]; !ok {
			return nil, nil, nil, fmt.Errorf("error %s: close %d is not in the table", e.Error, e.Close)
		}
		closes[e.Error] = e.Close
	}
	return t.Close, actions, closes, nil
}

// CloseAction returns what a client does after a close with code: the
// table's action, or ActionReconnect for a code the table does not list
// (1000, 1006 for a lost connection, 0 for none).
func CloseAction(code int) Action {
	if a, ok := closeActions[code]; ok {
		return a
	}
	return ActionReconnect
}

// CloseCodes returns the rows of the close-code table, in its order.
func CloseCodes() []CloseCode {
	return append([]CloseCode(nil), closeCodes...)
}
