package store

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/epermit/epermit/permit"
)

// Person index values: a pending application or an active permit.
const (
	personApp    = "a:"
	personPermit = "p:"
)

// Submit stores a new application with its decision and, when given, its
// photo, and returns it with its ID. The secret lets the applicant read it
// back; only its hash is kept. An eligible application becomes pending; an
// ineligible one is stored without its form, with its decision. Submit
// refuses (a *ConflictError) an application for a person who already has a
// pending application or an active permit in the same city.
func (db *DB) Submit(form permit.Application, decision permit.Decision, authority, secret string, photo []byte, photoType string, actor Actor, now time.Time) (Application, error) {
	id, err := db.newID()
	if err != nil {
		return Application{}, err
	}
	city := string(form.ResidenceDivision.City())
	a := Application{
		ID: id, Authority: authority, SecretHash: Hash(secret), MaskedID: permit.MaskID(form.CitizenID), City: city,
		Decision: decision, Submitted: now.UTC(), Updated: now.UTC(),
	}
	if decision.Eligible {
		a.State = AppPending
		f := form
		a.Form = &f
		if len(photo) > 0 {
			a.PhotoType = photoType
		}
	} else {
		a.State = AppIneligible
	}
	pk := db.personKey(form.CitizenID, city)
	err = db.batch(func(tx *bolt.Tx) error {
		if a.State == AppPending {
			if err := checkPersonFree(tx, pk, ""); err != nil {
				return err
			}
			if err := tx.Bucket(bPersons).Put(pk, []byte(personApp+id)); err != nil {
				return err
			}
			if len(photo) > 0 {
				if err := tx.Bucket(bPhotos).Put([]byte(id), photo); err != nil {
					return err
				}
			}
		}
		if err := putJSON(tx.Bucket(bApplications), []byte(id), a); err != nil {
			return err
		}
		return appendAudit(tx, entry(actor, "application.submit", "application:"+id, now,
			map[string]string{"state": string(a.State), "masked_id": a.MaskedID, "city": city, "authority": authority}))
	})
	if err != nil {
		return Application{}, fmt.Errorf("store: submit application: %w", err)
	}
	return a, nil
}

// checkPersonFree refuses when the person key names a pending application
// or an active permit other than self.
func checkPersonFree(tx *bolt.Tx, pk []byte, self string) error {
	v := tx.Bucket(bPersons).Get(pk)
	if v == nil || string(v) == self {
		return nil
	}
	s := string(v)
	if len(s) > 2 && s[:2] == personPermit {
		return conflict("duplicate_permit", "this person already holds an active residence permit (%s) in this city", s[2:])
	}
	return conflict("duplicate_application", "an application for this person in this city is already pending")
}

// Application returns the application with the given ID.
func (db *DB) Application(id string) (Application, error) {
	var a Application
	err := db.b.View(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bApplications), []byte(id), &a) })
	if err != nil {
		return Application{}, fmt.Errorf("store: application %q: %w", clip(id), err)
	}
	return a, nil
}

// CheckSecret reports whether secret is the one returned when a was submitted.
func (a Application) CheckSecret(secret string) bool {
	return hashEqual(a.SecretHash, Hash(secret))
}

// hashEqual compares two hashes in constant time.
func hashEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// Reject refuses a pending application with the officer's reasons, drops its
// form and photo, and frees the person for a new application.
func (db *DB) Reject(id string, reasons []string, actor Actor, now time.Time) (Application, error) {
	var out Application
	err := db.batch(func(tx *bolt.Tx) error {
		var a Application
		if err := getJSON(tx.Bucket(bApplications), []byte(id), &a); err != nil {
			return err
		}
		if a.State != AppPending {
			return conflict("not_pending", "the application is %s, not pending", a.State)
		}
		if err := db.releasePerson(tx, a, personApp+a.ID); err != nil {
			return err
		}
		a.State, a.Form, a.RejectReasons, a.Updated = AppRejected, nil, reasons, now.UTC()
		a.PhotoType = ""
		if err := tx.Bucket(bPhotos).Delete([]byte(id)); err != nil {
			return err
		}
		if err := putJSON(tx.Bucket(bApplications), []byte(id), a); err != nil {
			return err
		}
		out = a
		return appendAudit(tx, entry(actor, "application.reject", "application:"+id, now, map[string]string{"masked_id": a.MaskedID}))
	})
	if err != nil {
		return Application{}, fmt.Errorf("store: reject application %q: %w", clip(id), err)
	}
	return out, nil
}

// releasePerson removes the person index entry of a's applicant if it still
// holds value.
func (db *DB) releasePerson(tx *bolt.Tx, a Application, value string) error {
	if a.Form == nil {
		return errors.New("application without form")
	}
	pk := db.personKey(a.Form.CitizenID, a.City)
	if string(tx.Bucket(bPersons).Get(pk)) == value {
		return tx.Bucket(bPersons).Delete(pk)
	}
	return nil
}

// Photo returns the photo stored with an application and its media type.
func (db *DB) Photo(applicationID string) ([]byte, string, error) {
	var photo []byte
	var a Application
	err := db.b.View(func(tx *bolt.Tx) error {
		if err := getJSON(tx.Bucket(bApplications), []byte(applicationID), &a); err != nil {
			return err
		}
		v := tx.Bucket(bPhotos).Get([]byte(applicationID))
		if v == nil {
			return ErrNotFound
		}
		photo = append([]byte(nil), v...)
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("store: photo: %w", err)
	}
	return photo, a.PhotoType, nil
}

// clip shortens untrusted identifiers quoted in errors.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
