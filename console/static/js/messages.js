// What a customer reads for each error code (docs/errors.md). The API's
// own detail is shown under it where it adds something.

const MESSAGES = {
  NETWORK: 'The bank could not be reached. Check your connection and try again.',
  VALIDATION_FAILED: 'Please check this value.',
  UNAUTHENTICATED: 'Your session has ended. Please sign in again.',
  FORBIDDEN: 'Only operators may do this.',
  NOT_FOUND: 'Not found.',
  EMAIL_TAKEN: 'This email address is already registered.',
  IDENTITY_IN_USE: 'This identity number already belongs to a customer.',
  KYC_FAILED: 'The identity registry could not verify this number.',
  KYC_UNAVAILABLE: 'The identity registry is not answering. Please try again shortly.',
  TIER_NOT_HIGHER: 'The account is already on this tier or a higher one.',
  IDEMPOTENCY_KEY_REUSED: 'This request was already used for something else. Start a new one.',
  INSUFFICIENT_FUNDS: 'The available balance is too low for this amount.',
  SINGLE_LIMIT_EXCEEDED: "The amount is above your tier's limit for one transfer.",
  DAILY_LIMIT_EXCEEDED: "This would take today's transfers above your tier's daily limit.",
  RECEIVER_BALANCE_LIMIT: "The receiver's account cannot hold this much on its tier.",
  SAME_ACCOUNT: 'You cannot send money to the same account.',
  RATE_LIMITED: 'Too many attempts. Please wait a minute and try again.',
  SERVICE_UNAVAILABLE: 'The bank is busy. Please try again shortly; nothing was lost.',
  TRANSFER_NOT_PENDING: 'This transfer is no longer waiting for a decision.',
  NOT_REVERSIBLE: 'This transfer cannot be reversed.',
  INTERNAL: 'Something went wrong on our side. Please try again.',
};

// messageFor returns the sentence for an ApiError (or any error).
export function messageFor(err) {
  return MESSAGES[err && err.code] || (err && err.message) || MESSAGES.INTERNAL;
}

// detailFor returns the API's detail when it says more than the sentence.
export function detailFor(err) {
  const detail = err && err.problem && err.problem.detail;
  if (!detail || err.code === 'INTERNAL' || detail === messageFor(err)) return '';
  return detail;
}
