package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/db"
	"github.com/cointracker/cointracker/webhooks"
)

// WebhookOptions configure the endpoints users register.
type WebhookOptions struct {
	// URLs are the rules endpoint URLs follow: https and a public host
	// unless relaxed.
	URLs webhooks.URLRules
	// PerUser bounds the endpoints one user registers (0: no bound).
	PerUser int32
	// KeyGrace is how long a rotated key keeps signing beside the new one.
	KeyGrace time.Duration
	// Client delivers pings; nil makes one that reaches only public
	// addresses (webhooks.NewClient), whatever URLs allows.
	Client *http.Client
}

// Webhook is an endpoint the user's events are delivered to.
type Webhook struct {
	ID  int64  `json:"id" example:"3"`
	URL string `json:"url" example:"https://example.com/hooks/cointracker"`
	// EventTypes are the types delivered; empty for all.
	EventTypes  []string `json:"event_types" example:"transaction.confirmed,transaction.reorged" enums:"transaction.seen,transaction.confirmed,transaction.reorged,transaction.replaced,transaction.dropped,address.synced,balance.changed"`
	Description *string  `json:"description" example:"accounting"`
	Enabled     bool     `json:"enabled" example:"true"`
	// DisabledReason says why the service disabled the endpoint (it failed
	// for days); null otherwise.
	DisabledReason *string `json:"disabled_reason"`
	// PreviousSecretValidUntil is when the secret before the last rotation
	// stops signing beside the current one; null without a rotation.
	PreviousSecretValidUntil *time.Time `json:"previous_secret_valid_until"`
	CreatedAt                time.Time  `json:"created_at" example:"2026-12-08T10:00:00Z"`
	UpdatedAt                time.Time  `json:"updated_at" example:"2026-12-08T10:00:00Z"`
}

// WebhookWithSecret is an endpoint as created or rotated: the only time its
// signing secret is shown.
type WebhookWithSecret struct {
	Webhook
	// Secret signs the deliveries (Standard Webhooks: whsec_ and the
	// base64 key). Keep it: it is not shown again.
	Secret string `json:"secret" example:"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"`
}

// WebhookList is a page of endpoints.
type WebhookList struct {
	Items      []Webhook `json:"items"`
	NextCursor *string   `json:"next_cursor"`
}

// CreateWebhookRequest is the body of POST /v1/webhooks.
type CreateWebhookRequest struct {
	// URL receives the deliveries: https, on a public address.
	URL string `json:"url" binding:"required" example:"https://example.com/hooks/cointracker"`
	// EventTypes to deliver; all when absent or empty.
	EventTypes  []string `json:"event_types" example:"transaction.confirmed" enums:"transaction.seen,transaction.confirmed,transaction.reorged,transaction.replaced,transaction.dropped,address.synced,balance.changed"`
	Description *string  `json:"description" example:"accounting"`
	// Enabled defaults to true.
	Enabled *bool `json:"enabled" example:"true"`
}

// UpdateWebhookRequest is the body of PATCH /v1/webhooks/{id}: the fields
// given change; description null clears it.
type UpdateWebhookRequest struct {
	URL         *string        `json:"url" example:"https://example.com/hooks/v2"`
	EventTypes  []string       `json:"event_types" example:"transaction.confirmed" enums:"transaction.seen,transaction.confirmed,transaction.reorged,transaction.replaced,transaction.dropped,address.synced,balance.changed"`
	Description nullableString `json:"description" swaggertype:"string" extensions:"x-nullable" example:"accounting"`
	Enabled     *bool          `json:"enabled" example:"false"`
}

// PingResult is what a test delivery got.
type PingResult struct {
	// Delivered is true when the endpoint answered 2xx.
	Delivered bool `json:"delivered" example:"true"`
	// StatusCode is the endpoint's answer; null when none came.
	StatusCode *int  `json:"status_code" example:"200"`
	LatencyMS  int64 `json:"latency_ms" example:"84"`
	// Error says why the delivery failed; null when it did not.
	Error *string `json:"error"`
}

