// Package graph is the GraphQL endpoint (/graphql): a user's notifications,
// listed (getNotifications), marked read (markNotificationRead) and watched
// live over WebSocket (notificationAdded). The schema is schema.graphqls;
// gqlgen generates generated.go and models_gen.go from it (go generate), and
// the resolvers are in schema.resolvers.go. Handler serves everything:
// queries over HTTP POST, subscriptions over WebSocket (graphql-transport-ws
// and the legacy graphql-ws), and the GraphiQL page for browsers.
package graph

import (
	"context"

	"github.com/bankcore/bank/bank"
	"github.com/bankcore/bank/internal/token"
)

// Notifications is what the resolvers need of the notification store.
type Notifications interface {
	// List returns up to first (1-100) of the user's notifications, newest
	// first, after a cursor ("" = from the newest). Errors: VALIDATION_FAILED.
	List(ctx context.Context, userID string, first int, after string) ([]bank.Notification, string, error)
	// CursorAt returns the List cursor right after the user's notification
	// id. Errors: NOT_FOUND, also for someone else's notification.
	CursorAt(ctx context.Context, userID, id string) (string, error)
	// MarkRead marks the user's notification read and returns it. Errors:
	// NOT_FOUND, also for someone else's notification.
	MarkRead(ctx context.Context, userID, id string) (bank.Notification, error)
}

// Hub delivers the notifications published for a user while subscribed
// (fanout.Hub). The channel is closed when ctx is done, when the returned
// function is called, or when the hub stops.
type Hub interface {
	Subscribe(ctx context.Context, userID string) (<-chan bank.Notification, func())
}

// Users confirms that a token's user still exists (postgres.Users).
// Errors: NOT_FOUND.
type Users interface {
	ByID(ctx context.Context, id string) (bank.User, error)
}

// Tokens verifies access tokens (token.Issuer). Errors: UNAUTHENTICATED.
type Tokens interface {
	Verify(token string) (token.Principal, error)
}

// Resolver holds the resolvers' dependencies; gqlgen's generated code calls
// its methods.
type Resolver struct {
	notifications Notifications
	hub           Hub
}
