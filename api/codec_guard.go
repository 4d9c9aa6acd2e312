package api

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/bankcore/bank/bank"
)

// MaxCodecBodyBytes bounds a codec-server request. The Web UI sends the
// payloads of one history event, and Temporal refuses a payload blob over
// 2 MB; as base64 inside JSON that is about 2.7 MB.
const MaxCodecBodyBytes = 3 << 20

// codecGuard answers what the codec handler should never see, in
// problem+json like every other refusal: a body that is not JSON (415), is
// too large (413) or is not Temporal's {"payloads":[...]} (400). A payload
// the codec cannot open (tampered, or sealed with a key no longer in
// PAYLOAD_KEY) is a 400 too; its detail names key ids, never plaintext.
func codecGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
			writeError(w, r, bank.Errorf(bank.CodeUnsupportedMedia, "Content-Type must be application/json"))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxCodecBodyBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeError(w, r, bank.Errorf(bank.CodeBodyTooLarge, "a codec request must not exceed %d bytes", MaxCodecBodyBytes))
				return
			}
			writeError(w, r, bank.Errorf(bank.CodeValidation, "could not read the request body"))
			return
		}
		if err := protojson.Unmarshal(body, &commonpb.Payloads{}); err != nil {
			writeError(w, r, bank.Invalid("payloads", `the body must be Temporal's {"payloads":[...]}`))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if rec.status != http.StatusOK {
			// The SDK's handler answers in text/plain; its message is the
			// codec's (key ids, never plaintext or key material).
			msg := strings.TrimSpace(rec.body.String())
			writeError(w, r, bank.Invalid("payloads", "the payloads could not be processed: %s", msg))
			return
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(rec.body.Bytes())
	})
}

// bufferedResponse holds an answer until it is known to be a success.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) WriteHeader(status int)      { b.status = status }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
