package notify

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/virmo/virmo/dmauth"
	"github.com/virmo/virmo/store"
)

// ContentType is the MIME type of a Package #0 message.
const ContentType = "application/vnd.syncml.notification"

// Path is where the server serves the long-poll, next to /dm.
const Path = "/dm/notify"

// maxWaitSeconds bounds the wait query parameter (one day), so that
// converting it to a time.Duration cannot overflow. Any wait above the
// hold time is cut to the hold time.
const maxWaitSeconds = 86400

// ServeHTTP serves the long-poll GET /dm/notify. The request must carry an
// Authorization header of AuthScheme with a nonce the server issued; a
// missing or invalid one gets 401 with a fresh nonce in WWW-Authenticate.
// An authenticated request gets 200 with the Package #0 of the device's
// pending notification (Content-Type ContentType) as soon as there is one,
// or 204 after the hold time or when Shutdown is called. Both carry the next nonce in
// Authentication-Info. The query parameter wait=<seconds> shortens the
// hold time.
func (n *Notifier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed: open the long-poll with GET", http.StatusMethodNotAllowed)
		return
	}
	if !n.beginPoll() {
		rejectStopping(w)
		return
	}
	defer n.polls.Done()
	hold, err := n.holdOf(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}

	deviceID, next, err := n.authenticate(r.Context(), r.Header.Get("Authorization"))
	if err != nil {
		n.log.Error("authenticate long-poll", "remote", r.RemoteAddr, "err", err)
		http.Error(w, "internal error; retry later", http.StatusInternalServerError)
		return
	}
	if deviceID == "" {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`%s realm=%q, nonce="%s"`,
			AuthScheme, authRealm, base64.StdEncoding.EncodeToString(next)))
		http.Error(w, "missing or invalid credentials; sign the request with the nonce "+
			"in WWW-Authenticate", http.StatusUnauthorized)
		return
	}
	w.Header().Set("Authentication-Info",
		fmt.Sprintf(`nextnonce="%s"`, base64.StdEncoding.EncodeToString(next)))
	w.Header().Set("Cache-Control", "no-store")

	msg, err := n.wait(r.Context(), deviceID, hold)
	if err != nil {
		if r.Context().Err() == nil {
			n.log.Error("long-poll failed", "device", deviceID, "err", err)
			http.Error(w, "internal error; retry later", http.StatusInternalServerError)
		}
		return
	}
	if msg == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(msg)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(msg); err != nil {
		n.log.Warn("write notification to long-poll", "device", deviceID, "err", err)
	}
}

// holdOf returns the hold time of a request: Config.Hold, or less when the
// request asks for it with wait=<seconds>.
func (n *Notifier) holdOf(r *http.Request) (time.Duration, error) {
	raw := r.URL.Query().Get("wait")
	if raw == "" {
		return n.cfg.Hold, nil
	}
	secs, err := strconv.Atoi(raw)
	if err != nil || secs < 0 || secs > maxWaitSeconds {
		return 0, fmt.Errorf("invalid wait %q: use whole seconds from 0 to %d", raw, maxWaitSeconds)
	}
	return min(time.Duration(secs)*time.Second, n.cfg.Hold), nil
}

// wait returns the device's pending notification once there is one, or nil
// after hold. A notification already pending when the long-poll opens is
// returned at once unless it was delivered within ResendAfter.
func (n *Notifier) wait(ctx context.Context, deviceID string, hold time.Duration) ([]byte, error) {
	wake, cancel := n.cfg.Waker.Subscribe(deviceID)
	defer cancel()

	msg, ok, err := n.deliver(ctx, deviceID, n.cfg.ResendAfter)
	if err != nil || ok {
		return msg, err
	}

	timer := time.NewTimer(hold)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timer.C:
			return nil, nil
		case <-n.stopped:
			return nil, nil
		case <-wake:
		}
		msg, ok, err := n.deliver(ctx, deviceID, 0)
		if err != nil || ok {
			return msg, err
		}
	}
}

// authenticate checks an Authorization header and issues the device's next
// nonce in the same transaction, so every nonce works once. deviceID is
// empty when the credentials are missing or invalid, and next is then a
// nonce for the retry. That nonce is stored when the header names an
// enrolled device, and random and not stored otherwise.
func (n *Notifier) authenticate(ctx context.Context, header string) (deviceID string, next []byte, err error) {
	cred, parseErr := ParseAuthorization(header)
	if parseErr != nil {
		devID, hintErr := ParseDeviceHint(header)
		if hintErr != nil {
			// Without a DevId there is no device to store a nonce for.
			return "", dmauth.NewNonce(), nil
		}
		next, err = n.challenge(ctx, devID)
		return "", next, err
	}

	err = n.cfg.Store.InTx(ctx, func(q store.Queries) error {
		device, err := q.GetDeviceByDevID(ctx, cred.DevID)
		if errors.Is(err, store.ErrNotFound) {
			next = dmauth.NewNonce()
			return nil
		}
		if err != nil {
			return fmt.Errorf("look up device %q: %w", cred.DevID, err)
		}
		now := n.cfg.Now().UTC()
		nonces, err := loadNonces(ctx, q, device.ID, now)
		if err != nil {
			return err
		}
		nonces, issued := takeNonce(nonces, cred.Nonce)
		ok := false
		if issued && cred.Username == device.ClientUser {
			password, err := n.cfg.Sealer.Open(device.ClientSecretSealed)
			if err != nil {
				return fmt.Errorf("open client password of device %s: %w", device.ID, err)
			}
			ok = dmauth.VerifyMD5(cred.Digest, device.ClientUser, string(password), cred.Nonce)
		}
		if ok {
			deviceID = device.ID
		} else {
			n.log.Info("long-poll credentials rejected", "device", device.ID,
				"nonce_issued", issued)
		}
		next, err = issueNonce(ctx, q, device.ID, nonces, now)
		return err
	})
	return deviceID, next, err
}

// challenge returns the nonce of a 401 to a request that names devID
// without credentials. For an enrolled device the nonce is stored, with at
// most maxNonces outstanding. For an unknown DevId it is random and not
// stored, so the reply does not show whether the DevId is enrolled.
func (n *Notifier) challenge(ctx context.Context, devID string) (next []byte, err error) {
	err = n.cfg.Store.InTx(ctx, func(q store.Queries) error {
		device, err := q.GetDeviceByDevID(ctx, devID)
		if errors.Is(err, store.ErrNotFound) {
			next = dmauth.NewNonce()
			return nil
		}
		if err != nil {
			return fmt.Errorf("look up device %q: %w", devID, err)
		}
		now := n.cfg.Now().UTC()
		nonces, err := loadNonces(ctx, q, device.ID, now)
		if err != nil {
			return err
		}
		next, err = issueNonce(ctx, q, device.ID, nonces, now)
		return err
	})
	return next, err
}
