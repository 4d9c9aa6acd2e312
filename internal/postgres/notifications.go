package postgres

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bankcore/bank/bank"
)

const notificationColumns = `id, user_id, type, title, message, amount_minor, coalesce(reference, ''),
	coalesce(account_number, ''), read_at IS NOT NULL, created_at`

func scanNotification(row pgx.Row) (bank.Notification, error) {
	var n bank.Notification
	var id, user uuid.UUID
	var amount *int64
	if err := row.Scan(&id, &user, &n.Type, &n.Title, &n.Message, &amount, &n.Reference,
		&n.AccountNumber, &n.Read, &n.CreatedAt); err != nil {
		return bank.Notification{}, err
	}
	n.ID, n.UserID = id.String(), user.String()
	if amount != nil {
		m := bank.Money(*amount)
		n.Amount = &m
	}
	return n, nil
}

func collectNotifications(rows pgx.Rows) ([]bank.Notification, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (bank.Notification, error) { return scanNotification(r) })
}

// InsertForEvent stores the notifications of one event, at most one per
// user, and returns every notification stored for that event: the ones just
// inserted and the ones an earlier delivery of the same event stored. So a
// redelivered event yields the same ids as the first delivery, which lets
// the caller re-publish them for clients that deduplicate by id.
//
// The returned notifications are in the order of ns; ones stored earlier for
// users not in ns follow. Errors: VALIDATION_FAILED (empty event id,
// malformed user id, unknown type, two notifications for one user).
func (s *Notifications) InsertForEvent(ctx context.Context, eventID string, ns []bank.Notification) ([]bank.Notification, error) {
	if eventID == "" {
		return nil, bank.Invalid("event_id", "is required")
	}
	users := make([]uuid.UUID, len(ns))
	seen := make(map[uuid.UUID]bool, len(ns))
	for i, n := range ns {
		u, err := uuid.Parse(n.UserID)
		if err != nil {
			return nil, bank.Invalid("user_id", "event %s: user id %q is not a UUID", eventID, n.UserID)
		}
		if seen[u] {
			// The unique key would silently keep only the first.
			return nil, bank.Invalid("user_id", "event %s: two notifications for user %s", eventID, n.UserID)
		}
		if !n.Type.Valid() {
			return nil, bank.Invalid("type", "event %s: unknown notification type %q", eventID, n.Type)
		}
		seen[u] = true
		users[i] = u
	}

	// One round trip: a batch outside a transaction runs as one implicit
	// transaction (all inserts or none), and each of its statements takes
	// its own snapshot in READ COMMITTED, so the SELECT sees rows that a
	// concurrent delivery of the same event committed while our insert
	// waited on them. BEGIN, the inserts, the SELECT and COMMIT used to be
	// four.
	var batch pgx.Batch
	for i, n := range ns {
		var amount *int64
		if n.Amount != nil {
			v := int64(*n.Amount)
			amount = &v
		}
		// Version 7: time-ordered ids keep the primary key's inserts at
		// the right edge of the index.
		id, err := uuid.NewV7()
		if err != nil {
			return nil, fmt.Errorf("new notification id: %w", err)
		}
		batch.Queue(`
			INSERT INTO notify.notifications
				(id, user_id, event_id, type, title, message, amount_minor, reference, account_number)
			VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($8, ''), nullif($9, ''))
			ON CONFLICT (event_id, user_id) DO NOTHING`,
			id, users[i], eventID, string(n.Type), n.Title, n.Message, amount, n.Reference, n.AccountNumber)
	}
	var stored []bank.Notification
	batch.Queue(`SELECT `+notificationColumns+`
		FROM notify.notifications WHERE event_id = $1`, eventID).Query(func(rows pgx.Rows) error {
		var err error
		stored, err = collectNotifications(rows)
		return err
	})
	if err := s.pool.SendBatch(ctx, &batch).Close(); err != nil {
		return nil, fmt.Errorf("store notifications of event: %w", err)
	}
	orderLike(stored, users)
	return stored, nil
}

// orderLike sorts stored by the position of each user in users, so callers
// can match results to their input; rows of other users go last.
func orderLike(stored []bank.Notification, users []uuid.UUID) {
	pos := make(map[string]int, len(users))
	for i, u := range users {
		pos[u.String()] = i
	}
	rank := func(n bank.Notification) int {
		if p, ok := pos[n.UserID]; ok {
			return p
		}
		return len(users)
	}
	slices.SortStableFunc(stored, func(a, b bank.Notification) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), strings.Compare(a.ID, b.ID))
	})
}

