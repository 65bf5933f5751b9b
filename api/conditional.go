package api

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/cointracker/cointracker/db"
)

// readerKey pins the queries a request reads with (see conditional).
const readerKey = "cointracker.reader"

// conditional makes a GET conditional (RFC 9110 §13): its answer carries
// an ETag derived from the user's data version (db.UserDataVersion: the
// change stamps of their watch-list, its addresses' ledgers and sync
// states, their xpubs, the chain tips and the prices, all stamped in the
// transaction of the change), the build and the request's path and query,
// with Cache-Control: private, no-cache. A request whose If-None-Match
// holds the current tag is answered 304 after that one query, without
// reading the ledger or running the handler.
//
// The version is read before the answer, from the queries the handler
// then reads with (pinned for the request), so a tag is never newer than
// the answer it is sent with; at worst older, which costs a 200.
func (s *Server) conditional() gin.HandlerFunc {
	return func(c *gin.Context) {
		uid := currentUserID(c)
		q := s.reader(c)
		c.Set(readerKey, q)
		v, err := q.UserDataVersion(c.Request.Context(), uid)
		if err != nil {
			abortError(c, err)
			return
		}
		tag := entityTag(uid, v, c.Request.URL.Path, c.Request.URL.RawQuery)
		h := c.Writer.Header()
		h.Set("Cache-Control", "private, no-cache")
		h.Set("Vary", "Authorization")
		if noneMatch(c.GetHeader("If-None-Match"), tag) {
			h.Set("ETag", tag)
			c.AbortWithStatus(http.StatusNotModified)
			return
		}
		c.Writer = &etagWriter{ResponseWriter: c.Writer, tag: tag}
		c.Next()
	}
}

// buildID tells one build's answers from another's: a new build may
// write the same data differently, so its tags differ.
var buildID = func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	id := info.Main.Version
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
			id += " " + s.Value
		}
	}
	return id
}()

// entityTag is the weak tag of a user's answer to path?query at data
// version v.
func entityTag(uid int64, v db.UserDataVersionRow, path, query string) string {
	h := sha256.New()
	for _, n := range []int64{uid, v.UserStamp, v.Entries, v.EntryStamps, v.LedgerStamps, v.SyncStamps,
		v.Xpubs, v.XpubStamps, v.TipStamps, v.PriceStamp} {
		_ = binary.Write(h, binary.BigEndian, n)
	}
	for _, s := range []string{v.Unrevealed, buildID, path, query} {
		_ = binary.Write(h, binary.BigEndian, int64(len(s)))
		h.Write([]byte(s))
	}
	return `W/"` + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18]) + `"`
}

// noneMatch says whether an If-None-Match value lists tag, by the weak
// comparison GET uses (RFC 9110 §13.1.2).
func noneMatch(header, tag string) bool {
	want := strings.TrimPrefix(tag, "W/")
	for _, t := range strings.Split(header, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == want {
			return true
		}
	}
	return false
}

// etagWriter adds the ETag to a 200 answer as its header goes out; an
// error answer has no representation to tag.
type etagWriter struct {
	gin.ResponseWriter
	tag string
}

func (w *etagWriter) tagOK() {
	if !w.Written() && w.Status() == http.StatusOK {
		w.Header().Set("ETag", w.tag)
	}
}

func (w *etagWriter) WriteHeaderNow() {
	w.tagOK()
	w.ResponseWriter.WriteHeaderNow()
}

func (w *etagWriter) Write(b []byte) (int, error) {
	w.tagOK()
	return w.ResponseWriter.Write(b)
}

func (w *etagWriter) WriteString(s string) (int, error) {
	w.tagOK()
	return w.ResponseWriter.WriteString(s)
}
