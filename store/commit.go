package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tandem-editor/tandem/oplog"
	"github.com/tandem-editor/tandem/ot"
)

// Group commit.
//
// With synchronous=FULL every transaction costs one fsync, and the single
// writer connection makes transactions wait for each other: Appends from
// different documents would each pay their own. Instead, Append queues a
// request and waits; one committer goroutine takes every request waiting
// (up to a bound), runs them in one transaction with a SAVEPOINT each, so
// that a request that fails is rolled back alone and its error reaches only
// its caller, COMMITs, and only then answers the callers. Requests queue up
// while a commit is on its way to the disk, so the busier the server, the
// more requests share each fsync.
//
// The other writes (CreateDoc, RenameDoc, DeleteDoc, SaveSnapshot) go to
// the writer pool directly. They are rare next to Appends (a snapshot every
// thousand operations of a document, a creation or a rename per user
// action), so there is little to gain from grouping them, and they are
// serialised with the committer's transactions by the pool's single
// connection anyway.

// Bounds on one group transaction: it holds SQLite's write lock for its
// whole length, and keeps its requests' ops in memory until it commits. A
// single request larger than maxBatchBytes still commits, alone.
const (
	maxBatch      = 1024
	maxBatchBytes = 4 << 20
)

// errClosed: Append after (or racing with) Close.
var errClosed = errors.New("database is closed")

// appendReq is one Append call waiting for the committer.
type appendReq struct {
	ctx     context.Context
	doc     string
	entries []oplog.Entry
	// ops are the entries' ops in JSON, encoded by the caller so that the
	// committer, which works for everyone, does less. If encoding failed,
	// encErr is the error for entries[len(ops)]; it is reported at the
	// point Append always reported it, after the checks before it.
	ops    []string
	encErr error
	bytes  int
	// done receives the answer, once. Buffered, so the committer never
	// waits for a caller.
	done chan error
}

func newAppendReq(ctx context.Context, doc string, entries []oplog.Entry) *appendReq {
	r := &appendReq{ctx: ctx, doc: doc, entries: entries, ops: make([]string, 0, len(entries)), done: make(chan error, 1)}
	for _, e := range entries {
		b, err := json.Marshal(e.Op)
		if err != nil {
			r.encErr = err
			break
		}
		r.ops = append(r.ops, string(b))
		r.bytes += len(b)
	}
	return r
}

// errorf wraps err with the request's document and first revision, the
// way Append's errors always start.
func (r *appendReq) errorf(format string, err error) error {
	return fmt.Errorf("store: append doc %s rev %d: "+format+"%w", r.doc, r.entries[0].Rev, err)
}

// committer is the queue between Append and the committer goroutine.
type committer struct {
	mu     sync.Mutex
	queue  []*appendReq // in arrival order
	closed bool         // set by Close: no more requests are queued
	// wake has room for one signal: a request was queued. Signals merge,
	// and the committer looks at the whole queue on each.
	wake   chan struct{}
	quit   chan struct{} // closed by Close
	exited chan struct{} // closed when the committer goroutine returns

	// Test hooks, nil in production; tests set them under mu before any
	// Append. hold(n) is asked, with n requests queued, whether to take a
	// batch now (Close overrides it). onBatch is called with each batch's
	// size before its transaction begins; beforeCommit runs in the
	// transaction just before COMMIT.
	hold         func(queued int) bool
	onBatch      func(n int)
	beforeCommit func(tx *sql.Tx) error
	// onTogether is told whether a batch was written together.
	onTogether func(ok bool)
}

func newCommitter() *committer {
	return &committer{wake: make(chan struct{}, 1), quit: make(chan struct{}), exited: make(chan struct{})}
}

// enqueue adds r to the queue, unless Close has begun.
func (c *committer) enqueue(r *appendReq) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	c.queue = append(c.queue, r)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default: // a signal is already pending
	}
	return nil
}

// remove takes r out of the queue and reports whether it was still there,
// that is, not yet taken by the committer.
func (c *committer) remove(r *appendReq) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, q := range c.queue {
		if q == r {
			c.queue = slices.Delete(c.queue, i, i+1)
			return true
		}
	}
	return false
}