const webhookListFilters = "webhooks"

// webhookFromRow builds the resource (never the key).
func webhookFromRow(w db.Webhook) Webhook {
	return Webhook{
		ID: w.ID, URL: w.Url, EventTypes: w.EventTypes, Description: w.Description, Enabled: w.Enabled,
		DisabledReason: w.DisabledReason, PreviousSecretValidUntil: w.PreviousKeyUntil,
		CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt,
	}
}

// checkWebhookFields collects what is wrong with the fields given.
func (s *Server) checkWebhookFields(url *string, types []string, description *string) []FieldError {
	var errs []FieldError
	if url != nil {
		if why := webhooks.CheckURL(*url, s.webhooks.URLs); why != "" {
			errs = append(errs, FieldError{Field: "url", Message: why})
		}
	}
	for _, t := range types {
		if !slices.Contains(eventTypes, t) {
			errs = append(errs, FieldError{Field: "event_types", Message: "names an unknown event type; the types are " + strings.Join(eventTypes, ", ")})
			break
		}
	}
	if len(types) > len(eventTypes) {
		errs = append(errs, FieldError{Field: "event_types", Message: fmt.Sprintf("lists more than the %d types there are", len(eventTypes))})
	}
	if description != nil {
		switch {
		case !utf8.ValidString(*description) || utf8.RuneCountInString(*description) > 500:
			errs = append(errs, FieldError{Field: "description", Message: "must be valid UTF-8 of at most 500 characters"})
		case strings.IndexFunc(*description, unicode.IsControl) >= 0:
			errs = append(errs, FieldError{Field: "description", Message: "must not contain control characters"})
		}
	}
	return errs
}

// dedupTypes sorts types and drops repeats; never nil ([] is every type,
// and the column takes no NULL).
func dedupTypes(types []string) []string {
	out := append([]string{}, types...)
	slices.Sort(out)
	return slices.Compact(out)
}

// createWebhook godoc
//
//	@Summary		Register a webhook endpoint
//	@Description	The user's events (GET /v1/events) are delivered to the URL as Standard Webhooks requests: headers webhook-id, webhook-timestamp and webhook-signature ("v1," and the base64 HMAC-SHA256 of "id.timestamp.body" under the secret), a JSON body with type, timestamp and data. The URL must be https and reach a public address. The answer holds the signing secret, shown only this once.
//	@ID				createWebhook
//	@Tags			webhooks
//	@Accept			json
//	@Produce		json
//	@Param			body	body		CreateWebhookRequest	true	"the endpoint"
//	@Success		201		{object}	WebhookWithSecret
//	@Failure		400		{object}	Problem
//	@Failure		403		{object}	Problem	"WEBHOOKS_PER_USER endpoints already registered"
//	@Failure		413		{object}	Problem
//	@Failure		415		{object}	Problem
//	@Failure		503		{object}	Problem
//	@Failure		401		{object}	Problem	"missing or invalid bearer token"
//	@Failure		429		{object}	Problem	"rate limited; see Retry-After"
//	@Security		BearerAuth
//	@Router			/v1/webhooks [post]
func (s *Server) createWebhook(c *gin.Context) {
	if !noQuery(c) {
		return
	}
	var req CreateWebhookRequest
	if !bindJSON(c, &req) {
		return
	}
	if errs := s.checkWebhookFields(&req.URL, req.EventTypes, req.Description); len(errs) > 0 {
		abortValidation(c, errs)
		return
	}
	key := webhooks.NewKey()
	row, err := s.store.WebhookCreate(c.Request.Context(), db.WebhookCreateParams{
		UserID: currentUserID(c), Url: req.URL, EventTypes: dedupTypes(req.EventTypes), Description: req.Description,
		Enabled: req.Enabled == nil || *req.Enabled, SigningKey: key, MaxPerUser: s.webhooks.PerUser,
	})
	if errors.Is(err, db.ErrNotFound) {
		abortStatus(c, http.StatusForbidden, fmt.Sprintf(
			"you have %d webhook endpoints, the most one user may (WEBHOOKS_PER_USER); delete one first", s.webhooks.PerUser))
		return
	}
	if err != nil {
		abortError(c, err)
		return
	}
	c.JSON(http.StatusCreated, WebhookWithSecret{Webhook: webhookFromRow(row), Secret: webhooks.SecretString(key)})
}

