// Package codec keeps personal data and secrets out of readable Temporal history.
//
// Workflow and activity inputs and results whose type implements [Sensitive] (or that contain such a
// value anywhere inside them) are JSON-encoded and sealed with AES-256-GCM by the data converter from
// [NewDataConverter]; everything else keeps the SDK's default encodings, so amounts, account numbers,
// references and ids stay readable and searchable by operators without any key. Encryption is chosen
// per value rather than per payload (a PayloadCodec on every payload) because an operator debugging a
// stuck transfer should not need the payload key for data that is not personal.
//
// Keys come from the PAYLOAD_KEY setting (see [ParseKeyring]). The first key encrypts; every key
// decrypts, so rotation is: put a new key first, deploy everywhere, and drop an old key only after the
// namespace retention has expired every history that used it. Generate a key with
// `openssl rand -base64 32`.
//
// Operators read sealed payloads through the codec-server [Handler], which the API mounts under
// /codec behind operator authentication; this package does neither authentication nor CORS.
//
// What this package cannot protect:
//   - Failure messages and stack traces are stored as plain text (the SDK's failure converter does not
//     run values through the payload converter). Errors returned from workflows and activities must not
//     carry PII; that is the caller's job. Failure details are payloads and are sealed like any other
//     value when Sensitive.
//   - Search attributes are indexed in plain text and never pass through a data converter.
//   - Workflow IDs are plain text, which is why the registration ID is a hash of the email.
package codec