// take removes the next batch from the queue: the oldest requests, at most
// maxBatch of them and maxBatchBytes of ops, and always at least one. It
// returns nil if the queue is empty (or held by a test hook) and, with it,
// whether Close has begun.
func (c *committer) take() ([]*appendReq, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 || (c.hold != nil && !c.closed && !c.hold(len(c.queue))) {
		return nil, c.closed
	}
	n, size := 0, 0
	for n < len(c.queue) && n < maxBatch && (n == 0 || size+c.queue[n].bytes <= maxBatchBytes) {
		size += c.queue[n].bytes
		n++
	}
	batch := make([]*appendReq, n)
	copy(batch, c.queue)
	rest := copy(c.queue, c.queue[n:])
	clear(c.queue[rest:])
	c.queue = c.queue[:rest]
	return batch, c.closed
}

// stop makes later Appends fail, lets the committer goroutine commit what
// is queued, and waits for it to return. It may be called more than once.
func (c *committer) stop() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.quit)
	}
	c.mu.Unlock()
	<-c.exited
}

// commitLoop is the committer goroutine. Open starts it; it ends when Close
// has begun and the queue is empty, having answered every request queued
// before Close (requests are no longer queued once Close has begun).
func (db *DB) commitLoop() {
	c := db.c
	defer close(c.exited)
	for {
		batch, closed := c.take()
		if batch != nil {
			db.commitBatch(batch)
			continue
		}
		if closed {
			return
		}
		select {
		case <-c.wake:
		case <-c.quit:
		}
	}
}