// listWebhooks godoc
//
//	@Summary	List webhook endpoints
//	@ID			listWebhooks
//	@Tags		webhooks
//	@Produce	json
//	@Param		limit	query		int		false	"page size"	minimum(1)	maximum(500)	default(50)
//	@Param		cursor	query		string	false	"next_cursor of the previous page"
//	@Success	200		{object}	WebhookList
//	@Failure	400		{object}	Problem
//	@Failure	413		{object}	Problem
//	@Failure	503		{object}	Problem
//	@Failure	401		{object}	Problem	"missing or invalid bearer token"
//	@Failure	429		{object}	Problem	"rate limited; see Retry-After"
//	@Security	BearerAuth
//	@Router		/v1/webhooks [get]
func (s *Server) listWebhooks(c *gin.Context) {
	after, limit, ok := s.idPage(c, webhookListFilters)
	if !ok {
		return
	}
	rows, err := s.store.WebhookList(c.Request.Context(), db.WebhookListParams{
		UserID: currentUserID(c), AfterID: after.ID, MaxRows: int32(limit + 1),
	})
	if err != nil {
		abortError(c, err)
		return
	}
	var page WebhookList
	page.Items, page.NextCursor = idPageItems(s, webhookListFilters, rows, limit,
		func(r *db.Webhook) int64 { return r.ID }, func(r *db.Webhook) Webhook { return webhookFromRow(*r) })
	c.JSON(http.StatusOK, page)
}

// getWebhook godoc
//
//	@Summary	One webhook endpoint
//	@ID			getWebhook
//	@Tags		webhooks
//	@Produce	json
//	@Param		id	path		int	true	"webhook id"
//	@Success	200	{object}	Webhook
//	@Failure	400	{object}	Problem
//	@Failure	413	{object}	Problem
//	@Failure	404	{object}	Problem
//	@Failure	503	{object}	Problem
//	@Failure	401	{object}	Problem	"missing or invalid bearer token"
//	@Failure	429	{object}	Problem	"rate limited; see Retry-After"
//	@Security	BearerAuth
//	@Router		/v1/webhooks/{id} [get]
func (s *Server) getWebhook(c *gin.Context) {
	id, ok := pathID(c)
	if !ok || !noQuery(c) {
		return
	}
	row, err := s.store.WebhookGet(c.Request.Context(), db.WebhookGetParams{UserID: currentUserID(c), ID: id})
	if err != nil {
		abortError(c, err)
		return
	}
	c.JSON(http.StatusOK, webhookFromRow(row))
}

// updateWebhook godoc
//
//	@Summary		Change a webhook endpoint
//	@Description	Changes the fields given: url, event_types (empty: all), description (null clears it), enabled. Enabling an endpoint the service disabled clears disabled_reason.
//	@ID				updateWebhook
//	@Tags			webhooks
//	@Accept			json
//	@Produce		json
//	@Param			id		path		int						true	"webhook id"
//	@Param			body	body		UpdateWebhookRequest	true	"the fields to change"
//	@Success		200		{object}	Webhook
//	@Failure		400		{object}	Problem
//	@Failure		404		{object}	Problem
//	@Failure		413		{object}	Problem
//	@Failure		415		{object}	Problem
//	@Failure		503		{object}	Problem
//	@Failure		401		{object}	Problem	"missing or invalid bearer token"
//	@Failure		429		{object}	Problem	"rate limited; see Retry-After"
//	@Security		BearerAuth
//	@Router			/v1/webhooks/{id} [patch]
func (s *Server) updateWebhook(c *gin.Context) {
	id, ok := pathID(c)
	if !ok || !noQuery(c) {
		return
	}
	var req UpdateWebhookRequest
	if !bindJSON(c, &req) {
		return
	}
	if errs := s.checkWebhookFields(req.URL, req.EventTypes, req.Description.Value); len(errs) > 0 {
		abortValidation(c, errs)
		return
	}
	p := db.WebhookUpdateParams{UserID: currentUserID(c), ID: id, Url: req.URL, Enabled: req.Enabled,
		ClearDescription: req.Description.Set && req.Description.Value == nil, Description: req.Description.Value}
	if req.EventTypes != nil {
		p.EventTypes = dedupTypes(req.EventTypes)
	}
	row, err := s.store.WebhookUpdate(c.Request.Context(), p)
	if err != nil {
		abortError(c, err)
		return
	}
	c.JSON(http.StatusOK, webhookFromRow(row))
}

