package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/bankcore/bank/bank"
)

const userColumns = `id, email, full_name, coalesce(phone, ''), role, created_at`

func scanUser(row pgx.Row, extra ...any) (bank.User, error) {
	var u bank.User
	var id uuid.UUID
	dest := append([]any{&id, &u.Email, &u.FullName, &u.Phone, &u.Role, &u.CreatedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return bank.User{}, err
	}
	u.ID = id.String()
	return u, nil
}

// CreateCustomer creates the user and records its identity evidence in one
// transaction. It is idempotent by registration: when the email already
// belongs to a user created by the same registration with the same
// fingerprint, that user is returned (a retried activity).
// Errors: EMAIL_TAKEN, IDENTITY_IN_USE.
func (s *Users) CreateCustomer(ctx context.Context, in bank.NewCustomer) (bank.User, error) {
	var out bank.User
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		u, err := scanUser(tx.QueryRow(ctx, `
			INSERT INTO auth.users (id, email, full_name, phone, role, password_hash, registration_id, registration_fingerprint)
			VALUES ($1, $2, $3, nullif($4, ''), 'customer', $5, $6, $7)
			ON CONFLICT (email) DO NOTHING
			RETURNING `+userColumns,
			uuid.New(), in.Email, in.FullName, in.Phone, in.PasswordHash, in.RegistrationID, in.Fingerprint))
		if errors.Is(err, pgx.ErrNoRows) {
			var regID *string
			var fp []byte
			u, err = scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+`, registration_id, registration_fingerprint
				FROM auth.users WHERE email = $1`, in.Email), &regID, &fp)
			if err != nil {
				return fmt.Errorf("read existing user: %w", err)
			}
			if regID == nil || *regID != in.RegistrationID || !bytes.Equal(fp, in.Fingerprint) {
				return bank.Errorf(bank.CodeEmailTaken, "a user with this email already exists")
			}
		} else if err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		owner, err := claimIdentity(ctx, tx, u.ID, in.KYCType, in.KYCNumberHMAC)
		if err != nil {
			return err
		}
		if owner != u.ID {
			return bank.Errorf(bank.CodeIdentityInUse, "this %s already belongs to another user", in.KYCType)
		}
		out = u
		return nil
	})
	return out, err
}

// claimIdentity records evidence for userID unless someone holds it, and
// returns who holds it now.
func claimIdentity(ctx context.Context, tx pgx.Tx, userID string, typ bank.KYCType, numberHMAC []byte) (string, error) {
	var owner uuid.UUID
	err := tx.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO auth.identities (kyc_type, number_hmac, user_id) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING RETURNING user_id)
		SELECT user_id FROM ins
		UNION ALL
		SELECT user_id FROM auth.identities WHERE kyc_type = $1 AND number_hmac = $2
		LIMIT 1`, string(typ), numberHMAC, userID).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		// A concurrent claim committed while our insert waited: the
		// statement's snapshot predates it, a new statement sees it.
		err = tx.QueryRow(ctx, `SELECT user_id FROM auth.identities WHERE kyc_type = $1 AND number_hmac = $2`,
			string(typ), numberHMAC).Scan(&owner)
	}
	if err != nil {
		return "", fmt.Errorf("claim identity: %w", err)
	}
	return owner.String(), nil
}

// EnsureOperator creates an operator with the email unless a user with that
// email exists. It reports whether it created one. An existing customer with
// that email is an EMAIL_TAKEN error: a customer is never promoted silently.
func (s *Users) EnsureOperator(ctx context.Context, email, fullName, passwordHash string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO auth.users (id, email, full_name, role, password_hash)
		VALUES ($1, $2, $3, 'operator', $4) ON CONFLICT (email) DO NOTHING`,
		uuid.New(), email, fullName, passwordHash)
	if err != nil {
		return false, fmt.Errorf("insert operator: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	var role bank.Role
	if err := s.pool.QueryRow(ctx, `SELECT role FROM auth.users WHERE email = $1`, email).Scan(&role); err != nil {
		return false, fmt.Errorf("read user: %w", err)
	}
	if role != bank.RoleOperator {
		return false, bank.Errorf(bank.CodeEmailTaken, "a customer already uses this email")
	}
	return false, nil
}

// CredentialsByEmail returns the user and password hash for an email.
// Errors: NOT_FOUND.
func (s *Users) CredentialsByEmail(ctx context.Context, email string) (bank.Credentials, error) {
	return s.credentials(ctx, "email", email, "no such user")
}

// credentials reads the user whose column equals value, with the password
// hash and the registration fingerprint. Errors: NOT_FOUND with notFound.
func (s *Users) credentials(ctx context.Context, column, value, notFound string) (bank.Credentials, error) {
	var c bank.Credentials
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+`, password_hash, registration_fingerprint
		FROM auth.users WHERE `+column+` = $1`, value), &c.PasswordHash, &c.Fingerprint)
	if errors.Is(err, pgx.ErrNoRows) {
		return bank.Credentials{}, bank.Errorf(bank.CodeNotFound, "%s", notFound)
	}
	if err != nil {
		return bank.Credentials{}, fmt.Errorf("read user: %w", err)
	}
	c.User = u
	return c, nil
}

// ByID returns a user. Errors: NOT_FOUND.
func (s *Users) ByID(ctx context.Context, id string) (bank.User, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return bank.User{}, bank.Errorf(bank.CodeNotFound, "no such user")
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM auth.users WHERE id = $1`, uid))
	if errors.Is(err, pgx.ErrNoRows) {
		return bank.User{}, bank.Errorf(bank.CodeNotFound, "no such user")
	}
	if err != nil {
		return bank.User{}, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}

// ByRegistrationID returns the user a registration created. Errors: NOT_FOUND.
func (s *Users) ByRegistrationID(ctx context.Context, registrationID string) (bank.Credentials, error) {
	return s.credentials(ctx, "registration_id", registrationID, "no such registration")
}

// ClaimEvidence records verified evidence for userID, when the evidence
// already on file allows the target tier (bank.CheckEvidence), and returns
// every evidence type the user now holds. Errors: IDENTITY_IN_USE,
// KYC_FAILED.
func (s *Users) ClaimEvidence(ctx context.Context, userID string, target bank.Tier, typ bank.KYCType, numberHMAC []byte) ([]bank.KYCType, error) {
	var types []bank.KYCType
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		onFile, err := identityTypes(ctx, tx, userID)
		if err != nil {
			return err
		}
		if err := bank.CheckEvidence(target, typ, onFile); err != nil {
			return err
		}
		owner, err := claimIdentity(ctx, tx, userID, typ, numberHMAC)
		if err != nil {
			return err
		}
		if owner != userID {
			return bank.Errorf(bank.CodeIdentityInUse, "this %s already belongs to another user", typ)
		}
		types, err = identityTypes(ctx, tx, userID)
		return err
	})
	return types, err
}

func identityTypes(ctx context.Context, tx pgx.Tx, userID string) ([]bank.KYCType, error) {
	rows, err := tx.Query(ctx, `SELECT DISTINCT kyc_type FROM auth.identities WHERE user_id = $1 ORDER BY 1`, userID)
	if err != nil {
		return nil, fmt.Errorf("list identities: %w", err)
	}
	types, err := pgx.CollectRows(rows, pgx.RowTo[bank.KYCType])
	if err != nil {
		return nil, fmt.Errorf("list identities: %w", err)
	}
	return types, nil
}