// CountForEvent returns how many notifications are stored for an event.
func (s *Notifications) CountForEvent(ctx context.Context, eventID string) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM notify.notifications WHERE event_id = $1`, eventID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count notifications: %w", err)
	}
	return n, nil
}

// List returns up to first of the user's notifications, newest first,
// starting after the cursor (after == "" starts at the newest). nextCursor is
// "" on the last page. Cursors are opaque to clients and stay valid while
// notifications are added: the pagination is by key, not offset.
// Errors: VALIDATION_FAILED (first outside 1..bank.MaxNotificationsPage,
// malformed cursor).
func (s *Notifications) List(ctx context.Context, userID string, first int, after string) ([]bank.Notification, string, error) {
	if first < 1 || first > bank.MaxNotificationsPage {
		return nil, "", bank.Invalid("first", "must be between 1 and %d", bank.MaxNotificationsPage)
	}
	user, err := uuid.Parse(userID)
	if err != nil {
		// No user has such an id, so nobody has notifications under it.
		return []bank.Notification{}, "", nil
	}
	var rows pgx.Rows
	if after == "" {
		rows, err = s.pool.Query(ctx, `SELECT `+notificationColumns+`
			FROM notify.notifications WHERE user_id = $1
			ORDER BY created_at DESC, id DESC LIMIT $2`, user, first+1)
	} else {
		at, id, cerr := decodeCursor(after)
		if cerr != nil {
			return nil, "", cerr
		}
		rows, err = s.pool.Query(ctx, `SELECT `+notificationColumns+`
			FROM notify.notifications WHERE user_id = $1 AND (created_at, id) < ($2, $3)
			ORDER BY created_at DESC, id DESC LIMIT $4`, user, at, id, first+1)
	}
	if err != nil {
		return nil, "", fmt.Errorf("list notifications: %w", err)
	}
	ns, err := collectNotifications(rows)
	if err != nil {
		return nil, "", fmt.Errorf("list notifications: %w", err)
	}
	// One row more than asked says whether another page exists without a
	// second query.
	if len(ns) <= first {
		return ns, "", nil
	}
	ns = ns[:first]
	last := ns[len(ns)-1]
	return ns, encodeCursor(last.CreatedAt, last.ID), nil
}

// MarkRead marks one of the user's notifications read and returns it.
// Marking it again keeps the first read time. Errors: NOT_FOUND, also for
// another user's notification, exactly as for one that does not exist.
func (s *Notifications) MarkRead(ctx context.Context, userID, id string) (bank.Notification, error) {
	notFound := bank.Errorf(bank.CodeNotFound, "notification not found")
	user, err := uuid.Parse(userID)
	if err != nil {
		return bank.Notification{}, notFound
	}
	nid, err := uuid.Parse(id)
	if err != nil {
		return bank.Notification{}, notFound
	}
	n, err := scanNotification(s.pool.QueryRow(ctx, `
		UPDATE notify.notifications SET read_at = coalesce(read_at, now())
		WHERE id = $1 AND user_id = $2
		RETURNING `+notificationColumns, nid, user))
	if errors.Is(err, pgx.ErrNoRows) {
		return bank.Notification{}, notFound
	}
	if err != nil {
		return bank.Notification{}, fmt.Errorf("mark notification read: %w", err)
	}
	return n, nil
}

// A cursor is the sort key of the last row of a page. PostgreSQL keeps
// microseconds, which RFC 3339 with nanoseconds carries exactly.
func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(at.UTC().Format(time.RFC3339Nano) + "," + id))
}

func decodeCursor(c string) (time.Time, uuid.UUID, error) {
	bad := bank.Invalid("after", "is not a cursor returned by this API")
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, uuid.UUID{}, bad
	}
	ts, idText, ok := strings.Cut(string(raw), ",")
	if !ok {
		return time.Time{}, uuid.UUID{}, bad
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, uuid.UUID{}, bad
	}
	id, err := uuid.Parse(idText)
	if err != nil {
		return time.Time{}, uuid.UUID{}, bad
	}
	return at, id, nil
}

// CursorAt returns the List cursor that continues right after the user's
// notification id, so a client that only has the last id of a page (the
// GraphQL getNotifications(after:) argument) can ask for the next one.
// Errors: NOT_FOUND, also for another user's notification, exactly as for
// one that does not exist.
func (s *Notifications) CursorAt(ctx context.Context, userID, id string) (string, error) {
	notFound := bank.Errorf(bank.CodeNotFound, "notification not found")
	user, err := uuid.Parse(userID)
	if err != nil {
		return "", notFound
	}
	nid, err := uuid.Parse(id)
	if err != nil {
		return "", notFound
	}
	var at time.Time
	err = s.pool.QueryRow(ctx, `SELECT created_at FROM notify.notifications WHERE id = $1 AND user_id = $2`,
		nid, user).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", notFound
	}
	if err != nil {
		return "", fmt.Errorf("notification cursor: %w", err)
	}
	return encodeCursor(at, nid.String()), nil
}
