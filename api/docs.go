package api

import (
	"context"
	_ "embed"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
	swaggerFiles "github.com/swaggo/files/v2"
	ginSwagger "github.com/swaggo/gin-swagger"
	"golang.org/x/net/webdav"
)

// openAPIDocument is the OpenAPI 3 description (openapi.json), generated
// by `make gen` from swag's Swagger 2.0 output and the Go types of the
// bodies (openapi_test.go says how). Clients are generated from it; the
// Swagger UI reads it. /docs/doc.json, swag's Swagger 2.0, stays served
// for clients made from it before.
//
//go:embed openapi.json
var openAPIDocument []byte

// swaggerDocument is swag's Swagger 2.0 output as written to disk, which
// has no host key; the copy swag registers for gin-swagger renders its
// empty host as "host": "", which Swagger 2.0 validators reject.
//
//go:embed swagger/swagger.json
var swaggerDocument []byte

// Where the descriptions are served, beside the UI.
const (
	openAPIPath = "/openapi.json"
	swaggerPath = "/doc.json"
)

// docs serves the Swagger UI, reading the OpenAPI 3 description, and the
// description itself under /docs/.
func docs() gin.HandlerFunc {
	ui := ginSwagger.WrapHandler(docsAssets, ginSwagger.PersistAuthorization(true),
		ginSwagger.URL("openapi.json")) // relative: whatever origin and prefix served the UI
	return func(c *gin.Context) {
		switch c.Param("any") {
		case openAPIPath:
			c.Data(http.StatusOK, "application/json", openAPIDocument)
		case swaggerPath:
			c.Data(http.StatusOK, "application/json", swaggerDocument)
		default:
			ui(c)
		}
	}
}

// docsAssets serves Swagger UI's files (gin-swagger takes a webdav
// handler) straight from swaggo/files/v2's embedded copy. swaggo/files v1
// copied its ~10 MB into the heap at start-up, touching every page of its
// data to do so: about 12 MiB of the server's resident memory for a page
// an operator opens now and then.
var docsAssets = &webdav.Handler{FileSystem: embeddedFS{swaggerFiles.FS}, LockSystem: webdav.NewMemLS()}

// embeddedFS is a read-only webdav.FileSystem over an fs.FS.
type embeddedFS struct{ fsys fs.FS }

var errReadOnly = errors.New("the docs' files are read-only")

func (embeddedFS) Mkdir(context.Context, string, os.FileMode) error { return errReadOnly }
func (embeddedFS) RemoveAll(context.Context, string) error          { return errReadOnly }
func (embeddedFS) Rename(context.Context, string, string) error     { return errReadOnly }

func (e embeddedFS) Stat(_ context.Context, name string) (os.FileInfo, error) {
	return fs.Stat(e.fsys, fsPath(name))
}

func (e embeddedFS) OpenFile(_ context.Context, name string, flag int, _ os.FileMode) (webdav.File, error) {
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE|os.O_TRUNC|os.O_APPEND) != 0 {
		return nil, errReadOnly
	}
	f, err := e.fsys.Open(fsPath(name))
	if err != nil {
		return nil, err
	}
	return embeddedFile{f}, nil
}

// fsPath turns a webdav path ("/swagger-ui.css") into an fs.FS one.
func fsPath(name string) string {
	if p := strings.TrimPrefix(path.Clean("/"+name), "/"); p != "" {
		return p
	}
	return "."
}

// embeddedFile is an fs.File as a webdav.File (embed's files seek).
type embeddedFile struct{ fs.File }

func (f embeddedFile) Seek(offset int64, whence int) (int64, error) {
	if s, ok := f.File.(io.Seeker); ok {
		return s.Seek(offset, whence)
	}
	return 0, errors.New("seek: not supported")
}

func (f embeddedFile) Readdir(count int) ([]fs.FileInfo, error) {
	dir, ok := f.File.(fs.ReadDirFile)
	if !ok {
		return nil, errors.New("readdir: not a directory")
	}
	entries, err := dir.ReadDir(count)
	infos := make([]fs.FileInfo, 0, len(entries))
	for _, e := range entries {
		info, ierr := e.Info()
		if ierr != nil {
			return infos, ierr
		}
		infos = append(infos, info)
	}
	return infos, err
}

func (embeddedFile) Write([]byte) (int, error) { return 0, errReadOnly }