// deleteWebhook godoc
//
//	@Summary	Delete a webhook endpoint
//	@ID			deleteWebhook
//	@Tags		webhooks
//	@Param		id	path	int	true	"webhook id"
//	@Success	204
//	@Failure	400	{object}	Problem
//	@Failure	413	{object}	Problem
//	@Failure	404	{object}	Problem
//	@Failure	503	{object}	Problem
//	@Failure	401	{object}	Problem	"missing or invalid bearer token"
//	@Failure	429	{object}	Problem	"rate limited; see Retry-After"
//	@Security	BearerAuth
//	@Router		/v1/webhooks/{id} [delete]
func (s *Server) deleteWebhook(c *gin.Context) {
	id, ok := pathID(c)
	if !ok || !noQuery(c) {
		return
	}
	n, err := s.store.WebhookDelete(c.Request.Context(), db.WebhookDeleteParams{UserID: currentUserID(c), ID: id})
	if err != nil {
		abortError(c, err)
		return
	}
	if n == 0 {
		abortStatus(c, http.StatusNotFound, "no such resource")
		return
	}
	c.Status(http.StatusNoContent)
}

// rotateWebhookSecret godoc
//
//	@Summary		Rotate a webhook endpoint's secret
//	@Description	A new secret signs every delivery from now on; the one it replaces keeps signing beside it (two v1 signatures in webhook-signature) until previous_secret_valid_until, so a receiver can switch without missing a delivery. The answer holds the new secret, shown only this once.
//	@ID				rotateWebhookSecret
//	@Tags			webhooks
//	@Produce		json
//	@Param			id	path		int	true	"webhook id"
//	@Success		200	{object}	WebhookWithSecret
//	@Failure		400	{object}	Problem
//	@Failure		413	{object}	Problem
//	@Failure		404	{object}	Problem
//	@Failure		503	{object}	Problem
//	@Failure		401	{object}	Problem	"missing or invalid bearer token"
//	@Failure		429	{object}	Problem	"rate limited; see Retry-After"
//	@Security		BearerAuth
//	@Router			/v1/webhooks/{id}/secret [post]
func (s *Server) rotateWebhookSecret(c *gin.Context) {
	id, ok := pathID(c)
	if !ok || !noQuery(c) {
		return
	}
	key := webhooks.NewKey()
	row, err := s.store.WebhookRotateKey(c.Request.Context(), db.WebhookRotateKeyParams{
		UserID: currentUserID(c), ID: id, SigningKey: key, PreviousKeyUntil: new(time.Now().Add(s.webhooks.KeyGrace)),
	})
	if err != nil {
		abortError(c, err)
		return
	}
	c.JSON(http.StatusOK, WebhookWithSecret{Webhook: webhookFromRow(row), Secret: webhooks.SecretString(key)})
}