// commitBatch runs the batch in one transaction and answers every request
// in it. A request whose context is done by now is dropped with the
// context's error; once in the transaction, a request completes whatever
// happens to its context. A request that fails is rolled back to its
// savepoint and gets its own error; if the transaction as a whole fails
// (BEGIN, a savepoint statement, COMMIT), the requests that did not fail
// on their own get that error, and none of them is written.
func (db *DB) commitBatch(batch []*appendReq) {
	c := db.c
	errs := make([]error, len(batch))
	defer func() {
		db.health.note(batch, errs)
		for i, r := range batch {
			r.done <- errs[i]
		}
	}()
	live := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = r.errorf("", err)
			continue
		}
		live++
	}
	if live == 0 {
		return
	}
	if c.onBatch != nil {
		c.onBatch(len(batch))
	}
	// own[i]: request i's answer is decided (dropped, or failed on its own).
	own := make([]bool, len(batch))
	for i := range errs {
		own[i] = errs[i] != nil
	}
	failAll := func(what string, err error) {
		for i, r := range batch {
			if !own[i] {
				errs[i] = r.errorf(what+": ", err)
			}
		}
	}

	// Not tied to any caller's context: a request taken must complete.
	// Each statement is bounded by busy_timeout.
	ctx := context.Background()
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		failAll("begin", err)
		return
	}
	defer tx.Rollback()
	st := db.app.in(ctx, tx)
	// A lone request needs no savepoint: if it fails, the transaction
	// holds nothing else, and rolling it all back is the same.
	if live == 1 {
		for i, r := range batch {
			if own[i] {
				continue
			}
			if errs[i] = db.appendTx(ctx, st, r); errs[i] != nil {
				return
			}
		}
		db.commit(tx, failAll)
		return
	}
	together := db.appendTogether(ctx, tx, batch, errs, own)
	if c.onTogether != nil {
		c.onTogether(together)
	}
	if together {
		db.commit(tx, failAll)
		return
	}
	for i, r := range batch {
		if own[i] {
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT append_req`); err != nil {
			failAll("savepoint", err)
			return
		}
		if err := db.appendTx(ctx, st, r); err != nil {
			errs[i], own[i] = err, true
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO append_req`); err != nil {
				failAll("roll back another request", err)
				return
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE append_req`); err != nil {
			failAll("release savepoint", err)
			return
		}
	}
	db.commit(tx, failAll)
}

// commit ends a batch's transaction; failAll reports its failure.
func (db *DB) commit(tx *sql.Tx, failAll func(string, error)) {
	if db.c.beforeCommit != nil {
		if err := db.c.beforeCommit(tx); err != nil {
			failAll("before commit", err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		failAll("commit", err)
	}
}

// appendStmts are the statements of an append. They are prepared once, on
// the writer pool (whose single connection every transaction uses), and
// bound to each batch's transaction with in.
type appendStmts struct {
	doc, insert, update, seq *sql.Stmt
}

// in returns the statements bound to tx. database/sql reuses a statement
// already prepared on tx's connection, so nothing is prepared again.
func (st *appendStmts) in(ctx context.Context, tx *sql.Tx) *appendStmts {
	return &appendStmts{
		doc:    tx.StmtContext(ctx, st.doc),
		insert: tx.StmtContext(ctx, st.insert),
		update: tx.StmtContext(ctx, st.update),
		seq:    tx.StmtContext(ctx, st.seq),
	}
}

func prepareAppend(ctx context.Context, tx interface {
	PrepareContext(context.Context, string) (*sql.Stmt, error)
}) (*appendStmts, error) {
	var st appendStmts
	var err error
	if st.doc, err = tx.PrepareContext(ctx, `SELECT rev, size FROM documents WHERE id = ? AND deleted IS NULL`); err != nil {
		return nil, err
	}
	if st.insert, err = tx.PrepareContext(ctx, `INSERT INTO ops (doc, rev, op, client, seq, time, len_after, author, insert_authors) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`); err != nil {
		st.close()
		return nil, err
	}
	if st.update, err = tx.PrepareContext(ctx, `UPDATE documents SET rev = ?, size = ?, updated = ? WHERE id = ?`); err != nil {
		st.close()
		return nil, err
	}
	if st.seq, err = tx.PrepareContext(ctx, upsertSeq); err != nil {
		st.close()
		return nil, err
	}
	return &st, nil
}

func (st *appendStmts) close() {
	for _, s := range []*sql.Stmt{st.doc, st.insert, st.update, st.seq} {
		if s != nil {
			s.Close()
		}
	}
}

// appendTx writes one request inside the group transaction, checking it as
// Append documents. On error the caller rolls back to the request's
// savepoint.
func (db *DB) appendTx(ctx context.Context, st *appendStmts, r *appendReq) error {
	doc, entries, first := r.doc, r.entries, r.entries[0].Rev
	var cur, size int
	err := st.doc.QueryRowContext(ctx, doc).Scan(&cur, &size)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: append doc %s rev %d: %w", doc, first, oplog.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: append doc %s rev %d: %w", doc, first, err)
	}
	sizes, err := r.check(cur, size)
	if err != nil {
		return err
	}
	now := db.now()
	for i, e := range entries {
		if _, err := st.insert.ExecContext(ctx, doc, e.Rev, r.ops[i], e.Client, e.Seq, entryTime(e, now), sizes[i], e.Author, insertAuthors(e.Inserts)); err != nil {
			if isConstraint(err) {
				return fmt.Errorf("store: append doc %s rev %d (client %s seq %d): %v: %w",
					doc, e.Rev, e.Client, e.Seq, err, oplog.ErrConflict)
			}
			return fmt.Errorf("store: append doc %s rev %d: %w", doc, e.Rev, err)
		}
	}
	last := entries[len(entries)-1].Rev
	if _, err := st.update.ExecContext(ctx, last, sizes[len(sizes)-1], now.UnixNano(), doc); err != nil {
		return fmt.Errorf("store: append doc %s rev %d: update document: %w", doc, first, err)
	}
	for client, seq := range HighestSeqs(entries) {
		if _, err := st.seq.ExecContext(ctx, doc, client, seq); err != nil {
			return fmt.Errorf("store: append doc %s rev %d: client seqs: %w", doc, first, err)
		}
	}
	return nil
}

// check checks a request against its document's current revision and
// size (CheckAppend), then that its ops encoded, and returns the text's
// length after each of its entries.
func (r *appendReq) check(cur, size int) ([]int, error) {
	sizes, err := CheckAppend(r.doc, r.entries, cur, size)
	if err != nil {
		return nil, err
	}
	if r.encErr != nil {
		return nil, fmt.Errorf("store: append doc %s rev %d: encode op: %w", r.doc, r.entries[len(r.ops)].Rev, r.encErr)
	}
	return sizes, nil
}

// CheckAppend checks entries about to follow a document at revision cur
// whose text is size UTF-16 units long, as every store's Append does: the
// revisions must follow on (else oplog.ErrConflict) and each op must span
// the text before it (else ot.ErrBaseLength). It returns the text's length
// after each entry.
func CheckAppend(doc string, entries []oplog.Entry, cur, size int) ([]int, error) {
	for i, e := range entries {
		if want := cur + 1 + i; e.Rev != want {
			return nil, fmt.Errorf("store: append doc %s rev %d: expected rev %d (current %d): %w",
				doc, e.Rev, want, cur, oplog.ErrConflict)
		}
	}
	sizes := make([]int, len(entries))
	for i, e := range entries {
		if base := e.Op.BaseLen(); base != size {
			return nil, fmt.Errorf("store: append doc %s rev %d: op spans %d units, text has %d: %w",
				doc, e.Rev, base, size, ot.ErrBaseLength)
		}
		size += e.Op.TargetLen() - e.Op.BaseLen()
		sizes[i] = size
	}
	return sizes, nil
}

// entryTime is when an entry was made, in the ops table's unit.
func entryTime(e oplog.Entry, now time.Time) int64 {
	if e.Time.IsZero() {
		return now.UnixNano()
	}
	return e.Time.UnixNano()
}

// Writing a batch together.
//
// A batch from many documents costs, request by request, a savepoint, a
// read of the document's row, an insert per entry, an update and an upsert:
// a few tens of microseconds each in SQLite, paid once per document per
// commit. appendTogether writes the whole batch in a handful of
// statements instead: one read of every document's row, then multi-row
// inserts and updates. The checks that can fail are made in Go first, so a
// refused request gets its own error and the others go on. A failure
// inside the statements (a duplicate (client, seq), say, which only the
// index sees) rolls the attempt back, and the batch is written request by
// request, as before, so that only the guilty request fails.

// togetherRows bounds the rows of one multi-row statement (SQLite allows
// 32,766 parameters; an ops row has 9).
const togetherRows = 400

// appendTogether writes the live requests of batch in a few statements
// inside tx, and reports whether it did. Requests it refuses get their
// error in errs and own. When it reports false nothing of the attempt is
// written and the caller writes the batch request by request.
func (db *DB) appendTogether(ctx context.Context, tx *sql.Tx, batch []*appendReq, errs []error, own []bool) bool {
	at := make(map[string]int, len(batch))
	var ids []any
	for i, r := range batch {
		if own[i] {
			continue
		}
		if _, dup := at[r.doc]; dup {
			return false // two requests for one document: one after the other
		}
		at[r.doc] = i
		ids = append(ids, r.doc)
	}
	type head struct{ rev, size int }
	heads := make(map[string]head, len(ids))
	for lo := 0; lo < len(ids); lo += togetherRows {
		chunk := ids[lo:min(lo+togetherRows, len(ids))]
		rows, err := tx.QueryContext(ctx, `SELECT id, rev, size FROM documents WHERE deleted IS NULL AND id IN (`+placeholders(len(chunk), 1)+`)`, chunk...)
		if err != nil {
			return false
		}
		for rows.Next() {
			var id string
			var h head
			if err := rows.Scan(&id, &h.rev, &h.size); err != nil {
				rows.Close()
				return false
			}
			heads[id] = h
		}
		if err := rows.Close(); err != nil {
			return false
		}
	}
	now := db.now()
	var opRows, docRows, seqRows []any
	refused := make(map[int]bool)
	for i, r := range batch {
		if own[i] {
			continue
		}
		h, ok := heads[r.doc]
		if !ok {
			errs[i], own[i], refused[i] = fmt.Errorf("store: append doc %s rev %d: %w", r.doc, r.entries[0].Rev, oplog.ErrNotFound), true, true
			continue
		}
		sizes, err := r.check(h.rev, h.size)
		if err != nil {
			errs[i], own[i], refused[i] = err, true, true
			continue
		}
		for k, e := range r.entries {
			opRows = append(opRows, r.doc, e.Rev, r.ops[k], e.Client, e.Seq, entryTime(e, now), sizes[k], e.Author, insertAuthors(e.Inserts))
		}
		docRows = append(docRows, r.doc, r.entries[len(r.entries)-1].Rev, sizes[len(sizes)-1], now.UnixNano())
		for client, seq := range HighestSeqs(r.entries) {
			seqRows = append(seqRows, r.doc, client, seq)
		}
	}
	// forget hands the whole batch back to the request-by-request path,
	// which checks the refused requests again.
	forget := func() bool {
		for i := range refused {
			errs[i], own[i] = nil, false
		}
		return false
	}
	undo := func() bool {
		tx.ExecContext(ctx, `ROLLBACK TO together`)
		tx.ExecContext(ctx, `RELEASE together`)
		return forget()
	}
	if _, err := tx.ExecContext(ctx, `SAVEPOINT together`); err != nil {
		return forget()
	}
	if !execRows(ctx, tx, `INSERT INTO ops (doc, rev, op, client, seq, time, len_after, author, insert_authors) VALUES `, opRows, 9, "") ||
		!execRows(ctx, tx, `UPDATE documents SET rev = v.column2, size = v.column3, updated = v.column4 FROM (VALUES `, docRows, 4,
			`) AS v WHERE documents.id = v.column1`) ||
		!execRows(ctx, tx, `INSERT INTO client_seqs (doc, client, seq) VALUES `, seqRows, 3,
			` ON CONFLICT (doc, client) DO UPDATE SET seq = max(seq, excluded.seq)`) {
		return undo()
	}
	if _, err := tx.ExecContext(ctx, `RELEASE together`); err != nil {
		return undo()
	}
	return true
}

// execRows runs prefix, rows of width values each as "(?, …), (?, …)",
// and suffix, in statements of at most togetherRows rows.
func execRows(ctx context.Context, tx *sql.Tx, prefix string, args []any, width int, suffix string) bool {
	for lo := 0; lo < len(args); lo += togetherRows * width {
		chunk := args[lo:min(lo+togetherRows*width, len(args))]
		if _, err := tx.ExecContext(ctx, prefix+placeholders(len(chunk)/width, width)+suffix, chunk...); err != nil {
			return false
		}
	}
	return true
}

// placeholders returns n groups of width question marks: "(?, ?), (?, ?)"
// (for width 1 without the parentheses: "?, ?").
func placeholders(n, width int) string {
	group := "?"
	if width > 1 {
		group = "(" + strings.Repeat("?, ", width-1) + "?)"
	}
	return strings.Repeat(group+", ", n-1) + group
}

// upsertSeq records a client's highest seq in a document.
const upsertSeq = `INSERT INTO client_seqs (doc, client, seq) VALUES (?, ?, ?)
	ON CONFLICT (doc, client) DO UPDATE SET seq = max(seq, excluded.seq)`

// HighestSeqs returns each client's highest seq among entries: what every
// store keeps per document and client (client_seqs).
func HighestSeqs(entries []oplog.Entry) map[string]int {
	m := make(map[string]int, 2)
	for _, e := range entries {
		m[e.Client] = max(m[e.Client], e.Seq)
	}
	return m
}

// EncodeInsertAuthors encodes an entry's Inserts for the insert_authors
// column, as [[len, author], …]; ok is false when there are none (the
// column is NULL).
func EncodeInsertAuthors(spans []oplog.Span) (col string, ok bool) {
	if spans == nil {
		return "", false
	}
	pairs := make([][2]any, len(spans))
	for i, s := range spans {
		pairs[i] = [2]any{s.Len, s.Author}
	}
	b, _ := json.Marshal(pairs)
	return string(b), true
}

// DecodeInsertAuthors reads an insert_authors column that is not NULL.
func DecodeInsertAuthors(col string) ([]oplog.Span, error) {
	var raw [][2]json.RawMessage
	if err := json.Unmarshal([]byte(col), &raw); err != nil {
		return nil, err
	}
	out := make([]oplog.Span, len(raw))
	for i, p := range raw {
		if err := json.Unmarshal(p[0], &out[i].Len); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(p[1], &out[i].Author); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// insertAuthors is EncodeInsertAuthors as a column value (nil: NULL).
func insertAuthors(spans []oplog.Span) any {
	if col, ok := EncodeInsertAuthors(spans); ok {
		return col
	}
	return nil
}

// decodeInsertAuthors reads the insert_authors column.
func decodeInsertAuthors(v sql.NullString) ([]oplog.Span, error) {
	if !v.Valid {
		return nil, nil
	}
	return DecodeInsertAuthors(v.String)
}
