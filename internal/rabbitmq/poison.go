package rabbitmq

import "errors"

// poisonError marks a handler failure that no retry can fix (a malformed
// body, an unknown event type), so the message goes to the dead-letter queue
// instead of being redelivered forever.
type poisonError struct{ err error }

func (e *poisonError) Error() string { return "poison message: " + e.err.Error() }
func (e *poisonError) Unwrap() error { return e.err }

// Poison wraps err so that Consumer dead-letters the delivery instead of
// requeueing it. Poison(nil) is nil, so a handler can return
// Poison(json.Unmarshal(...)) directly.
func Poison(err error) error {
	if err == nil {
		return nil
	}
	return &poisonError{err: err}
}

// IsPoison reports whether err, or any error it wraps, was made by Poison.
func IsPoison(err error) bool {
	var p *poisonError
	return errors.As(err, &p)
}