// pingWebhook godoc
//
//	@Summary		Send a test delivery
//	@Description	Delivers a signed webhook.ping message (data: the endpoint's id) to the endpoint now, whether or not it is enabled, and says what it answered. Nothing is retried.
//	@ID				pingWebhook
//	@Tags			webhooks
//	@Produce		json
//	@Param			id	path		int	true	"webhook id"
//	@Success		200	{object}	PingResult
//	@Failure		400	{object}	Problem
//	@Failure		413	{object}	Problem
//	@Failure		404	{object}	Problem
//	@Failure		503	{object}	Problem
//	@Failure		401	{object}	Problem	"missing or invalid bearer token"
//	@Failure		429	{object}	Problem	"rate limited; see Retry-After"
//	@Security		BearerAuth
//	@Router			/v1/webhooks/{id}/ping [post]
func (s *Server) pingWebhook(c *gin.Context) {
	id, ok := pathID(c)
	if !ok || !noQuery(c) {
		return
	}
	ctx, cancel := s.bound(c.Request.Context())
	row, err := s.store.WebhookGet(ctx, db.WebhookGetParams{UserID: currentUserID(c), ID: id})
	cancel()
	if err != nil {
		abortError(c, err)
		return
	}
	now := time.Now()
	body, err := json.Marshal(webhooks.Message{Type: "webhook.ping", Timestamp: now, Data: map[string]int64{"webhook_id": row.ID}})
	if err != nil {
		abortError(c, err)
		return
	}
	res := webhooks.Send(c.Request.Context(), s.webhookClient, row.Url, fmt.Sprintf("ping_%d_%d", row.ID, now.UnixNano()),
		body, now, signingKeys(row, now)...)
	out := PingResult{Delivered: res.OK(), LatencyMS: res.Latency.Milliseconds()}
	if res.Status != 0 {
		out.StatusCode = &res.Status
	}
	if res.Err != nil {
		msg := res.Err.Error()
		out.Error = &msg
	}
	c.JSON(http.StatusOK, out)
}

// signingKeys are the keys that sign a delivery to w at now.
func signingKeys(w db.Webhook, now time.Time) [][]byte {
	return webhooks.SigningKeys(w.SigningKey, w.PreviousKey, w.PreviousKeyUntil, now)
}

// Delivery is one event owed to an endpoint and what its attempts got.
type Delivery struct {
	ID int64 `json:"id" example:"981"`
	// EventID is the event delivered (GET /v1/events); the webhook-id
	// header is msg_ and this delivery's id, the same on every attempt.
	EventID   int64  `json:"event_id" example:"1042"`
	EventType string `json:"event_type" example:"transaction.confirmed"`
	// AddressID is the watch-list entry: deliveries of one entry to one
	// endpoint go in order.
	AddressID int64  `json:"address_id" example:"42"`
	Status    string `json:"status" example:"pending" enums:"pending,succeeded,failed"`
	Attempts  int32  `json:"attempts" example:"2"`
	// NextAttemptAt is when a pending delivery is tried next.
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	LastAttemptAt  *time.Time `json:"last_attempt_at"`
	LastStatusCode *int32     `json:"last_status_code" example:"503"`
	LastLatencyMS  *int32     `json:"last_latency_ms" example:"212"`
	LastError      *string    `json:"last_error" example:"the endpoint answered 503"`
	CreatedAt      time.Time  `json:"created_at"`
	DeliveredAt    *time.Time `json:"delivered_at"`
}

