package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/bankcore/bank/bank"
)

// presentError is GraphQL's one mapping from errors to what clients see,
// the counterpart of REST's problem table: a bank error keeps its code (in
// extensions.code, the same codes as REST) and its caller-safe message;
// errors gqlgen raises about the operation itself (syntax, validation,
// limits) keep their own GRAPHQL_* code and message; anything else is a bug,
// logged with the request id and shown only as "internal error".
func (h *server) presentError(ctx context.Context, err error) *gqlerror.Error {
	if err == nil {
		return nil
	}
	var be *bank.Error
	if errors.As(err, &be) && be != nil && be.Code != bank.CodeInternal {
		out := locate(ctx, err)
		out.Message = be.Message
		out.Extensions = map[string]any{"code": string(be.Code)}
		if be.Field != "" {
			out.Extensions["field"] = be.Field
		}
		return out
	}
	var ge *gqlerror.Error
	if be == nil && errors.As(err, &ge) && ge.Err == nil {
		return ge // about the operation; its message names no internals
	}

	requestID := h.requestID(ctx)
	h.logger.ErrorContext(ctx, "graphql operation failed", "err", err, "request_id", requestID,
		"path", graphql.GetPath(ctx).String())
	out := locate(ctx, err)
	out.Message = "internal error"
	out.Extensions = map[string]any{"code": string(bank.CodeInternal)}
	if requestID != "" {
		out.Extensions["requestId"] = requestID
	}
	return out
}

// locate returns a fresh error at err's path and locations, so that no
// message or extension of err itself reaches the client.
func locate(ctx context.Context, err error) *gqlerror.Error {
	out := &gqlerror.Error{Path: graphql.GetPath(ctx)}
	var ge *gqlerror.Error
	if errors.As(err, &ge) {
		if ge.Path != nil {
			out.Path = ge.Path
		}
		out.Locations = ge.Locations
	}
	return out
}

// recoverPanic turns a resolver panic into an error that presentError logs
// (with the stack) and hides.
func recoverPanic(_ context.Context, v any) error {
	return fmt.Errorf("panic in resolver: %v\n%s", v, debug.Stack())
}

func (h *server) requestID(ctx context.Context) string {
	if h.deps.RequestID == nil {
		return ""
	}
	return h.deps.RequestID(ctx)
}

// writeError answers a request refused before it reaches gqlgen (wrong
// method, media type or body) in the GraphQL response shape.
func writeError(w http.ResponseWriter, status int, code bank.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": msg, "extensions": map[string]string{"code": string(code)}}},
	})
}
