// Package auth identifies the user behind a request.
package auth

// DevIssuer is the issuer of tokens the service signs itself in dev mode.
// Demo users seeded by the fixtures belong to it, as user-1 … user-N.
const DevIssuer = "urn:cointracker:dev"