// DeliveryList is a page of an endpoint's delivery log, newest first.
type DeliveryList struct {
	Items      []Delivery `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

const deliveryListFilters = "deliveries"

func deliveryFromRow(r db.DeliveryListRow) Delivery {
	d := Delivery{ID: r.ID, EventID: r.EventID, EventType: r.EventType, AddressID: r.EntryID, Status: r.Status,
		Attempts: r.Attempts, LastAttemptAt: r.LastAttemptAt, LastStatusCode: r.LastStatusCode, LastLatencyMS: r.LastLatencyMs,
		LastError: r.LastError, CreatedAt: r.CreatedAt, DeliveredAt: r.DeliveredAt}
	if r.Status == "pending" {
		d.NextAttemptAt = &r.NextAttemptAt
	}
	return d
}

// listDeliveries godoc
//
//	@Summary		An endpoint's delivery log
//	@Description	The endpoint's deliveries, newest first: status (pending, succeeded, failed after the whole retry schedule), attempts, and the last attempt's answer, latency and error.
//	@ID				listDeliveries
//	@Tags			webhooks
//	@Produce		json
//	@Param			id		path		int		true	"webhook id"
//	@Param			limit	query		int		false	"page size"	minimum(1)	maximum(500)	default(50)
//	@Param			cursor	query		string	false	"next_cursor of the previous page"
//	@Success		200		{object}	DeliveryList
//	@Failure		400		{object}	Problem
//	@Failure		404		{object}	Problem
//	@Failure		413		{object}	Problem
//	@Failure		503		{object}	Problem
//	@Failure		401		{object}	Problem	"missing or invalid bearer token"
//	@Failure		429		{object}	Problem	"rate limited; see Retry-After"
//	@Security		BearerAuth
//	@Router			/v1/webhooks/{id}/deliveries [get]
func (s *Server) listDeliveries(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	before, limit, ok := s.idPage(c, deliveryListFilters)
	if !ok {
		return
	}
	uid := currentUserID(c)
	if _, err := s.store.WebhookGet(c.Request.Context(), db.WebhookGetParams{UserID: uid, ID: id}); err != nil {
		abortError(c, err)
		return
	}
	if before.ID == 0 {
		before.ID = math.MaxInt64
	}
	rows, err := s.store.DeliveryList(c.Request.Context(), db.DeliveryListParams{
		WebhookID: id, UserID: uid, BeforeID: before.ID, MaxRows: int32(limit + 1),
	})
	if err != nil {
		abortError(c, err)
		return
	}
	var page DeliveryList
	page.Items, page.NextCursor = idPageItems(s, deliveryListFilters, rows, limit,
		func(r *db.DeliveryListRow) int64 { return r.ID }, func(r *db.DeliveryListRow) Delivery { return deliveryFromRow(*r) })
	c.JSON(http.StatusOK, page)
}

// retryDelivery godoc
//
//	@Summary		Retry a delivery now
//	@Description	Makes a pending or failed delivery due now (a failed one pending again, its attempts kept); the next dispatch sends it, after the deliveries of its address queued before it. A delivered one is not sent again (409).
//	@ID				retryDelivery
//	@Tags			webhooks
//	@Produce		json
//	@Param			id			path		int	true	"webhook id"
//	@Param			delivery_id	path		int	true	"delivery id"
//	@Success		202			{object}	Delivery
//	@Failure		400			{object}	Problem
//	@Failure		404			{object}	Problem
//	@Failure		409			{object}	Problem	"already delivered"
//	@Failure		413			{object}	Problem
//	@Failure		503			{object}	Problem
//	@Failure		401			{object}	Problem	"missing or invalid bearer token"
//	@Failure		429			{object}	Problem	"rate limited; see Retry-After"
//	@Security		BearerAuth
//	@Router			/v1/webhooks/{id}/deliveries/{delivery_id}/retry [post]
func (s *Server) retryDelivery(c *gin.Context) {
	id, ok := pathID(c)
	if !ok {
		return
	}
	deliveryID, err := strconv.ParseInt(c.Param("delivery_id"), 10, 64)
	if err != nil || deliveryID <= 0 {
		abortValidation(c, []FieldError{{Field: "delivery_id", Message: "must be a positive integer"}})
		return
	}
	if !noQuery(c) {
		return
	}
	uid := currentUserID(c)
	row, err := s.store.DeliveryRetry(c.Request.Context(), db.DeliveryRetryParams{ID: deliveryID, WebhookID: id, UserID: uid})
	if errors.Is(err, db.ErrNotFound) {
		exists, xerr := s.store.DeliveryExists(c.Request.Context(), db.DeliveryExistsParams{ID: deliveryID, WebhookID: id, UserID: uid})
		switch {
		case xerr != nil:
			abortError(c, xerr)
		case exists:
			abortStatus(c, http.StatusConflict, "the delivery succeeded already; it is not sent again")
		default:
			abortStatus(c, http.StatusNotFound, "no such resource")
		}
		return
	}
	if err != nil {
		abortError(c, err)
		return
	}
	c.JSON(http.StatusAccepted, deliveryFromRow(db.DeliveryListRow(row)))
}
